//! Pages of resources (RFC 7644 3.4.2): the `ListResponse` message and the query of a listing
//! (`filter`, `startIndex`, `count`).

use serde::Serialize;
use warden_domain::ProvisioningFilter;

use crate::error::ScimError;
use crate::resource::UserResource;
use crate::{filter, LIST_SCHEMA, MAX_RESULTS};

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
    #[serde(rename = "Resources")]
    resources: Vec<UserResource>,
}

impl ListResponse {
    /// The page of `resources` starting at `start_index` (1-based) of `total_results`.
    pub fn new(total_results: u64, start_index: u64, resources: Vec<UserResource>) -> Self {
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
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if name.eq_ignore_ascii_case("filter") {
                parsed.filter = filter::parse(&value)?;
            } else if name.eq_ignore_ascii_case("startIndex") {
                let index = integer(&value, "startIndex")?;
                parsed.start_index = u64::try_from(index.max(1)).unwrap_or(1);
            } else if name.eq_ignore_ascii_case("count") {
                let count = integer(&value, "count")?.clamp(0, i64::from(MAX_RESULTS));
                parsed.count = u32::try_from(count).unwrap_or(MAX_RESULTS);
            }
        }
        Ok(parsed)
    }

    /// How many resources to skip.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
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
    }
}
