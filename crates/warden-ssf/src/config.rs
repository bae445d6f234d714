//! Stream configuration (SSF section 8.1.1): the receiver-supplied fields of a request, read
//! and checked, and the configuration a response shows.

use serde_json::{json, Map, Value};
use uuid::Uuid;
use warden_domain::{
    Stream, StreamDelivery, StreamStatus, POLL_METHOD, PUSH_METHOD, STATUS_EVENT_TYPES,
};

/// The longest `description`, `authorization_header` and event type URI accepted.
const MAX_TEXT: usize = 2048;
/// The most event types one request may name.
const MAX_EVENTS: usize = 32;

/// A request Warden cannot act on: the `description` of its 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn bad(text: &str) -> BadRequest {
    BadRequest(text.to_owned())
}

/// The delivery a receiver asks for.
#[derive(Clone, PartialEq, Eq)]
pub enum DeliveryRequest {
    Push {
        endpoint_url: String,
        authorization_header: Option<String>,
    },
    Poll,
}

impl std::fmt::Debug for DeliveryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Push { endpoint_url, .. } => write!(f, "Push({endpoint_url})"),
            Self::Poll => f.write_str("Poll"),
        }
    }
}

impl From<DeliveryRequest> for StreamDelivery {
    fn from(request: DeliveryRequest) -> Self {
        match request {
            DeliveryRequest::Push {
                endpoint_url,
                authorization_header,
            } => StreamDelivery::Push {
                endpoint_url,
                authorization_header,
            },
            DeliveryRequest::Poll => StreamDelivery::Poll,
        }
    }
}

/// The receiver-supplied fields of a create, update or replace request; `None`: not given.
/// Transmitter-supplied fields (`iss`, `aud`, `events_supported`, ...) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamRequest {
    pub stream_id: Option<Uuid>,
    pub delivery: Option<DeliveryRequest>,
    pub events_requested: Option<Vec<String>>,
    /// `Some(None)`: given as `null`.
    pub description: Option<Option<String>>,
}

impl StreamRequest {
    /// # Errors
    /// [`BadRequest`] naming the first field that is wrong.
    pub fn parse(body: &Value) -> Result<Self, BadRequest> {
        let body = body
            .as_object()
            .ok_or_else(|| bad("the body must be a JSON object"))?;
        let stream_id = stream_id(body)?;
        let delivery = body.get("delivery").map(delivery).transpose()?;
        let events_requested = body
            .get("events_requested")
            .map(events_requested)
            .transpose()?;
        let description = match body.get("description") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(text)) if text.chars().count() <= MAX_TEXT => {
                Some(Some(text.clone()))
            }
            Some(_) => {
                return Err(bad(
                    "description must be a string of at most 2048 characters",
                ))
            }
        };
        Ok(Self {
            stream_id,
            delivery,
            events_requested,
            description,
        })
    }

    /// The stream this request names.
    ///
    /// # Errors
    /// [`BadRequest`] when it names none.
    pub fn required_id(&self) -> Result<Uuid, BadRequest> {
        self.stream_id.ok_or_else(|| bad("stream_id is required"))
    }

    /// `stream` with this request applied: every field given replaces the stream's; for a
    /// replacement (`PUT`), a field not given takes its default (no events, no description).
    pub fn apply(self, mut stream: Stream, replace: bool) -> Stream {
        if let Some(delivery) = self.delivery {
            stream.delivery = delivery.into();
        } else if replace {
            stream.delivery = StreamDelivery::Poll;
        }
        if let Some(requested) = self.events_requested {
            stream.events_delivered = Stream::delivered_of(&requested);
            stream.events_requested = requested;
        } else if replace {
            stream.events_requested = Vec::new();
            stream.events_delivered = Vec::new();
        }
        match self.description {
            Some(description) => stream.description = description,
            None if replace => stream.description = None,
            None => {}
        }
        stream
    }
}

/// `stream_id` of a body or a query, when given.
///
/// # Errors
/// [`BadRequest`] when it is not a stream id.
pub fn stream_id(body: &Map<String, Value>) -> Result<Option<Uuid>, BadRequest> {
    match body.get("stream_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_stream_id(text).map(Some),
        Some(_) => Err(bad("stream_id must be a string")),
    }
}

/// # Errors
/// [`BadRequest`] when `text` is not a stream id.
pub fn parse_stream_id(text: &str) -> Result<Uuid, BadRequest> {
    Uuid::parse_str(text).map_err(|_| bad("stream_id is not a stream id"))
}

fn delivery(value: &Value) -> Result<DeliveryRequest, BadRequest> {
    let delivery = value
        .as_object()
        .ok_or_else(|| bad("delivery must be an object"))?;
    match delivery.get("method").and_then(Value::as_str) {
        Some(PUSH_METHOD) => {
            let endpoint_url = match delivery.get("endpoint_url") {
                Some(Value::String(url)) if !url.is_empty() => url.clone(),
                _ => return Err(bad("delivery.endpoint_url is required for push delivery")),
            };
            let authorization_header = match delivery.get("authorization_header") {
                None | Some(Value::Null) => None,
                Some(Value::String(text))
                    if !text.is_empty()
                        && text.len() <= MAX_TEXT
                        && text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) =>
                {
                    Some(text.clone())
                }
                Some(_) => {
                    return Err(bad(
                        "delivery.authorization_header must be printable ASCII of at most 2048 characters",
                    ))
                }
            };
            Ok(DeliveryRequest::Push {
                endpoint_url,
                authorization_header,
            })
        }
        Some(POLL_METHOD) => Ok(DeliveryRequest::Poll),
        _ => Err(bad(
            "delivery.method must be urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll)",
        )),
    }
}

fn events_requested(value: &Value) -> Result<Vec<String>, BadRequest> {
    let message = "events_requested must be an array of at most 32 event type URIs";
    let items = value.as_array().ok_or_else(|| bad(message))?;
    if items.len() > MAX_EVENTS {
        return Err(bad(message));
    }
    let mut uris: Vec<String> = Vec::new();
    for item in items {
        match item.as_str() {
            Some(uri) if !uri.is_empty() && uri.len() <= MAX_TEXT => {
                if !uris.iter().any(|u| u == uri) {
                    uris.push(uri.to_owned());
                }
            }
            _ => return Err(bad(message)),
        }
    }
    Ok(uris)
}

/// The configuration of `stream` as a response shows it. A push stream's
/// `authorization_header` is never shown; a poll stream's `endpoint_url` is `poll_url`.
pub fn stream_json(stream: &Stream, issuer: &str, poll_url: &str) -> Value {
    let delivery = match &stream.delivery {
        StreamDelivery::Push { endpoint_url, .. } => {
            json!({"method": PUSH_METHOD, "endpoint_url": endpoint_url})
        }
        StreamDelivery::Poll => json!({"method": POLL_METHOD, "endpoint_url": poll_url}),
    };
    let mut body = json!({
        "stream_id": stream.id.to_string(),
        "iss": issuer,
        "aud": stream.audience,
        "delivery": delivery,
        "events_supported": STATUS_EVENT_TYPES.iter().map(|t| t.uri()).collect::<Vec<_>>(),
        "events_requested": stream.events_requested,
        "events_delivered": stream.events_delivered.iter().map(|t| t.uri()).collect::<Vec<_>>(),
    });
    if let (Some(description), Some(map)) = (&stream.description, body.as_object_mut()) {
        map.insert("description".into(), json!(description));
    }
    body
}

/// A stream's status as the status endpoint shows it (SSF section 8.1.2).
pub fn status_json(stream: &Stream) -> Value {
    let mut body = json!({"stream_id": stream.id.to_string(), "status": stream.status.as_str()});
    if let (Some(reason), Some(map)) = (&stream.status_reason, body.as_object_mut()) {
        map.insert("reason".into(), json!(reason));
    }
    body
}

/// A status update request: `{"stream_id", "status", "reason"}`.
///
/// # Errors
/// [`BadRequest`] naming the field that is wrong.
pub fn status_request(body: &Value) -> Result<(Uuid, StreamStatus, Option<String>), BadRequest> {
    let body = body
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    let id = stream_id(body)?.ok_or_else(|| bad("stream_id is required"))?;
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(StreamStatus::parse)
        .ok_or_else(|| bad("status must be enabled, paused or disabled"))?;
    let reason = match body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= MAX_TEXT => Some(text.clone()),
        Some(_) => return Err(bad("reason must be a string of at most 2048 characters")),
    };
    Ok((id, status, reason))
}

/// A verification request: `{"stream_id", "state"}` (`state` optional).
///
/// # Errors
/// [`BadRequest`] naming the field that is wrong.
pub fn verification_request(body: &Value) -> Result<(Uuid, Option<String>), BadRequest> {
    let body = body
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    let id = stream_id(body)?.ok_or_else(|| bad("stream_id is required"))?;
    let state = match body.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= MAX_TEXT => Some(text.clone()),
        Some(_) => return Err(bad("state must be a string of at most 2048 characters")),
    };
    Ok((id, state))
}

/// An add or remove subject request: `{"stream_id", "subject": {"format", ...}}`.
///
/// # Errors
/// [`BadRequest`] naming the field that is wrong.
pub fn subject_request(body: &Value) -> Result<Uuid, BadRequest> {
    let body = body
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    let id = stream_id(body)?.ok_or_else(|| bad("stream_id is required"))?;
    match body.get("subject").and_then(Value::as_object) {
        Some(subject) if subject.get("format").and_then(Value::as_str).is_some() => Ok(id),
        _ => Err(bad("subject must be a subject identifier with a format")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_needs_an_endpoint_and_a_known_method() {
        let no_url = json!({"delivery": {"method": PUSH_METHOD}});
        assert_eq!(
            StreamRequest::parse(&no_url).unwrap_err().0,
            "delivery.endpoint_url is required for push delivery"
        );
        let odd = json!({"delivery": {"method": "urn:example"}});
        assert!(StreamRequest::parse(&odd)
            .unwrap_err()
            .0
            .starts_with("delivery.method"));
        assert!(StreamRequest::parse(&json!([1])).is_err());
        let events = json!({"events_requested": "x"});
        assert!(StreamRequest::parse(&events)
            .unwrap_err()
            .0
            .starts_with("events_requested"));
    }

    #[test]
    fn delivered_events_are_the_supported_ones_requested() {
        let disabled = STATUS_EVENT_TYPES[0].uri();
        let request = StreamRequest::parse(&json!({
            "events_requested": [disabled, "urn:example:unknown"],
        }))
        .unwrap();
        let stream = Stream {
            id: Uuid::new_v4(),
            client_id: Uuid::new_v4(),
            audience: "a".into(),
            delivery: StreamDelivery::Poll,
            events_requested: Vec::new(),
            events_delivered: Vec::new(),
            status: StreamStatus::Enabled,
            status_reason: None,
            description: None,
            created_at: chrono::Utc::now(),
        };
        let stream = request.apply(stream, false);
        assert_eq!(stream.events_delivered, vec![STATUS_EVENT_TYPES[0]]);
        assert_eq!(stream.events_requested.len(), 2);
    }
}
