//! How another service verifies Warden's webhooks (Standard Webhooks v1) before it trusts one:
//! the signature over `{webhook-id}.{webhook-timestamp}.{body}` with the endpoint's secret, a
//! timestamp close to now, and the `webhook-id` not seen before. It needs only `hmac`, `sha2`
//! and `base64`; call [`verify`] from any HTTP framework's handler with the three headers and
//! the raw body (before any JSON parsing: a re-serialised body would not verify).
//!
//! Run it: `cargo run -p warden --example webhook_consumer` (it checks the specification's
//! published example).

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far `webhook-timestamp` may be from the receiver's clock (replayed requests are older).
const TOLERANCE_SECONDS: i64 = 5 * 60;

#[derive(Debug, PartialEq, Eq)]
enum Rejected {
    MissingHeader(&'static str),
    BadSecret,
    StaleTimestamp,
    BadSignature,
}

/// Checks one request; `now` is the receiver's Unix time. `secret` is the `whsec_...` value
/// shown when the endpoint was created (or rotated).
fn verify(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejected> {
    let id = id.ok_or(Rejected::MissingHeader("webhook-id"))?;
    let timestamp = timestamp.ok_or(Rejected::MissingHeader("webhook-timestamp"))?;
    let signature = signature.ok_or(Rejected::MissingHeader("webhook-signature"))?;
    let sent: i64 = timestamp.parse().map_err(|_| Rejected::StaleTimestamp)?;
    if (now - sent).abs() > TOLERANCE_SECONDS {
        return Err(Rejected::StaleTimestamp);
    }
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|key| STANDARD.decode(key).ok())
        .ok_or(Rejected::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| Rejected::BadSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    // During a secret rotation the header holds two space-separated entries: one must match.
    // `verify_slice` compares in constant time.
    let matches = signature.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| mac.clone().verify_slice(&sig).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(Rejected::BadSignature)
    }
}

/// Delivery is at least once: a request whose `webhook-id` was handled already is answered 2xx
/// and otherwise ignored. (Keep the ids in your database, for longer than Warden retries: a
/// day and a half.)
#[derive(Debug, Default)]
struct Seen(HashSet<String>);

impl Seen {
    fn first_time(&mut self, id: &str) -> bool {
        self.0.insert(id.to_owned())
    }
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: &str = "1614265330";
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn main() {
    let now = 1_614_265_330 + 10;
    let checked = verify(
        SECRET,
        Some(ID),
        Some(TIMESTAMP),
        Some(SIGNATURE),
        BODY,
        now,
    );
    println!("the specification's example: {checked:?}");
    let mut seen = Seen::default();
    println!("first delivery of {ID}: {}", seen.first_time(ID));
    println!("a retry of {ID} is a duplicate: {}", !seen.first_time(ID));
}

#[test]
fn verifies_the_specification_example_and_rejects_tampering() {
    let now = 1_614_265_330;
    let check = |signature: &str, body: &[u8], now: i64| {
        verify(
            SECRET,
            Some(ID),
            Some(TIMESTAMP),
            Some(signature),
            body,
            now,
        )
    };
    assert_eq!(check(SIGNATURE, BODY, now), Ok(()));
    let rotated = format!("v1,c29tZSBvdGhlciBrZXk= {SIGNATURE}");
    assert_eq!(check(&rotated, BODY, now), Ok(()));
    assert_eq!(
        check(SIGNATURE, br#"{"test": 2432232315}"#, now),
        Err(Rejected::BadSignature)
    );
    assert_eq!(
        check(SIGNATURE, BODY, now + 3600),
        Err(Rejected::StaleTimestamp)
    );
    assert_eq!(
        verify(SECRET, None, Some(TIMESTAMP), Some(SIGNATURE), BODY, now),
        Err(Rejected::MissingHeader("webhook-id"))
    );
    let mut seen = Seen::default();
    assert!(seen.first_time(ID) && !seen.first_time(ID));
}
