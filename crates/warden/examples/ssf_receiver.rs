//! How a relying service receives Warden's Shared Signals (SSF 1.0): it verifies each Security
//! Event Token (RFC 8417) against the key published at the transmitter's `jwks_uri` (found in
//! `/.well-known/ssf-configuration`), picked by the `kid` in the token's header, RS256 only,
//! with `typ` `secevent+jwt`, Warden's issuer and the stream's `aud`; it drops a `jti` it has
//! seen (delivery is at least once), then acts on the one event the SET carries. A push
//! receiver answers 202 when it accepted the SET, and 400 with `{"err": ...}` when it never
//! will (Warden then records it and does not retry).
//!
//! Run it: `cargo run -p warden --example ssf_receiver` (it makes a key, signs a SET as
//! Warden does, and receives it).

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const ACCOUNT_ENABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-enabled";

/// What the receiver does with an accepted SET.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// Sign the user out everywhere and refuse new sessions.
    DropSessions { user: String },
    /// Let the user sign in again.
    Allow { user: String },
    /// A verification event, or an event type this receiver does not act on.
    Nothing,
    /// Seen before: answer 202 again, do nothing.
    Duplicate,
}

/// Why a SET is refused: the RFC 8935 `err` of the 400.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    Key,
    Audience,
    Issuer,
    Request,
}

impl Refused {
    fn err(&self) -> &'static str {
        match self {
            Self::Key => "invalid_key",
            Self::Audience => "invalid_audience",
            Self::Issuer => "invalid_issuer",
            Self::Request => "invalid_request",
        }
    }
}

/// Checks one SET (`token`, the request body) against `jwks` (the JSON at `jwks_uri`).
fn receive(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
    seen: &mut HashSet<String>,
) -> Result<Action, Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refused::Request)?;
    if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some("secevent+jwt") {
        return Err(Refused::Request);
    }
    let kid = header.kid.ok_or(Refused::Key)?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .filter(|k| k["kty"] == "RSA")
        .ok_or(Refused::Key)?;
    let (n, e) = (jwk["n"].as_str(), jwk["e"].as_str());
    let key = DecodingKey::from_rsa_components(n.unwrap_or_default(), e.unwrap_or_default())
        .map_err(|_| Refused::Key)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    // A SET has no `exp` (RFC 8417 section 2.2).
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAudience => Refused::Audience,
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => Refused::Issuer,
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Refused::Key,
            _ => Refused::Request,
        })?
        .claims;
    let events = claims["events"].as_object().ok_or(Refused::Request)?;
    let (Some((event_type, _)), 1) = (events.iter().next(), events.len()) else {
        return Err(Refused::Request);
    };
    let jti = claims["jti"].as_str().ok_or(Refused::Request)?;
    if !seen.insert(jti.to_owned()) {
        return Ok(Action::Duplicate);
    }
    // Warden's subjects: `{"format": "iss_sub", "iss": <issuer>, "sub": <user id>}`.
    let user = claims["sub_id"]["sub"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(match event_type.as_str() {
        ACCOUNT_DISABLED | SESSION_REVOKED => Action::DropSessions { user },
        ACCOUNT_ENABLED => Action::Allow { user },
        _ => Action::Nothing,
    })
}

/// A SET as Warden signs it, with a key made for the demonstration.
fn warden_set(
    dir: &std::path::Path,
    event: &str,
    audience: &str,
) -> anyhow::Result<(String, Value)> {
    let key = warden_auth::SetKey::load_or_create(&dir.join("ssf-set-key.pem"))?;
    let claims = json!({
        "iss": "https://warden.example",
        "aud": audience,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": 1_796_702_400,
        "txn": uuid::Uuid::new_v4().to_string(),
        "sub_id": {"format": "iss_sub", "iss": "https://warden.example", "sub": "0193-user"},
        "events": {event: {"event_timestamp": 1_796_702_400, "initiating_entity": "admin"}},
    });
    let token = key.sign(&claims)?;
    let jwks = json!({"keys": [key.public_jwk()]});
    Ok((token, jwks))
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (token, jwks) = warden_set(dir.path(), ACCOUNT_DISABLED, "payroll")?;
    let mut seen = HashSet::new();
    let first = receive(
        &token,
        &jwks,
        "https://warden.example",
        "payroll",
        &mut seen,
    );
    println!("account-disabled: {first:?} (answer 202)");
    let again = receive(
        &token,
        &jwks,
        "https://warden.example",
        "payroll",
        &mut seen,
    );
    println!("the same SET again: {again:?} (answer 202)");
    match receive(
        &token,
        &jwks,
        "https://warden.example",
        "billing",
        &mut seen,
    ) {
        Ok(action) => println!("unexpected: {action:?}"),
        Err(refused) => println!(
            "for another audience: 400 {{\"err\": \"{}\"}}",
            refused.err()
        ),
    }
    Ok(())
}

#[test]
fn accepts_warden_sets_once_and_refuses_others() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (token, jwks) = warden_set(dir.path(), ACCOUNT_DISABLED, "payroll")?;
    let mut seen = HashSet::new();
    let issuer = "https://warden.example";
    assert_eq!(
        receive(&token, &jwks, issuer, "payroll", &mut seen),
        Ok(Action::DropSessions {
            user: "0193-user".into()
        })
    );
    assert_eq!(
        receive(&token, &jwks, issuer, "payroll", &mut seen),
        Ok(Action::Duplicate)
    );
    assert_eq!(
        receive(&token, &jwks, issuer, "billing", &mut HashSet::new()),
        Err(Refused::Audience)
    );
    assert_eq!(
        receive(
            &token,
            &jwks,
            "https://other.example",
            "payroll",
            &mut HashSet::new()
        ),
        Err(Refused::Issuer)
    );
    // Signed by another key under the same kid: refused.
    let other = tempfile::tempdir()?;
    let (_, other_jwks) = warden_set(other.path(), ACCOUNT_DISABLED, "payroll")?;
    let mut forged = other_jwks.clone();
    forged["keys"][0]["kid"] = jwks["keys"][0]["kid"].clone();
    assert_eq!(
        receive(&token, &forged, issuer, "payroll", &mut HashSet::new()),
        Err(Refused::Key)
    );
    let (enabled, jwks) = warden_set(dir.path(), ACCOUNT_ENABLED, "payroll")?;
    assert_eq!(
        receive(&enabled, &jwks, issuer, "payroll", &mut seen),
        Ok(Action::Allow {
            user: "0193-user".into()
        })
    );
    Ok(())
}
