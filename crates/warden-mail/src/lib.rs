//! # warden-mail
//!
//! [`warden_domain::ports::Mailer`] adapters built on lettre:
//! - [`SmtpMailer`]: delivers through an SMTP relay (`smtp://`, `smtps://`,
//!   `smtp://...?tls=required`), with a connection pool and a timeout;
//! - [`FileMailer`]: writes each message as an `.eml` file, for development.
//!
//! Both send the same message: From the configured mailbox, To `"{to_name}" <to>`, a
//! multipart/alternative text + HTML body, and a Message-ID `<{message_id}@{sender domain}>`
//! derived from [`warden_domain::Email::message_id`], so a retried delivery is the same message.

mod file;
mod message;
mod smtp;

pub use file::FileMailer;
pub use smtp::SmtpMailer;
