use std::fmt;

/// A plain-text password on its way to the hasher. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 1024;

    /// # Errors
    /// [`InvalidPassword`] when shorter than [`Password::MIN_CHARS`] or longer than
    /// [`Password::MAX_CHARS`] characters.
    pub fn parse(text: &str) -> Result<Self, InvalidPassword> {
        let chars = text.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// From [`Password::parse`]: shorter than [`Password::MIN_CHARS`] or longer than
/// [`Password::MAX_CHARS`] characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be between {} and {} characters",
    Password::MIN_CHARS,
    Password::MAX_CHARS
)]
pub struct InvalidPassword;

/// A password hash in PHC string format, as produced by a [`crate::ports::PasswordHasher`].
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash of an account that has no password (one a provisioning client created): stored
    /// as the empty string, which no password ever matches. Sign-in treats it exactly like an
    /// unknown account.
    pub fn unset() -> Self {
        Self(String::new())
    }

    /// Whether a password was set (see [`PasswordHash::unset`]).
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let password = Password::parse("correct horse").map(|p| format!("{p:?}"));
        assert_eq!(password.as_deref(), Ok("Password(<redacted>)"));
        let hash = PasswordHash::new("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }

    #[test]
    fn enforces_length() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(Password::MAX_CHARS + 1)).is_err());
    }
}
