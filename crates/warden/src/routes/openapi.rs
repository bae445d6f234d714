//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! route table in `routes/mod.rs`, served at `/api/v1/openapi.json` with Swagger UI at `/docs`.

use utoipa::openapi::path::Parameter;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::Modify;
use warden_domain::{typed_text_pattern, Reason, SearchText};

pub const SPEC_PATH: &str = "/api/v1/openapi.json";
pub const UI_PATH: &str = "/docs";

/// Declares the bearer schemes: `bearer` (an access token, for the `/api/v1` routes) and
/// `client` (a machine client's token, for `/oauth2/introspect`).
#[derive(Debug)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("wdn_ client token")
                    .build(),
            ),
        );
    }
}

/// The limits of typed text, stated once in the domain ([`Reason::MAX_CHARS`],
/// [`SearchText::MAX_CHARS`], [`typed_text_pattern`]) and written into the document here, so the
/// schema cannot disagree with what the server enforces.
#[derive(Debug)]
pub struct DomainLimits;

impl Modify for DomainLimits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let reason = (Reason::MAX_CHARS, typed_text_pattern(true));
        if let Some(components) = openapi.components.as_mut() {
            for schema in [
                "StatusChangeRequest",
                "BulkDeactivationRequest",
                "RoleChangeRequest",
            ] {
                if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) {
                    if let Some(RefOr::T(Schema::Object(field))) =
                        object.properties.get_mut("reason")
                    {
                        field.max_length = Some(reason.0);
                        field.pattern = Some(reason.1.clone());
                    }
                }
            }
        }
        let search = (SearchText::MAX_CHARS, typed_text_pattern(false));
        if let Some(item) = openapi.paths.paths.get_mut("/api/v1/users") {
            if let Some(get) = item.get.as_mut() {
                for parameter in get.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter {
                        limit(parameter, "q", &search);
                    }
                }
            }
        }
    }
}

fn limit(parameter: &mut Parameter, name: &str, (max, pattern): &(usize, String)) {
    if parameter.name != name {
        return;
    }
    if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
        object.max_length = Some(*max);
        object.pattern = Some(pattern.clone());
    }
}
