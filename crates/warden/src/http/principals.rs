//! Who may call a route, in its signature: each principal is an actix extractor over the
//! domain's authentication use case, so a handler that takes an [`AdminCaller`] can only run for
//! an active admin on a current token, and no handler authenticates by hand. Extractors run
//! before the handler reads its body: a request without the right credential is refused before
//! a byte of its body is read.
//!
//! | extractor | who | refusal |
//! |---|---|---|
//! | [`AdminCaller`] | an active admin, token current | 401 `Could not validate admin credentials`, 403 for a non-admin |
//! | [`StaffCaller`] | an active admin or helpdesk, token current | as [`AdminCaller`], 403 for a `user` |
//! | [`UserCaller`] | any active account, token current | 401 `Could not validate credentials` |
//! | [`AuditCaller`] | an admin as [`AdminCaller`], or a live machine client with the scope `audit` | as [`AdminCaller`]; 403 for a client without `audit` |
//!
//! Machine clients have theirs beside their protocols: the SCIM provisioner
//! (`routes::scim::Provisioning`, SCIM errors) and the introspection client
//! (`routes::oauth2::Introspector`, OAuth errors).

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use warden_domain::use_cases::{Admin, AuditReader, ClientAccessError, Staff};
use warden_domain::{Scope, User};

use super::{bearer_token, ApiError};
use crate::run::state::AppState;

/// The application state a principal is checked against.
fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(&"the application state is not registered"))
}

/// Records who acts on the request's span (its log lines then name them).
fn record_actor(actor: impl std::fmt::Display) {
    tracing::Span::current().record("actor_id", tracing::field::display(actor));
}

/// An active admin whose bearer token is current (`Authenticator::admin`).
#[derive(Debug)]
pub struct AdminCaller(pub Admin);

impl Deref for AdminCaller {
    type Target = Admin;

    fn deref(&self) -> &Admin {
        &self.0
    }
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let admin = state(&req)?.services.auth.admin(bearer_token(&req)).await?;
            record_actor(admin.id());
            Ok(AdminCaller(admin))
        })
    }
}

/// An active admin or helpdesk whose bearer token is current (`Authenticator::staff`): the
/// routes a helpdesk may call (reading accounts, changing the status of `user` accounts; what
/// it may do to which account is the policy's, checked by the use case and again at commit).
#[derive(Debug)]
pub struct StaffCaller(pub Staff);

impl Deref for StaffCaller {
    type Target = Staff;

    fn deref(&self) -> &Staff {
        &self.0
    }
}

impl FromRequest for StaffCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let staff = state(&req)?.services.auth.staff(bearer_token(&req)).await?;
            record_actor(staff.id());
            Ok(StaffCaller(staff))
        })
    }
}

/// Any active account whose bearer token is current (`Authenticator::user`).
#[derive(Debug)]
pub struct UserCaller(pub User);

impl Deref for UserCaller {
    type Target = User;

    fn deref(&self) -> &User {
        &self.0
    }
}

impl FromRequest for UserCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = &state(&req)?.services.auth;
            let user = auth
                .user(bearer_token(&req))
                .await
                .map_err(ApiError::user_access)?;
            record_actor(user.id);
            Ok(UserCaller(user))
        })
    }
}

/// Who may read the audit export: an admin ([`AdminCaller`]'s checks), or a live machine
/// client holding the scope `audit`. A token that is no client's is judged as an admin's.
#[derive(Debug)]
pub struct AuditCaller(pub AuditReader);

impl FromRequest for AuditCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let services = &state(&req)?.services;
            let token = bearer_token(&req);
            match services.client_auth.client(token, Scope::Audit).await {
                Ok(client) => {
                    record_actor(client.client().id);
                    return Ok(AuditCaller(AuditReader::Client(client.client().id)));
                }
                Err(ClientAccessError::Forbidden(_)) => return Err(ApiError::forbidden()),
                Err(ClientAccessError::Store(error)) => return Err(error.into()),
                Err(_) => {}
            }
            let admin = services.auth.admin(token).await?;
            record_actor(admin.id());
            Ok(AuditCaller(AuditReader::Admin(Box::new(admin))))
        })
    }
}
