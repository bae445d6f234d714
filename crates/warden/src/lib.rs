//! # warden
//!
//! The Warden service: an actix-web HTTP API and an operator CLI over the `warden-domain` use
//! cases, with PostgreSQL or SQLite storage, lettre mail and JWT credentials.

pub mod after_commit;
pub mod app;
pub mod cli;
pub mod cli_clients;
pub mod compose;
pub mod config;
pub mod console;
pub mod data_dir;
pub mod http;
pub mod job_runner;
pub mod jwt_config;
pub mod lifter;
pub mod metrics;
pub mod open_files;
pub mod os_user;
pub mod routes;
pub mod secret_strength;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod user_table;
pub mod webhook_config;
pub mod webhook_worker;
pub mod worker;

pub use app::Application;
pub use config::Config;
