//! The SCIM filters Warden answers (RFC 7644 3.4.2.2), a subset: `attr eq "value"` joined by
//! `and`, for `userName`, `emails.value` (both the account's email) and `externalId`. Attribute
//! names and operators are case-insensitive, and may carry the core User schema's URN as a
//! prefix. Anything else is refused with `invalidFilter`.

use warden_domain::{EmailAddress, ExternalId, ProvisioningFilter};

use crate::error::ScimError;

/// Longer filters are refused unread.
const MAX_FILTER_CHARS: usize = 1000;

const USER_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";

/// The filter `text` states.
///
/// # Errors
/// A 400 `invalidFilter` for anything outside the subset.
pub fn parse(text: &str) -> Result<ProvisioningFilter, ScimError> {
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(invalid("the filter is too long"));
    }
    let mut filter = ProvisioningFilter::default();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid("the filter is empty"));
    }
    loop {
        let (attribute, after) = word(rest).ok_or_else(|| invalid("expected an attribute"))?;
        let (operator, after) = word(after).ok_or_else(|| invalid("expected an operator"))?;
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(invalid("only the eq operator is supported"));
        }
        let (value, after) = string(after)?;
        condition(&mut filter, attribute, &value)?;
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(filter);
        }
        let (joiner, after) = word(rest).ok_or_else(|| invalid("expected and"))?;
        if !joiner.eq_ignore_ascii_case("and") {
            return Err(invalid("only and may join conditions"));
        }
        rest = after;
    }
}

fn invalid(why: &str) -> ScimError {
    ScimError::bad_request(
        "invalidFilter",
        format!(
            "Unsupported filter ({why}): use userName, externalId or emails.value with eq, joined by and"
        ),
    )
}

/// Adds `attribute eq value`. A value that no account can have (not an email address, a
/// blank or overlong external id) matches nothing rather than failing.
fn condition(
    filter: &mut ProvisioningFilter,
    attribute: &str,
    value: &str,
) -> Result<(), ScimError> {
    let lower = attribute.to_ascii_lowercase();
    let name = lower.strip_prefix(USER_SCHEMA_PREFIX).unwrap_or(&lower);
    match name {
        "username" | "emails.value" | "emails" => match EmailAddress::parse(value) {
            Ok(email) => filter.and_email(email),
            Err(_) => filter.never = true,
        },
        "externalid" => match ExternalId::parse(value) {
            Ok(Some(id)) => filter.and_external_id(id),
            Ok(None) | Err(_) => filter.never = true,
        },
        _ => return Err(invalid("unsupported attribute")),
    }
    Ok(())
}

/// The next word (an attribute path or an operator), and what follows it.
fn word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-' | '$')))
        .unwrap_or(text.len());
    (end > 0).then(|| text.split_at(end))
}

/// A JSON string literal at the start of `text` (after blanks), decoded, and what follows it.
fn string(text: &str) -> Result<(String, &str), ScimError> {
    let text = text.trim_start();
    if !text.starts_with('"') {
        return Err(invalid("the value must be a quoted string"));
    }
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let (literal, rest) = text.split_at(at + 1);
                let value = serde_json::from_str::<String>(literal)
                    .map_err(|_| invalid("the value is not a valid string"))?;
                return Ok((value, rest));
            }
            _ => {}
        }
    }
    Err(invalid("unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: &str) -> Option<EmailAddress> {
        EmailAddress::parse(text).ok()
    }

    #[test]
    fn user_name_external_id_and_emails_with_eq_and_and() {
        let f = parse(r#"userName eq "Ada@Example.com""#).unwrap();
        assert_eq!(f.email, email("ada@example.com"));
        let f = parse(r#"USERNAME EQ "ada@example.com" and externalId eq "00u\"1""#).unwrap();
        assert_eq!(f.email, email("ada@example.com"));
        assert_eq!(f.external_id.unwrap().as_str(), "00u\"1");
        let f = parse(r#"emails.value eq "a@example.com""#).unwrap();
        assert_eq!(f.email, email("a@example.com"));
        let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@example.com""#)
            .unwrap();
        assert_eq!(f.email, email("a@example.com"));
        assert!(!f.never);
    }

    #[test]
    fn impossible_values_match_nothing() {
        assert!(parse(r#"userName eq "not an email""#).unwrap().never);
        assert!(parse(r#"externalId eq "  ""#).unwrap().never);
        let both = parse(r#"userName eq "a@example.com" and userName eq "b@example.com""#);
        assert!(both.unwrap().never);
    }

    #[test]
    fn anything_else_is_an_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName ne "a@example.com""#,
            r#"userName sw "a""#,
            r#"userName eq "a@example.com" or userName eq "b@example.com""#,
            r#"(userName eq "a@example.com")"#,
            r#"title eq "x""#,
            r#"userName eq a@example.com"#,
            r#"userName eq "a@example.com" and"#,
            r#"userName eq "a@example.com" junk"#,
            r#"userName eq "unterminated"#,
            r#"userName pr"#,
            r#"userName eq true"#,
        ] {
            let error = parse(bad).expect_err(bad);
            assert_eq!(error.status(), 400, "{bad}");
            assert_eq!(error.scim_type(), Some("invalidFilter"), "{bad}");
        }
        assert!(parse(&format!(r#"userName eq "{}""#, "a".repeat(1000))).is_err());
    }
}
