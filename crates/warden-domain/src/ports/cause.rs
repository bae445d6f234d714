/// The underlying failure inside a port's error variant, kept for the logs (its `source()` chain
/// reaches the adapter's own error). A plain boxed standard error, so the domain's public API
/// does not make other services depend on an error-handling crate.
pub type ErrorCause = Box<dyn std::error::Error + Send + Sync + 'static>;
