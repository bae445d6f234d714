use anyhow::Context as _;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use warden_domain::ports::MailError;
use warden_domain::Email;

/// Parses the configured sender, e.g. `Warden <no-reply@warden.localhost>`.
pub(crate) fn parse_sender(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .with_context(|| format!("invalid sender mailbox {from:?}"))
}

/// The Message-ID header value for `email` sent as `from`: `<{email.message_id}@{domain}>`.
/// The same email always gets the same id, so a retried delivery is recognisable.
pub(crate) fn message_id(email: &Email, from: &Mailbox) -> String {
    format!("<{}@{}>", email.message_id, from.email.domain())
}

/// Builds the MIME message. A message that cannot be built never will be: `Permanent`.
pub(crate) fn build(email: &Email, from: &Mailbox) -> Result<Message, MailError> {
    let address: Address = email
        .to
        .as_str()
        .parse()
        .context("recipient address rejected by the mail library")
        .map_err(MailError::permanent)?;
    let name = Some(email.to_name.trim().to_owned()).filter(|name| !name.is_empty());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(name, address))
        .subject(email.subject.clone())
        .message_id(Some(message_id(email, from)))
        .multipart(MultiPart::alternative_plain_html(
            email.text_body.clone(),
            email.html_body.clone(),
        ))
        .context("cannot build the message")
        .map_err(MailError::permanent)
}
