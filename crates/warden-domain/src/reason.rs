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
    /// [`InvalidReason::TooLong`] when the trimmed text has more than [`Reason::MAX_CHARS`]
    /// characters; [`InvalidReason::ControlCharacter`] for control characters other than line
    /// breaks and tabs (a NUL, for one, cannot even be stored in PostgreSQL text);
    /// [`InvalidReason::FormatCharacter`] for invisible format characters (bidirectional
    /// overrides, zero-width characters), which would make the stored text read differently.
    pub fn parse(text: &str) -> Result<Option<Self>, InvalidReason> {
        let text = text.trim();
        if text.is_empty() {
            Ok(None)
        } else if text.chars().count() > Self::MAX_CHARS {
            Err(InvalidReason::TooLong)
        } else if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Err(InvalidReason::ControlCharacter)
        } else if text.chars().any(crate::text::is_format) {
            Err(InvalidReason::FormatCharacter)
        } else {
            Ok(Some(Self(text.to_owned())))
        }
    }

    /// A reason Warden writes itself: short, plain text, valid by construction.
    pub(crate) fn written_by_warden(text: &'static str) -> Self {
        Self(text.to_owned())
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
pub enum InvalidReason {
    /// The text is longer than [`Reason::MAX_CHARS`] characters (counted as characters, not
    /// bytes).
    #[error("must be at most {} characters", Reason::MAX_CHARS)]
    TooLong,
    /// The text holds a control character (a newline, a NUL, an escape...).
    #[error("must not contain control characters")]
    ControlCharacter,
    /// The text holds an invisible formatting character, such as a direction override that
    /// would make it display differently from what is stored.
    #[error("must not contain invisible formatting characters (such as direction overrides)")]
    FormatCharacter,
}

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
        assert_eq!(Reason::parse(&over), Err(InvalidReason::TooLong));
    }

    #[test]
    fn refuses_control_characters_but_keeps_line_breaks() {
        assert_eq!(
            Reason::parse("a\u{0}b"),
            Err(InvalidReason::ControlCharacter)
        );
        assert_eq!(
            Reason::parse("a\u{1b}[31m"),
            Err(InvalidReason::ControlCharacter)
        );
        assert!(matches!(Reason::parse("line one\nline\ttwo"), Ok(Some(_))));
    }

    #[test]
    fn refuses_invisible_format_characters() {
        for text in [
            "fraud \u{202E}gnp.exe",
            "a\u{200B}b",
            "\u{2066}x\u{2069}",
            "x\u{FEFF}",
        ] {
            assert_eq!(
                Reason::parse(text),
                Err(InvalidReason::FormatCharacter),
                "{text:?}"
            );
        }
        assert!(matches!(
            Reason::parse("Überprüfung — ошибка 中文"),
            Ok(Some(_))
        ));
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
