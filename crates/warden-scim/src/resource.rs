//! The SCIM User resource (RFC 7643 4.1) as Warden shows it, and the attributes it reads from
//! a User sent to it. `userName` is the account's email address (so it is compared without
//! regard to case), `name.givenName` / `name.familyName` its first and last name, and `emails`
//! the same address again, primary and of type `work`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use warden_domain::use_cases::ProfileInput;
use warden_domain::ProvisionedUser;

use crate::error::ScimError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A SCIM User.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResource {
    /// `["urn:ietf:params:scim:schemas:core:2.0:User"]`
    schemas: [&'static str; 1],
    /// Warden's id of the account.
    id: String,
    /// The identity provider's id of the account, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    /// The account's email address.
    user_name: String,
    /// Absent when neither name is set (a removed name is unassigned, RFC 7644 3.5.2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<NameView>,
    /// The first and last name, or the email address when both are blank.
    display_name: String,
    emails: [EmailView; 1],
    active: bool,
    meta: MetaView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameView {
    /// Absent when unassigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    /// Absent when unassigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<String>,
}

/// A name part as shown: none when blank (Warden keeps an unassigned name as blank).
fn assigned(part: &str) -> Option<String> {
    (!part.trim().is_empty()).then(|| part.to_owned())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailView {
    value: String,
    primary: bool,
    /// `work`
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetaView {
    /// `User`
    resource_type: &'static str,
    created: String,
    last_modified: String,
    /// This resource's URL.
    location: String,
    /// A weak ETag of the resource's state, also sent as `ETag`; `If-Match` on PUT, PATCH and
    /// DELETE is compared with it when the change commits.
    version: String,
}

impl UserResource {
    /// `base` is the SCIM base URL (`https://host/scim/v2`).
    pub fn of(account: &ProvisionedUser, base: &str) -> Self {
        let user = &account.user;
        let full = format!("{} {}", user.first_name, user.last_name)
            .trim()
            .to_owned();
        let display_name = if full.is_empty() {
            user.email.as_str().to_owned()
        } else {
            full
        };
        Self {
            schemas: [USER_SCHEMA],
            id: user.id.to_string(),
            external_id: account.external_id.as_ref().map(ToString::to_string),
            user_name: user.email.as_str().to_owned(),
            name: match (assigned(&user.first_name), assigned(&user.last_name)) {
                (None, None) => None,
                (given_name, family_name) => Some(NameView {
                    given_name,
                    family_name,
                }),
            },
            display_name,
            emails: [EmailView {
                value: user.email.as_str().to_owned(),
                primary: true,
                kind: "work",
            }],
            active: user.is_active(),
            meta: MetaView {
                resource_type: "User",
                created: stamp(user.created_at),
                last_modified: stamp(user.updated_at),
                location: format!("{base}/Users/{}", user.id),
                version: version(account),
            },
        }
    }

    pub fn location(&self) -> &str {
        &self.meta.location
    }

    /// `meta.version`, the resource's weak ETag.
    pub fn version(&self) -> &str {
        &self.meta.version
    }

    /// As JSON, for a [`crate::Projection`] to select from.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The weak ETag of [`ProvisionedUser::version`], which changes with every change a client can
/// see.
fn version(account: &ProvisionedUser) -> String {
    format!("W/\"{}\"", account.version())
}

/// The versions an `If-Match` header accepts (RFC 7232 3.1, as SCIM uses it: weak tags
/// compared by their opaque part): none for an absent header or `*` (any version).
///
/// # Errors
/// A 400 `invalidValue` for a header that is not `*` or a list of entity tags.
pub fn if_match(header: Option<&str>) -> Result<Option<Vec<String>>, ScimError> {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    if header == "*" {
        return Ok(None);
    }
    let bad = || ScimError::bad_request("invalidValue", "If-Match must be * or entity tags");
    header
        .split(',')
        .map(|tag| {
            let tag = tag.trim();
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| !t.contains('"'))
                .map(str::to_owned)
                .ok_or_else(bad)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a POST or PUT of a User sets: the profile, and `active` when given.
#[derive(Debug)]
pub struct UserInput {
    pub profile: ProfileInput,
    pub active: Option<bool>,
}

/// Reads a User sent by a client. Unknown attributes are ignored (a provider sends what its
/// mapping holds); `userName` is required; absent names are blank and an absent `externalId`
/// is none (a PUT replaces them).
///
/// # Errors
/// A 400 `invalidSyntax` for a body that is not a JSON object, `invalidValue` for an attribute
/// of the wrong type or a missing `userName`.
pub fn read_user(body: &[u8]) -> Result<UserInput, ScimError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ScimError::bad_request("invalidSyntax", "The request body is not valid JSON")
    })?;
    let Value::Object(object) = value else {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "The request body must be a JSON object",
        ));
    };
    let email = match field(&object, "userName") {
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err(wrong_type("userName", "a string")),
        None => {
            return Err(ScimError::bad_request(
                "invalidValue",
                "userName is required",
            ))
        }
    };
    let (first_name, last_name) = match field(&object, "name") {
        None | Some(Value::Null) => (String::new(), String::new()),
        Some(Value::Object(name)) => (
            optional_string(name, "givenName", "name.givenName")?.unwrap_or_default(),
            optional_string(name, "familyName", "name.familyName")?.unwrap_or_default(),
        ),
        Some(_) => return Err(wrong_type("name", "an object")),
    };
    let external_id = optional_string(&object, "externalId", "externalId")?;
    let active = match field(&object, "active") {
        None | Some(Value::Null) => None,
        Some(value) => Some(boolean(value).ok_or_else(|| wrong_type("active", "a boolean"))?),
    };
    Ok(UserInput {
        profile: ProfileInput {
            email,
            first_name,
            last_name,
            external_id,
        },
        active,
    })
}

/// An attribute by its name, in any case (SCIM attribute names are case-insensitive).
pub fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn optional_string(
    object: &Map<String, Value>,
    name: &str,
    shown: &'static str,
) -> Result<Option<String>, ScimError> {
    match field(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(wrong_type(shown, "a string")),
    }
}

/// A boolean, or Entra ID's string form of one (`"True"`, `"false"`, in any case).
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub fn wrong_type(attribute: &str, expected: &str) -> ScimError {
    ScimError::bad_request("invalidValue", format!("{attribute} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_okta_sends_and_ignores_the_rest() {
        let body = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},
            "emails":[{"primary":true,"value":"ada@example.com","type":"work"}],
            "displayName":"Ada Lovelace","locale":"en-US","externalId":"00u1","groups":[],
            "password":"ignored","active":"True"}"#;
        let input = read_user(body).unwrap();
        assert_eq!(input.profile.email, "ada@example.com");
        assert_eq!(input.profile.first_name, "Ada");
        assert_eq!(input.profile.last_name, "Lovelace");
        assert_eq!(input.profile.external_id.as_deref(), Some("00u1"));
        assert_eq!(input.active, Some(true));
    }

    #[test]
    fn if_match_reads_weak_and_strong_tags_and_star() {
        assert_eq!(if_match(None).unwrap(), None);
        assert_eq!(if_match(Some(" * ")).unwrap(), None);
        assert_eq!(
            if_match(Some(r#"W/"3-17", "4-18""#)).unwrap(),
            Some(vec!["3-17".to_owned(), "4-18".to_owned()])
        );
        for bad in ["3-17", r#"W/"3"#, r#""a"b""#] {
            let error = if_match(Some(bad)).expect_err(bad);
            assert_eq!(error.scim_type(), Some("invalidValue"), "{bad}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"userName": 5}"#,
            br#"{"userName": "a@example.com", "name": "Ada"}"#,
            br#"{"userName": "a@example.com", "active": "maybe"}"#,
            br#"{"userName": "a@example.com", "externalId": 7}"#,
        ] {
            let error = read_user(bad).expect_err(&String::from_utf8_lossy(bad));
            assert_eq!(error.status(), 400);
        }
    }
}
