//! Fault injection: each promise of docs/operations.md about surviving a fault, tested by
//! injecting the fault for real. Every test runs the real `warden` binary as child processes
//! (SIGKILL and SIGTERM are real signals), against a real database (a SQLite file by default,
//! a PostgreSQL schema per test when `WARDEN_TEST_DATABASE_URL` is set), with a real SMTP sink
//! that can be stopped, and TCP proxies that cut or freeze the connections to PostgreSQL and to
//! the SMTP server.
//!
//! | fault | test |
//! |---|---|
//! | 1. SMTP down | `smtp_down` |
//! | 2. SIGKILL after the 200, before the email | `crash` |
//! | 3. PostgreSQL unreachable | `database_down` (PostgreSQL only) |
//! | 4. 100 simultaneous deactivations, one or two replicas | `concurrency` |
//! | 5. SIGTERM with requests and an email in flight | `shutdown` |
//! | 6. SIGKILL while the SMTP server holds the message after `DATA` | `stalled_send` |
//! | 7. SIGKILL while a webhook receiver holds the request | `webhook_crash` |
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod crash;
mod database_down;
mod harness;
mod proxy;
mod shutdown;
mod smtp_down;
mod stalled_send;
mod webhook_crash;
