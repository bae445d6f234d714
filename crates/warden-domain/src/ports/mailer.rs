use async_trait::async_trait;

use crate::Email;

/// How a delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Worth trying again later (server down, timeout, 4xx reply).
    #[error("transient mail failure")]
    Transient(#[source] anyhow::Error),
    /// Will never succeed as it stands (address or message rejected with a 5xx reply).
    #[error("permanent mail failure")]
    Permanent(#[source] anyhow::Error),
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
