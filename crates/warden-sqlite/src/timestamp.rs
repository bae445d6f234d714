//! Timestamps as fixed-width RFC 3339 UTC text with microseconds.
//!
//! diesel's own encoding of `DateTime<Utc>` for `TimestamptzSqlite` prints as many fraction
//! digits as the value has (none, 3, 6 or 9), and nanoseconds that PostgreSQL would drop. One
//! fixed width keeps text comparison (`next_attempt_at <= ?`, `ORDER BY`) equal to time order
//! and keeps the same precision as the PostgreSQL adapter. Reading accepts every format diesel
//! understands.

use chrono::{DateTime, Datelike, SubsecRound, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::TimestamptzSqlite;
use diesel::sqlite::{Sqlite, SqliteValue};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// A UTC instant as stored in SQLite. Every timestamp a query binds MUST be wrapped in this,
/// never a bare `DateTime<Utc>` (which diesel would encode in another format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = TimestamptzSqlite)]
pub(crate) struct Ts(pub(crate) DateTime<Utc>);

/// The stored text of `at`, truncated to microseconds.
///
/// # Errors
/// For years outside 0000–9999, which have no fixed-width form.
pub(crate) fn encode(at: DateTime<Utc>) -> Result<String, String> {
    if (0..=9999).contains(&at.year()) {
        Ok(at.trunc_subsecs(6).format(FORMAT).to_string())
    } else {
        Err(format!("timestamp out of the storable range: {at}"))
    }
}

impl ToSql<TimestamptzSqlite, Sqlite> for Ts {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(encode(self.0)?);
        Ok(IsNull::No)
    }
}

impl FromSql<TimestamptzSqlite, Sqlite> for Ts {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<TimestamptzSqlite, Sqlite>>::from_sql(value)
            .map(|at| Ts(at.trunc_subsecs(6)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    #[test]
    fn fixed_width_micro_precision_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        assert_eq!(encode(at).unwrap(), "2026-11-25T12:00:00.000000Z");
        let at = at + TimeDelta::nanoseconds(123_456_789);
        assert_eq!(encode(at).unwrap(), "2026-11-25T12:00:00.123456Z");
        assert!(encode(Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap()).is_err());
    }

    #[test]
    fn text_order_is_time_order() {
        let base = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let times: Vec<_> = [0, 1, 999, 1_000, 999_999, 1_000_000, 86_400_000_000]
            .iter()
            .map(|micros| base + TimeDelta::microseconds(*micros))
            .collect();
        let texts: Vec<_> = times.iter().map(|t| encode(*t).unwrap()).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
    }
}
