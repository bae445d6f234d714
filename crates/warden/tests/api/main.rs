//! HTTP tests: real requests to the real actix app on a free port, backed by SQLite (default) or
//! by PostgreSQL when `WARDEN_TEST_DATABASE_URL` is set, each test with its own database, and a
//! real SMTP sink receiving the mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod after_commit;
mod authority;
mod authority_config;
mod authority_scim;
mod bulk;
mod busy_connections;
mod cli;
mod cli_clients;
mod clients;
mod console;
mod deactivate;
mod directory;
mod envelope;
mod failures;
mod files;
mod headers;
mod hostile;
mod idempotency;
mod introspect;
mod lifecycle;
mod login_concurrency;
mod logs;
mod mail_worker;
mod metrics_bounds;
mod openapi;
mod ops;
mod ops_listener;
mod outbox;
mod reactivate;
mod scim;
mod scim_effects;
mod scim_origin;
mod scim_support;
mod slow_clients;
mod ssf;
mod support;
mod suspension;
mod webdriver;
mod webhook_targets;
mod webhooks;
