//! Logging: human-readable lines by default, JSON with `LOG_FORMAT=json`, filtered by `RUST_LOG`.
//! Logs go to standard error so that CLI output on standard output stays machine-readable.
//! Colours only when standard error is a terminal: `warden 2>file` or a pipe gets plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::run::config::LogFormat;

/// The filter when `RUST_LOG` is unset: the server narrates, one-shot commands only warn.
pub const SERVER_DEFAULT: &str = "info,actix_server=warn";
pub const COMMAND_DEFAULT: &str = "warn";

pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second initialisation (tests, embedding) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}
