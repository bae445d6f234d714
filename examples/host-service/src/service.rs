//! The host's deactivate/reactivate flow: authenticate the caller, run the use case, answer.

use std::sync::Arc;

use warden_domain::ports::{AuthVerifier, Clock, UserRepo};
use warden_domain::use_cases::{Authenticator, DeactivateUser, ReactivateUser};
use warden_domain::{Reason, UserId};

use crate::reply::Reply;

// guide:begin service
/// The use cases the host needs, built once from its adapters.
#[derive(Debug, Clone)]
pub struct HostService {
    auth: Authenticator,
    deactivate: DeactivateUser,
    reactivate: ReactivateUser,
}

impl HostService {
    pub fn new(
        users: Arc<dyn UserRepo>,
        verifier: Arc<dyn AuthVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth: Authenticator::new(verifier, users.clone()),
            deactivate: DeactivateUser::new(users.clone(), clock.clone()),
            reactivate: ReactivateUser::new(users, clock),
        }
    }

    /// `token` is the caller's bearer token, if any.
    pub async fn deactivate(&self, token: Option<&str>, target: UserId, why: &str) -> Reply {
        let admin = match self.auth.admin(token).await {
            Ok(admin) => admin,
            Err(refused) => return refused.into(),
        };
        let reason = match Reason::parse(why) {
            Ok(reason) => reason,
            Err(invalid) => return invalid.into(),
        };
        match self.deactivate.execute(&admin, target, reason).await {
            Ok(user) => Reply::deactivated(&user),
            Err(refused) => refused.into(),
        }
    }

    pub async fn reactivate(&self, token: Option<&str>, target: UserId) -> Reply {
        let admin = match self.auth.admin(token).await {
            Ok(admin) => admin,
            Err(refused) => return refused.into(),
        };
        match self.reactivate.execute(&admin, target, None).await {
            Ok(user) => Reply::reactivated(&user),
            Err(refused) => refused.into(),
        }
    }
}
// guide:end service
