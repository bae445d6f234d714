//! Machine clients for admins: register one (its token is shown once), list them, revoke one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use warden_domain::use_cases::{ClientError, ClientManager, CreatedClient};
use warden_domain::{Client, ClientName, ClientRef, Scope};

use super::schemas::{AdminListFailures, Empty, Envelope as Doc, InvalidInput};
use crate::http::AdminCaller;
use crate::http::{read_json, ApiError, Envelope, FieldError, Fields};
use crate::run::state::AppState;

const SCOPES_MESSAGE: &str = "must be a non-empty list of: introspect, scim, scim.privileged, \
    audit, ssf.manage, ssf.read";

/// Body of `POST /api/v1/clients`. Other fields are ignored.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ClientRequest {
    /// Unique among live clients.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$", example = "billing-api")]
    name: String,
    /// What the client may do: `introspect` (`POST /oauth2/introspect`), `scim`, `audit`
    /// (`GET /api/v1/events/export`).
    #[schema(min_items = 1, example = json!(["introspect"]))]
    scopes: Vec<ScopeName>,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ScopeName {
    Audit,
    Introspect,
    Scim,
}

/// A client as admins see it: never its token or the token's hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    id: Uuid,
    #[schema(example = "billing-api")]
    name: String,
    #[schema(value_type = Vec<String>, example = json!(["introspect"]))]
    scopes: Vec<&'static str>,
    created_at: DateTime<Utc>,
    /// The admin account that created it; null for a client created at the console (the
    /// `warden clients` CLI) or before this was recorded.
    #[schema(format = Uuid)]
    created_by: Option<String>,
    /// Set once the client is revoked: its token is refused from then on.
    revoked_at: Option<DateTime<Utc>>,
}

impl From<&Client> for ClientView {
    fn from(client: &Client) -> Self {
        Self {
            id: client.id,
            name: client.name.to_string(),
            scopes: client.scopes.iter().map(|s| s.as_str()).collect(),
            created_at: client.created_at,
            created_by: client.created_by.map(|id| id.to_string()),
            revoked_at: client.revoked_at,
        }
    }
}

/// A new client with its bearer token, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedClientView {
    #[serde(flatten)]
    client: ClientView,
    /// The client's bearer token (`wdn_` and 43 characters). Only its SHA-256 is stored: it
    /// cannot be shown again.
    #[schema(example = "wdn_3q2-7wAbCdEfGhIjKlMnOpQrStUvWxYz0123456789a")]
    token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientListView {
    clients: Vec<ClientView>,
}

/// Register a machine client. Its bearer token is in the answer and nowhere else.
#[utoipa::path(
    post, path = "/api/v1/clients", tag = "clients",
    security(("bearer" = [])),
    request_body = ClientRequest,
    responses(
        (status = 201, description = "`Client created successfully`", body = Doc<CreatedClientView>),
        (status = 400, description = "`Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 408, description = "`Request timeout`: the body did not arrive within `WARDEN_BODY_TIMEOUT_MS`", body = Doc<Empty>, headers(("Connection" = String, description = "`close`"))),
        (status = 409, description = "`A client with this name already exists` (among live clients)", body = Doc<Empty>),
        (status = 413, description = "`Request body is too large`: over 16 KiB", body = Doc<Empty>),
        (status = 422, description = "`Invalid input`: `data.errors` lists each bad field (`name`, `scopes`, `body`)", body = Doc<InvalidInput>),
        AdminListFailures,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (name, scopes) = create_input(read_json(&req, body).await?)?;
    let by = ClientManager::Admin(&admin);
    let CreatedClient { client, token } = state.services.clients.create(by, name, scopes).await?;
    let view = CreatedClientView {
        client: ClientView::from(&client),
        token: token.expose().to_owned(),
    };
    let data = serde_json::to_value(view).map_err(|e| ApiError::internal(&e))?;
    Ok(Envelope::new(StatusCode::CREATED, "Client created successfully", data).into_response())
}

/// Every client, revoked ones included, oldest first.
#[utoipa::path(
    get, path = "/api/v1/clients", tag = "clients",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`Clients retrieved successfully`", body = Doc<ClientListView>),
        AdminListFailures,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
) -> Result<HttpResponse, ApiError> {
    let clients = state
        .services
        .clients
        .list(ClientManager::Admin(&admin))
        .await?;
    let view = ClientListView {
        clients: clients.iter().map(ClientView::from).collect(),
    };
    Ok(Envelope::ok_with("Clients retrieved successfully", view))
}

/// Revoke a client: its token is refused from the next request on. The client stays listed,
/// with `revoked_at`, and its name may be given to a new client.
#[utoipa::path(
    delete, path = "/api/v1/clients/{id}", tag = "clients",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The client's id")),
    responses(
        (status = 200, description = "`Client revoked successfully`", body = Doc<ClientView>),
        (status = 404, description = "`Client not found`: no live client has this id (unknown, revoked already, or not a UUID)", body = Doc<Empty>),
        AdminListFailures,
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::try_parse(&path).map_err(|_| ClientError::NotFound)?;
    let client = state
        .services
        .clients
        .revoke(ClientManager::Admin(&admin), &ClientRef::Id(id))
        .await?;
    Ok(Envelope::ok_with(
        "Client revoked successfully",
        ClientView::from(&client),
    ))
}

/// `name` and `scopes`, every problem listed in one 422.
fn create_input(body: Value) -> Result<(ClientName, Vec<Scope>), ApiError> {
    let mut fields = Fields::of(body)?;
    let name = fields
        .required_string("name")
        .and_then(|text| match ClientName::parse(&text) {
            Ok(name) => Some(name),
            Err(error) => fields.reject("name", error.to_string()),
        });
    let scopes = match fields.take("scopes") {
        None | Some(Value::Null) => fields.reject("scopes", "is required"),
        Some(Value::Array(items)) => {
            let parsed = items.iter().map(|item| match item {
                Value::String(text) => Scope::parse(text),
                _ => Err(warden_domain::UnknownScope),
            });
            match Scope::normalise(parsed) {
                Ok(scopes) => Some(scopes),
                Err(_) => fields.reject("scopes", SCOPES_MESSAGE),
            }
        }
        Some(_) => fields.reject("scopes", SCOPES_MESSAGE),
    };
    fields.finish(name.zip(scopes))
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::NameTaken => Self::new(
                StatusCode::CONFLICT,
                "A client with this name already exists",
            ),
            ClientError::NotFound => Self::not_found("Client not found"),
            ClientError::NoScopes => {
                Self::invalid_input(vec![FieldError::new("scopes", SCOPES_MESSAGE)])
            }
            ClientError::ActorRevoked => crate::http::revoked_at_commit(),
            ClientError::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields_of(error: ApiError) -> Vec<String> {
        error.data()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn create_input_lists_every_bad_field() {
        let (name, scopes) =
            create_input(json!({"name": "billing", "scopes": ["scim", "introspect"]})).unwrap();
        assert_eq!(name.as_str(), "billing");
        assert_eq!(scopes, vec![Scope::Introspect, Scope::Scim]);
        for (body, fields) in [
            (json!({}), vec!["name", "scopes"]),
            (json!({"name": "a b", "scopes": []}), vec!["name", "scopes"]),
            (json!({"name": "ok", "scopes": ["admin"]}), vec!["scopes"]),
            (json!({"name": 3, "scopes": "scim"}), vec!["name", "scopes"]),
            (json!({"name": "ok", "scopes": [1]}), vec!["scopes"]),
            (json!([]), vec!["body"]),
        ] {
            let error = create_input(body.clone()).unwrap_err();
            assert_eq!(error.status().as_u16(), 422, "{body}");
            assert_eq!(fields_of(error), fields, "{body}");
        }
    }
}
