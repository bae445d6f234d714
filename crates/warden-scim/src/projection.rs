//! Which attributes a response holds (RFC 7644 3.4.2.5 and 3.9): `attributes` names the only
//! ones wanted, `excludedAttributes` the ones not wanted (ignored when `attributes` is given).
//! Names are case-insensitive, may carry the core User schema's URN, and may name a
//! sub-attribute (`name.givenName`, `emails.value`); `id` and `schemas` are always returned.
//! Names Warden does not know select nothing and are not an error.

use serde_json::{Map, Value};

use crate::error::ScimError;

const USER_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";

/// Longer lists of names are refused unread.
const MAX_NAMES: usize = 50;

/// Attributes returned whatever is asked.
const ALWAYS: [&str; 2] = ["id", "schemas"];

/// What to keep of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// Everything (the default set).
    #[default]
    All,
    /// Only these paths (and `id`, `schemas`).
    Only(Vec<Path>),
    /// All but these paths.
    Except(Vec<Path>),
}

/// An attribute, or one of its sub-attributes: lowercase names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    attribute: String,
    sub: Option<String>,
}

impl Projection {
    /// From the comma-separated lists of a URL's query (either may be absent or blank).
    ///
    /// # Errors
    /// A 400 `invalidValue` for more than 50 names or a name that is not an attribute path.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let split = |text: &str| -> Vec<String> {
            text.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Self::of(
            &attributes.map(split).unwrap_or_default(),
            &excluded.map(split).unwrap_or_default(),
        )
    }

    /// From a URL's query string (`attributes`, `excludedAttributes`, in any case); other
    /// parameters are ignored.
    ///
    /// # Errors
    /// As [`Projection::parse`].
    pub fn from_query(query: &str) -> Result<Self, ScimError> {
        let (mut attributes, mut excluded) = (None, None);
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if name.eq_ignore_ascii_case("attributes") {
                attributes = Some(value.into_owned());
            } else if name.eq_ignore_ascii_case("excludedAttributes") {
                excluded = Some(value.into_owned());
            }
        }
        Self::parse(attributes.as_deref(), excluded.as_deref())
    }

    /// From lists of names (a search request's `attributes` and `excludedAttributes`).
    ///
    /// # Errors
    /// As [`Projection::parse`].
    pub fn of(attributes: &[String], excluded: &[String]) -> Result<Self, ScimError> {
        if !attributes.is_empty() {
            return Ok(Self::Only(paths(attributes, "attributes")?));
        }
        if !excluded.is_empty() {
            return Ok(Self::Except(paths(excluded, "excludedAttributes")?));
        }
        Ok(Self::All)
    }

    /// `resource` (a JSON object) with only what is asked for.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(object) = resource else {
            return resource;
        };
        let kept = object.into_iter().filter_map(|(key, value)| {
            if ALWAYS.iter().any(|always| key.eq_ignore_ascii_case(always)) {
                return Some((key, value));
            }
            let lower = key.to_ascii_lowercase();
            let named: Vec<&Path> = match self {
                Self::All => return Some((key, value)),
                Self::Only(paths) | Self::Except(paths) => {
                    paths.iter().filter(|p| p.attribute == lower).collect()
                }
            };
            let whole = named.iter().any(|p| p.sub.is_none());
            let subs: Vec<&str> = named.iter().filter_map(|p| p.sub.as_deref()).collect();
            match self {
                Self::Only(_) if whole => Some((key, value)),
                Self::Only(_) if subs.is_empty() => None,
                Self::Only(_) => keep_subs(value, &subs, true).map(|v| (key, v)),
                Self::Except(_) if whole => None,
                Self::Except(_) if subs.is_empty() => Some((key, value)),
                _ => keep_subs(value, &subs, false).map(|v| (key, v)),
            }
        });
        Value::Object(kept.collect())
    }
}

/// A complex attribute (or each value of a multi-valued one) with only (`only`) or without
/// the sub-attributes `subs`; none when nothing is left.
fn keep_subs(value: Value, subs: &[&str], only: bool) -> Option<Value> {
    let filter = |object: Map<String, Value>| -> Option<Value> {
        let kept: Map<String, Value> = object
            .into_iter()
            .filter(|(key, _)| subs.iter().any(|s| key.eq_ignore_ascii_case(s)) == only)
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Object(object) => filter(object),
        Value::Array(values) => {
            let kept: Vec<Value> = values
                .into_iter()
                .filter_map(|value| match value {
                    Value::Object(object) => filter(object),
                    other => (!only).then_some(other),
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        // A simple attribute has no sub-attributes: asking for one selects nothing of it.
        other => (!only).then_some(other),
    }
}

fn paths(names: &[String], list: &str) -> Result<Vec<Path>, ScimError> {
    if names.len() > MAX_NAMES {
        return Err(ScimError::bad_request(
            "invalidValue",
            format!("{list} names at most {MAX_NAMES} attributes"),
        ));
    }
    names.iter().map(|name| path(name, list)).collect()
}

fn path(name: &str, list: &str) -> Result<Path, ScimError> {
    let lower = name.trim().to_ascii_lowercase();
    let local = lower.strip_prefix(USER_SCHEMA_PREFIX).unwrap_or(&lower);
    let (attribute, sub) = match local.split_once('.') {
        Some((attribute, sub)) => (attribute, Some(sub)),
        None => (local, None),
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part.len() <= 64
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if !plain(attribute) || !sub.is_none_or(plain) {
        return Err(ScimError::bad_request(
            "invalidValue",
            format!("{list} must be attribute names such as userName or name.givenName"),
        ));
    }
    Ok(Path {
        attribute: attribute.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "1",
            "userName": "ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
            "meta": {"resourceType": "User", "version": "W/\"1\""},
        })
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_always_id_and_schemas() {
        let only = Projection::parse(Some("userName, NAME.givenName,emails.value"), None).unwrap();
        assert_eq!(
            only.apply(user()),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "ada",
                "name": {"givenName": "Ada"},
                "emails": [{"value": "ada@example.com"}],
            })
        );
        let urn = "urn:ietf:params:scim:schemas:core:2.0:User:active";
        let only = Projection::parse(Some(urn), Some("active")).unwrap();
        assert_eq!(
            only.apply(user()),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "active": true})
        );
        let only = Projection::parse(Some("id,nickName"), None).unwrap();
        let kept = only.apply(user());
        assert_eq!(kept.as_object().unwrap().len(), 2, "{kept}");
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_id_or_schemas() {
        let except =
            Projection::parse(None, Some("emails,name.familyName,id,meta,schemas")).unwrap();
        assert_eq!(
            except.apply(user()),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "ada",
                "name": {"givenName": "Ada"},
                "active": true,
            })
        );
        assert_eq!(
            Projection::parse(Some(" "), Some("")).unwrap(),
            Projection::All
        );
        assert_eq!(Projection::All.apply(user()), user());
    }

    #[test]
    fn names_that_are_not_paths_are_refused() {
        for bad in ["name..x", "user name", "a.b.c", "emails[type eq \"work\"]"] {
            let error = Projection::parse(Some(bad), None).expect_err(bad);
            assert_eq!(error.scim_type(), Some("invalidValue"), "{bad}");
        }
        let many = vec!["userName"; 51].join(",");
        assert!(Projection::parse(None, Some(&many)).is_err());
    }
}
