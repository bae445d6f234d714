//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! route table in `routes/mod.rs`, served at `/api/v1/openapi.json` with Swagger UI at `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;

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
