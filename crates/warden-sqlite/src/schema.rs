//! The tables of `migrations/sqlite`, as diesel sees them.

diesel::table! {
    use diesel::sql_types::*;

    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        first_name -> Text,
        last_name -> Text,
        role -> Text,
        is_active -> Bool,
        deactivated_at -> Nullable<TimestamptzSqlite>,
        deactivated_by -> Nullable<Text>,
        deactivation_reason -> Nullable<Text>,
        token_version -> Integer,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        deactivated_until -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    audit_events (id) {
        id -> Text,
        user_id -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        reason -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
        actor_kind -> Text,
        actor_name -> Text,
        actor_client_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        from_role -> Nullable<Text>,
        to_role -> Nullable<Text>,
        export_order -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    clients (id) {
        id -> Text,
        name -> Text,
        scopes -> Text,
        token_hash -> Binary,
        created_at -> TimestamptzSqlite,
        revoked_at -> Nullable<TimestamptzSqlite>,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    idempotency_keys (actor, route, idem_key) {
        actor -> Text,
        route -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        reserved_at -> TimestamptzSqlite,
        status_code -> Nullable<Integer>,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    outbox (id) {
        id -> Text,
        action -> Text,
        recipient -> Text,
        recipient_first_name -> Text,
        reason -> Nullable<Text>,
        occurred_at -> TimestamptzSqlite,
        attempts -> Integer,
        next_attempt_at -> TimestamptzSqlite,
        sent_at -> Nullable<TimestamptzSqlite>,
        failed_at -> Nullable<TimestamptzSqlite>,
        last_error -> Nullable<Text>,
        leased_until -> Nullable<TimestamptzSqlite>,
        suspended_until -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    provisioning (user_id) {
        user_id -> Text,
        external_id -> Nullable<Text>,
        removed_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::joinable!(provisioning -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(provisioning, users);

diesel::table! {
    use diesel::sql_types::*;

    webhook_endpoints (id) {
        id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        events -> Nullable<Text>,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<TimestamptzSqlite>,
        created_at -> TimestamptzSqlite,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        email -> Text,
        attempts -> Integer,
        next_attempt_at -> TimestamptzSqlite,
        leased_until -> Nullable<TimestamptzSqlite>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<TimestamptzSqlite>,
        failed_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> audit_events (event_id));
diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, webhook_endpoints, audit_events);

diesel::table! {
    use diesel::sql_types::*;

    jobs (id) {
        id -> Text,
        kind -> Text,
        requested_by -> Text,
        token_version -> Integer,
        valid_until -> TimestamptzSqlite,
        reason -> Nullable<Text>,
        suspend_until -> Nullable<TimestamptzSqlite>,
        total -> Integer,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    job_items (job_id, seq) {
        job_id -> Text,
        seq -> Integer,
        user_id -> Text,
        attempts -> Integer,
        leased_until -> Nullable<TimestamptzSqlite>,
        status_code -> Nullable<Integer>,
        message -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    audited_changes (id) {
        id -> Text,
        action -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        target_id -> Text,
        attributes -> Text,
        created_at -> TimestamptzSqlite,
        actor_role -> Nullable<Text>,
        export_order -> BigInt,
    }
}

diesel::table! {
    audit_export_horizon (id) {
        id -> Integer,
        export_order -> BigInt,
        event_id -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    ssf_streams (id) {
        id -> Text,
        client_id -> Text,
        audience -> Text,
        delivery_method -> Text,
        endpoint_url -> Nullable<Text>,
        authorization_header -> Nullable<Text>,
        events_requested -> Text,
        events_delivered -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    ssf_events (seq) {
        seq -> BigInt,
        jti -> Text,
        stream_id -> Text,
        txn -> Text,
        event_type -> Text,
        subject -> Nullable<Text>,
        occurred_at -> TimestamptzSqlite,
        actor_kind -> Nullable<Text>,
        reason -> Nullable<Text>,
        state -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> TimestamptzSqlite,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<TimestamptzSqlite>,
        failed_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::joinable!(ssf_events -> ssf_streams (stream_id));
diesel::allow_tables_to_appear_in_same_query!(ssf_events, ssf_streams);
