use std::fmt;

/// A syntactically plausible email address, trimmed and lower-cased so that one mailbox has one
/// spelling (the uniqueness rule of the user store relies on that).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

const MAX_LEN: usize = 254;

impl EmailAddress {
    /// # Errors
    /// [`InvalidEmailAddress`] when `text` is empty, too long, contains white space, control
    /// or invisible format characters, or is not `local@domain.tld`.
    pub fn parse(text: &str) -> Result<Self, InvalidEmailAddress> {
        let text = text.trim().to_lowercase();
        let plausible = text.len() <= MAX_LEN
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || crate::text::is_format(c))
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.'));
        if plausible {
            Ok(Self(text))
        } else {
            Err(InvalidEmailAddress)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

/// From [`EmailAddress::parse`]: the text is not an acceptable email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmailAddress;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        let email = EmailAddress::parse("  Ada@Example.COM ").map(|e| e.to_string());
        assert_eq!(email, Ok("ada@example.com".to_string()));
    }

    #[test]
    fn rejects_implausible_addresses() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
            "ada@example.com.",
            "ada@exa\u{0}mple.com",
            "ada\u{200B}@example.com",
            "ada@elpmaxe\u{202E}.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidEmailAddress),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(InvalidEmailAddress));
    }
}
