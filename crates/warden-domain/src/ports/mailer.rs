use async_trait::async_trait;

use super::ErrorCause;
use crate::Email;

/// How a delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Worth trying again later (server down, timeout, 4xx reply).
    #[error("transient mail failure")]
    Transient(#[source] ErrorCause),
    /// Will never succeed as it stands (address or message rejected with a 5xx reply).
    #[error("permanent mail failure")]
    Permanent(#[source] ErrorCause),
}

impl MailError {
    /// [`MailError::Transient`] with its cause.
    pub fn transient(cause: impl Into<ErrorCause>) -> Self {
        Self::Transient(cause.into())
    }

    /// [`MailError::Permanent`] with its cause.
    pub fn permanent(cause: impl Into<ErrorCause>) -> Self {
        Self::Permanent(cause.into())
    }
}

/// Sends rendered emails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `email` (both its text and HTML parts) to its recipient, with a Message-ID
    /// derived from [`Email::message_id`] so that a repeated delivery is recognisable.
    ///
    /// # Errors
    /// [`MailError::Transient`] when a later attempt may succeed, [`MailError::Permanent`] when
    /// it cannot.
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}
