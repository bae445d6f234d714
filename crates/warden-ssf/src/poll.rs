//! RFC 8936 poll requests and responses.

use serde_json::{json, Map, Value};
use uuid::Uuid;
use warden_domain::PollRequest;

use crate::config::BadRequest;

/// The most SETs one poll returns, and what a poll without `maxEvents` gets.
pub const MAX_EVENTS: u32 = 100;

/// A poll body: `maxEvents`, `returnImmediately` (Warden always answers at once), `ack` and
/// `setErrs`. A `jti` that is not one of Warden's is ignored.
///
/// # Errors
/// [`BadRequest`] naming the member that is wrong.
pub fn poll_request(body: &Value) -> Result<PollRequest, BadRequest> {
    let body = body
        .as_object()
        .ok_or_else(|| BadRequest("the body must be a JSON object".into()))?;
    let max_events = match body.get("maxEvents") {
        None | Some(Value::Null) => MAX_EVENTS,
        Some(value) => value
            .as_u64()
            .map(|n| u32::try_from(n).unwrap_or(MAX_EVENTS).min(MAX_EVENTS))
            .ok_or_else(|| BadRequest("maxEvents must be a non-negative integer".into()))?,
    };
    match body.get("returnImmediately") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(_) => return Err(BadRequest("returnImmediately must be a boolean".into())),
    }
    let ack = match body.get("ack") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(|s| Uuid::parse_str(s).ok()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| BadRequest("ack must be an array of jti strings".into()))?
            .into_iter()
            .flatten()
            .collect(),
        Some(_) => return Err(BadRequest("ack must be an array of jti strings".into())),
    };
    let set_errs = match body.get("setErrs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(errs)) => set_errs(errs)?,
        Some(_) => return Err(BadRequest("setErrs must be an object keyed by jti".into())),
    };
    Ok(PollRequest {
        ack,
        set_errs,
        max_events,
    })
}

fn set_errs(errs: &Map<String, Value>) -> Result<Vec<(Uuid, String)>, BadRequest> {
    let mut out = Vec::new();
    for (jti, error) in errs {
        let err = error
            .get("err")
            .and_then(Value::as_str)
            .ok_or_else(|| BadRequest("each setErrs entry must have an err".into()))?;
        let description = error.get("description").and_then(Value::as_str);
        if let Ok(jti) = Uuid::parse_str(jti) {
            let text = match description {
                Some(description) => format!("{err}: {description}"),
                None => err.to_owned(),
            };
            out.push((jti, text.chars().take(500).collect()));
        }
    }
    Ok(out)
}

/// The poll response: `{"sets": {jti: SET}, "moreAvailable"}`.
pub fn poll_response(sets: Vec<(Uuid, String)>, more_available: bool) -> Value {
    let sets: Map<String, Value> = sets
        .into_iter()
        .map(|(jti, token)| (jti.to_string(), Value::String(token)))
        .collect();
    json!({"sets": sets, "moreAvailable": more_available})
}
