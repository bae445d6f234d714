//! # warden
//!
//! The Warden service: an actix-web HTTP API and an operator CLI over the `warden-domain` use
//! cases, with PostgreSQL or SQLite storage, lettre mail and JWT credentials.
//!
//! Where things are (docs/architecture.md has the full table):
//! - [`run`]: configuration from the environment and composition (adapters wired to use cases,
//!   the HTTP server and its background loops);
//! - [`http`]: the edge (envelope, errors, extractors per principal, limits, headers);
//! - [`routes`]: one module per group of routes; [`console`]: the admin console's pages;
//! - [`workers`]: the background loops (outbox mail, webhooks, bulk jobs, the suspension lifter)
//!   and what follows a committed change;
//! - [`cli`]: the operator commands; [`observability`]: logs and metrics.

pub mod cli;
pub mod console;
pub mod http;
pub mod observability;
pub mod routes;
pub mod run;
pub mod workers;

pub use run::app::Application;
pub use run::config::Config;
