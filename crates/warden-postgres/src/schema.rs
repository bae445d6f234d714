//! Diesel's view of `migrations/postgres` (kept by hand; the migration is the source of truth).

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        first_name -> Text,
        last_name -> Text,
        role -> Text,
        is_active -> Bool,
        deactivated_at -> Nullable<Timestamptz>,
        deactivated_by -> Nullable<Uuid>,
        deactivation_reason -> Nullable<Text>,
        token_version -> Integer,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deactivated_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        user_id -> Uuid,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        actor_kind -> Text,
        actor_name -> Text,
        actor_client_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        from_role -> Nullable<Text>,
        to_role -> Nullable<Text>,
        export_order -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Uuid,
        name -> Text,
        scopes -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    idempotency_keys (actor, route, idem_key) {
        actor -> Text,
        route -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        reserved_at -> Timestamptz,
        status_code -> Nullable<Integer>,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        action -> Text,
        recipient -> Text,
        recipient_first_name -> Text,
        reason -> Nullable<Text>,
        occurred_at -> Timestamptz,
        attempts -> Integer,
        next_attempt_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        leased_until -> Nullable<Timestamptz>,
        suspended_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    provisioning (user_id) {
        user_id -> Uuid,
        external_id -> Nullable<Text>,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(provisioning -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(provisioning, users);

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        events -> Nullable<Array<Text>>,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        email -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> audit_events (event_id));
diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, webhook_endpoints, audit_events);

diesel::table! {
    audited_changes (id) {
        id -> Uuid,
        action -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        actor_name -> Text,
        target_id -> Uuid,
        attributes -> Array<Text>,
        created_at -> Timestamptz,
        actor_role -> Nullable<Text>,
        export_order -> BigInt,
    }
}

diesel::table! {
    audit_export_horizon (id) {
        id -> Int2,
        export_order -> BigInt,
        event_id -> Uuid,
    }
}

diesel::table! {
    ssf_streams (id) {
        id -> Uuid,
        client_id -> Uuid,
        audience -> Text,
        delivery_method -> Text,
        endpoint_url -> Nullable<Text>,
        authorization_header -> Nullable<Text>,
        events_requested -> Array<Text>,
        events_delivered -> Array<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ssf_events (seq) {
        seq -> BigInt,
        jti -> Uuid,
        stream_id -> Uuid,
        txn -> Uuid,
        event_type -> Text,
        subject -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        actor_kind -> Nullable<Text>,
        reason -> Nullable<Text>,
        state -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Timestamptz,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(ssf_events -> ssf_streams (stream_id));
diesel::allow_tables_to_appear_in_same_query!(ssf_events, ssf_streams);
