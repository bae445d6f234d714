//! The query parameters of every paged route: `limit` and `cursor`, checked the same way.

use actix_web::web;
use uuid::Uuid;

use super::{ApiError, FieldError};

/// A page request: how many items, and where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: u32,
    pub cursor: Option<Uuid>,
}

/// Reads `limit` (1..=`max`, `default` when absent) and `cursor` (the previous page's
/// `next_cursor`) from a query string, handing every other parameter to `other`, which may add
/// errors of its own. Every bad field is collected; the caller reports them together with
/// [`ApiError::invalid_input`].
///
/// # Errors
/// A 422 on `query` when the query string itself cannot be parsed.
pub fn page_query(
    query: &str,
    default: u32,
    max: u32,
    mut other: impl FnMut(&str, &str, &mut Vec<FieldError>),
) -> Result<(PageQuery, Vec<FieldError>), ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| ApiError::invalid_input(vec![FieldError::new("query", "is malformed")]))?;
    let mut page = PageQuery {
        limit: default,
        cursor: None,
    };
    let mut errors = Vec::new();
    for (name, value) in pairs.into_inner() {
        match name.as_str() {
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => page.limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be a whole number from 1 to {max}"),
                )),
            },
            "cursor" => match Uuid::try_parse(&value) {
                Ok(id) => page.cursor = Some(id),
                Err(_) => errors.push(FieldError::new(
                    "cursor",
                    "must be a cursor from a previous page",
                )),
            },
            name => other(name, &value, &mut errors),
        }
    }
    Ok((page, errors))
}
