//! Timed suspension: a deactivation with an end, after which the system reactivates the account.

use chrono::{DateTime, Months, Utc};

/// When a timed suspension ends: a moment after now and at most [`SuspensionEnd::MAX_MONTHS`]
/// months ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspensionEnd(DateTime<Utc>);

/// Why a requested suspension end is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSuspensionEnd {
    /// The end is not after the moment of the change.
    #[error("must be in the future")]
    NotInFuture,
    /// The end is more than ten years after the moment of the change.
    #[error("must be at most 10 years ahead")]
    TooFar,
}

impl SuspensionEnd {
    /// Ten years.
    pub const MAX_MONTHS: u32 = 120;

    /// # Errors
    /// [`InvalidSuspensionEnd::NotInFuture`] when `until` is not after `now`;
    /// [`InvalidSuspensionEnd::TooFar`] when it is more than ten years after `now`.
    pub fn new(until: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, InvalidSuspensionEnd> {
        if until <= now {
            return Err(InvalidSuspensionEnd::NotInFuture);
        }
        let limit = now
            .checked_add_months(Months::new(Self::MAX_MONTHS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if until > limit {
            return Err(InvalidSuspensionEnd::TooFar);
        }
        Ok(Self(until))
    }

    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn an_end_must_be_after_now_and_within_ten_years() {
        let now = Utc::now();
        assert_eq!(
            SuspensionEnd::new(now, now),
            Err(InvalidSuspensionEnd::NotInFuture)
        );
        assert_eq!(
            SuspensionEnd::new(now - Duration::seconds(1), now),
            Err(InvalidSuspensionEnd::NotInFuture)
        );
        let ten_years = now.checked_add_months(Months::new(120)).unwrap();
        assert_eq!(SuspensionEnd::new(ten_years, now).unwrap().at(), ten_years);
        assert_eq!(
            SuspensionEnd::new(ten_years + Duration::seconds(1), now),
            Err(InvalidSuspensionEnd::TooFar)
        );
        assert!(SuspensionEnd::new(now + Duration::seconds(2), now).is_ok());
    }
}
