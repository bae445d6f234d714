/// The underlying failure inside a port's error variant, kept for the logs (its `source()` chain
/// reaches the adapter's own error). A plain boxed standard error, so the domain's public API
/// does not make other services depend on an error-handling crate.
pub type ErrorCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `cause` and its sources on one line ("a: b: c"), skipping a source whose text its parent
/// already shows. For recorded failure texts (an outbox entry's last error).
pub fn describe(cause: &(dyn std::error::Error + 'static)) -> String {
    let mut text = cause.to_string();
    let mut source = cause.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("sending failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn describes_the_whole_chain_once() {
        let cause: ErrorCause = Box::new(Outer(std::io::Error::other("connection reset")));
        assert_eq!(describe(&*cause), "sending failed: connection reset");
        let plain: ErrorCause = "timeout".into();
        assert_eq!(describe(&*plain), "timeout");
    }
}
