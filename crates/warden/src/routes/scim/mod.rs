//! SCIM 2.0 (RFC 7643, 7644) under `/scim/v2`, so identity providers (Okta, Microsoft Entra ID)
//! can provision and deprovision accounts. Authenticated by a machine client's bearer token with
//! the `scim` scope; every answer, errors included, is in `application/scim+json`, never the
//! envelope. `active: false` by any route is the deactivation use case with the client as the
//! actor (tokens revoked, audit, email); see docs/scim.md.

pub mod discovery;
mod http_error;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::Value;
use warden_domain::use_cases::Provisioner;
use warden_domain::{ProvisionedUser, Scope, StatusAction, UserId};
use warden_scim::patch::{self, Draft};
use warden_scim::{ListQuery, ListResponse, Projection, ScimError, ScimErrorBody, UserResource};
use warden_scim::{BASE_PATH, CONTENT_TYPE};

pub use self::http_error::HttpScimError;
use crate::http::{bearer_token, read_bytes};
use crate::run::state::AppState;

/// A SCIM `PatchOp` (`urn:ietf:params:scim:api:messages:2.0:PatchOp`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PatchOpDoc {
    schemas: Vec<String>,
    /// Applied in order: `op` (`add`, `replace` or `remove`, any case), `path` (optional), `value`.
    #[schema(rename = "Operations")]
    operations: Vec<Value>,
}

/// A User as sent by a client: `userName` (an email address) is required; `name.givenName`,
/// `name.familyName`, `externalId` and `active` are read; other attributes are ignored.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UserRequestDoc {
    schemas: Option<Vec<String>>,
    #[schema(rename = "userName", format = "email")]
    user_name: String,
    name: Option<Value>,
    #[schema(rename = "externalId")]
    external_id: Option<String>,
    active: Option<bool>,
}

/// The failures every authenticated SCIM route can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ScimFailures {
    /// Missing, unknown or revoked client token.
    #[response(status = 401, content_type = "application/scim+json", headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"warden\"`")))]
    Unauthenticated(ScimErrorBody),
    /// The client lacks the `scim` scope.
    #[response(status = 403, content_type = "application/scim+json")]
    Forbidden(ScimErrorBody),
    /// Details are logged under the `x-request-id`.
    #[response(status = 500, content_type = "application/scim+json")]
    Internal(ScimErrorBody),
    /// The database did not answer in time.
    #[response(status = 503, content_type = "application/scim+json", headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(ScimErrorBody),
}

/// The failures of a SCIM route that reads a body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ScimBodyFailures {
    /// The body did not arrive within `WARDEN_BODY_TIMEOUT_MS`; the connection is closed.
    #[response(status = 408, content_type = "application/scim+json")]
    Timeout(ScimErrorBody),
    /// Over 16 KiB.
    #[response(status = 413, content_type = "application/scim+json")]
    TooLarge(ScimErrorBody),
}

/// The provisioning client acting: a machine client whose token holds the `scim` scope. An
/// extractor, so a SCIM route's signature says who may call it; refusals are SCIM errors.
#[derive(Debug)]
pub struct Provisioning(pub Provisioner);

impl FromRequest for Provisioning {
    type Error = HttpScimError;
    type Future = LocalBoxFuture<'static, Result<Self, HttpScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ScimError::internal(&"the application state is not registered"))?;
            let client = state
                .services
                .client_auth
                .client(bearer_token(&req), Scope::Scim)
                .await?;
            let span = tracing::Span::current();
            span.record("actor_id", tracing::field::display(client.client().id));
            Provisioner::new(&client)
                .map(Provisioning)
                .ok_or_else(|| ScimError::unauthorized().into())
        })
    }
}

/// `https://warden.example.com/scim/v2`: the configured public URL (`WARDEN_PUBLIC_URL`),
/// never the request's `Host` or `X-Forwarded-*`, which any client can set.
fn base_url(state: &AppState) -> String {
    state.public_url.at(BASE_PATH)
}

fn scim_json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match serde_json::to_vec(body) {
        Ok(bytes) => response.body(bytes),
        Err(error) => HttpScimError(ScimError::internal(&error)).into_response(),
    }
}

/// Ids that are not UUIDs name no user: the same 404 as an unknown one.
fn user_id(text: &str) -> Result<UserId, ScimError> {
    let span = tracing::Span::current();
    let shown: String = text.chars().take(64).collect();
    span.record("target_id", shown.as_str());
    UserId::parse(text).map_err(|_| ScimError::not_found(&format!("User {shown}")))
}

fn not_found(id: UserId) -> impl FnOnce(ScimError) -> ScimError {
    move |error| {
        if error.status() == StatusCode::NOT_FOUND.as_u16() {
            ScimError::not_found(&format!("User {id}"))
        } else {
            error
        }
    }
}

/// What follows every committed status change (count it, start its email and webhooks).
async fn changed(state: &AppState, action: Option<StatusAction>) {
    if let Some(action) = action {
        let after = &state.after_commit;
        after
            .status_changed(crate::workers::after_commit::Channel::Scim, action)
            .await;
    }
}

/// List users, optionally filtered. Inactive users are listed, with `active: false`; users a
/// SCIM client deleted are not.
#[utoipa::path(
    get, path = "/scim/v2/Users", tag = "scim",
    security(("client" = [])),
    params(
        ("filter" = Option<String>, Query, description = "`userName eq \"...\"`, `externalId eq \"...\"` or `emails.value eq \"...\"`, joined by `and`; names and `eq` in any case; userName without regard to case"),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result (default 1; lower values count as 1)"),
        ("count" = Option<i64>, Query, description = "Results per page (default and maximum 200; `0` gives only `totalResults`)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return (and always `id`, `schemas`), such as `userName,name.givenName`"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes not to return (ignored with `attributes`)"),
    ),
    responses(
        (status = 200, description = "A `ListResponse` of Users, by id", body = ListResponse, content_type = "application/scim+json"),
        (status = 400, description = "`invalidFilter` for an unsupported filter, `invalidValue` for a non-integer `startIndex` or `count`", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimFailures,
    )
)]
pub async fn list_users(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
) -> Result<HttpResponse, HttpScimError> {
    let query = ListQuery::parse(req.query_string())?;
    list(&state, &by, query).await
}

/// Search users with a `SearchRequest` (RFC 7644 3.4.3): as `GET /Users`, with the query in the
/// body (`filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`).
#[utoipa::path(
    post, path = "/scim/v2/Users/.search", tag = "scim",
    security(("client" = [])),
    request_body(content = Object, description = "A `SearchRequest` (`urn:ietf:params:scim:api:messages:2.0:SearchRequest`)", content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A `ListResponse` of Users, by id", body = ListResponse, content_type = "application/scim+json"),
        (status = 400, description = "`invalidSyntax` (not a SearchRequest), `invalidFilter`, `invalidValue` (a member of the wrong type)", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimBodyFailures,
        ScimFailures,
    )
)]
pub async fn search_users(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, HttpScimError> {
    let query = ListQuery::search(&read_bytes(&req, body).await?)?;
    list(&state, &by, query).await
}

/// A page of the users `query` keeps, with the attributes it asks for.
async fn list(
    state: &AppState,
    by: &Provisioner,
    query: ListQuery,
) -> Result<HttpResponse, HttpScimError> {
    let (total, accounts) = state
        .services
        .provision
        .list(by, &query.filter, query.offset(), query.count)
        .await?;
    let base = base_url(state);
    let resources = accounts
        .iter()
        .map(|account| {
            query
                .projection
                .apply(UserResource::of(account, &base).to_value())
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &ListResponse::new(total, query.start_index, resources),
    ))
}

/// Get one user.
#[utoipa::path(
    get, path = "/scim/v2/Users/{user_id}", tag = "scim",
    security(("client" = [])),
    params(
        ("user_id" = String, Path, description = "The user's id"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return (and always `id`, `schemas`)"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes not to return (ignored with `attributes`)"),
    ),
    responses(
        (status = 200, description = "The User", body = UserResource, content_type = "application/scim+json"),
        (status = 404, description = "No such user (also for ids that are not UUIDs, and users a SCIM client deleted)", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimFailures,
    )
)]
pub async fn get_user(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpScimError> {
    let id = user_id(&path)?;
    let projection = Projection::from_query(req.query_string())?;
    let account = state
        .services
        .provision
        .get(&by, id)
        .await
        .map_err(ScimError::from)
        .map_err(not_found(id))?;
    let view = UserResource::of(&account, &base_url(&state));
    let response = scim_json(StatusCode::OK, &projection.apply(view.to_value()));
    Ok(with_etag(response, &view))
}

/// Create a user, active, of role `user`, with no password (it cannot sign in with one until
/// one is set by other means). `"active": false` creates it and then deactivates it.
#[utoipa::path(
    post, path = "/scim/v2/Users", tag = "scim",
    security(("client" = [])),
    request_body(content = UserRequestDoc, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "The User created", body = UserResource, content_type = "application/scim+json",
            headers(("Location" = String, description = "The User's URL"))),
        (status = 400, description = "`invalidSyntax` (not a JSON object), `invalidValue` (no `userName`, one that is not an email address, a bad name or `externalId`)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "`uniqueness`: a user with this userName exists (in any case)", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimBodyFailures,
        ScimFailures,
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, HttpScimError> {
    let input = warden_scim::read_user(&read_bytes(&req, body).await?)?;
    let provision = &state.services.provision;
    let mut account = provision.create(&by, input.profile).await?;
    if input.active == Some(false) {
        let (deactivated, action) = provision.set_active(&by, account.user.id, false).await?;
        changed(&state, action).await;
        account = deactivated;
    }
    let view = UserResource::of(&account, &base_url(&state));
    let mut response = scim_json(StatusCode::CREATED, &view);
    if let Ok(location) = header::HeaderValue::from_str(view.location()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(with_etag(response, &view))
}

/// The response with the User's `ETag` (its `meta.version`).
fn with_etag(mut response: HttpResponse, view: &UserResource) -> HttpResponse {
    if let Ok(tag) = header::HeaderValue::from_str(view.version()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// The version `If-Match` holds the write to (compared again when it commits), if any: the one
/// tag it names, or of several the one the account is at now (`current`, read if not given).
/// `*` or no header: none.
async fn expected_version(
    state: &AppState,
    by: &Provisioner,
    req: &HttpRequest,
    id: UserId,
    current: Option<&ProvisionedUser>,
) -> Result<Option<String>, HttpScimError> {
    let header = req
        .headers()
        .get(header::IF_MATCH)
        .map(|value| value.to_str().unwrap_or("\u{0}"));
    let Some(mut tags) = warden_scim::if_match(header)? else {
        return Ok(None);
    };
    if tags.len() == 1 && current.is_none() {
        return Ok(tags.pop());
    }
    let read;
    let current = match current {
        Some(current) => current,
        None => {
            read = state
                .services
                .provision
                .get(by, id)
                .await
                .map_err(ScimError::from)
                .map_err(not_found(id))?;
            &read
        }
    };
    let now = current.version();
    if tags.contains(&now) {
        Ok(Some(now))
    } else {
        Err(ScimError::precondition_failed().into())
    }
}

/// Replace a user's attributes: `userName`, `name` and `externalId` (absent ones are cleared);
/// `active`, when given, deactivates or reactivates it (with every effect of an admin's change;
/// a repeat changes nothing).
#[utoipa::path(
    put, path = "/scim/v2/Users/{user_id}", tag = "scim",
    security(("client" = [])),
    params(
        ("user_id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`*` or the User's `meta.version` (its `ETag`): the change commits only at that version"),
    ),
    request_body(content = UserRequestDoc, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The User as it is now", body = UserResource, content_type = "application/scim+json"),
        (status = 400, description = "As for POST; `mutability` when the last active admin would be deactivated", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such user", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "`uniqueness`: another user has this userName", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version than the User's when the change commits", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimBodyFailures,
        ScimFailures,
    )
)]
pub async fn replace_user(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, HttpScimError> {
    let id = user_id(&path)?;
    let input = warden_scim::read_user(&read_bytes(&req, body).await?)?;
    let expected = expected_version(&state, &by, &req, id, None).await?;
    update(&state, &by, id, input.profile, input.active, expected).await
}

/// Change some of a user's attributes with a `PatchOp`: Okta's `{"op": "replace", "value":
/// {"active": false}}` and Entra ID's `{"op": "Replace", "path": "active", "value": "False"}`
/// both deactivate (a repeat changes nothing and sends no second email).
#[utoipa::path(
    patch, path = "/scim/v2/Users/{user_id}", tag = "scim",
    security(("client" = [])),
    params(
        ("user_id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`*` or the User's `meta.version` (its `ETag`): the operations apply to that version and commit only at it"),
    ),
    request_body(content = PatchOpDoc, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "The User as it is now", body = UserResource, content_type = "application/scim+json"),
        (status = 400, description = "`invalidSyntax`, `invalidPath` (an attribute Warden does not keep), `noTarget`, `invalidValue`, or `mutability` (removing `userName`/`active`, or deactivating the last active admin)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such user", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "`uniqueness`: another user has this userName", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version than the User's when the change commits", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimBodyFailures,
        ScimFailures,
    )
)]
pub async fn patch_user(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, HttpScimError> {
    let id = user_id(&path)?;
    let body = read_bytes(&req, body).await?;
    let provision = &state.services.provision;
    let current = provision
        .get(&by, id)
        .await
        .map_err(ScimError::from)
        .map_err(not_found(id))?;
    // With If-Match, the operations apply to the version it names, and the write commits only
    // if the account is still at it.
    let expected = expected_version(&state, &by, &req, id, Some(&current)).await?;
    let mut draft = Draft::of(&current);
    patch::apply(&body, &mut draft)?;
    update(&state, &by, id, draft.profile, Some(draft.active), expected).await
}

/// PUT's and PATCH's common end: apply the new attributes (and status, with its effects), then
/// answer with the User as it is now.
async fn update(
    state: &AppState,
    by: &Provisioner,
    id: UserId,
    profile: warden_domain::use_cases::ProfileInput,
    active: Option<bool>,
    expected: Option<String>,
) -> Result<HttpResponse, HttpScimError> {
    let (account, action) = state
        .services
        .provision
        .update(by, id, profile, active, expected)
        .await
        .map_err(ScimError::from)
        .map_err(not_found(id))?;
    changed(state, action).await;
    let view = UserResource::of(&account, &base_url(state));
    Ok(with_etag(scim_json(StatusCode::OK, &view), &view))
}

/// Delete a user as SCIM sees it: the account is deactivated (with every effect of an admin's
/// deactivation, unless it already was) and from then on not found by SCIM; Warden keeps it,
/// with its audit trail.
#[utoipa::path(
    delete, path = "/scim/v2/Users/{user_id}", tag = "scim",
    security(("client" = [])),
    params(
        ("user_id" = String, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`*` or the User's `meta.version`: deleted only at that version"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`mutability`: the last active admin cannot be deactivated", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such user (or deleted already)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "`If-Match` names another version than the User's when the deactivation commits", body = ScimErrorBody, content_type = "application/scim+json"),
        ScimFailures,
    )
)]
pub async fn delete_user(
    state: web::Data<AppState>,
    Provisioning(by): Provisioning,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpScimError> {
    let id = user_id(&path)?;
    let expected = expected_version(&state, &by, &req, id, None).await?;
    let action = state
        .services
        .provision
        .remove(&by, id, expected)
        .await
        .map_err(ScimError::from)
        .map_err(not_found(id))?;
    changed(&state, action).await;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Groups: Warden has none, so always an empty `ListResponse`.
#[utoipa::path(
    get, path = "/scim/v2/Groups", tag = "scim",
    security(("client" = [])),
    responses(
        (status = 200, description = "An empty `ListResponse`", body = ListResponse, content_type = "application/scim+json"),
        ScimFailures,
    )
)]
pub async fn list_groups(_by: Provisioning) -> Result<HttpResponse, HttpScimError> {
    Ok(scim_json(
        StatusCode::OK,
        &warden_scim::discovery::list(Vec::new()),
    ))
}

/// An error under `/scim/v2` that no handler made (no such route, or no such method), in
/// SCIM's format.
pub fn fallback(status: StatusCode, detail: &'static str) -> HttpResponse {
    HttpScimError(ScimError::new(status.as_u16(), detail)).into_response()
}

pub use warden_scim::is_scim_path;
