//! The conformance suite of [`ProvisioningRepo`] adapters (with the [`UserRepo`] of the same
//! store). Each check names its accounts uniquely and looks only at those, except where it says
//! it lists everything (then it compares two readings of the same store).

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, TimeZone, Utc};
use uuid::Uuid;
use warden_domain::ports::{ProvisioningRepo, StoreError, UserRepo};

use super::helpers::done;
use warden_domain::{
    Actor, Authorized, EmailAddress, ExternalId, NewUser, PasswordHash, Profile, ProvisionedUser,
    ProvisioningFilter, Role, UserId,
};

/// The writes of these checks, on the system's authority (which always holds).
#[async_trait::async_trait]
trait SystemWrites {
    async fn create_sys(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
    ) -> Result<ProvisionedUser, StoreError>;

    async fn update_sys(
        &self,
        id: &UserId,
        profile: Profile,
        at: DateTime<Utc>,
    ) -> Result<Option<ProvisionedUser>, StoreError>;
}

#[async_trait::async_trait]
impl SystemWrites for dyn ProvisioningRepo {
    async fn create_sys(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
    ) -> Result<ProvisionedUser, StoreError> {
        let by = Authorized::new(Actor::system(), user.created_at);
        self.create(user, external_id, &by).await.map(done)
    }

    async fn update_sys(
        &self,
        id: &UserId,
        profile: Profile,
        at: DateTime<Utc>,
    ) -> Result<Option<ProvisionedUser>, StoreError> {
        let by = Authorized::new(Actor::system(), at);
        self.update(id, profile, &by).await.map(done)
    }
}

/// Generates one `#[tokio::test]` per provisioning check. `$fresh` is an
/// `async fn(test_name: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn ProvisioningRepo>, G)>`
/// giving a new, migrated store (both ports on the same one).
#[macro_export]
macro_rules! provisioning_contract_tests {
    ($fresh:path) => {
        $crate::provisioning_contract_tests!(@each $fresh;
            provisioned_accounts_round_trip_without_a_password,
            provisioning_lists_filter_count_and_page,
            provisioning_updates_replace_the_profile,
            removed_accounts_are_hidden_but_kept,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((users, accounts, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(users, accounts).await;
            }
        )*
    };
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, minute, 0).unwrap() + TimeDelta::nanoseconds(123_456_789)
}

fn email(stem: &str) -> EmailAddress {
    EmailAddress::parse(&format!("{stem}-{}@example.com", Uuid::now_v7().simple())).unwrap()
}

fn external(text: &str) -> Option<ExternalId> {
    ExternalId::parse(&format!("{text}-{}", Uuid::now_v7().simple())).unwrap()
}

fn new_user(email: &EmailAddress, hash: PasswordHash) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: email.clone(),
        password_hash: hash,
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        role: Role::User,
        created_at: at(0),
    }
}

fn by_email(email: &EmailAddress) -> ProvisioningFilter {
    let mut filter = ProvisioningFilter::default();
    filter.and_email(email.clone());
    filter
}

fn by_external(id: &ExternalId) -> ProvisioningFilter {
    let mut filter = ProvisioningFilter::default();
    filter.and_external_id(id.clone());
    filter
}

/// `create` stores an active account with no password (`find_credentials` hands back
/// [`PasswordHash::unset`]) and its external id; `find` returns exactly that; a taken email is
/// a conflict that writes nothing.
pub async fn provisioned_accounts_round_trip_without_a_password(
    users: Arc<dyn UserRepo>,
    accounts: Arc<dyn ProvisioningRepo>,
) {
    let address = email("prov");
    let external_id = external("00u");
    let new = new_user(&address, PasswordHash::unset());
    let created = accounts
        .create_sys(new.clone(), external_id.clone())
        .await
        .expect("create");
    assert_eq!(created.user.id, new.id);
    assert_eq!(created.user.email, address);
    assert_eq!(created.user.first_name, "Grace");
    assert!(created.user.is_active());
    assert_eq!(created.user.token_version, 0);
    assert_eq!(created.user.created_at, at(0).trunc_subsecs(6));
    assert_eq!(created.external_id, external_id);
    assert_eq!(accounts.find(&new.id).await.unwrap(), Some(created.clone()));
    let (user, hash) = users.find_credentials(&address).await.unwrap().unwrap();
    assert_eq!(user, created.user);
    assert!(!hash.is_set(), "no password was stored");

    // An account made by `UserRepo::create` is seen too, without an external id.
    let plain = new_user(&email("plain"), PasswordHash::new("$argon2id$x".into()));
    users.create(plain.clone()).await.unwrap();
    let seen = accounts.find(&plain.id).await.unwrap().expect("seen");
    assert_eq!(seen.external_id, None);
    assert!(users
        .find_credentials(&plain.email)
        .await
        .unwrap()
        .unwrap()
        .1
        .is_set());

    let again = new_user(&address, PasswordHash::unset());
    let taken = accounts.create_sys(again.clone(), external("other")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(accounts.find(&again.id).await.unwrap(), None);
    assert_eq!(accounts.find(&UserId::generate()).await.unwrap(), None);
}

/// `list` counts every match and pages them by id; email and external id filters are exact
/// matches (emails as normalised); conditions combine with "and"; `never` keeps nothing.
pub async fn provisioning_lists_filter_count_and_page(
    _users: Arc<dyn UserRepo>,
    accounts: Arc<dyn ProvisioningRepo>,
) {
    let mut made: Vec<ProvisionedUser> = Vec::new();
    for _ in 0..3 {
        let new = new_user(&email("list"), PasswordHash::unset());
        made.push(accounts.create_sys(new, external("ext")).await.unwrap());
    }
    let first = &made[0];
    let (total, page) = accounts
        .list(&by_email(&first.user.email), 0, 10)
        .await
        .unwrap();
    assert_eq!((total, page), (1, vec![first.clone()]));
    let ext = first.external_id.clone().unwrap();
    let (total, page) = accounts.list(&by_external(&ext), 0, 10).await.unwrap();
    assert_eq!((total, page), (1, vec![first.clone()]));
    let mut both = by_email(&first.user.email);
    both.and_external_id(made[1].external_id.clone().unwrap());
    assert_eq!(accounts.list(&both, 0, 10).await.unwrap(), (0, vec![]));
    let mut never = by_email(&first.user.email);
    never.and_email(made[1].user.email.clone());
    assert_eq!(accounts.list(&never, 0, 10).await.unwrap(), (0, vec![]));
    // Only the count.
    let (total, page) = accounts
        .list(&by_email(&first.user.email), 0, 0)
        .await
        .unwrap();
    assert_eq!((total, page.len()), (1, 0));

    // Everything, read whole and read in pages of two, is the same list in id order.
    let everything = ProvisioningFilter::default();
    let (total, whole) = accounts.list(&everything, 0, 1000).await.unwrap();
    assert_eq!(total as usize, whole.len());
    assert!(whole
        .windows(2)
        .all(|w| w[0].user.id.as_uuid() < w[1].user.id.as_uuid()));
    for account in &made {
        assert!(whole.contains(account));
    }
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (count, page) = accounts.list(&everything, offset, 2).await.unwrap();
        assert_eq!(count, total);
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        paged.extend(page);
    }
    assert_eq!(paged, whole);
}

/// `update` replaces email, names and external id and sets `updated_at`, leaving status and
/// token version alone; another account's email is a conflict that changes nothing.
pub async fn provisioning_updates_replace_the_profile(
    users: Arc<dyn UserRepo>,
    accounts: Arc<dyn ProvisioningRepo>,
) {
    let created = accounts
        .create_sys(
            new_user(&email("upd"), PasswordHash::unset()),
            external("a"),
        )
        .await
        .unwrap();
    let other = accounts
        .create_sys(new_user(&email("upd-other"), PasswordHash::unset()), None)
        .await
        .unwrap();
    let id = created.user.id;
    let profile = Profile {
        email: email("renamed"),
        first_name: "Ada".into(),
        last_name: "Byron".into(),
        external_id: external("b"),
    };
    let updated = accounts
        .update_sys(&id, profile.clone(), at(5))
        .await
        .unwrap()
        .expect("updated");
    assert_eq!(Profile::of(&updated), profile);
    assert_eq!(updated.user.updated_at, at(5).trunc_subsecs(6));
    assert_eq!(updated.user.created_at, created.user.created_at);
    // A new sign-in address revokes the account's tokens.
    assert_eq!(updated.user.token_version, created.user.token_version + 1);
    assert_eq!(updated.user.status, created.user.status);
    assert_eq!(accounts.find(&id).await.unwrap(), Some(updated.clone()));
    assert_eq!(
        users.find_by_email(&profile.email).await.unwrap(),
        Some(updated.user.clone())
    );
    assert_eq!(
        users.find_by_email(&created.user.email).await.unwrap(),
        None
    );

    let clash = Profile {
        email: other.user.email.clone(),
        ..profile.clone()
    };
    let refused = accounts.update_sys(&id, clash, at(6)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(accounts.find(&id).await.unwrap(), Some(updated));

    // Clearing the external id.
    let cleared = Profile {
        external_id: None,
        ..profile
    };
    let done = accounts
        .update_sys(&id, cleared, at(7))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.external_id, None);
    assert_eq!(
        accounts
            .update_sys(&UserId::generate(), Profile::of(&done), at(8))
            .await
            .unwrap(),
        None
    );
}

/// `remove` hides an account from `find`, `list` and `update` for good, while the accounts
/// store keeps it; removing twice (or an unknown id) is `false`.
pub async fn removed_accounts_are_hidden_but_kept(
    users: Arc<dyn UserRepo>,
    accounts: Arc<dyn ProvisioningRepo>,
) {
    let created = accounts
        .create_sys(
            new_user(&email("rm"), PasswordHash::unset()),
            external("rm"),
        )
        .await
        .unwrap();
    // One created by `UserRepo::create`, with no provisioning row yet, can be removed too.
    let plain = new_user(&email("rm-plain"), PasswordHash::new("$argon2id$x".into()));
    users.create(plain.clone()).await.unwrap();
    for id in [created.user.id, plain.id] {
        assert!(accounts.remove(&id, at(9)).await.unwrap());
        assert_eq!(accounts.find(&id).await.unwrap(), None);
        assert!(!accounts.remove(&id, at(10)).await.unwrap());
        assert!(users.find_by_id(&id).await.unwrap().is_some(), "kept");
    }
    let (total, page) = accounts
        .list(&by_email(&created.user.email), 0, 10)
        .await
        .unwrap();
    assert_eq!((total, page), (0, vec![]));
    let ext = created.external_id.clone().unwrap();
    assert_eq!(
        accounts.list(&by_external(&ext), 0, 10).await.unwrap(),
        (0, vec![])
    );
    let (_, everything) = accounts
        .list(&ProvisioningFilter::default(), 0, 10_000)
        .await
        .unwrap();
    assert!(everything
        .iter()
        .all(|a| a.user.id != created.user.id && a.user.id != plain.id));
    assert_eq!(
        accounts
            .update_sys(&created.user.id, Profile::of(&created), at(11))
            .await
            .unwrap(),
        None
    );
    assert!(!accounts.remove(&UserId::generate(), at(12)).await.unwrap());
}
