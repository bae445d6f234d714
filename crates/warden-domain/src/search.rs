//! What an admin may look for, and the rules of each filter, stated once: accounts by text,
//! status and role ([`UserFilter`]); audit events by action, actor, target and time
//! ([`EventFilter`]); and how many per page ([`PageLimit`]). Stores apply the filters; the
//! in-memory store applies them with the `matches` methods here.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    AccountStatus, AuditAction, AuditEvent, AuditedChange, ChangeAction, Role, User, UserId,
};

/// How many items a page holds: 1..=[`PageLimit::MAX`], [`PageLimit::DEFAULT`] when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const DEFAULT: u32 = 20;
    pub const MAX: u32 = 100;

    /// # Errors
    /// [`InvalidLimit`] outside 1..=[`PageLimit::MAX`].
    pub fn new(limit: u32) -> Result<Self, InvalidLimit> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(InvalidLimit)
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// From [`PageLimit::new`]: the page size is not a whole number from 1 to [`PageLimit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number from 1 to {}", PageLimit::MAX)]
pub struct InvalidLimit;

/// Which accounts, by status. Searching is for finding someone whatever their state (to
/// deactivate or to reactivate them), so the default is [`StatusFilter::All`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    Active,
    Inactive,
    #[default]
    All,
}

impl StatusFilter {
    pub const NAMES: &'static str = "active, inactive or all";

    /// # Errors
    /// [`UnknownStatusFilter`] for anything but `active`, `inactive` or `all`.
    pub fn parse(text: &str) -> Result<Self, UnknownStatusFilter> {
        match text {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "all" => Ok(Self::All),
            _ => Err(UnknownStatusFilter),
        }
    }

    /// `Some(is_active)` for the accounts it keeps; `None` keeps every account.
    pub fn is_active(self) -> Option<bool> {
        match self {
            Self::Active => Some(true),
            Self::Inactive => Some(false),
            Self::All => None,
        }
    }

    pub fn matches(self, status: &AccountStatus) -> bool {
        self.is_active()
            .is_none_or(|active| active == matches!(status, AccountStatus::Active))
    }
}

/// From [`StatusFilter::parse`]: the text is not `active`, `inactive` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be active, inactive or all")]
pub struct UnknownStatusFilter;

/// Text to look for: it matches an account whose email address, first name or last name
/// **starts with** it, compared lower-cased (`ada` finds `Ada Lovelace` and `ada@example.com`,
/// `love` finds `Lovelace`). A prefix, not any substring: a prefix can be looked up in an
/// ordinary index of the lower-cased columns, so a search stays fast at millions of accounts.
/// Trimmed, lower-cased, at most [`SearchText::MAX_CHARS`] characters, no control or invisible
/// format characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 100;

    /// Blank text means "no text filter".
    ///
    /// # Errors
    /// [`InvalidSearchText`] when too long or holding control or format characters.
    pub fn parse(text: &str) -> Result<Option<Self>, InvalidSearchText> {
        // Counted before trimming: what a client may send is at most this long.
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidSearchText::TooLong);
        }
        let text = text.trim();
        if text.is_empty() {
            Ok(None)
        } else if text
            .chars()
            .any(|c| c.is_control() || crate::text::is_format(c))
        {
            Err(InvalidSearchText::Unprintable)
        } else {
            Ok(Some(Self(Self::fold(text))))
        }
    }

    /// How text is compared: lower-cased.
    pub fn fold(text: &str) -> String {
        text.to_lowercase()
    }

    /// The lower-cased text (what stored values must start with, lower-cased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an SQL `LIKE` pattern for "starts with", with `\` as the escape character:
    /// `\`, `%` and `_` in the text are taken literally. For the SQL stores, which compare
    /// their folded columns to it (`... LIKE pattern ESCAPE '\'`).
    pub fn like_prefix(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 1);
        for c in self.0.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }

    pub fn matches(&self, user: &User) -> bool {
        [user.email.as_str(), &user.first_name, &user.last_name]
            .iter()
            .any(|field| Self::fold(field).starts_with(&self.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSearchText {
    /// The text is longer than [`SearchText::MAX_CHARS`] characters.
    #[error("must be at most {} characters", SearchText::MAX_CHARS)]
    TooLong,
    /// The text holds a control or invisible formatting character.
    #[error("must not contain control or invisible formatting characters")]
    Unprintable,
}

/// Which accounts a search keeps. Results are ordered newest account first (by id: ids are
/// time-ordered), so a page cursor is the last account's id, and accounts created while a
/// client pages through never shift the pages it has yet to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub text: Option<SearchText>,
    pub status: StatusFilter,
    pub role: Option<Role>,
}

impl UserFilter {
    pub fn matches(&self, user: &User) -> bool {
        self.text.as_ref().is_none_or(|text| text.matches(user))
            && self.status.matches(&user.status)
            && self.role.is_none_or(|role| role == user.role)
    }
}

/// Which audit events a listing keeps: every given condition holds. Events are ordered newest
/// first (by id, which is time-ordered); a page cursor is the last event's id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    action: Option<AuditAction>,
    /// Keeps only audited changes of this action (never set together with `action`).
    change: Option<ChangeAction>,
    actor: Option<Uuid>,
    target: Option<UserId>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// `since` and `until` bound the event's time, both inclusive.
    ///
    /// # Errors
    /// [`InvertedPeriod`] when `since` is later than `until`.
    pub fn new(
        action: Option<AuditAction>,
        actor: Option<Uuid>,
        target: Option<UserId>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Self, InvertedPeriod> {
        if let (Some(since), Some(until)) = (since, until) {
            if since > until {
                return Err(InvertedPeriod);
            }
        }
        Ok(Self {
            action,
            change: None,
            actor,
            target,
            since,
            until,
        })
    }

    /// This filter, keeping only the audited changes of `action` (and so no status change).
    #[must_use]
    pub fn with_change_action(mut self, action: ChangeAction) -> Self {
        self.action = None;
        self.change = Some(action);
        self
    }

    /// The audit action kept, if the filter names one.
    pub fn action(&self) -> Option<AuditAction> {
        self.action
    }

    /// The change action kept, if the filter names one ([`EventFilter::with_change_action`]).
    pub fn change_action(&self) -> Option<ChangeAction> {
        self.change
    }

    /// Whether any status change's audit event can match (no change action is asked for).
    pub fn keeps_status_events(&self) -> bool {
        self.change.is_none()
    }

    /// Whether any audited change other than a status change can match (no status action is
    /// asked for).
    pub fn keeps_changes(&self) -> bool {
        self.action.is_none()
    }

    /// The id of the actor (whatever its kind) that made the change.
    pub fn actor(&self) -> Option<Uuid> {
        self.actor
    }

    /// The account the change was made to.
    pub fn target(&self) -> Option<UserId> {
        self.target
    }

    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.since
    }

    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.keeps_status_events()
            && self.action.is_none_or(|action| action == event.action)
            && self.actor.is_none_or(|actor| event.actor.id == Some(actor))
            && self.target.is_none_or(|target| target == event.user_id)
            && self.since.is_none_or(|since| event.at >= since)
            && self.until.is_none_or(|until| event.at <= until)
    }

    /// The rule for audited changes other than status changes: the action, the actor's id,
    /// the target's id (an account, client or webhook endpoint) and the period.
    pub fn matches_change(&self, change: &AuditedChange) -> bool {
        self.keeps_changes()
            && self.change.is_none_or(|action| action == change.action)
            && self
                .actor
                .is_none_or(|actor| change.actor.id == Some(actor))
            && self
                .target
                .is_none_or(|target| *target.as_uuid() == change.target)
            && self.since.is_none_or(|since| change.at >= since)
            && self.until.is_none_or(|until| change.at <= until)
    }
}

/// From [`EventFilter::new`]: `since` is later than `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must not be later than until")]
pub struct InvertedPeriod;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefixes_take_wildcards_literally() {
        let pattern = |text: &str| SearchText::parse(text).unwrap().unwrap().like_prefix();
        assert_eq!(pattern("Ada"), "ada%");
        assert_eq!(pattern(r"a_b%c\d"), r"a\_b\%c\\d%");
    }

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert_eq!(PageLimit::default().get(), 20);
        assert_eq!(PageLimit::new(1).map(PageLimit::get), Ok(1));
        assert_eq!(PageLimit::new(100).map(PageLimit::get), Ok(100));
        assert_eq!(PageLimit::new(0), Err(InvalidLimit));
        assert_eq!(PageLimit::new(101), Err(InvalidLimit));
    }

    #[test]
    fn status_filters_parse_and_default_to_all() {
        assert_eq!(StatusFilter::default(), StatusFilter::All);
        assert_eq!(StatusFilter::parse("active"), Ok(StatusFilter::Active));
        assert_eq!(StatusFilter::parse("inactive"), Ok(StatusFilter::Inactive));
        assert_eq!(StatusFilter::parse("all"), Ok(StatusFilter::All));
        assert_eq!(StatusFilter::parse("Active"), Err(UnknownStatusFilter));
        assert!(StatusFilter::Active.matches(&AccountStatus::Active));
        assert!(!StatusFilter::Inactive.matches(&AccountStatus::Active));
    }

    #[test]
    fn search_text_is_trimmed_lower_cased_and_bounded() {
        assert_eq!(SearchText::parse("  "), Ok(None));
        let text = SearchText::parse(" ZoË ").unwrap().unwrap();
        assert_eq!(text.as_str(), "zoë");
        assert_eq!(
            SearchText::parse(&"a".repeat(101)),
            Err(InvalidSearchText::TooLong)
        );
        assert!(SearchText::parse(&"a".repeat(100)).unwrap().is_some());
        assert_eq!(
            SearchText::parse(&format!(" {}", "a".repeat(100))),
            Err(InvalidSearchText::TooLong)
        );
        assert_eq!(
            SearchText::parse("a\0b"),
            Err(InvalidSearchText::Unprintable)
        );
        assert_eq!(
            SearchText::parse("a\u{202e}b"),
            Err(InvalidSearchText::Unprintable)
        );
    }

    #[test]
    fn periods_must_not_be_inverted() {
        let now = Utc::now();
        let later = now + chrono::TimeDelta::seconds(1);
        assert!(EventFilter::new(None, None, None, Some(now), Some(later)).is_ok());
        assert!(EventFilter::new(None, None, None, Some(now), Some(now)).is_ok());
        assert_eq!(
            EventFilter::new(None, None, None, Some(later), Some(now)),
            Err(InvertedPeriod)
        );
    }
}
