use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;

use super::*;
use crate::ports::{MockMailer, MockOutbox};
use crate::use_cases::test_support::{at, fixed_clock};
use crate::{EmailAddress, Notification, StatusAction};

fn pending(attempts: u32) -> PendingNotification {
    PendingNotification {
        notification: Notification {
            id: Uuid::now_v7(),
            action: StatusAction::Deactivate,
            to: EmailAddress::parse("ada@example.com").unwrap(),
            name: "Ada".into(),
            reason: None,
            occurred_at: at(),
            until: None,
        },
        attempts,
    }
}

fn outbox_with(batch: Vec<PendingNotification>) -> MockOutbox {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim_due()
        .withf(|now, lease_until, limit| {
            *now == at() && *lease_until == at() + RetryPolicy::default().lease && *limit == 32
        })
        .times(1)
        .returning(move |_, _, _| Ok(batch.clone()));
    outbox
}

fn deliver(outbox: MockOutbox, mailer: MockMailer) -> DeliverNotifications {
    DeliverNotifications::new(
        Arc::new(outbox),
        Arc::new(mailer),
        fixed_clock(),
        RetryPolicy::default(),
    )
}

#[tokio::test]
async fn a_delivered_notification_is_marked_sent() {
    let item = pending(1);
    let id = item.notification.id;
    let mut outbox = outbox_with(vec![item]);
    outbox
        .expect_mark_sent()
        .withf(move |sent, when| *sent == id && *when == at())
        .times(1)
        .returning(|_, _| Ok(()));
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(move |email| email.message_id == id && email.subject.contains("deactivated"))
        .times(1)
        .returning(|_| Ok(()));
    let report = deliver(outbox, mailer).run_once().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_backoff() {
    let item = pending(3);
    let id = item.notification.id;
    let mut outbox = outbox_with(vec![item]);
    outbox
        .expect_retry_later()
        .withf(move |retry, next, error| {
            *retry == id && *next == at() + TimeDelta::seconds(20) && error.contains("refused")
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .returning(|_| Err(MailError::transient("connection refused")));
    let report = deliver(outbox, mailer).run_once().await.unwrap();
    assert_eq!(report.retried, 1);
}

#[tokio::test]
async fn permanent_failures_and_exhausted_retries_are_given_up() {
    let rejected = pending(1);
    let exhausted = pending(RetryPolicy::default().max_attempts);
    let ids = [rejected.notification.id, exhausted.notification.id];
    let mut outbox = outbox_with(vec![rejected, exhausted]);
    outbox
        .expect_give_up()
        .withf(move |id, _, _| ids.contains(id))
        .times(2)
        .returning(|_, _, _| Ok(()));
    let mut mailer = MockMailer::new();
    let permanent = ids[0];
    mailer.expect_send().returning(move |email| {
        if email.message_id == permanent {
            Err(MailError::permanent("550 no such mailbox"))
        } else {
            Err(MailError::transient("timeout"))
        }
    });
    let report = deliver(outbox, mailer).run_once().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 0,
            retried: 0,
            failed: 2
        }
    );
}

#[tokio::test]
async fn an_empty_outbox_sends_nothing() {
    let report = deliver(outbox_with(vec![]), MockMailer::new())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.claimed(), 0);
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.backoff(1), TimeDelta::seconds(5));
    assert_eq!(policy.backoff(2), TimeDelta::seconds(10));
    assert_eq!(policy.backoff(40), policy.max_backoff);
}

/// A clock that moves `step` forward every time it is read.
fn stepping_clock(step: TimeDelta) -> Arc<dyn Clock> {
    let reads = std::sync::atomic::AtomicI32::new(0);
    let mut clock = crate::ports::MockClock::new();
    clock.expect_now().returning(move || {
        let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        at() + step * n
    });
    Arc::new(clock)
}

#[tokio::test]
async fn claims_left_with_less_than_one_send_of_lease_are_renewed_before_sending() {
    let batch = vec![pending(1), pending(1), pending(1)];
    let ids: Vec<Uuid> = batch.iter().map(|p| p.notification.id).collect();
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim_due()
        .times(1)
        .returning(move |_, _, _| Ok(batch.clone()));
    outbox.expect_mark_sent().times(3).returning(|_, _| Ok(()));
    // Clock reads (3 s apart): claim 0, send#1 check 3, mark 6, send#2 check 9 -> 9 + 10 > 15:
    // renew the last two until 24; mark 12, send#3 check 15 -> 25 > 24: renew the last one.
    let renewed = ids.clone();
    outbox
        .expect_renew_lease()
        .withf(move |rest, until| rest == &renewed[1..] && *until == at() + TimeDelta::seconds(24))
        .times(1)
        .returning(|_, _| Ok(()));
    let last = ids[2];
    outbox
        .expect_renew_lease()
        .withf(move |rest, until| rest == [last] && *until == at() + TimeDelta::seconds(30))
        .times(1)
        .returning(|_, _| Ok(()));
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(3).returning(|_| Ok(()));
    let deliver = DeliverNotifications::new(
        Arc::new(outbox),
        Arc::new(mailer),
        stepping_clock(TimeDelta::seconds(3)),
        RetryPolicy::default(),
    );

    assert_eq!(deliver.run_once().await.unwrap().sent, 3);
}

#[tokio::test]
async fn a_fast_batch_never_renews_and_run_up_to_claims_at_most_its_limit() {
    let mut outbox = MockOutbox::new();
    outbox
        .expect_claim_due()
        .withf(|_, _, limit| *limit == 5)
        .times(1)
        .returning(|_, _, _| Ok(vec![pending(1), pending(1)]));
    outbox.expect_mark_sent().times(2).returning(|_, _| Ok(()));
    outbox.expect_renew_lease().never();
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(2).returning(|_| Ok(()));

    let report = deliver(outbox, mailer).run_up_to(5).await.unwrap();
    assert_eq!(report.sent, 2);
}
