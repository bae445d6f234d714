//! What an RFC 8935 push answer means for the SET pushed.

use chrono::{DateTime, TimeDelta, Utc};
use warden_domain::SetFinish;

/// Attempts after which a SET still refused is given up (recorded failed).
pub const MAX_ATTEMPTS: u32 = 12;

/// The finish of attempt number `attempts` (from 1): 202 delivered; 400 final (the receiver
/// refused this SET, its `err` recorded); anything else (429, 5xx, no answer, other statuses)
/// retried after an exponential backoff (2^attempts seconds, at most an hour) until
/// [`MAX_ATTEMPTS`].
pub fn push_finish(
    code: Option<u16>,
    err: Option<&str>,
    attempts: u32,
    now: DateTime<Utc>,
) -> SetFinish {
    let error = match code {
        Some(202) => return SetFinish::Delivered,
        Some(400) => return SetFinish::Failed(format!("400: {}", err.unwrap_or("no err given"))),
        Some(code) => format!("answered {code}"),
        None => "no answer".to_owned(),
    };
    if attempts >= MAX_ATTEMPTS {
        return SetFinish::Failed(format!("{error} ({attempts} attempts)"));
    }
    let delay = TimeDelta::seconds(1_i64 << attempts.min(12)).min(TimeDelta::hours(1));
    SetFinish::RetryAt(now + delay, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_202_delivers_and_only_400_is_final_at_once() {
        let now = Utc::now();
        assert_eq!(push_finish(Some(202), None, 1, now), SetFinish::Delivered);
        assert_eq!(
            push_finish(Some(400), Some("invalid_key"), 1, now),
            SetFinish::Failed("400: invalid_key".into())
        );
        for code in [Some(429), Some(500), Some(503), None] {
            assert!(
                matches!(push_finish(code, None, 1, now), SetFinish::RetryAt(at, _) if at > now)
            );
        }
        assert!(matches!(
            push_finish(Some(500), None, MAX_ATTEMPTS, now),
            SetFinish::Failed(_)
        ));
    }
}
