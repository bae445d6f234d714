//! Pages of resources (RFC 7644 3.4.2): the `ListResponse` message and the query of a listing
//! (`filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`), from a URL's query
//! (`GET /Users`) or a `SearchRequest` (`POST /Users/.search`, RFC 7644 3.4.3).

use serde::Serialize;
use serde_json::Value;
use warden_domain::ProvisioningFilter;

use crate::error::ScimError;
use crate::projection::Projection;
use crate::resource::field;
use crate::{filter, LIST_SCHEMA, MAX_RESULTS};

pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A page of Users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`
    schemas: [&'static str; 1],
    /// How many users the filter matches, on every page.
    #[serde(rename = "totalResults")]
    total_results: u64,
    /// The 1-based index of the first resource of this page.
    #[serde(rename = "startIndex")]
    start_index: u64,
    /// How many resources this page holds.
    #[serde(rename = "itemsPerPage")]
    items_per_page: usize,
    /// Users, with the attributes asked for.
    #[serde(rename = "Resources")]
    #[schema(value_type = Vec<crate::UserResource>)]
    resources: Vec<Value>,
}

impl ListResponse {
    /// The page of `resources` starting at `start_index` (1-based) of `total_results`.
    pub fn new(total_results: u64, start_index: u64, resources: Vec<Value>) -> Self {
        Self {
            schemas: [LIST_SCHEMA],
            total_results,
            start_index,
            items_per_page: resources.len(),
            resources,
        }
    }
}

/// The query of `GET /Users`.
#[derive(Debug)]
pub struct ListQuery {
    pub filter: ProvisioningFilter,
    /// 1-based; lower values count as 1.
    pub start_index: u64,
    /// At most [`MAX_RESULTS`] (also the default).
    pub count: u32,
    pub projection: Projection,
}

impl ListQuery {
    /// Reads an URL's query string; parameter names in any case, others ignored.
    ///
    /// # Errors
    /// A 400 `invalidFilter` for a filter outside [`filter::parse`]'s grammar, `invalidValue`
    /// for a `startIndex` or `count` that is not an integer.
    pub fn parse(query: &str) -> Result<Self, ScimError> {
        let mut parsed = Self {
            filter: ProvisioningFilter::default(),
            start_index: 1,
            count: MAX_RESULTS,
            projection: Projection::from_query(query)?,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if name.eq_ignore_ascii_case("filter") {
                parsed.filter = filter::parse(&value)?;
            } else if name.eq_ignore_ascii_case("startIndex") {
                parsed.set_start_index(integer(&value, "startIndex")?);
            } else if name.eq_ignore_ascii_case("count") {
                parsed.set_count(integer(&value, "count")?);
            }
        }
        Ok(parsed)
    }

    /// Reads a `SearchRequest` body: `filter`, `startIndex`, `count`, `attributes` and
    /// `excludedAttributes`, names in any case; `schemas`, when given, must name the message.
    ///
    /// # Errors
    /// A 400 `invalidSyntax` for a body that is not a JSON object or names another message,
    /// `invalidValue` for a member of the wrong type, and [`ListQuery::parse`]'s refusals.
    pub fn search(body: &[u8]) -> Result<Self, ScimError> {
        let syntax = |detail: &'static str| ScimError::bad_request("invalidSyntax", detail);
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| syntax("The request body is not valid JSON"))?;
        let Value::Object(request) = value else {
            return Err(syntax("The request body must be a SearchRequest object"));
        };
        if let Some(schemas) = field(&request, "schemas") {
            let names_search = schemas
                .as_array()
                .is_some_and(|list| list.iter().any(|s| s.as_str() == Some(SEARCH_SCHEMA)));
            if !names_search {
                return Err(syntax("schemas must name the SearchRequest message"));
            }
        }
        let names = |member: &str| -> Result<Vec<String>, ScimError> {
            match field(&request, member) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(text)) => Ok(text
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| wrong(member, "an array of strings")),
                Some(_) => Err(wrong(member, "an array of strings")),
            }
        };
        let mut parsed = Self {
            filter: ProvisioningFilter::default(),
            start_index: 1,
            count: MAX_RESULTS,
            projection: Projection::of(&names("attributes")?, &names("excludedAttributes")?)?,
        };
        match field(&request, "filter") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => parsed.filter = filter::parse(text)?,
            Some(_) => return Err(wrong("filter", "a string")),
        }
        for (member, set) in [
            ("startIndex", Self::set_start_index as fn(&mut Self, i64)),
            ("count", Self::set_count),
        ] {
            match field(&request, member) {
                None | Some(Value::Null) => {}
                Some(value) => set(
                    &mut parsed,
                    value.as_i64().ok_or_else(|| wrong(member, "an integer"))?,
                ),
            }
        }
        Ok(parsed)
    }

    fn set_start_index(&mut self, index: i64) {
        self.start_index = u64::try_from(index.max(1)).unwrap_or(1);
    }

    fn set_count(&mut self, count: i64) {
        let count = count.clamp(0, i64::from(MAX_RESULTS));
        self.count = u32::try_from(count).unwrap_or(MAX_RESULTS);
    }

    /// How many resources to skip.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

fn wrong(member: &str, expected: &str) -> ScimError {
    ScimError::bad_request("invalidValue", format!("{member} must be {expected}"))
}

fn integer(text: &str, name: &str) -> Result<i64, ScimError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::bad_request("invalidValue", format!("{name} must be an integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_clamped_and_names_are_case_insensitive() {
        let query = ListQuery::parse("STARTINDEX=-4&Count=1000&other=x").unwrap();
        assert_eq!(
            (query.start_index, query.count, query.offset()),
            (1, 200, 0)
        );
        let query = ListQuery::parse("startIndex=3&count=0").unwrap();
        assert_eq!((query.start_index, query.count, query.offset()), (3, 0, 2));
        let error = ListQuery::parse("count=ten").unwrap_err();
        assert_eq!(error.scim_type(), Some("invalidValue"));
        let error = ListQuery::parse("filter=title%20eq%20%22x%22").unwrap_err();
        assert_eq!(error.scim_type(), Some("invalidFilter"));
        let query = ListQuery::parse("attributes=userName").unwrap();
        assert!(matches!(query.projection, Projection::Only(_)));
    }

    #[test]
    fn a_search_request_says_what_a_query_string_says() {
        let query = ListQuery::search(
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter":"userName eq \"a@example.com\"","startIndex":2,"count":5,
            "attributes":["userName"]}"#,
        )
        .unwrap();
        assert!(query.filter.email.is_some());
        assert_eq!((query.start_index, query.count), (2, 5));
        assert!(matches!(query.projection, Projection::Only(_)));
        let query = ListQuery::search(br#"{"excludedAttributes":["emails"]}"#).unwrap();
        assert!(matches!(query.projection, Projection::Except(_)));
        assert_eq!((query.start_index, query.count), (1, MAX_RESULTS));
        for (bad, scim_type) in [
            (&b"[]"[..], "invalidSyntax"),
            (br#"{"schemas":["other"]}"#, "invalidSyntax"),
            (br#"{"count":"ten"}"#, "invalidValue"),
            (br#"{"filter":5}"#, "invalidValue"),
            (br#"{"attributes":[5]}"#, "invalidValue"),
            (br#"{"filter":"title eq \"x\""}"#, "invalidFilter"),
        ] {
            let error = ListQuery::search(bad).expect_err(&String::from_utf8_lossy(bad));
            assert_eq!(error.scim_type(), Some(scim_type));
        }
    }
}
