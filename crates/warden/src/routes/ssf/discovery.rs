//! `GET /.well-known/ssf-configuration`: where a receiver finds everything else.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use warden_ssf::Endpoints;

use super::{ADD_SUBJECT_PATH, REMOVE_SUBJECT_PATH, STATUS_PATH, STREAMS_PATH, VERIFY_PATH};
use crate::run::state::AppState;

/// The transmitter configuration metadata (SSF 1.0 section 7.1), every URL under
/// `WARDEN_PUBLIC_URL`.
#[utoipa::path(
    get, path = "/.well-known/ssf-configuration", tag = "ssf",
    responses((status = 200, description = "The SSF transmitter configuration metadata")),
)]
pub async fn configuration(state: web::Data<AppState>) -> HttpResponse {
    let base = &state.public_url;
    let endpoints = Endpoints {
        jwks_uri: base.at("/.well-known/jwks.json"),
        configuration: base.at(STREAMS_PATH),
        status: base.at(STATUS_PATH),
        verification: base.at(VERIFY_PATH),
        add_subject: base.at(ADD_SUBJECT_PATH),
        remove_subject: base.at(REMOVE_SUBJECT_PATH),
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(warden_ssf::discovery(base.as_str(), &endpoints))
}
