//! HTTP tests: real requests to the real actix app on a free port, backed by SQLite (default) or
//! by PostgreSQL when `WARDEN_TEST_DATABASE_URL` is set, each test with its own database, and a
//! real SMTP sink receiving the mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod deactivate;
mod envelope;
mod failures;
mod hostile;
mod lifecycle;
mod mail_worker;
mod openapi;
mod ops;
mod outbox;
mod reactivate;
mod support;
