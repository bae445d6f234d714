use std::fmt;
use uuid::Uuid;

/// A user's identity. Time-ordered (UUIDv7) when Warden mints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// Parses the textual form a client sends. Anything that is not a UUID is not a user id.
    ///
    /// # Errors
    /// [`InvalidUserId`] when `text` is not a UUID.
    pub fn parse(text: &str) -> Result<Self, InvalidUserId> {
        Uuid::try_parse(text.trim())
            .map(Self)
            .map_err(|_| InvalidUserId)
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({self})")
    }
}

/// From [`UserId::parse`]: the text is not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a user id")]
pub struct InvalidUserId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uuids_and_rejects_everything_else() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        assert_eq!(UserId::parse("12345"), Err(InvalidUserId));
        assert_eq!(UserId::parse(""), Err(InvalidUserId));
    }

    #[test]
    fn generated_ids_are_time_ordered() {
        let first = UserId::generate();
        let second = UserId::generate();
        assert!(first < second);
    }
}
