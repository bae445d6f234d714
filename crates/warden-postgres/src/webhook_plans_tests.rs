//! The webhook statements keep cheap plans with a large backlog, in the generic form a cached
//! prepared statement takes: a claim reads the pending index, a finish the primary key.

use super::{CLAIM_DELIVERIES, FINISH_DELIVERED, FINISH_FAILED, FINISH_GONE, FINISH_RETRY};
use crate::plan_probe::{migrated_client, plan};

#[tokio::test]
async fn webhook_statements_use_their_indexes_with_a_backlog() {
    let Some((_schema, client)) = migrated_client().await else {
        return;
    };
    client
        .batch_execute(
            "INSERT INTO webhook_endpoints (id, url, secret, created_at)
             VALUES ('00000000-0000-7000-8000-0000000000ee', 'https://example.com/', 'whsec_AA==',
                     now());
             INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, email,
                                             next_attempt_at)
             SELECT gen_random_uuid(), '00000000-0000-7000-8000-0000000000ee',
                    gen_random_uuid(), 'user.deactivated', 'u' || g || '@example.com',
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
        CLAIM_DELIVERIES,
        "now(), now() + interval '30 seconds', 4",
    )
    .await;
    assert!(claim.contains("webhook_deliveries_pending"), "{claim}");

    let id = "'00000000-0000-7000-8000-000000000001'::uuid";
    for (name, sql) in [
        ("delivered", FINISH_DELIVERED),
        ("retry", FINISH_RETRY),
        ("failed", FINISH_FAILED),
        ("gone", FINISH_GONE),
    ] {
        let found = plan(
            &client,
            name,
            "uuid, timestamptz, integer, text",
            sql,
            &format!("{id}, now(), 500, 'x'"),
        )
        .await;
        assert!(
            found.contains("webhook_deliveries_pkey")
                && !found.contains("webhook_deliveries_pending"),
            "{name} does not look its delivery up by id:\n{found}"
        );
    }
}
