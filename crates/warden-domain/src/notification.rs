use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{EmailAddress, Reason, StatusAction};

/// A message owed to a user, recorded in the outbox in the same transaction as the change that
/// caused it, and delivered later by [`crate::use_cases::DeliverNotifications`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub action: StatusAction,
    pub to: EmailAddress,
    /// The name to greet the recipient by.
    pub name: String,
    pub reason: Option<Reason>,
    pub occurred_at: DateTime<Utc>,
    /// A deactivation's end, when it is a timed suspension.
    pub until: Option<DateTime<Utc>>,
}

/// A rendered email, ready for a [`crate::ports::Mailer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Stable per notification: the same notification always renders the same id.
    pub message_id: Uuid,
    pub to: EmailAddress,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

impl Notification {
    pub fn render(&self) -> Email {
        // The actor is not named: an admin, an identity provider (SCIM) or the end of a timed
        // suspension may have made the change, and the reason line says why.
        let (subject, headline) = match self.action {
            StatusAction::Deactivate => (
                "Your account has been deactivated",
                "Your account has been deactivated. You can no longer sign in, and any session \
                 you had has ended.",
            ),
            StatusAction::Reactivate => (
                "Your account has been reactivated",
                "Your account has been reactivated. You can sign in again.",
            ),
        };
        let when = self.occurred_at.format("%Y-%m-%d %H:%M UTC").to_string();
        let reason_text = self
            .reason
            .as_ref()
            .map(|r| format!("\nReason: {r}\n"))
            .unwrap_or_default();
        let reason_html = self
            .reason
            .as_ref()
            .map(|r| {
                format!(
                    "<p><strong>Reason:</strong> {}</p>",
                    escape_html(r.as_str())
                )
            })
            .unwrap_or_default();
        let until = self
            .until
            .filter(|_| self.action == StatusAction::Deactivate)
            .map(|until| until.format("%Y-%m-%d %H:%M:%S UTC").to_string());
        let until_text = until
            .as_ref()
            .map(|until| format!("Until: {until} (your account will be reactivated then)\n"))
            .unwrap_or_default();
        let until_html = until
            .as_ref()
            .map(|until| {
                format!(
                    "<p><strong>Until:</strong> {until} (your account will be reactivated then)</p>"
                )
            })
            .unwrap_or_default();
        let footer = "If you believe this is a mistake, please contact your administrator.";
        Email {
            message_id: self.id,
            to: self.to.clone(),
            to_name: self.name.clone(),
            subject: subject.to_owned(),
            text_body: format!(
                "Hello {name},\n\n{headline}\n\nWhen: {when}\n{until_text}{reason_text}\n{footer}\n",
                name = self.name,
            ),
            html_body: format!(
                "<!doctype html><html><body><p>Hello {name},</p><p>{headline}</p>\
                 <p><strong>When:</strong> {when}</p>{until_html}{reason_html}<p>{footer}</p></body></html>",
                name = escape_html(&self.name),
            ),
        }
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(action: StatusAction, reason: Option<&str>) -> Notification {
        Notification {
            id: Uuid::now_v7(),
            action,
            to: EmailAddress::parse("ada@example.com").unwrap(),
            name: "Ada <script>".into(),
            reason: reason.and_then(|r| Reason::parse(r).unwrap()),
            occurred_at: Utc::now(),
            until: None,
        }
    }

    #[test]
    fn a_timed_suspension_says_until_when() {
        let until = Utc::now() + chrono::Duration::days(7);
        let shown = until.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let mut n = notification(StatusAction::Deactivate, None);
        assert!(!n.render().text_body.contains("Until"));
        n.until = Some(until);
        let email = n.render();
        assert!(email.text_body.contains(&format!("Until: {shown}")));
        assert!(email.html_body.contains(&shown));
    }

    #[test]
    fn deactivation_email_quotes_the_reason_in_both_parts() {
        let email = notification(StatusAction::Deactivate, Some("Spam & <abuse>")).render();
        assert!(email.subject.contains("deactivated"));
        assert!(email.text_body.contains("Reason: Spam & <abuse>"));
        assert!(email.html_body.contains("Spam &amp; &lt;abuse&gt;"));
        assert!(!email.html_body.contains("<script>"));
    }

    #[test]
    fn no_reason_line_without_a_reason() {
        let email = notification(StatusAction::Deactivate, None).render();
        assert!(!email.text_body.contains("Reason"));
        assert!(!email.html_body.contains("Reason"));
    }

    #[test]
    fn reactivation_has_its_own_subject_and_stable_message_id() {
        let n = notification(StatusAction::Reactivate, None);
        let email = n.render();
        assert!(email.subject.contains("reactivated"));
        assert_eq!(email.message_id, n.id);
        assert_eq!(n.render(), email);
    }

    #[test]
    fn no_email_claims_an_administrator_acted() {
        // A timed suspension's end or a SCIM deprovisioning is not an administrator's act.
        for action in [StatusAction::Deactivate, StatusAction::Reactivate] {
            let email = notification(action, Some("The suspension period has ended.")).render();
            assert!(
                !email.text_body.contains("by an administrator"),
                "{action:?}"
            );
            assert!(
                !email.html_body.contains("by an administrator"),
                "{action:?}"
            );
        }
    }
}
