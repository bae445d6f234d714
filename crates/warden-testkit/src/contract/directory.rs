//! The directory: searching accounts and reading the audit trail of every account.
//!
//! The store is shared with the other checks, so every check marks its own accounts with a
//! fresh token in their names or addresses and filters on it (or on its own accounts' ids).

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{
    AuditEvent, EmailAddress, EventFilter, NewUser, Role, SearchText, StatusAction, StatusFilter,
    User, UserFilter, UserId,
};

use super::helpers::*;

/// A token no other account holds: ASCII letters and digits, so it folds to itself.
fn token() -> String {
    format!("tk{}", &Uuid::now_v7().simple().to_string()[20..])
}

async fn create_named(users: &dyn UserRepo, email: &str, first: &str, last: &str) -> User {
    users
        .create(NewUser {
            email: EmailAddress::parse(email).expect("email"),
            first_name: first.into(),
            last_name: last.into(),
            ..new_user(Role::User)
        })
        .await
        .expect("create")
}

fn text(q: &str) -> UserFilter {
    UserFilter {
        text: SearchText::parse(q).expect("search text"),
        ..UserFilter::default()
    }
}

async fn search(users: &dyn UserRepo, filter: &UserFilter, after: Option<UserId>) -> Vec<UserId> {
    users
        .search(filter, after, 100)
        .await
        .expect("search")
        .into_iter()
        .map(|u| u.id)
        .collect()
}

fn ids(found: &[&User]) -> Vec<UserId> {
    found.iter().map(|u| u.id).collect()
}

/// `search` keeps the accounts whose email, first name or last name starts with the text,
/// compared lower-cased (non-ASCII letters too), newest first; `%` and `_` are plain
/// characters; a text in the middle of a name does not match. It returns whole accounts.
pub async fn search_matches_prefixes_case_insensitively(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    let tk = token();
    let by_email = create_named(&*users, &format!("{tk}.x@example.com"), "Ada", "Byron").await;
    let by_first = create_named(
        &*users,
        &unique_email().to_string(),
        &format!("{}Grace", tk.to_uppercase()),
        "Hopper",
    )
    .await;
    let by_last = create_named(
        &*users,
        &unique_email().to_string(),
        "Zoë",
        &format!("{tk}_Ōkubo"),
    )
    .await;
    let _inside = create_named(
        &*users,
        &unique_email().to_string(),
        "Alan",
        &format!("Turing{tk}"),
    )
    .await;
    let accented = create_named(
        &*users,
        &unique_email().to_string(),
        &format!("Ë{tk}"),
        "Curie",
    )
    .await;

    assert_eq!(
        search(&*users, &text(&tk), None).await,
        ids(&[&by_last, &by_first, &by_email]),
        "email, first and last name prefixes, any case, newest first"
    );
    assert_eq!(
        search(&*users, &text(&format!("{}_", tk.to_uppercase())), None).await,
        ids(&[&by_last]),
        "`_` is not a wildcard"
    );
    assert_eq!(
        search(&*users, &text(&format!("{tk}%")), None).await,
        Vec::<UserId>::new()
    );
    assert_eq!(
        search(&*users, &text(&format!("ë{tk}")), None).await,
        ids(&[&accented]),
        "non-ASCII letters fold too"
    );
    let found = users
        .search(&text(&format!("{tk}.x@")), None, 10)
        .await
        .expect("search");
    assert_eq!(
        found,
        vec![by_email],
        "whole accounts, as find_by_id gives them"
    );
}

/// Status and role filters, alone and together with text.
pub async fn search_filters_by_status_and_role(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let sentinel = sentinel(&*users).await;
    let tk = token();
    let active = create_named(&*users, &format!("{tk}.a@example.com"), "A", "A").await;
    let inactive = create_named(&*users, &format!("{tk}.b@example.com"), "B", "B").await;
    let admin = users
        .create(NewUser {
            email: EmailAddress::parse(&format!("{tk}.c@example.com")).expect("email"),
            ..new_user(Role::Admin)
        })
        .await
        .expect("create");
    let off = change(StatusAction::Deactivate, &inactive, &sentinel, None, now());
    let inactive = applied(users.change_status(off).await);

    let filter = |status, role| UserFilter {
        status,
        role,
        ..text(&tk)
    };
    let cases = [
        (StatusFilter::All, None, ids(&[&admin, &inactive, &active])),
        (StatusFilter::Active, None, ids(&[&admin, &active])),
        (StatusFilter::Inactive, None, ids(&[&inactive])),
        (StatusFilter::All, Some(Role::Admin), ids(&[&admin])),
        (
            StatusFilter::All,
            Some(Role::User),
            ids(&[&inactive, &active]),
        ),
        (StatusFilter::Inactive, Some(Role::Admin), vec![]),
    ];
    for (status, role, expected) in cases {
        assert_eq!(
            search(&*users, &filter(status, role), None).await,
            expected,
            "{status:?} {role:?}"
        );
    }
    // Without text, the filters apply to every account.
    let every_inactive = UserFilter {
        status: StatusFilter::Inactive,
        ..UserFilter::default()
    };
    let found = users
        .search(&every_inactive, None, 1000)
        .await
        .expect("search");
    assert!(found.iter().all(|u| !u.is_active()));
    assert!(found.iter().any(|u| u.id == inactive.id));
    retire(&*users, &admin).await;
}

/// Keyset paging: each page starts strictly after the previous page's last account; accounts
/// created between two pages appear on none of the later pages, and no account is skipped or
/// repeated. A cursor naming no account is still a position.
pub async fn search_pages_are_stable_under_inserts(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    let tk = token();
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create_named(&*users, &format!("{tk}.{i}@example.com"), "P", "Q").await);
    }
    created.reverse(); // newest first
    let filter = text(&tk);
    let page = |after: Option<UserId>| {
        let (users, filter) = (users.clone(), filter.clone());
        async move {
            let found = users.search(&filter, after, 2).await.expect("search");
            found.into_iter().map(|u| u.id).collect::<Vec<_>>()
        }
    };
    let first = page(None).await;
    assert_eq!(first, ids(&[&created[0], &created[1]]));
    for i in 5..7 {
        create_named(&*users, &format!("{tk}.{i}@example.com"), "P", "Q").await;
    }
    let second = page(first.last().copied()).await;
    assert_eq!(second, ids(&[&created[2], &created[3]]));
    let third = page(second.last().copied()).await;
    assert_eq!(third, ids(&[&created[4]]));
    assert_eq!(page(third.last().copied()).await, Vec::<UserId>::new());

    // A position between two accounts, naming none.
    let between = UserId::from_uuid(Uuid::now_v7());
    let newest = create_named(&*users, &format!("{tk}.z@example.com"), "P", "Q").await;
    assert!(!page(Some(between)).await.contains(&newest.id));
    assert_eq!(page(Some(between)).await.len(), 2);
}

async fn log(
    users: &dyn UserRepo,
    filter: EventFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Vec<Uuid> {
    users
        .audit_log(&filter, after, limit)
        .await
        .expect("audit_log")
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// The audit log of every account, newest first, filtered by action, actor, target and time
/// (both bounds inclusive), paged by event id.
pub async fn audit_log_filters_and_pages_newest_first(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    let sentinel = sentinel(&*users).await;
    let other_admin = create(&*users, Role::Admin, "Other").await;
    let first = create(&*users, Role::User, "First").await;
    let second = create(&*users, Role::User, "Second").await;
    let t0 = now();
    let (t1, t2) = (t0 + TimeDelta::seconds(1), t0 + TimeDelta::seconds(2));

    let off = change(
        StatusAction::Deactivate,
        &first,
        &sentinel,
        reason("spam"),
        t0,
    );
    applied(users.change_status(off.clone()).await);
    let on = change(StatusAction::Reactivate, &first, &sentinel, None, t1);
    applied(users.change_status(on.clone()).await);
    let by_other = change(StatusAction::Deactivate, &second, &other_admin, None, t2);
    applied(users.change_status(by_other.clone()).await);

    let filter = |action, actor, target: Option<&User>, since, until| {
        EventFilter::new(action, actor, target.map(|u| u.id), since, until).expect("filter")
    };
    let of_first = |since, until| filter(None, None, Some(&first), since, until);
    let everything = users
        .audit_log(&of_first(None, None), None, 10)
        .await
        .expect("audit_log");
    assert_eq!(
        everything,
        vec![event_of(&on), event_of(&off)],
        "whole events"
    );
    assert_eq!(
        log(
            &*users,
            filter(None, Some(*other_admin.id.as_uuid()), None, None, None),
            None,
            10
        )
        .await,
        vec![by_other.event_id],
        "by actor"
    );
    assert_eq!(
        log(
            &*users,
            filter(
                Some(StatusAction::Reactivate.into()),
                None,
                Some(&first),
                None,
                None
            ),
            None,
            10
        )
        .await,
        vec![on.event_id],
        "by action"
    );
    assert_eq!(
        log(&*users, of_first(Some(t1), None), None, 10).await,
        vec![on.event_id]
    );
    assert_eq!(
        log(&*users, of_first(None, Some(t0)), None, 10).await,
        vec![off.event_id]
    );
    assert_eq!(
        log(&*users, of_first(Some(t0), Some(t1)), None, 10).await,
        vec![on.event_id, off.event_id]
    );
    assert_eq!(
        log(&*users, of_first(Some(t2), None), None, 10).await,
        Vec::<Uuid>::new()
    );

    // Across every account, the newest events come first.
    let recent = filter(None, None, None, Some(t0), None);
    let newest: Vec<AuditEvent> = users.audit_log(&recent, None, 3).await.expect("audit_log");
    assert!(newest.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    // Paging by event id.
    let page = log(&*users, of_first(None, None), None, 1).await;
    assert_eq!(page, vec![on.event_id]);
    let page = log(&*users, of_first(None, None), Some(page[0]), 1).await;
    assert_eq!(page, vec![off.event_id]);
    assert_eq!(
        log(&*users, of_first(None, None), Some(page[0]), 1).await,
        Vec::<Uuid>::new()
    );
    retire(&*users, &other_admin).await;
}
