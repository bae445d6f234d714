#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use uuid::Uuid;
use warden_domain::ports::Mailer;
use warden_domain::{EmailAddress, Notification, StatusAction};
use warden_mail::FileMailer;

#[tokio::test]
async fn writes_exactly_one_eml_file_per_message() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mail").join("outbox"); // created on demand
    let mailer = FileMailer::new(dir.clone(), "Warden <no-reply@warden.localhost>").unwrap();
    let email = Notification {
        id: Uuid::now_v7(),
        action: StatusAction::Reactivate,
        to: EmailAddress::parse("ada@example.com").unwrap(),
        name: "Ada".into(),
        reason: None,
        occurred_at: Utc::now(),
        until: None,
    }
    .render();

    mailer.send(&email).await.unwrap();

    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        eml.contains(&format!("Subject: {}", email.subject)),
        "{eml}"
    );
    assert!(
        eml.contains(&format!(
            "Message-ID: <{}@warden.localhost>",
            email.message_id
        )),
        "{eml}"
    );
    assert!(eml.contains("multipart/alternative"), "{eml}");
}

#[test]
fn rejects_an_invalid_sender_or_an_unusable_directory() {
    let root = tempfile::tempdir().unwrap();
    assert!(FileMailer::new(root.path().into(), "no-reply").is_err());
    let file = root.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    assert!(FileMailer::new(file.join("below"), "no-reply@warden.localhost").is_err());
}
