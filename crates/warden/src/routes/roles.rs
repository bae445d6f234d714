//! `PATCH /api/v1/users/role`: an admin gives an account another role.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use warden_domain::{Reason, Role, ALL_ROLES};

use super::idempotency_doc::{
    IdempotencyFailures, IdempotencyKeyHeader, KeyedInvalidInput, KEYED_422,
};
use super::schemas::{AdminFailures, Empty, Envelope as Doc, RoleChangeRequest};
use super::users::{record_ids, target_id};
use crate::http::{parse_json, read_bytes, AdminCaller, ApiError, Envelope, Fields};
use crate::run::state::AppState;
use crate::workers::after_commit::Channel;

/// Give an account another role (`admin`, `helpdesk` or `user`). The account's tokens are
/// revoked at once (its next request is 401 until it signs in again); the change is audited
/// (`role_changed`, with `from_role` and `to_role`) and sent to webhooks subscribed to
/// `user.role_changed`. Admins only.
#[utoipa::path(
    patch, path = "/api/v1/users/role", tag = "users",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = RoleChangeRequest,
    responses(
        (status = 200, description = "`User role changed successfully`; a replay of a stored answer (of any status below 500) carries `Idempotency-Replayed: true`", body = Doc<Empty>,
            headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`"))),
        (status = 400, description = "`User already has this role`, `You cannot change your own role` or `Cannot remove the last active admin`; `Could not read the request body` when the upload breaks off", body = Doc<Empty>),
        (status = 422, description = KEYED_422, body = Doc<KeyedInvalidInput>),
        AdminFailures, IdempotencyFailures,
    )
)]
pub async fn change(
    state: web::Data<AppState>,
    AdminCaller(admin): AdminCaller,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_bytes(&req, body).await?;
    let act = async {
        let input = RoleChangeInput::parse(parse_json(&body)?)?;
        record_ids(admin.id(), &input.user_id);
        let target = target_id(&input.user_id)?;
        let roles = &state.services.change_role;
        roles
            .execute(&admin, target, input.role, input.reason)
            .await?;
        state.after_commit.role_changed(Channel::Api).await;
        Ok(Envelope::ok("User role changed successfully"))
    };
    let keys = &state.services.idempotency;
    keys.run(&req, admin.id(), &body, act).await
}

/// The body of a role change.
#[derive(Debug)]
struct RoleChangeInput {
    user_id: String,
    role: Role,
    reason: Option<Reason>,
}

impl RoleChangeInput {
    fn parse(body: Value) -> Result<Self, ApiError> {
        let mut fields = Fields::of(body)?;
        let user_id = fields.required_string("user_id");
        let role = match fields.required_string("role") {
            Some(text) => match Role::parse(text.trim()) {
                Ok(role) => Some(role),
                Err(_) => fields.reject("role", roles_message()),
            },
            None => None,
        };
        let reason = fields.optional_reason();
        let input = user_id.zip(role).map(|(user_id, role)| Self {
            user_id,
            role,
            reason,
        });
        fields.finish(input)
    }
}

/// "must be one of admin, helpdesk, user": the roles, from the domain.
fn roles_message() -> String {
    let roles: Vec<&str> = ALL_ROLES.iter().map(|role| role.as_str()).collect();
    format!("must be one of {}", roles.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rejected(body: Value) -> Vec<(String, String)> {
        let err = RoleChangeInput::parse(body).unwrap_err();
        assert_eq!(err.status().as_u16(), 422);
        err.data()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = e["field"].as_str().unwrap().to_owned();
                (field, e["message"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    #[test]
    fn reads_an_id_a_role_and_an_optional_reason() {
        let input =
            RoleChangeInput::parse(json!({"user_id": "x", "role": "helpdesk", "reason": " ok "}))
                .unwrap();
        assert_eq!(input.role, Role::Helpdesk);
        assert_eq!(input.reason.unwrap().as_str(), "ok");
    }

    #[test]
    fn an_unknown_role_lists_the_allowed_values() {
        let errors = rejected(json!({"user_id": "x", "role": "owner"}));
        assert_eq!(
            errors,
            vec![(
                "role".to_owned(),
                "must be one of admin, helpdesk, user".to_owned()
            )]
        );
        let fields: Vec<String> = rejected(json!({"role": 3}))
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(fields, vec!["user_id", "role"]);
    }
}
