//! The claims of a SET: `iss`, `aud`, `jti`, `iat`, `txn`, `sub_id` and exactly one event; no
//! `sub`, no `exp` (RFC 8417 section 2.2, SSF section 4).

use serde_json::{json, Map, Value};
use warden_domain::{initiating_entity, QueuedSet, SecurityEventType};

/// The claims of `set`, issued by `issuer` to `audience`. Built from stored values only (`iat`
/// is the change's time), so the same SET signed again is the same token.
pub fn set_claims(issuer: &str, audience: &str, set: &QueuedSet) -> Value {
    let sub_id = match set.subject {
        Some(user) => json!({"format": "iss_sub", "iss": issuer, "sub": user.to_string()}),
        // A verification's subject is the stream (SSF section 8.1.4.1).
        None => json!({"format": "opaque", "id": set.stream_id.to_string()}),
    };
    let mut event = Map::new();
    match set.event_type {
        SecurityEventType::Verification => {
            if let Some(state) = &set.state {
                event.insert("state".into(), json!(state));
            }
        }
        _ => {
            event.insert("event_timestamp".into(), json!(set.occurred_at.timestamp()));
            if let Some(kind) = set.actor_kind {
                event.insert("initiating_entity".into(), json!(initiating_entity(kind)));
            }
            if let Some(reason) = &set.reason {
                event.insert("reason_admin".into(), json!({"en": reason}));
            }
        }
    }
    let mut events = Map::new();
    events.insert(set.event_type.uri().to_owned(), Value::Object(event));
    json!({
        "iss": issuer,
        "aud": audience,
        "jti": set.jti.to_string(),
        "iat": set.occurred_at.timestamp(),
        "txn": set.txn.to_string(),
        "sub_id": sub_id,
        "events": events,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;
    use warden_domain::ActorKind;

    use super::*;

    fn set(event_type: SecurityEventType, actor: ActorKind) -> QueuedSet {
        QueuedSet {
            jti: Uuid::new_v4(),
            stream_id: Uuid::new_v4(),
            txn: Uuid::new_v4(),
            event_type,
            subject: Some(Uuid::new_v4()),
            occurred_at: Utc.with_ymd_and_hms(2026, 12, 8, 4, 0, 0).unwrap(),
            actor_kind: Some(actor),
            reason: Some("left the company".into()),
            state: None,
            attempts: 0,
        }
    }

    #[test]
    fn a_status_set_names_its_subject_and_one_event_without_sub_or_exp() {
        let set = set(SecurityEventType::SessionRevoked, ActorKind::Client);
        let claims = set_claims("https://warden.example", "aud-1", &set);
        assert_eq!(claims["iss"], "https://warden.example");
        assert_eq!(claims["aud"], "aud-1");
        assert_eq!(claims["txn"], set.txn.to_string());
        assert_eq!(claims["iat"], 1_796_702_400);
        assert_eq!(
            claims["sub_id"],
            json!({"format": "iss_sub", "iss": "https://warden.example",
                   "sub": set.subject.unwrap().to_string()})
        );
        assert!(claims.get("sub").is_none() && claims.get("exp").is_none());
        let events = claims["events"].as_object().unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[SecurityEventType::SessionRevoked.uri()];
        assert_eq!(event["initiating_entity"], "policy");
        assert_eq!(event["reason_admin"], json!({"en": "left the company"}));
        assert_eq!(event["event_timestamp"], 1_796_702_400);
    }

    #[test]
    fn initiating_entities_follow_the_actor() {
        for (kind, entity) in [
            (ActorKind::User, "admin"),
            (ActorKind::Operator, "admin"),
            (ActorKind::Client, "policy"),
            (ActorKind::System, "system"),
        ] {
            let claims = set_claims("i", "a", &set(SecurityEventType::AccountEnabled, kind));
            let event = &claims["events"][SecurityEventType::AccountEnabled.uri()];
            assert_eq!(event["initiating_entity"], entity);
        }
    }

    #[test]
    fn a_verification_carries_its_state_about_the_stream() {
        let mut verification = set(SecurityEventType::Verification, ActorKind::System);
        verification.subject = None;
        verification.actor_kind = None;
        verification.state = Some("abc".into());
        let claims = set_claims("i", "a", &verification);
        assert_eq!(
            claims["events"][SecurityEventType::Verification.uri()],
            json!({"state": "abc"})
        );
        assert_eq!(claims["sub_id"]["format"], "opaque");
    }
}
