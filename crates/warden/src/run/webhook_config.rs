//! The webhook settings: `WARDEN_WEBHOOK_ALLOW_PRIVATE`, and the overrides of the retry
//! schedule that tests use (`WARDEN_WEBHOOK_FIRST_RETRY_MS`, `WARDEN_WEBHOOK_LEASE_MS`).

use std::time::Duration;

use chrono::TimeDelta;
use warden_domain::WebhookRetryPolicy;

use crate::run::config::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Lets endpoints use plain `http` and private, loopback or link-local addresses (local
    /// development and tests only); a warning is logged at start.
    pub allow_private: bool,
    /// The delay after a delivery's first failure; `None`: the schedule's 5 s.
    pub first_retry: Option<Duration>,
    /// How long a claim holds a delivery; `None`: the policy's 30 s (a send times out at 15 s).
    pub lease: Option<Duration>,
}

impl WebhookConfig {
    /// # Errors
    /// The variable whose value cannot be used.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let allow_private = match get("WARDEN_WEBHOOK_ALLOW_PRIVATE")
            .as_deref()
            .map(str::trim)
        {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                return Err(ConfigError {
                    var: "WARDEN_WEBHOOK_ALLOW_PRIVATE",
                    problem: "must be true or false".into(),
                })
            }
        };
        Ok(Self {
            allow_private,
            first_retry: millis(get, "WARDEN_WEBHOOK_FIRST_RETRY_MS", 10..=3_600_000)?,
            lease: millis(get, "WARDEN_WEBHOOK_LEASE_MS", 1000..=3_600_000)?,
        })
    }

    /// Standard Webhooks' schedule, with what the environment overrides.
    pub fn policy(&self) -> WebhookRetryPolicy {
        let mut policy = WebhookRetryPolicy::default();
        let delta = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        if let (Some(first), Some(slot)) = (self.first_retry, policy.delays.first_mut()) {
            *slot = delta(first);
        }
        if let Some(lease) = self.lease {
            policy.lease = delta(lease);
        }
        policy
    }
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = get(var) else {
        return Ok(None);
    };
    match text.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Some(Duration::from_millis(n))),
        _ => Err(ConfigError {
            var,
            problem: format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<WebhookConfig, ConfigError> {
        WebhookConfig::from_lookup(&|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_refuse_private_targets_and_keep_the_standard_schedule() {
        let plain = config(&[]).unwrap();
        assert!(!plain.allow_private);
        assert_eq!(plain.policy(), WebhookRetryPolicy::default());
        let tuned = config(&[
            ("WARDEN_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("WARDEN_WEBHOOK_FIRST_RETRY_MS", "100"),
            ("WARDEN_WEBHOOK_LEASE_MS", "2000"),
        ])
        .unwrap();
        assert!(tuned.allow_private);
        let policy = tuned.policy();
        assert_eq!(policy.delays[0], TimeDelta::milliseconds(100));
        assert_eq!(policy.delays[1], TimeDelta::minutes(5));
        assert_eq!(policy.lease, TimeDelta::seconds(2));
        for bad in [
            ("WARDEN_WEBHOOK_ALLOW_PRIVATE", "yes"),
            ("WARDEN_WEBHOOK_FIRST_RETRY_MS", "0"),
            ("WARDEN_WEBHOOK_LEASE_MS", "10"),
        ] {
            assert_eq!(config(&[bad]).unwrap_err().var, bad.0);
        }
    }
}
