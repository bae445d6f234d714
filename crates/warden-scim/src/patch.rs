//! `PATCH /Users/{id}` (RFC 7644 3.5.2): a `PatchOp` whose operations are applied in order to
//! the user's attributes, then saved at once. Accepted: `add`, `replace` and `remove` (in any
//! case), with a `path` of `active`, `userName`, `externalId`, `name`, `name.givenName` or
//! `name.familyName` (case-insensitive, with or without the User schema's URN), or without a
//! path and an object of those attributes as the value: Okta's `{"op": "replace", "value":
//! {"active": false}}` and Entra ID's `{"op": "Replace", "path": "active", "value": "False"}`.
//! `displayName`, `name.formatted` and `emails` are derived from the names and `userName`, so
//! operations on them are accepted and change nothing. Any other attribute is refused (`invalidPath`).

use serde_json::{Map, Value};
use warden_domain::use_cases::ProfileInput;
use warden_domain::ProvisionedUser;

use crate::error::ScimError;
use crate::resource::{boolean, field, wrong_type};

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const USER_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";

/// Most operations one request may carry.
const MAX_OPERATIONS: usize = 100;

/// The user's attributes as the operations leave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub profile: ProfileInput,
    pub active: bool,
}

impl Draft {
    /// The account's attributes as they are now, for operations to change.
    pub fn of(account: &ProvisionedUser) -> Self {
        Self {
            profile: ProfileInput {
                email: account.user.email.as_str().to_owned(),
                first_name: account.user.first_name.clone(),
                last_name: account.user.last_name.clone(),
                external_id: account.external_id.as_ref().map(ToString::to_string),
            },
            active: account.user.is_active(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    Active,
    UserName,
    ExternalId,
    Name,
    GivenName,
    FamilyName,
    /// Derived from other attributes: accepted, changes nothing.
    Derived,
}

/// Applies the `PatchOp` in `body` to `draft`.
///
/// # Errors
/// A 400 with `invalidSyntax` (not a PatchOp), `invalidPath` (an attribute Warden does not
/// have), `noTarget` (a `remove` without a path), `mutability` (removing `userName` or
/// `active`) or `invalidValue` (a value of the wrong type).
pub fn apply(body: &[u8], draft: &mut Draft) -> Result<(), ScimError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ScimError::bad_request("invalidSyntax", "The request body is not valid JSON")
    })?;
    let Value::Object(message) = value else {
        return Err(syntax("The request body must be a PatchOp object"));
    };
    if let Some(schemas) = field(&message, "schemas") {
        let names_patch = schemas
            .as_array()
            .is_some_and(|list| list.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)));
        if !names_patch {
            return Err(syntax("schemas must name the PatchOp message"));
        }
    }
    let Some(Value::Array(operations)) = field(&message, "Operations") else {
        return Err(syntax("Operations must be an array"));
    };
    if operations.len() > MAX_OPERATIONS {
        return Err(syntax("Too many operations"));
    }
    for operation in operations {
        let Value::Object(operation) = operation else {
            return Err(syntax("Each operation must be an object"));
        };
        operate(operation, draft)?;
    }
    Ok(())
}

fn operate(operation: &Map<String, Value>, draft: &mut Draft) -> Result<(), ScimError> {
    let op = match field(operation, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
        _ => return Err(syntax("op must be add, replace or remove")),
    };
    let value = field(operation, "value");
    let path = match field(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => Some(attribute(path)?),
        Some(_) => return Err(wrong_type("path", "a string")),
    };
    match (op, path) {
        (Op::Remove, None) => Err(ScimError::bad_request("noTarget", "remove needs a path")),
        (Op::Remove, Some(attribute)) => remove(attribute, draft),
        (Op::Add | Op::Replace, Some(attribute)) => {
            let value = value.ok_or_else(|| wrong_type("value", "given"))?;
            set(attribute, value, draft)
        }
        (Op::Add | Op::Replace, None) => match value {
            Some(Value::Object(attributes)) => {
                for (name, value) in attributes {
                    set(attribute(name)?, value, draft)?;
                }
                Ok(())
            }
            _ => Err(wrong_type(
                "value",
                "an object of attributes when there is no path",
            )),
        },
    }
}

fn attribute(path: &str) -> Result<Attribute, ScimError> {
    let lower = path.trim().to_ascii_lowercase();
    let name = lower.strip_prefix(USER_SCHEMA_PREFIX).unwrap_or(&lower);
    Ok(match name {
        "active" => Attribute::Active,
        "username" => Attribute::UserName,
        "externalid" => Attribute::ExternalId,
        "name" => Attribute::Name,
        "name.givenname" => Attribute::GivenName,
        "name.familyname" => Attribute::FamilyName,
        "displayname" | "name.formatted" | "schemas" => Attribute::Derived,
        _ if name == "emails" || name.starts_with("emails[") || name.starts_with("emails.") => {
            Attribute::Derived
        }
        _ => {
            return Err(ScimError::bad_request(
                "invalidPath",
                "Unsupported attribute: Warden's users have active, userName, externalId, name.givenName and name.familyName",
            ))
        }
    })
}

fn set(attribute: Attribute, value: &Value, draft: &mut Draft) -> Result<(), ScimError> {
    match attribute {
        Attribute::Active => {
            draft.active = boolean(value).ok_or_else(|| wrong_type("active", "a boolean"))?;
        }
        Attribute::UserName => draft.profile.email = text(value, "userName")?,
        Attribute::ExternalId => {
            draft.profile.external_id = match value {
                Value::Null => None,
                _ => Some(text(value, "externalId")?),
            };
        }
        Attribute::GivenName => draft.profile.first_name = text(value, "name.givenName")?,
        Attribute::FamilyName => draft.profile.last_name = text(value, "name.familyName")?,
        Attribute::Name => {
            let Value::Object(name) = value else {
                return Err(wrong_type("name", "an object"));
            };
            for (key, part) in name {
                if key.eq_ignore_ascii_case("givenName") {
                    draft.profile.first_name = text(part, "name.givenName")?;
                } else if key.eq_ignore_ascii_case("familyName") {
                    draft.profile.last_name = text(part, "name.familyName")?;
                } else if !key.eq_ignore_ascii_case("formatted") {
                    return Err(attribute_error());
                }
            }
        }
        Attribute::Derived => {}
    }
    Ok(())
}

fn remove(attribute: Attribute, draft: &mut Draft) -> Result<(), ScimError> {
    match attribute {
        Attribute::Active | Attribute::UserName => Err(ScimError::bad_request(
            "mutability",
            "active and userName cannot be removed",
        )),
        Attribute::ExternalId => {
            draft.profile.external_id = None;
            Ok(())
        }
        Attribute::GivenName => {
            draft.profile.first_name.clear();
            Ok(())
        }
        Attribute::FamilyName => {
            draft.profile.last_name.clear();
            Ok(())
        }
        Attribute::Name => {
            draft.profile.first_name.clear();
            draft.profile.last_name.clear();
            Ok(())
        }
        Attribute::Derived => Ok(()),
    }
}

fn text(value: &Value, attribute: &str) -> Result<String, ScimError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(wrong_type(attribute, "a string")),
    }
}

fn attribute_error() -> ScimError {
    ScimError::bad_request("invalidPath", "Unsupported attribute of name")
}

fn syntax(detail: &'static str) -> ScimError {
    ScimError::bad_request("invalidSyntax", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            profile: ProfileInput {
                email: "ada@example.com".into(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                external_id: Some("00u1".into()),
            },
            active: true,
        }
    }

    fn patched(body: &str) -> Result<Draft, ScimError> {
        let mut draft = draft();
        apply(body.as_bytes(), &mut draft).map(|()| draft)
    }

    #[test]
    fn okta_deactivates_with_a_value_object_and_no_path() {
        let done = patched(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","value":{"active":false}}]}"#,
        )
        .unwrap();
        assert_eq!(
            done,
            Draft {
                active: false,
                ..draft()
            }
        );
    }

    #[test]
    fn entra_deactivates_with_a_path_and_a_string() {
        for value in [r#""False""#, r#""false""#, "false"] {
            let done = patched(&format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations":[{{"op":"Replace","path":"active","value":{value}}}]}}"#
            ))
            .unwrap();
            assert!(!done.active, "{value}");
        }
        let back = patched(r#"{"Operations":[{"op":"REPLACE","path":"Active","value":"True"}]}"#);
        assert!(back.unwrap().active);
    }

    #[test]
    fn names_user_name_and_external_id_change() {
        let done = patched(r#"{"Operations":[
            {"op":"replace","path":"name.givenName","value":"Augusta"},
            {"op":"Add","path":"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName","value":"King"},
            {"op":"replace","path":"userName","value":"augusta@example.com"},
            {"op":"remove","path":"externalId"},
            {"op":"replace","path":"displayName","value":"ignored"},
            {"op":"Add","path":"name.formatted","value":"ignored"},
            {"op":"replace","path":"emails[type eq \"work\"].value","value":"ignored@example.com"}]}"#)
        .unwrap();
        assert_eq!(done.profile.first_name, "Augusta");
        assert_eq!(done.profile.last_name, "King");
        assert_eq!(done.profile.email, "augusta@example.com");
        assert_eq!(done.profile.external_id, None);
        assert!(done.active);
        let done = patched(r#"{"Operations":[{"op":"replace","value":
            {"name":{"givenName":"A","familyName":"B"},"externalId":"x","userName":"u@example.com"}}]}"#)
        .unwrap();
        assert_eq!(
            (
                done.profile.first_name.as_str(),
                done.profile.last_name.as_str()
            ),
            ("A", "B")
        );
        assert_eq!(done.profile.external_id.as_deref(), Some("x"));
    }

    #[test]
    fn anything_else_is_refused_with_a_scim_type() {
        for (bad, scim_type) in [
            ("nope", "invalidSyntax"),
            ("[]", "invalidSyntax"),
            (r#"{"schemas":["other"],"Operations":[]}"#, "invalidSyntax"),
            (r#"{"Operations":{}}"#, "invalidSyntax"),
            (
                r#"{"Operations":[{"op":"move","path":"active","value":false}]}"#,
                "invalidSyntax",
            ),
            (
                r#"{"Operations":[{"op":"replace","path":"title","value":"x"}]}"#,
                "invalidPath",
            ),
            (
                r#"{"Operations":[{"op":"replace","value":{"nickName":"x"}}]}"#,
                "invalidPath",
            ),
            (r#"{"Operations":[{"op":"remove"}]}"#, "noTarget"),
            (
                r#"{"Operations":[{"op":"remove","path":"active"}]}"#,
                "mutability",
            ),
            (
                r#"{"Operations":[{"op":"replace","path":"active","value":"maybe"}]}"#,
                "invalidValue",
            ),
            (
                r#"{"Operations":[{"op":"replace","path":"active"}]}"#,
                "invalidValue",
            ),
            (
                r#"{"Operations":[{"op":"replace","value":false}]}"#,
                "invalidValue",
            ),
        ] {
            let error = patched(bad).expect_err(bad);
            let body = serde_json::to_value(error.body()).unwrap();
            assert_eq!(body["scimType"], scim_type, "{bad}");
            assert_eq!(body["status"], "400", "{bad}");
        }
    }
}
