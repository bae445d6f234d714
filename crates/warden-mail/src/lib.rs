//! # warden-mail
//!
//! [`warden_domain::ports::Mailer`] adapters built on lettre:
//! - [`SmtpMailer`]: delivers through an SMTP relay (`smtp://`, `smtps://`,
//!   `smtp://...?tls=required`) over pooled `TCP_NODELAY` connections, with a timeout per send;
//! - [`FileMailer`]: writes each message as an `.eml` file, for development.
//!
//! Both send the same message: From the configured mailbox, To `"{to_name}" <to>`, a
//! multipart/alternative text + HTML body, and a Message-ID `<{message_id}@{sender domain}>`
//! derived from [`warden_domain::Email::message_id`], so a retried delivery is the same message.

mod file;
mod message;
mod smtp;
mod smtp_connect;

pub use file::FileMailer;
pub use smtp::SmtpMailer;
