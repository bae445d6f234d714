//! The HTTP routes. Each handler authenticates, parses its input, calls one use case and maps
//! the outcome to the envelope; rules live in the domain.

mod auth;
mod users;
mod views;

use actix_web::web;

use crate::http::method_not_allowed;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `/users/{user_id}`, so that they win.
    cfg.service(
        web::resource("/api/v1/auth/login")
            .route(web::post().to(auth::login))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/api/v1/users/me")
            .route(web::get().to(auth::me))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/v1/users/deactivate")
            .route(web::patch().to(users::deactivate))
            .default_service(method_not_allowed("PATCH")),
    )
    .service(
        web::resource("/api/v1/users/reactivate")
            .route(web::patch().to(users::reactivate))
            .default_service(method_not_allowed("PATCH")),
    )
    .service(
        web::resource("/api/v1/users/{user_id}")
            .route(web::get().to(users::get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/api/v1/users/{user_id}/events")
            .route(web::get().to(users::events))
            .default_service(method_not_allowed("GET")),
    );
}
