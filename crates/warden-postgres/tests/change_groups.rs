//! Concurrent status changes of one HTTP worker thread are applied in groups, one statement per
//! group (`change_group` in the crate), and each change keeps the result, the re-checks and the
//! records it would have had alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use uuid::Uuid;
use warden_domain::ports::{Outbox, OutboxStatus, UserRepo};
use warden_domain::{Actor, Role, StatusAction, StatusChangeOutcome, UserId};

/// Statements that apply status changes: grouped (`unnest` of arrays) and single.
static GROUPED: AtomicUsize = AtomicUsize::new(0);
static SINGLE: AtomicUsize = AtomicUsize::new(0);

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            if sql.starts_with("WITH input AS") && sql.contains("unnest(") {
                GROUPED.fetch_add(1, Ordering::SeqCst);
            } else if sql.starts_with("WITH input AS") {
                SINGLE.fetch_add(1, Ordering::SeqCst);
            }
        }
    }))
}

#[test]
fn concurrent_changes_share_statements_and_keep_their_own_outcomes_and_records() {
    let Some(base) = common::database_url("concurrent_changes_share_statements") else {
        return;
    };
    diesel::connection::set_default_instrumentation(counting).unwrap();
    let (main, _schema, shared) = common::on_main_runtime(&base, 4, Duration::from_secs(10));
    let worker = shared.clone().with_thread_pools(4);
    let (admin, other_admin, users) = main.block_on(async {
        let admin = common::create(&shared, Role::Admin, "Root").await;
        let other_admin = common::create(&shared, Role::Admin, "Other").await;
        let mut users = Vec::new();
        for i in 0..40 {
            users.push(common::create(&shared, Role::User, &format!("User{i}")).await);
        }
        (admin, other_admin, users)
    });
    // What each change should come to, made on one current-thread runtime (an HTTP worker).
    let mut changes = Vec::new();
    let mut expected = Vec::new();
    for user in &users[..36] {
        changes.push(common::change(StatusAction::Deactivate, user, &admin));
        expected.push(Some(user.id));
    }
    // The same target twice: never in one group; one applies, the other finds it deactivated.
    changes.push(common::change(StatusAction::Deactivate, &users[0], &admin));
    expected.push(Some(users[0].id));
    // An actor on a stale token version: refused in the statement, alone among the others.
    let mut stale = common::change(StatusAction::Deactivate, &users[36], &admin);
    stale.actor = Actor::admin(admin.id, admin.email.to_string(), admin.token_version + 1);
    changes.push(stale);
    expected.push(None);
    // A target that does not exist.
    let mut missing = common::change(StatusAction::Deactivate, &users[37], &admin);
    missing.target = UserId::generate();
    changes.push(missing);
    expected.push(None);
    // A reactivation of an active account, and an admin target (the guarded statement).
    changes.push(common::change(StatusAction::Reactivate, &users[38], &admin));
    expected.push(None);
    changes.push(common::change(
        StatusAction::Deactivate,
        &other_admin,
        &admin,
    ));
    expected.push(Some(other_admin.id));
    let ids: Vec<(Uuid, Uuid)> = changes
        .iter()
        .map(|change| (change.event_id, change.notification_id))
        .collect();

    let outcomes = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let calls: Vec<_> = changes
                .into_iter()
                .map(|change| {
                    let worker = worker.clone();
                    tokio::spawn(async move { worker.change_status(change).await.unwrap() })
                })
                .collect();
            let mut outcomes = Vec::new();
            for call in calls {
                outcomes.push(call.await.unwrap());
            }
            outcomes
        })
    })
    .join()
    .unwrap();

    let n = outcomes.len();
    assert_eq!(n, 41);
    // Which of the two changes of users[0] applies is a race; exactly one does.
    let lost = if matches!(outcomes[0], StatusChangeOutcome::Applied(_)) {
        36
    } else {
        0
    };
    assert_eq!(outcomes[lost], StatusChangeOutcome::AlreadyInState);
    expected[lost] = None;
    for (i, target) in expected.iter().enumerate() {
        let Some(target) = target else { continue };
        match &outcomes[i] {
            StatusChangeOutcome::Applied(user) => {
                assert_eq!(user.id, *target);
                assert!(!user.is_active());
            }
            other => panic!("change {i}: {other:?}"),
        }
    }
    assert_eq!(outcomes[37], StatusChangeOutcome::ActorRevoked);
    assert_eq!(outcomes[38], StatusChangeOutcome::NotFound);
    assert_eq!(outcomes[39], StatusChangeOutcome::AlreadyInState);

    // Grouped: fewer statements than changes, and at least one of them a group.
    let (grouped, single) = (
        GROUPED.load(Ordering::SeqCst),
        SINGLE.load(Ordering::SeqCst),
    );
    assert!(grouped >= 1, "no group was formed");
    assert!(
        grouped + single < n,
        "{grouped} grouped and {single} single statements for {n} changes"
    );

    // Each applied change wrote its own audit event (by its actor) and its own notification;
    // the refused ones wrote nothing.
    main.block_on(async {
        let pending = shared.list(OutboxStatus::Pending, None, 100).await.unwrap();
        let notified: HashSet<Uuid> = pending.iter().map(|e| e.notification.id).collect();
        for (i, target) in expected.iter().enumerate() {
            let (event_id, notification_id) = ids[i];
            assert_eq!(
                notified.contains(&notification_id),
                target.is_some(),
                "change {i}"
            );
            let Some(target) = target else { continue };
            let events = shared.events(target, None, 10).await.unwrap();
            assert_eq!(events.len(), 1, "change {i}");
            assert_eq!(events[0].id, event_id);
            assert_eq!(events[0].action, StatusAction::Deactivate.into());
            assert_eq!(events[0].actor.id, Some(*admin.id.as_uuid()));
            assert_eq!(events[0].actor.name, admin.email.to_string());
            let entry = pending
                .iter()
                .find(|e| e.notification.id == notification_id)
                .unwrap();
            let user = shared.find_by_id(target).await.unwrap().unwrap();
            assert_eq!(entry.notification.to, user.email);
        }
        assert_eq!(pending.len(), 37);
        // The untouched and refused targets are as they were.
        for user in &users[36..] {
            let now = shared.find_by_id(&user.id).await.unwrap().unwrap();
            assert!(now.is_active());
            assert!(shared.events(&user.id, None, 10).await.unwrap().is_empty());
        }
    });
}
