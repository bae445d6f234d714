//! The line formats of `GET /api/v1/events/export`: OCSF 1.5.0 class Account Change (3001),
//! Elastic Common Schema, and Warden's own event (as `GET /api/v1/events` shows it).
//!
//! Actions are mapped by their recorded name, so an action added later (a role change, say)
//! is exported as OCSF activity Other (99) until it is given a closer one here.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;
use warden_domain::ports::ExportedEvent;
use warden_domain::use_cases::LoggedEvent;
use warden_domain::{ActorKind, RecordedActor};

use super::views::EventView;

/// The OCSF schema version the `ocsf` lines follow (and are validated against: see
/// docs/api.md, "Audit export").
pub const OCSF_VERSION: &str = "1.5.0";
/// The ECS version the `ecs` lines follow.
pub const ECS_VERSION: &str = "8.11.0";

/// `format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ocsf,
    Ecs,
    Warden,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ocsf" => Some(Self::Ocsf),
            "ecs" => Some(Self::Ecs),
            "warden" => Some(Self::Warden),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ocsf => "ocsf",
            Self::Ecs => "ecs",
            Self::Warden => "warden",
        }
    }

    /// One line (without its newline).
    pub fn line(self, event: &ExportedEvent) -> Value {
        match self {
            Self::Ocsf => ocsf(&Facts::of(event)),
            Self::Ecs => ecs(&Facts::of(event)),
            Self::Warden => {
                serde_json::to_value(EventView::from(&event.event)).unwrap_or(Value::Null)
            }
        }
    }
}

/// What every format needs of an event, whatever its kind.
struct Facts<'a> {
    id: Uuid,
    action: &'static str,
    at: DateTime<Utc>,
    actor: &'a RecordedActor,
    /// `user`, `client` or `webhook`.
    target_kind: &'static str,
    target: Uuid,
    target_email: Option<&'a str>,
    reason: Option<&'a str>,
    attributes: &'a [String],
}

impl<'a> Facts<'a> {
    fn of(exported: &'a ExportedEvent) -> Self {
        let email = exported.target_email.as_deref();
        match &exported.event {
            LoggedEvent::Status(event) => Facts {
                id: event.id,
                action: event.action.as_str(),
                at: event.at,
                actor: &event.actor,
                target_kind: "user",
                target: *event.user_id.as_uuid(),
                target_email: email,
                reason: event.reason.as_ref().map(|r| r.as_str()),
                attributes: &[],
            },
            LoggedEvent::Change(change) => Facts {
                id: change.id,
                action: change.action.as_str(),
                at: change.at,
                actor: &change.actor,
                target_kind: change.target_kind().as_str(),
                target: change.target,
                target_email: email.filter(|_| change.target_kind().as_str() == "user"),
                reason: None,
                attributes: &change.attributes,
            },
        }
    }

    /// The reason, or what happened when none was given.
    fn message(&self) -> String {
        match self.reason {
            Some(reason) => reason.to_owned(),
            None if self.attributes.is_empty() => format!("{} {}", self.target_kind, self.action),
            None => format!(
                "{} {} ({})",
                self.target_kind,
                self.action,
                self.attributes.join(", ")
            ),
        }
    }
}

/// OCSF Account Change activity for a recorded action: the closest one, or Other (99).
pub fn ocsf_activity(action: &str) -> (u8, &'static str) {
    match action {
        "deactivated" | "client_revoked" => (5, "Disable"),
        "reactivated" => (2, "Enable"),
        "client_created" => (1, "Create"),
        _ => (99, "Other"),
    }
}

fn ocsf(facts: &Facts<'_>) -> Value {
    let (activity_id, activity) = ocsf_activity(facts.action);
    let type_uid = 3001 * 100 + u32::from(activity_id);
    let mut actor = Map::new();
    if let Some(id) = facts.actor.id {
        actor.insert("uid".into(), json!(id.to_string()));
    }
    actor.insert("name".into(), json!(facts.actor.name));
    let (type_id, type_name) = match facts.actor.kind {
        ActorKind::User | ActorKind::Operator => (2, "Admin"),
        ActorKind::System => (3, "System"),
        // A machine client, or a kind added later.
        _ => (99, "Service"),
    };
    actor.insert("type_id".into(), json!(type_id));
    actor.insert("type".into(), json!(type_name));
    let mut user = Map::new();
    user.insert("uid".into(), json!(facts.target.to_string()));
    if let Some(email) = facts.target_email {
        user.insert("email_addr".into(), json!(email));
    }
    match facts.target_kind {
        "user" => {
            user.insert("type_id".into(), json!(1));
            user.insert("type".into(), json!("User"));
        }
        other => {
            user.insert("type_id".into(), json!(99));
            user.insert("type".into(), json!(other));
        }
    }
    json!({
        "class_uid": 3001,
        "class_name": "Account Change",
        "category_uid": 3,
        "category_name": "Identity & Access Management",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": type_uid,
        "type_name": format!("Account Change: {activity}"),
        "time": facts.at.timestamp_millis(),
        "severity_id": 1,
        "severity": "Informational",
        "status_id": 1,
        "status": "Success",
        "message": facts.message(),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": facts.id.to_string(),
            "event_code": facts.action,
            "product": {
                "name": "Warden",
                "vendor_name": "Warden",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "actor": { "user": actor },
        "user": user,
    })
}

fn ecs(facts: &Facts<'_>) -> Value {
    let (category, kinds) = match facts.target_kind {
        "user" => (json!(["iam"]), json!(["user", "change"])),
        "client" => (json!(["iam"]), json!(["change"])),
        _ => (json!(["configuration"]), json!(["change"])),
    };
    let mut actor = Map::new();
    if let Some(id) = facts.actor.id {
        actor.insert("id".into(), json!(id.to_string()));
    }
    actor.insert("name".into(), json!(facts.actor.name));
    if facts.actor.kind == ActorKind::User {
        // An admin is recorded by email address.
        actor.insert("email".into(), json!(facts.actor.name));
    }
    let mut related = vec![json!(facts.actor.name)];
    let mut user = Value::Object(actor);
    if facts.target_kind == "user" {
        let mut target = Map::new();
        target.insert("id".into(), json!(facts.target.to_string()));
        if let Some(email) = facts.target_email {
            target.insert("email".into(), json!(email));
            related.push(json!(email));
        }
        related.push(json!(facts.target.to_string()));
        user["target"] = Value::Object(target);
    }
    if let Some(id) = facts.actor.id {
        related.push(json!(id.to_string()));
    }
    json!({
        "@timestamp": facts.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "ecs": { "version": ECS_VERSION },
        "event": {
            "id": facts.id.to_string(),
            "kind": "event",
            "action": facts.action,
            "category": category,
            "type": kinds,
            "outcome": "success",
            "provider": "warden",
            "dataset": "warden.audit",
        },
        "message": facts.message(),
        "user": user,
        "related": { "user": related },
        "labels": {
            "actor_kind": facts.actor.kind.as_str(),
            "target_kind": facts.target_kind,
        },
    })
}
