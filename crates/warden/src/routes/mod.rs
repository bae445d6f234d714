//! The HTTP routes. Each handler authenticates, parses its input, calls one use case and maps
//! the outcome to the envelope; rules live in the domain.
//!
//! Every API route is listed once, in [`api_routes!`] below: that one list registers it with
//! actix (a wrong method on its path answers 405 with `Allow`), names it in [`ROUTES`], and puts
//! its handler's `#[utoipa::path]` into the OpenAPI document, so the spec cannot miss a route.

mod access;
mod auth;
mod clients;
mod directory;
mod events_export;
mod export_formats;
mod idempotency_doc;
pub mod jobs;
mod oauth2;
pub mod openapi;
mod ops;
mod outbox;
mod roles;
mod schemas;
pub(crate) mod scim;
pub mod ssf;
mod users;
mod views;
mod webhooks;

use actix_web::web;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use self::openapi::{BearerAuth, DomainLimits};
use crate::http::method_not_allowed;

macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Registers the routes whose path `serve` accepts: one resource per path, with every
        /// method listed for that path (in order of first appearance).
        fn configure_api(cfg: &mut web::ServiceConfig, serve: fn(&str) -> bool) {
            let mut resources: Vec<(&'static str, Vec<&'static str>, Vec<actix_web::Route>)> = Vec::new();
            $(
                if serve($path) {
                    let route = web::$method().to($handler);
                    let method = allow(stringify!($method));
                    match resources.iter_mut().find(|(path, _, _)| *path == $path) {
                        Some((_, methods, routes)) => {
                            methods.push(method);
                            routes.push(route);
                        }
                        None => resources.push(($path, vec![method], vec![route])),
                    }
                }
            )*
            for (path, methods, routes) in resources {
                let resource = routes
                    .into_iter()
                    .fold(web::resource(path), |resource, route| resource.route(route));
                cfg.service(resource.default_service(method_not_allowed(methods.join(", "))));
            }
        }

        /// Every API route as `(method, path)`, in registration order.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The OpenAPI document of [`ROUTES`].
        #[derive(Debug, OpenApi)]
        #[openapi(
            info(title = "Warden", description = "Deactivate and reactivate user accounts, audited and notified."),
            paths($($handler),*),
            components(schemas(outbox::StatusFilter, clients::ScopeName, oauth2::JwkDoc, webhooks::EventTypeName)),
            modifiers(&BearerAuth, &DomainLimits),
            tags(
                (name = "auth", description = "Sign-in and the signed-in account"),
                (name = "users", description = "Admin account lifecycle"),
                (name = "operations", description = "Health checks and metrics. When `WARDEN_OPS_ADDR` is set they are served only on that second listener (same envelope), and the public one answers 404 for them."),
                (name = "outbox", description = "Notifications that failed or still wait, for admins"),
                (name = "clients", description = "Machine clients (other services) and their tokens, for admins"),
                (name = "webhooks", description = "Signed webhooks (Standard Webhooks v1) that tell other services of each deactivation and reactivation, for admins"),
                (name = "oauth2", description = "Standard endpoints for other services, in their standards' formats (not the envelope): token introspection (RFC 7662) and the JSON Web Key Set"),
                (name = "ssf", description = "Shared Signals (SSF 1.0) transmitter, in SSF's JSON (not the envelope): streams for receivers (machine clients with `ssf.manage` / `ssf.read`), RFC 8935 push and RFC 8936 poll of Security Event Tokens. See docs/integration.md"),
                (name = "scim", description = "SCIM 2.0 (RFC 7643, 7644) for identity providers (Okta, Entra ID), in `application/scim+json` (not the envelope), authenticated by a client token with the `scim` scope. See docs/scim.md"),
            ),
        )]
        pub struct ApiDoc;
    };
}

// Fixed paths come before `/users/{user_id}`, so that they win.
api_routes! {
    post "/api/v1/auth/login" => auth::login,
    get "/api/v1/users/me" => auth::me,
    patch "/api/v1/users/deactivate" => users::deactivate,
    patch "/api/v1/users/reactivate" => users::reactivate,
    patch "/api/v1/users/role" => roles::change,
    post "/api/v1/users/deactivate/bulk" => jobs::bulk_deactivate,
    get "/api/v1/jobs/{job_id}" => jobs::get,
    get "/api/v1/users" => directory::search,
    get "/api/v1/users/{user_id}" => users::get,
    get "/api/v1/users/{user_id}/events" => users::events,
    get "/api/v1/users/{user_id}/access" => access::explain,
    get "/api/v1/events" => directory::events,
    get "/api/v1/events/export" => events_export::export,
    get "/health/live" => ops::live,
    get "/health/ready" => ops::ready,
    get "/metrics" => ops::metrics,
    get "/api/v1/outbox" => outbox::list,
    post "/api/v1/outbox/{id}/retry" => outbox::retry,
    post "/api/v1/clients" => clients::create,
    get "/api/v1/clients" => clients::list,
    delete "/api/v1/clients/{id}" => clients::revoke,
    post "/api/v1/webhooks" => webhooks::create,
    get "/api/v1/webhooks" => webhooks::list,
    get "/api/v1/webhooks/{id}" => webhooks::get,
    patch "/api/v1/webhooks/{id}" => webhooks::update,
    delete "/api/v1/webhooks/{id}" => webhooks::delete,
    post "/api/v1/webhooks/{id}/rotate-secret" => webhooks::rotate_secret,
    get "/api/v1/webhooks/{id}/deliveries" => webhooks::deliveries,
    post "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry" => webhooks::retry,
    post "/oauth2/introspect" => oauth2::introspect,
    get "/.well-known/jwks.json" => oauth2::jwks,
    get "/scim/v2/Users" => scim::list_users,
    post "/scim/v2/Users" => scim::create_user,
    post "/scim/v2/Users/.search" => scim::search_users,
    get "/scim/v2/Users/{user_id}" => scim::get_user,
    put "/scim/v2/Users/{user_id}" => scim::replace_user,
    patch "/scim/v2/Users/{user_id}" => scim::patch_user,
    delete "/scim/v2/Users/{user_id}" => scim::delete_user,
    get "/scim/v2/Groups" => scim::list_groups,
    get "/scim/v2/ServiceProviderConfig" => scim::discovery::service_provider_config,
    get "/scim/v2/ResourceTypes" => scim::discovery::resource_types,
    get "/scim/v2/ResourceTypes/{id}" => scim::discovery::resource_type,
    get "/scim/v2/Schemas" => scim::discovery::schemas,
    get "/scim/v2/Schemas/{id}" => scim::discovery::schema,
    get "/.well-known/ssf-configuration" => ssf::discovery::configuration,
    post "/ssf/streams" => ssf::streams::create,
    get "/ssf/streams" => ssf::streams::read,
    patch "/ssf/streams" => ssf::streams::update,
    put "/ssf/streams" => ssf::streams::replace,
    delete "/ssf/streams" => ssf::streams::delete,
    get "/ssf/status" => ssf::streams::status,
    post "/ssf/status" => ssf::streams::set_status,
    post "/ssf/verify" => ssf::streams::verify,
    post "/ssf/subjects/add" => ssf::streams::add_subject,
    post "/ssf/subjects/remove" => ssf::streams::remove_subject,
    post "/ssf/poll/{stream_id}" => ssf::poll::poll,
}

/// The operations routes (`/health/*`, `/metrics`), which `WARDEN_OPS_ADDR` moves to a listener
/// of their own.
pub fn is_ops_path(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// Registers every route, the OpenAPI document, the Swagger UI and the admin console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_api(cfg, |_| true);
    configure_docs(cfg);
    crate::console::configure(cfg);
}

/// The public listener when the operations routes have a listener of their own: everything
/// but those (which answer 404 here).
pub fn configure_public(cfg: &mut web::ServiceConfig) {
    configure_api(cfg, |path| !is_ops_path(path));
    configure_docs(cfg);
    crate::console::configure(cfg);
}

/// The operations listener (`WARDEN_OPS_ADDR`): only `/health/*` and `/metrics`.
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    configure_api(cfg, is_ops_path);
}

fn configure_docs(cfg: &mut web::ServiceConfig) {
    cfg.service(
        SwaggerUi::new(format!("{}/{{_:.*}}", openapi::UI_PATH))
            .url(openapi::SPEC_PATH, ApiDoc::openapi()),
    )
    .service(web::resource(openapi::UI_PATH).to(|| async {
        actix_web::HttpResponse::PermanentRedirect()
            .insert_header(("location", format!("{}/", openapi::UI_PATH)))
            .finish()
    }));
}

fn allow(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        _ => "",
    }
}
