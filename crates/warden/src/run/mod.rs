//! Configuration and composition: the typed configuration read from the environment, the
//! adapters chosen from it and wired to the domain's use cases, and the application (HTTP
//! server, background loops) built from those.

pub mod app;
pub mod compose;
pub mod config;
pub mod data_dir;
pub mod jwt_config;
pub mod open_files;
pub mod public_url;
pub mod secret_strength;
pub mod services;
pub mod ssf;
pub mod state;
pub mod webhook_config;
