//! SCIM 2.0 (RFC 7643, 7644) as Warden speaks it to identity providers (Okta, Microsoft Entra
//! ID): the filter grammar it answers, `PatchOp`, the User resource and the shape of lists, SCIM
//! errors and the discovery documents. A protocol front-end of `warden-domain`: it turns SCIM
//! into the provisioning use case's inputs and its results back into SCIM, and knows no HTTP
//! framework and no database. The binary's handlers (`routes/scim/`) are thin over it; see
//! docs/scim.md for what is supported.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod projection;
pub mod resource;

pub use self::error::{ScimError, ScimErrorBody, ERROR_SCHEMA};
pub use self::list::{ListQuery, ListResponse};
pub use self::patch::{Draft, PATCH_SCHEMA};
pub use self::projection::Projection;
pub use self::resource::{if_match, read_user, UserInput, UserResource, USER_SCHEMA};

/// Where SCIM is served, under the public URL.
pub const BASE_PATH: &str = "/scim/v2";
/// The media type of every SCIM body, errors included.
pub const CONTENT_TYPE: &str = "application/scim+json";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The most resources one page holds (`count` is capped to it; also its default).
pub const MAX_RESULTS: u32 = 200;

/// Whether `path` is under [`BASE_PATH`] (so its errors are SCIM errors).
pub fn is_scim_path(path: &str) -> bool {
    path == BASE_PATH || path.starts_with("/scim/v2/")
}
