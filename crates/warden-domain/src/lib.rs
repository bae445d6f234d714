//! # warden-domain
//!
//! The rules of Warden's account lifecycle, free of any framework: who may deactivate or
//! reactivate an account, what that changes, what is recorded and who is told.
//!
//! - [`use_cases`]: [`use_cases::DeactivateUser`], [`use_cases::ReactivateUser`],
//!   [`use_cases::Authenticator`], [`use_cases::CreateUser`], [`use_cases::IssueToken`],
//!   [`use_cases::DeliverNotifications`], and for machine clients [`use_cases::ManageClients`],
//!   [`use_cases::ClientAuthenticator`] and [`use_cases::IntrospectToken`]; for provisioning
//!   clients (SCIM) [`use_cases::Provision`].
//! - [`ports`]: the traits a host implements ([`ports::UserRepo`], [`ports::Outbox`],
//!   [`ports::Mailer`], [`ports::AuthVerifier`], [`ports::TokenIssuer`],
//!   [`ports::PasswordHasher`], [`ports::LoginAttempts`], [`ports::Clock`], [`ports::ClientRepo`],
//!   [`ports::ClientTokens`], [`ports::TokenInspector`]), each with its contract. With the `mocks`
//!   feature every port has a mockall mock (`ports::MockUserRepo`, ...).
//! - Values: validated newtypes ([`UserId`], [`EmailAddress`], [`Reason`], [`Password`],
//!   [`ClientName`], [`Scope`]) and the [`User`] and [`Client`] entities.

mod actor;
mod client;
mod config_change;
mod email_address;
mod idempotency;
mod jobs;
mod login_throttle;
mod notification;
mod operator;
mod password;
pub mod policy;
mod provisioning;
mod reason;
mod role_change;
mod search;
mod special_address;
mod ssf;
mod status_change;
mod suspension;
mod text;
mod user;
mod user_id;
mod webhook;

pub mod ports;
pub mod use_cases;

pub use actor::{Actor, ActorKind, Authority, HolderState, RecordedActor, UnknownActorKind};
pub use client::{
    Client, ClientName, ClientRef, ClientSecret, InvalidClientName, NewClient, Scope, TokenHash,
    UnknownScope, ALL_SCOPES,
};
pub use config_change::{
    AuditedChange, Authorized, ChangeAction, Guarded, TargetKind, ALL_CHANGE_ACTIONS,
};
pub use email_address::{EmailAddress, InvalidEmailAddress};
pub use idempotency::{
    Fingerprint, IdempotencyDecision, IdempotencyKey, IdempotencyPolicy, IdempotencyRecord,
    IdempotencyScope, InvalidIdempotencyKey, StoredResponse,
};
pub use jobs::{ClaimedItem, ItemResult, Job, JobGrant, JobKind, JobStatus, JobWork, NewBulkJob};
pub use login_throttle::{AttemptRecord, AttemptRecords, MemoryLoginAttempts, ThrottlePolicy};
pub use notification::{Email, Notification};
pub use operator::Operator;
pub use password::{InvalidPassword, Password, PasswordHash};
pub use provisioning::{
    profile_updated_at, ExternalId, InvalidExternalId, Profile, ProvisionedUser, ProvisioningFilter,
};
pub use reason::{InvalidReason, Reason};
pub use role_change::{RoleChange, RoleChangeOutcome, RoleTarget};
pub use search::{
    EventFilter, InvalidLimit, InvalidSearchText, InvertedPeriod, PageLimit, SearchText,
    StatusFilter, UnknownStatusFilter, UserFilter,
};
pub use special_address::forbidden_address;
pub use ssf::{
    initiating_entity, PollRequest, QueuedSet, SecurityEventType, SetFinish, Stream,
    StreamDelivery, StreamStatus, POLL_METHOD, PUSH_METHOD, STATUS_EVENT_TYPES,
};
pub use status_change::{
    AuditAction, AuditEvent, FoundTarget, LockedTarget, NextStep, RoleShift, StatusAction,
    StatusChange, StatusChangeOutcome, Unapplied, UnknownAction, Verdict, ALL_AUDIT_ACTIONS,
};
pub use suspension::{InvalidSuspensionEnd, SuspensionEnd};
pub use text::typed_text_pattern;
pub use user::{
    display_name, AccountStatus, Deactivation, NewUser, Role, RoleSet, UnknownRole, User, ALL_ROLES,
};
pub use user_id::{InvalidUserId, UserId};
pub use webhook::{
    check_webhook_description, AttemptOutcome, ClaimedDelivery, DeliveryStatus,
    InvalidWebhookDescription, InvalidWebhookSecret, NewWebhook, UnknownEventType, WebhookAnswer,
    WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookRetryPolicy, WebhookSecret,
    ALL_EVENT_TYPES, MAX_WEBHOOK_DESCRIPTION_CHARS, PREVIOUS_SECRET_OVERLAP,
};
