//! The outbox: claims, leases, retries, purging, listing and counting.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Barrier;
use uuid::Uuid;
use warden_domain::ports::{Outbox, OutboxStatus, RetryNow, UserRepo};
use warden_domain::{Role, StatusAction};

use super::helpers::*;

/// A retry on the system's authority at `at`.
fn system_at(at: DateTime<Utc>) -> warden_domain::Authorized {
    warden_domain::Authorized::new(warden_domain::Actor::system(), at)
}

/// `claim_due` returns only notifications due at `now` (a notification is due at its change's
/// time, to the microsecond), at most `limit` of them, oldest first.
pub async fn claim_respects_due_time_limit_and_age(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 4, |i| t0 + TimeDelta::seconds(i)).await;
    let lease = t0 + TimeDelta::hours(1);
    let claim_ids = |now: DateTime<Utc>, limit: u32| {
        let outbox = outbox.clone();
        async move {
            let claimed = outbox
                .claim_due(now, lease, limit)
                .await
                .expect("claim_due");
            ids_of(&claimed)
        }
    };

    assert_eq!(
        claim_ids(t0 - micro(), 10).await,
        Vec::<Uuid>::new(),
        "nothing due yet"
    );
    assert_eq!(claim_ids(t0, 10).await, [ids[0]], "due exactly at its time");
    let later = t0 + TimeDelta::seconds(10);
    assert_eq!(
        claim_ids(later, 2).await,
        [ids[1], ids[2]],
        "limit, oldest first"
    );
    assert_eq!(claim_ids(later, 2).await, [ids[3]]);
    assert_eq!(claim_ids(later, 2).await, Vec::<Uuid>::new(), "all leased");
    for id in ids {
        outbox.mark_sent(id, later).await.expect("mark_sent");
    }
}

/// A claim leases its notifications until `lease_until`: they are not claimed again before
/// then, but are from then on (a crashed worker loses nothing); every claim counts an attempt,
/// starting at 1.
pub async fn claim_leases_and_counts_attempts(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let t0 = now();
    let id = enqueue(&*users, &*outbox, 1, |_| t0).await[0];

    let lease1 = t0 + TimeDelta::seconds(60);
    let first = outbox.claim_due(t0, lease1, 10).await.expect("claim_due");
    assert_eq!(ids_of(&first), [id]);
    assert_eq!(first[0].attempts, 1, "the first claim is attempt 1");

    for now in [t0, t0 + TimeDelta::seconds(30), lease1 - micro()] {
        assert_eq!(
            claim(&*outbox, now, 10).await,
            Vec::new(),
            "leased until {lease1}, claimed at {now}"
        );
    }

    let lease2 = lease1 + TimeDelta::seconds(60);
    let second = outbox
        .claim_due(lease1, lease2, 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&second), [id], "due again when the lease ends");
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].notification, first[0].notification);

    let much_later = lease2 + TimeDelta::hours(1);
    let third = claim(&*outbox, much_later, 10).await;
    assert_eq!(ids_of(&third), [id]);
    assert_eq!(third[0].attempts, 3);
    outbox.mark_sent(id, much_later).await.expect("mark_sent");
}

/// `renew_lease` moves the lease end of unfinished claims, so a live worker keeps them; it leaves
/// sent entries (and unknown ids) alone.
pub async fn renew_lease_extends_only_unfinished_claims(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 2, |_| t0).await;
    let (kept, sent) = (ids[0], ids[1]);
    let lease = t0 + TimeDelta::seconds(15);
    let claimed = outbox.claim_due(t0, lease, 10).await.expect("claim_due");
    assert_eq!(ids_of(&claimed).len(), 2);
    outbox.mark_sent(sent, t0).await.expect("mark_sent");

    let renewed = t0 + TimeDelta::seconds(40);
    outbox
        .renew_lease(&[kept, sent, Uuid::now_v7()], renewed)
        .await
        .expect("renew_lease");
    outbox
        .renew_lease(&[], renewed)
        .await
        .expect("renew_lease of nothing");

    assert_eq!(
        claim(&*outbox, renewed - micro(), 10).await,
        Vec::new(),
        "renewed until {renewed}: not due at the old lease end {lease} nor after it"
    );
    let again = claim(&*outbox, renewed, 10).await;
    assert_eq!(
        ids_of(&again),
        [kept],
        "due when the renewed lease ends; the sent one never"
    );
    assert_eq!(again[0].attempts, 2, "a renewal is not an attempt");
    finish(&*outbox, &again).await;
}

/// `purge_sent` deletes sent entries older than the cutoff, oldest first and at most `limit`
/// per call; pending and given-up entries stay whatever their age.
pub async fn purge_deletes_only_sent_before_the_cutoff(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let cutoff = now() - TimeDelta::days(30);
    let old = cutoff - TimeDelta::days(10);
    let ids = enqueue(&*users, &*outbox, 5, |i| old + TimeDelta::seconds(i)).await;
    let before = outbox.stats().await.expect("stats");
    let claimed = claim(&*outbox, old + TimeDelta::seconds(10), 10).await;
    assert_eq!(ids_of(&claimed), ids);
    outbox.mark_sent(ids[0], old).await.expect("mark_sent");
    outbox
        .mark_sent(ids[1], cutoff - micro())
        .await
        .expect("mark_sent");
    outbox.mark_sent(ids[2], cutoff).await.expect("mark_sent"); // not before the cutoff
    outbox
        .give_up(ids[3], old, "550 no such user")
        .await
        .expect("give_up");
    outbox
        .retry_later(ids[4], old, "451 later")
        .await
        .expect("retry_later");

    assert_eq!(outbox.purge_sent(cutoff, 0).await.expect("purge_sent"), 0);
    assert_eq!(outbox.purge_sent(cutoff, 1).await.expect("purge_sent"), 1);
    assert_eq!(outbox.purge_sent(cutoff, 10).await.expect("purge_sent"), 1);
    assert_eq!(outbox.purge_sent(cutoff, 10).await.expect("purge_sent"), 0);

    let after = outbox.stats().await.expect("stats");
    assert_eq!(after.failed, before.failed + 1, "given-up entries are kept");
    assert_eq!(
        after.pending,
        before.pending - 4,
        "one pending left: the rescheduled one"
    );
    let left = claim(&*outbox, old, 10).await;
    assert_eq!(ids_of(&left), [ids[4]], "a pending entry is never purged");
    finish(&*outbox, &left).await;
    assert_eq!(
        outbox
            .purge_sent(cutoff + micro(), 10)
            .await
            .expect("purge_sent"),
        1,
        "the one sent at the cutoff goes once the cutoff passes it"
    );
}

/// `list` returns the entries in a status newest first, paged by id; `retry_now` makes a
/// pending or failed entry due now (a failed one pending again) and refuses a sent one.
pub async fn list_pages_by_status_and_retry_now_requeues(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    let claimed = claim(&*outbox, t0, 10).await;
    assert_eq!(ids_of(&claimed).len(), 3);
    outbox
        .give_up(ids[0], t0, "550 5.1.1 No such mailbox")
        .await
        .expect("give_up");
    outbox
        .give_up(ids[1], t0, "451 later")
        .await
        .expect("give_up");
    outbox.mark_sent(ids[2], t0).await.expect("mark_sent");

    let failed = outbox
        .list(OutboxStatus::Failed, None, 1)
        .await
        .expect("list");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].notification.id, ids[1],
        "newest (highest id) first"
    );
    assert_eq!(failed[0].status, OutboxStatus::Failed);
    assert_eq!(failed[0].attempts, 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("451 later"));
    let next = outbox
        .list(OutboxStatus::Failed, Some(ids[1]), 1)
        .await
        .expect("list");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].notification.id, ids[0], "the page after the cursor");
    let sent = outbox
        .list(OutboxStatus::Sent, None, 100)
        .await
        .expect("list");
    assert!(sent.iter().any(|e| e.notification.id == ids[2]));
    assert!(sent.iter().all(|e| e.status == OutboxStatus::Sent));

    let later = t0 + TimeDelta::minutes(5);
    assert_eq!(
        outbox
            .retry_now(ids[0], &system_at(later))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::Queued
    );
    assert_eq!(
        outbox
            .retry_now(ids[2], &system_at(later))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::AlreadySent
    );
    assert_eq!(
        outbox
            .retry_now(Uuid::now_v7(), &system_at(later))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::NotFound
    );
    let pending = outbox
        .list(OutboxStatus::Pending, None, 100)
        .await
        .expect("list");
    let requeued = pending
        .iter()
        .find(|e| e.notification.id == ids[0])
        .expect("a retried failure is pending again");
    assert_eq!(requeued.next_attempt_at, later);
    let again = claim(&*outbox, later, 10).await;
    assert_eq!(ids_of(&again), [ids[0]], "due at once");
    finish(&*outbox, &again).await;
}

/// `retry_later` makes a notification due again at `next_attempt_at`, neither sooner (even
/// once the claim's lease has ended) nor later (even while the lease runs).
pub async fn retry_later_reschedules(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let t0 = now();
    let id = enqueue(&*users, &*outbox, 1, |_| t0).await[0];

    let claimed = outbox
        .claim_due(t0, t0 + TimeDelta::seconds(60), 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&claimed), [id]);
    let next = t0 + TimeDelta::minutes(10);
    outbox
        .retry_later(id, next, "421 try again later")
        .await
        .expect("retry_later");
    for now in [t0 + TimeDelta::minutes(5), next - micro()] {
        assert_eq!(
            claim(&*outbox, now, 10).await,
            Vec::new(),
            "claimed at {now}"
        );
    }
    let again = outbox
        .claim_due(next, next + TimeDelta::hours(1), 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&again), [id], "due at next_attempt_at");
    assert_eq!(again[0].attempts, 2);

    // Rescheduling inside the lease: due at the new time, not at the end of the lease.
    let soon = next + TimeDelta::seconds(5);
    outbox
        .retry_later(id, soon, "421 still busy")
        .await
        .expect("retry_later");
    let third = claim(&*outbox, soon, 10).await;
    assert_eq!(ids_of(&third), [id]);
    assert_eq!(third[0].attempts, 3);
    outbox.mark_sent(id, soon).await.expect("mark_sent");
}

/// Notifications marked sent or given up on are never claimed again, whatever the time.
pub async fn sent_and_given_up_are_never_claimed_again(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    let claimed = claim(&*outbox, t0, 10).await;
    assert_eq!(ids_of(&claimed).len(), 3);

    let done = t0 + TimeDelta::seconds(1);
    outbox.mark_sent(ids[0], done).await.expect("mark_sent");
    outbox
        .give_up(ids[1], done, "550 no such mailbox")
        .await
        .expect("give_up");
    // Finished without a claim in between: a rescheduled one given up on.
    outbox
        .retry_later(ids[2], done, "421 busy")
        .await
        .expect("retry_later");
    outbox
        .give_up(ids[2], done, "too many attempts")
        .await
        .expect("give_up");

    for now in [done, t0 + TimeDelta::hours(1), far_future()] {
        assert_eq!(
            claim(&*outbox, now, 100).await,
            Vec::new(),
            "claimed at {now}"
        );
    }
}

/// `stats` counts undelivered notifications still being tried (leased or not) as pending and
/// given-up ones as failed.
pub async fn stats_count_pending_and_failed(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    drain(&*outbox).await;
    let base = outbox.stats().await.expect("stats");
    let expect = |pending: u64, failed: u64, when: &'static str| {
        let outbox = outbox.clone();
        async move {
            let stats = outbox.stats().await.expect("stats");
            assert_eq!(
                (stats.pending, stats.failed),
                (base.pending + pending, base.failed + failed),
                "{when}"
            );
        }
    };

    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    expect(3, 0, "after enqueueing three").await;
    assert_eq!(ids_of(&claim(&*outbox, t0, 10).await).len(), 3);
    expect(3, 0, "leased ones are still pending").await;
    let later = t0 + TimeDelta::seconds(1);
    outbox.mark_sent(ids[0], later).await.expect("mark_sent");
    expect(2, 0, "after one was sent").await;
    outbox.give_up(ids[1], later, "550").await.expect("give_up");
    expect(1, 1, "after one was given up on").await;
    outbox
        .retry_later(ids[2], later, "421")
        .await
        .expect("retry_later");
    expect(1, 1, "a rescheduled one is still pending").await;
    outbox.mark_sent(ids[2], later).await.expect("mark_sent");
    expect(0, 1, "after the last was sent").await;
}

/// Several workers claiming at once never get the same notification twice, and together get
/// every due one.
pub async fn concurrent_claims_never_overlap(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    const WORKERS: usize = 6;
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 12, |_| t0).await;

    let barrier = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let outbox = outbox.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    let batch = outbox
                        .claim_due(t0, t0 + TimeDelta::hours(1), 2)
                        .await
                        .expect("claim_due");
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.expect("worker task"));
    }

    let claimed_ids = ids_of(&claimed);
    let unique: HashSet<_> = claimed_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        claimed_ids.len(),
        "a notification was claimed twice"
    );
    assert_eq!(unique, ids.iter().copied().collect::<HashSet<_>>());
    assert!(claimed.iter().all(|p| p.attempts == 1));
    finish(&*outbox, &claimed).await;
}

/// `retry_now` leaves alone a notification a claim holds under a running lease (it is being
/// sent: making it due would let a second worker send it too), and requeues it once the lease
/// has ended, or once the delivery rescheduled it.
pub async fn retry_now_leaves_a_notification_being_sent_alone(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 2, |_| t0).await;
    let lease_end = t0 + TimeDelta::seconds(15);
    let claimed = outbox
        .claim_due(t0, lease_end, 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&claimed), ids);

    let during = t0 + TimeDelta::seconds(5);
    for id in &ids {
        assert_eq!(
            outbox
                .retry_now(*id, &system_at(during))
                .await
                .map(done)
                .expect("retry_now"),
            RetryNow::InFlight
        );
    }
    assert_eq!(
        outbox
            .claim_due(during, during, 10)
            .await
            .expect("claim_due"),
        Vec::new(),
        "nothing was made due while it is being sent"
    );

    // The first delivery failed and was rescheduled: its lease is over, a retry applies now.
    let retry_at = t0 + TimeDelta::hours(1);
    outbox
        .retry_later(ids[0], retry_at, "451 later")
        .await
        .expect("retry_later");
    assert_eq!(
        outbox
            .retry_now(ids[0], &system_at(during))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::Queued
    );
    // The second worker vanished: once its lease has ended, a retry applies too.
    let after = lease_end + TimeDelta::seconds(1);
    assert_eq!(
        outbox
            .retry_now(ids[1], &system_at(after))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::Queued
    );
    let again = claim(&*outbox, after, 10).await;
    assert_eq!(ids_of(&again), ids, "both due again");
    finish(&*outbox, &again).await;
}

/// `retry_now` re-checks its actor in its own transaction: an admin deactivated (or on an older
/// token version) since, or a user, changes nothing; an active admin on its version retries.
pub async fn retry_now_rechecks_the_actor(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 1, |_| t0).await;
    let claimed = claim(&*outbox, t0, 10).await;
    assert_eq!(ids_of(&claimed), ids);
    outbox.give_up(ids[0], t0, "550").await.expect("give_up");

    let guard = sentinel(&*users).await;
    let admin = create(&*users, Role::Admin, "Mallory").await;
    let stale = actor_of(&admin);
    applied(
        users
            .change_status(change(StatusAction::Deactivate, &admin, &guard, None, t0))
            .await,
    );
    let later = t0 + TimeDelta::minutes(1);
    let by = |actor: &warden_domain::Actor| warden_domain::Authorized::new(actor.clone(), later);
    let member = create(&*users, Role::User, "Member").await;
    for actor in [&stale, &actor_of(&member)] {
        assert_eq!(
            outbox
                .retry_now(ids[0], &by(actor))
                .await
                .expect("retry_now"),
            warden_domain::Guarded::ActorRevoked
        );
    }
    let failed = outbox
        .list(OutboxStatus::Failed, None, 100)
        .await
        .expect("list");
    assert!(
        failed.iter().any(|e| e.notification.id == ids[0]),
        "still failed: nothing changed"
    );
    assert_eq!(
        outbox
            .retry_now(ids[0], &by(&actor_of(&guard)))
            .await
            .expect("retry_now"),
        warden_domain::Guarded::Applied(RetryNow::Queued)
    );
    drain(&*outbox).await;
}

/// `renew_lease` leaves alone every entry no claim holds any more: one sent, one given up on,
/// and one rescheduled (`retry_later` ends the lease; the entry is due at the time it names,
/// neither moved to the renewed lease end nor kept from a claim until then). Their recorded
/// due time is unchanged, a rescheduled one is claimed exactly when it was rescheduled for, and
/// `retry_now` does not find a given-up one in flight under the renewed lease.
pub async fn renew_lease_leaves_finished_and_rescheduled_alone(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 5, |_| t0).await;
    let (held, sent, given_up, sooner, later) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    let claimed = outbox
        .claim_due(t0, t0 + TimeDelta::seconds(15), 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&claimed).len(), 5);
    outbox.mark_sent(sent, t0).await.expect("mark_sent");
    outbox
        .give_up(given_up, t0, "550 no such user")
        .await
        .expect("give_up");
    let (soon, late) = (t0 + TimeDelta::seconds(5), t0 + TimeDelta::minutes(10));
    outbox
        .retry_later(sooner, soon, "421 busy")
        .await
        .expect("retry_later");
    outbox
        .retry_later(later, late, "421 busy")
        .await
        .expect("retry_later");
    let due_times = || {
        let outbox = outbox.clone();
        async move {
            let mut found = Vec::new();
            for status in [
                OutboxStatus::Sent,
                OutboxStatus::Failed,
                OutboxStatus::Pending,
            ] {
                // The check's own entries are the newest: the first page holds them.
                let page = outbox.list(status, None, 100).await.expect("list");
                found.extend(
                    page.into_iter()
                        .filter(|e| [sent, given_up, sooner, later].contains(&e.notification.id))
                        .map(|e| (e.notification.id, e.status, e.next_attempt_at)),
                );
            }
            found.sort_by_key(|(id, _, _)| *id);
            found
        }
    };
    let before = due_times().await;
    assert_eq!(before.len(), 4, "listed: {before:?}");

    let renewed = t0 + TimeDelta::seconds(40);
    outbox
        .renew_lease(&ids, renewed)
        .await
        .expect("renew_lease");

    assert_eq!(
        due_times().await,
        before,
        "renew_lease changed an entry no claim holds (sent, given up or rescheduled)"
    );
    assert_eq!(
        outbox
            .retry_now(given_up, &system_at(soon))
            .await
            .map(done)
            .expect("retry_now"),
        RetryNow::Queued,
        "a given-up entry is not in flight under a lease renewed after it finished"
    );
    let first = claim(&*outbox, soon, 10).await;
    assert_eq!(
        ids_of(&first),
        [given_up, sooner],
        "due when rescheduled for, not at the renewed lease end"
    );
    let second = claim(&*outbox, renewed, 10).await;
    assert_eq!(
        ids_of(&second),
        [held],
        "at the renewed lease end only the held claim is due; the later reschedule is not"
    );
    let third = claim(&*outbox, late, 10).await;
    assert_eq!(ids_of(&third), [later], "due when rescheduled for");
    for batch in [first, second, third] {
        finish(&*outbox, &batch).await;
    }
}
