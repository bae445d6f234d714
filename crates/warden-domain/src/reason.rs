use std::fmt;

/// Why an administrator changed an account's status: free text, trimmed, at most
/// [`Reason::MAX_CHARS`] characters. It is stored, shown to admins and quoted to the user.
#[derive(Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    /// Blank text means "no reason given".
    ///
    /// # Errors
    /// [`ReasonTooLong`] when the trimmed text has more than [`Reason::MAX_CHARS`] characters.
    pub fn parse(text: &str) -> Result<Option<Self>, ReasonTooLong> {
        let text = text.trim();
        if text.is_empty() {
            Ok(None)
        } else if text.chars().count() > Self::MAX_CHARS {
            Err(ReasonTooLong)
        } else {
            Ok(Some(Self(text.to_owned())))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reason({:?})", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most {} characters", Reason::MAX_CHARS)]
pub struct ReasonTooLong;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_no_reason() {
        assert_eq!(Reason::parse("   "), Ok(None));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let at_limit = "é".repeat(Reason::MAX_CHARS);
        assert!(matches!(Reason::parse(&at_limit), Ok(Some(_))));
        let over = "é".repeat(Reason::MAX_CHARS + 1);
        assert_eq!(Reason::parse(&over), Err(ReasonTooLong));
    }

    #[test]
    fn trims() {
        let reason = Reason::parse("  spam  ")
            .ok()
            .flatten()
            .map(|r| r.to_string());
        assert_eq!(reason.as_deref(), Some("spam"));
    }
}
