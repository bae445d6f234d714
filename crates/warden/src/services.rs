//! The domain use cases, built once from the chosen adapters and shared by HTTP, the CLI and the
//! outbox worker, so every entry point applies the very same rules.

use std::sync::Arc;

use warden_domain::ports::{
    AuthVerifier, Clock, LoginAttempts, Mailer, Outbox, PasswordHasher, TokenIssuer, UserRepo,
};
use warden_domain::use_cases::{
    Authenticator, CreateUser, DeactivateUser, DeliverNotifications, IssueToken, ReactivateUser,
    RetryPolicy, UserQueries,
};

/// The adapters behind each port.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // trait objects without Debug
pub struct Ports {
    pub users: Arc<dyn UserRepo>,
    pub outbox: Arc<dyn Outbox>,
    pub mailer: Arc<dyn Mailer>,
    pub verifier: Arc<dyn AuthVerifier>,
    pub issuer: Arc<dyn TokenIssuer>,
    pub hasher: Arc<dyn PasswordHasher>,
    /// Sign-in attempts, counted before each password check.
    pub attempts: Arc<dyn LoginAttempts>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Clone)]
pub struct Services {
    pub auth: Authenticator,
    pub deactivate: DeactivateUser,
    pub reactivate: ReactivateUser,
    pub create_user: CreateUser,
    pub issue_token: IssueToken,
    pub deliver: DeliverNotifications,
    pub queries: UserQueries,
    /// For readiness and metrics: the backlog of notifications.
    pub outbox: Arc<dyn Outbox>,
}

impl Services {
    pub fn new(ports: Ports, retry: RetryPolicy) -> Self {
        let Ports {
            users,
            outbox,
            mailer,
            verifier,
            issuer,
            hasher,
            attempts,
            clock,
        } = ports;
        Self {
            auth: Authenticator::new(verifier, users.clone()),
            deactivate: DeactivateUser::new(users.clone(), clock.clone()),
            reactivate: ReactivateUser::new(users.clone(), clock.clone()),
            create_user: CreateUser::new(users.clone(), hasher.clone(), clock.clone()),
            issue_token: IssueToken::new(users.clone(), hasher, issuer, clock.clone(), attempts),
            queries: UserQueries::new(users),
            deliver: DeliverNotifications::new(outbox.clone(), mailer, clock, retry),
            outbox,
        }
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}
