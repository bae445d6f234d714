//! The domain use cases, built once from the chosen adapters and shared by HTTP, the CLI and the
//! outbox worker, so every entry point applies the very same rules.

use std::sync::Arc;

use warden_auth::Jwks;
use warden_domain::ports::{
    AuditExport, AuthVerifier, ChangeLog, ClientRepo, ClientTokens, Clock, IdempotencyStore,
    JobStore, LoginAttempts, Mailer, Outbox, PasswordHasher, ProvisioningRepo, TokenInspector,
    TokenIssuer, UserRepo, WebhookRepo, WebhookSender,
};
use warden_domain::use_cases::{
    Authenticator, BulkDeactivate, ChangeRole, ClientAuthenticator, CreateUser, DeactivateUser,
    DeliverNotifications, Directory, ExplainAccess, IntrospectToken, IssueToken, LiftSuspensions,
    ManageClients, Provision, ReactivateUser, RetryPolicy, UserQueries,
};
use warden_domain::use_cases::{DeliverWebhooks, ExportAudit, ManageWebhooks};
use warden_domain::WebhookRetryPolicy;

use crate::http::Idempotency;
use crate::run::ssf::Transmitter;
use warden_webhooks::WebhookTargets;

/// The adapters behind each port.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // trait objects without Debug
pub struct Ports {
    pub users: Arc<dyn UserRepo>,
    /// The request pool's outbox: HTTP's and the CLI's outbox use cases, readiness, metrics.
    pub outbox: Arc<dyn Outbox>,
    /// The outbox worker's: the same store on a small pool of its own.
    pub delivery: Arc<dyn Outbox>,
    pub mailer: Arc<dyn Mailer>,
    pub verifier: Arc<dyn AuthVerifier>,
    pub issuer: Arc<dyn TokenIssuer>,
    pub hasher: Arc<dyn PasswordHasher>,
    /// Sign-in attempts, counted before each password check.
    pub attempts: Arc<dyn LoginAttempts>,
    /// Idempotency keys of retryable requests (`Idempotency-Key`).
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Background jobs (bulk deactivation) and their items.
    pub jobs: Arc<dyn JobStore>,
    pub clock: Arc<dyn Clock>,
    /// Machine clients, their tokens, and what introspection reads of an access token.
    pub clients: Arc<dyn ClientRepo>,
    pub client_tokens: Arc<dyn ClientTokens>,
    pub inspector: Arc<dyn TokenInspector>,
    /// The public keys that verify access tokens (empty for HS256).
    pub jwks: Jwks,
    /// Accounts as provisioning clients (SCIM) see them.
    pub provisioning: Arc<dyn ProvisioningRepo>,
    /// Webhook endpoints and their deliveries; how webhooks are sent, and retried.
    pub webhooks: Arc<dyn WebhookRepo>,
    /// The audited changes other than status changes, for the audit log.
    pub changes: Arc<dyn ChangeLog>,
    /// The audit trail for collectors, and its retention.
    pub audit_export: Arc<dyn AuditExport>,
    pub webhook_sender: Arc<dyn WebhookSender>,
    pub webhook_policy: WebhookRetryPolicy,
    /// Which endpoint URLs registration accepts (`WARDEN_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_targets: WebhookTargets,
    /// Shared Signals: the streams, their SETs, and how SETs are signed and pushed.
    pub ssf: Transmitter,
}

#[derive(Clone)]
pub struct Services {
    pub auth: Authenticator,
    pub deactivate: DeactivateUser,
    pub reactivate: ReactivateUser,
    pub change_role: ChangeRole,
    pub create_user: CreateUser,
    pub issue_token: IssueToken,
    /// Outbox listing and retries for HTTP and the CLI, on the request pool.
    pub deliver: DeliverNotifications,
    /// The outbox worker's delivery rounds, on its own pool.
    pub worker_deliver: DeliverNotifications,
    pub queries: UserQueries,
    /// Account search and the audit log of every account.
    pub directory: Directory,
    /// Why an account can or cannot sign in.
    pub access: ExplainAccess,
    /// For readiness and metrics: the backlog of notifications, read on the request pool, so
    /// readiness reports the pool requests wait on.
    pub outbox: Arc<dyn Outbox>,
    /// Machine clients: managed by admins and operators, authenticated by their tokens.
    pub clients: ManageClients,
    pub client_auth: ClientAuthenticator,
    pub introspect: IntrospectToken,
    pub jwks: Jwks,
    /// Applies `Idempotency-Key` to the routes that accept it.
    pub idempotency: Idempotency,
    /// Ends the timed suspensions that are due (run by the lifter).
    pub lift: LiftSuspensions,
    /// Bulk deactivation jobs: submitted over HTTP, carried out by the job runner.
    pub bulk: BulkDeactivate,
    /// What provisioning clients (SCIM) do to accounts.
    pub provision: Provision,
    /// Webhook endpoints for admins, and the webhook worker's delivery rounds.
    pub webhooks: ManageWebhooks,
    pub deliver_webhooks: DeliverWebhooks,
    pub webhook_targets: WebhookTargets,
    /// `GET /api/v1/events/export`, and the audit retention loop.
    pub export_audit: ExportAudit,
    /// The Shared Signals transmitter (streams, SET signing, push).
    pub ssf: Transmitter,
}

impl Services {
    pub fn new(ports: Ports, retry: RetryPolicy) -> Self {
        let Ports {
            users,
            outbox,
            delivery,
            mailer,
            verifier,
            issuer,
            hasher,
            attempts,
            idempotency,
            jobs,
            clock,
            clients,
            client_tokens,
            inspector,
            jwks,
            provisioning,
            webhooks,
            changes,
            audit_export,
            webhook_sender,
            webhook_policy,
            webhook_targets,
            ssf,
        } = ports;
        let auth = Authenticator::new(verifier, users.clone());
        let access = ExplainAccess::new(users.clone(), attempts.clone(), clock.clone());
        let bulk = BulkDeactivate::new(jobs, users.clone(), auth.clone(), clock.clone());
        Self {
            export_audit: ExportAudit::new(audit_export, clock.clone()),
            ssf,
            provision: Provision::new(users.clone(), provisioning, clock.clone()),
            webhook_targets,
            webhooks: ManageWebhooks::new(webhooks.clone(), clock.clone()),
            deliver_webhooks: DeliverWebhooks::new(
                webhooks,
                webhook_sender,
                clock.clone(),
                webhook_policy,
                rand::random::<f64>,
            ),
            idempotency: Idempotency::new(idempotency, clock.clone()),
            clients: ManageClients::new(clients.clone(), client_tokens.clone(), clock.clone()),
            client_auth: ClientAuthenticator::new(clients, client_tokens),
            introspect: IntrospectToken::new(auth.clone(), inspector),
            jwks,
            auth,
            lift: LiftSuspensions::new(users.clone(), clock.clone()),
            bulk,
            deactivate: DeactivateUser::new(users.clone(), clock.clone()),
            reactivate: ReactivateUser::new(users.clone(), clock.clone()),
            change_role: ChangeRole::new(users.clone(), clock.clone()),
            create_user: CreateUser::new(users.clone(), hasher.clone(), clock.clone()),
            issue_token: IssueToken::new(users.clone(), hasher, issuer, clock.clone(), attempts),
            directory: Directory::new(users.clone(), changes),
            access,
            queries: UserQueries::new(users),
            deliver: DeliverNotifications::new(
                outbox.clone(),
                mailer.clone(),
                clock.clone(),
                retry,
            ),
            worker_deliver: DeliverNotifications::new(delivery, mailer, clock, retry),
            outbox,
        }
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}
