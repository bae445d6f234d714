#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use uuid::Uuid;
use warden_domain::ports::{MailError, Mailer};
use warden_domain::{Email, EmailAddress, Notification, Reason, StatusAction};
use warden_mail::SmtpMailer;
use warden_testkit::smtp_sink::{ReplyMode, SmtpSink};

const FROM: &str = "Warden <no-reply@warden.localhost>";
const WAIT: Duration = Duration::from_secs(5);

fn email(to: &str) -> Email {
    Notification {
        id: Uuid::now_v7(),
        action: StatusAction::Deactivate,
        to: EmailAddress::parse(to).unwrap(),
        name: "Ada Lovelace".into(),
        // Non-ASCII and long lines make lettre pick a transfer encoding other than 7bit.
        reason: Reason::parse(&format!("Spam & <abuse> — répété. {}", "x".repeat(100))).unwrap(),
        occurred_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
        until: None,
    }
    .render()
}

async fn mailer(sink: &SmtpSink) -> SmtpMailer {
    SmtpMailer::from_url_with_timeout(&sink.url(), FROM, Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn delivers_one_multipart_message_over_a_real_smtp_conversation() {
    let sink = SmtpSink::start().await.unwrap();
    let email = email("ada@example.com");

    mailer(&sink).await.send(&email).await.unwrap();

    let mails = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "no-reply@warden.localhost");
    assert_eq!(mail.to, vec!["ada@example.com".to_string()]);
    assert_eq!(
        mail.header("From").as_deref(),
        Some("Warden <no-reply@warden.localhost>")
    );
    assert_eq!(
        mail.header("To").as_deref(),
        Some("\"Ada Lovelace\" <ada@example.com>")
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some(email.subject.as_str())
    );
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@warden.localhost>", email.message_id))
    );
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(
        ["quoted-printable", "base64"].iter().any(|cte| mail
            .data
            .contains(&format!("Content-Transfer-Encoding: {cte}"))),
        "the parts should need decoding: {}",
        mail.data
    );
    assert_eq!(mail.text_part().as_deref(), Some(email.text_body.as_str()));
    assert_eq!(mail.html_part().as_deref(), Some(email.html_body.as_str()));
}

#[tokio::test]
async fn a_retried_email_keeps_its_message_id() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = mailer(&sink).await;
    let email = email("ada@example.com");

    mailer.send(&email).await.unwrap();
    mailer.send(&email).await.unwrap(); // over the pooled connection
    mailer.send(&self::email("bob@example.com")).await.unwrap();

    let mails = sink.wait_for(3, WAIT).await.unwrap();
    assert_eq!(mails[0].header("Message-ID"), mails[1].header("Message-ID"));
    assert_ne!(mails[0].header("Message-ID"), mails[2].header("Message-ID"));
}

#[tokio::test]
async fn server_down_is_transient_and_delivery_resumes_when_it_is_back() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = mailer(&sink).await;
    mailer.send(&email("ada@example.com")).await.unwrap(); // leaves a pooled connection

    sink.stop().await;
    let err = mailer.send(&email("ada@example.com")).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");

    sink.restart().await.unwrap();
    mailer.send(&email("ada@example.com")).await.unwrap();
    assert_eq!(sink.wait_for(2, WAIT).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_5xx_rejection_is_permanent() {
    let sink = SmtpSink::start().await.unwrap();
    sink.set_reply_mode(ReplyMode::PermanentFailure);

    let err = mailer(&sink)
        .await
        .send(&email("ada@example.com"))
        .await
        .unwrap_err();

    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_4xx_rejection_is_transient() {
    let sink = SmtpSink::start().await.unwrap();
    sink.set_reply_mode(ReplyMode::TransientFailure);
    let mailer = mailer(&sink).await;

    let err = mailer.send(&email("ada@example.com")).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(sink.messages().is_empty());

    sink.set_reply_mode(ReplyMode::Accept);
    mailer.send(&email("ada@example.com")).await.unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_address_lettre_cannot_use_is_permanent() {
    let sink = SmtpSink::start().await.unwrap();
    // Plausible enough for the domain, not a valid RFC 5321 mailbox.
    let err = mailer(&sink)
        .await
        .send(&email("a(b@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn construction_checks_its_inputs_and_debug_hides_credentials() {
    assert!(SmtpMailer::from_url("smtp://localhost:2525", "not a mailbox").is_err());
    assert!(SmtpMailer::from_url("http://localhost", FROM).is_err());
    let err = SmtpMailer::from_url("gopher://user:hunter2@localhost", FROM).unwrap_err();
    assert!(!format!("{err:#}").contains("hunter2"), "{err:#}");

    let mailer = SmtpMailer::from_url("smtps://user:hunter2@mail.example.com", FROM).unwrap();
    let debug = format!("{mailer:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("mail.example.com"), "{debug}");
    assert!(SmtpMailer::from_url("smtp://mail.example.com?tls=required", FROM).is_ok());
}

#[test]
fn can_be_built_and_dropped_outside_a_runtime() {
    let mailer = SmtpMailer::from_url("smtp://localhost:2525", FROM).unwrap();
    let clone = mailer.clone();
    drop(mailer);
    drop(clone);
}

#[tokio::test]
async fn concurrent_sends_each_arrive_exactly_once() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = mailer(&sink).await;
    let emails: Vec<_> = (0..40)
        .map(|i| email(&format!("user{i}@example.com")))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for email in emails.clone() {
        let mailer = mailer.clone();
        tasks.spawn(async move { mailer.send(&email).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    let mails = sink.wait_for(40, WAIT).await.unwrap();
    assert_eq!(mails.len(), 40);
    let mut ids: Vec<_> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
}
