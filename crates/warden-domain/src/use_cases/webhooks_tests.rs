use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::ports::{MockWebhookRepo, MockWebhookSender};
use crate::use_cases::test_support::{at, fixed_clock};
use crate::{ActorKind, DeliveryStatus, Reason, RecordedActor, UserId};

fn delivery(attempts: u32) -> WebhookDelivery {
    WebhookDelivery {
        id: Uuid::now_v7(),
        endpoint_id: Uuid::nil(),
        event_id: Uuid::now_v7(),
        event_type: WebhookEventType::UserDeactivated,
        user_id: UserId::generate(),
        email: "ada@example.com".into(),
        actor: RecordedActor {
            kind: ActorKind::User,
            id: Some(Uuid::now_v7()),
            name: "grace@example.com".into(),
            role: None,
        },
        reason: Reason::parse("left \"the\" team\n\\ bye").unwrap(),
        role_shift: None,
        at: at(),
        attempts,
        last_status_code: None,
        last_error: None,
        next_attempt_at: at(),
        status: DeliveryStatus::Pending,
    }
}

fn endpoint() -> WebhookEndpoint {
    WebhookEndpoint {
        id: Uuid::nil(),
        url: "https://hooks.example.com/warden".into(),
        description: None,
        events: None,
        enabled: true,
        secret: WebhookSecret::from_bytes([9; 32]),
        previous_secret: None,
        created_at: at(),
        created_by: None,
    }
}

#[test]
fn the_payload_is_json_with_the_snapshot() {
    let delivery = delivery(1);
    let body: serde_json::Value = serde_json::from_str(&payload(&delivery)).unwrap();
    assert_eq!(body["type"], "user.deactivated");
    assert_eq!(body["timestamp"], "2026-11-25T12:00:00.000000Z");
    let data = &body["data"];
    assert_eq!(data["user_id"], delivery.user_id.to_string());
    assert_eq!(data["email"], "ada@example.com");
    assert_eq!(data["actor"]["kind"], "user");
    assert_eq!(
        data["actor"]["id"],
        delivery.actor.id.unwrap().to_string().as_str()
    );
    assert_eq!(data["actor"]["name"], "grace@example.com");
    assert_eq!(data["reason"], "left \"the\" team\n\\ bye");
    assert_eq!(data["at"], body["timestamp"]);
}

#[test]
fn the_largest_payload_stays_under_20_kb() {
    let mut delivery = delivery(1);
    delivery.reason = Reason::parse(&"\"".repeat(Reason::MAX_CHARS)).unwrap();
    delivery.email = format!("{}@example.com", "a".repeat(240));
    delivery.actor.name = "\u{1F600}".repeat(254);
    assert!(payload(&delivery).len() < 20_000);
}

#[tokio::test]
async fn a_round_signs_sends_and_records_each_answer() {
    let claims = vec![
        ClaimedDelivery {
            delivery: delivery(1),
            endpoint: endpoint(),
        },
        ClaimedDelivery {
            delivery: delivery(2),
            endpoint: endpoint(),
        },
        ClaimedDelivery {
            delivery: delivery(3),
            endpoint: endpoint(),
        },
    ];
    let (ok, retry, gone) = (
        claims[0].delivery.id,
        claims[1].delivery.id,
        claims[2].delivery.id,
    );
    let mut repo = MockWebhookRepo::new();
    repo.expect_claim_deliveries()
        .returning(move |_, _, _| Ok(claims.clone()));
    repo.expect_finish_attempt()
        .withf(move |id, status, finish| {
            (*id == ok && *status == Some(200) && *finish == Finish::Delivered)
                || (*id == retry
                    && *status == Some(500)
                    && *finish
                        == Finish::RetryAt(at() + TimeDelta::minutes(5), "answered 500".into()))
                || (*id == gone && *status == Some(410) && *finish == Finish::Gone)
        })
        .times(3)
        .returning(|_, _, _| Ok(()));
    let mut sender = MockWebhookSender::new();
    let secret = WebhookSecret::from_bytes([9; 32]);
    let mut answers = vec![410, 500, 200];
    sender.expect_send().times(3).returning(move |request| {
        assert!(secret.verifies(
            &request.signature,
            &request.id,
            request.timestamp,
            &request.body
        ));
        assert_eq!(request.timestamp, at().timestamp());
        WebhookAnswer::Status {
            code: answers.pop().unwrap(),
            retry_after: None,
        }
    });
    let deliver = DeliverWebhooks::new(
        Arc::new(repo),
        Arc::new(sender),
        fixed_clock(),
        WebhookRetryPolicy::default(),
        || 0.5,
    );
    let report = deliver.run_up_to(10).await.unwrap();
    assert_eq!(
        report,
        WebhookReport {
            delivered: 1,
            retried: 1,
            failed: 0,
            disabled: 1
        }
    );
}
