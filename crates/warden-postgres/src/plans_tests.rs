//! The outbox statements keep cheap plans with a large backlog and stale statistics (a table
//! that grew from empty faster than autovacuum analyses it, as under load), in the generic form
//! a cached prepared statement takes.

use super::{CLAIM_DUE, GIVE_UP, MARK_SENT, RENEW_LEASE, RETRY_LATER};
use crate::plan_probe::{migrated_client, plan};

#[tokio::test]
async fn outbox_statements_use_their_indexes_with_a_backlog() {
    let Some((_schema, client)) = migrated_client().await else {
        return;
    };
    client
        .batch_execute(
            "INSERT INTO outbox (id, action, recipient, recipient_first_name, occurred_at,
                                 next_attempt_at)
             SELECT gen_random_uuid(), 'deactivated', 'u' || g || '@example.com', '', now(),
                    now() - interval '1 minute'
               FROM generate_series(1, 20000) AS g;
             SET plan_cache_mode = force_generic_plan;",
        )
        .await
        .unwrap();

    let claim = plan(
        &client,
        "claim",
        "timestamptz, timestamptz, bigint",
        CLAIM_DUE,
        "now(), now() + interval '15 seconds', 25",
    )
    .await;
    assert!(claim.contains("outbox_pending"), "{claim}");
    assert!(
        !claim.contains("Sort Key: outbox.next_attempt_at"),
        "a claim sorts every due entry:\n{claim}"
    );

    let id = "'00000000-0000-7000-8000-000000000001'::uuid";
    for (name, types, sql, args) in [
        (
            "sent",
            "uuid, timestamptz",
            MARK_SENT,
            format!("{id}, now()"),
        ),
        (
            "later",
            "uuid, timestamptz, text",
            RETRY_LATER,
            format!("{id}, now(), 'x'"),
        ),
        (
            "give_up",
            "uuid, timestamptz, text",
            GIVE_UP,
            format!("{id}, now(), 'x'"),
        ),
        (
            "renew",
            "uuid[], timestamptz",
            RENEW_LEASE,
            format!("ARRAY[{id}], now()"),
        ),
    ] {
        let found = plan(&client, name, types, sql, &args).await;
        assert!(
            found.contains("outbox_pkey") && !found.contains("outbox_pending"),
            "{name} does not look its entry up by id:\n{found}"
        );
    }
}
