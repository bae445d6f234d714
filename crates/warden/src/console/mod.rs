//! The admin console: a few static files, embedded at compile time and served under `/admin`.
//! It is a client of the JSON API like any other (it has no routes or rules of its own), so
//! nothing here reads the database or checks a token.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

/// The path the console is served at.
pub const PATH: &str = "/admin";

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/console.js");
const STYLE: &str = include_str!("assets/console.css");

/// The console's files: `(path, content type, body)`.
const FILES: &[(&str, &str, &str)] = &[
    ("/admin", "text/html; charset=utf-8", INDEX),
    ("/admin/", "text/html; charset=utf-8", INDEX),
    (
        "/admin/console.js",
        "text/javascript; charset=utf-8",
        SCRIPT,
    ),
    ("/admin/console.css", "text/css; charset=utf-8", STYLE),
];

/// Registers the console's files (each answers `GET` and `HEAD`; another method gets 405).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for &(path, content_type, body) in FILES {
        cfg.service(
            web::resource(path)
                .route(web::get().to(move || serve(content_type, body)))
                .route(web::head().to(move || serve(content_type, body)))
                .default_service(crate::http::method_not_allowed("GET, HEAD".to_owned())),
        );
    }
}

async fn serve(content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut response = HttpResponse::Ok().body(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change only with the binary; a stale copy after an upgrade would call the API
    // with yesterday's script, so the browser asks each time (a 200 of a few kB).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
