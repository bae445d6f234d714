//! The discovery endpoints (RFC 7644 4), open without a token: what Warden's SCIM supports, its
//! resource types and schemas, each list's resources also by id.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;
use warden_scim::{discovery, ScimError};

use super::{base_url, scim_json, HttpScimError};
use crate::run::state::AppState;

/// What Warden's SCIM supports: PATCH and filters (at most 200 results a page); not bulk,
/// sorting, ETags or password changes. Open without a token.
#[utoipa::path(
    get, path = "/scim/v2/ServiceProviderConfig", tag = "scim",
    responses(
        (status = 200, description = "The ServiceProviderConfig (RFC 7643 5)", body = Object, content_type = "application/scim+json"),
    )
)]
pub async fn service_provider_config(state: web::Data<AppState>) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&base_url(&state)),
    )
}

/// The resource types: `User`. Open without a token.
#[utoipa::path(
    get, path = "/scim/v2/ResourceTypes", tag = "scim",
    responses(
        (status = 200, description = "A `ListResponse` of ResourceTypes (RFC 7643 6)", body = Object, content_type = "application/scim+json"),
    )
)]
pub async fn resource_types(state: web::Data<AppState>) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &discovery::resource_types(&base_url(&state)),
    )
}

/// One resource type by its id (`User`, in any case). Open without a token.
#[utoipa::path(
    get, path = "/scim/v2/ResourceTypes/{id}", tag = "scim",
    params(("id" = String, Path, description = "`User`")),
    responses(
        (status = 200, description = "The ResourceType (RFC 7643 6)", body = Object, content_type = "application/scim+json"),
        (status = 404, description = "No such resource type", body = warden_scim::ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub async fn resource_type(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpScimError> {
    found(
        discovery::resource_type(&base_url(&state), &id),
        "ResourceType",
        &id,
    )
}

/// The User schema's attributes as Warden keeps them. Open without a token.
#[utoipa::path(
    get, path = "/scim/v2/Schemas", tag = "scim",
    responses(
        (status = 200, description = "A `ListResponse` of Schemas (RFC 7643 7)", body = Object, content_type = "application/scim+json"),
    )
)]
pub async fn schemas(state: web::Data<AppState>) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::schemas(&base_url(&state)))
}

/// One schema by its id (`urn:ietf:params:scim:schemas:core:2.0:User`). Open without a token.
#[utoipa::path(
    get, path = "/scim/v2/Schemas/{id}", tag = "scim",
    params(("id" = String, Path, description = "The schema's URN")),
    responses(
        (status = 200, description = "The Schema (RFC 7643 7)", body = Object, content_type = "application/scim+json"),
        (status = 404, description = "No such schema", body = warden_scim::ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub async fn schema(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, HttpScimError> {
    found(discovery::schema(&base_url(&state), &id), "Schema", &id)
}

fn found(resource: Option<Value>, kind: &str, id: &str) -> Result<HttpResponse, HttpScimError> {
    match resource {
        Some(resource) => Ok(scim_json(StatusCode::OK, &resource)),
        None => {
            let shown: String = id.chars().take(100).collect();
            Err(ScimError::not_found(&format!("{kind} {shown}")).into())
        }
    }
}
