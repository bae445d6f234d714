//! Who may do what to whom: the one policy table every entry point asks (API, console, CLI,
//! bulk, SCIM). A row names a subject, an act, and the roles of the accounts the subject may do
//! it to; an act a subject has no row for is refused outright. The guards that do not depend on
//! the subject (not yourself, not the last active admin) are the use cases' own; the target's
//! role is re-checked inside the write that commits the change (see
//! [`crate::StatusChange::target_roles`]).
//!
//! | subject | acts | on accounts whose role is |
//! |---|---|---|
//! | `admin` | every act | any |
//! | `helpdesk` | read accounts | any |
//! | `helpdesk` | change status (deactivate, also timed; reactivate) | `user` |
//! | `user` | nothing administrative | - |
//! | provisioning client (`scim`) | provision (create, change, delete), change status | `user` |
//! | provisioning client with `scim.privileged` | provision, change status | any |
//! | the system (scheduled work) | change status | any |

use crate::{Role, RoleSet};

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An account (over the API, the console, or an operator at the CLI on its authority),
    /// by its role.
    Account(Role),
    /// A machine client provisioning accounts (SCIM); `privileged` when it was created with the
    /// `scim.privileged` scope (the identity provider manages administrators too).
    Provisioner { privileged: bool },
    /// Warden carrying out work scheduled by an authorised actor.
    System,
}

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    /// List accounts, read one, its events and its access explanation.
    ReadAccounts,
    /// Deactivate (also timed) or reactivate an account.
    ChangeStatus,
    /// Change an account's role.
    ChangeRole,
    /// Start or read bulk jobs.
    Bulk,
    /// Create an account, change its profile or sign-in address, delete it (SCIM).
    Provision,
    /// Everything else administrative: machine clients, webhooks, the outbox, the system-wide
    /// audit log.
    Configure,
}

/// Every act, for tables and tests.
pub const ALL_ACTS: [Act; 6] = [
    Act::ReadAccounts,
    Act::ChangeStatus,
    Act::ChangeRole,
    Act::Bulk,
    Act::Provision,
    Act::Configure,
];

/// The roles of the accounts `subject` may do `act` to; `None`: it may not do `act` at all.
pub fn reach(subject: Subject, act: Act) -> Option<RoleSet> {
    let users = RoleSet::only(Role::User);
    match (subject, act) {
        (Subject::Account(Role::Admin), _) => Some(RoleSet::ALL),
        (Subject::Account(Role::Helpdesk), Act::ReadAccounts) => Some(RoleSet::ALL),
        (Subject::Account(Role::Helpdesk), Act::ChangeStatus) => Some(users),
        (Subject::Account(_), _) => None,
        (Subject::Provisioner { privileged }, Act::Provision | Act::ChangeStatus) => {
            Some(if privileged { RoleSet::ALL } else { users })
        }
        (Subject::Provisioner { .. }, _) => None,
        (Subject::System, Act::ChangeStatus) => Some(RoleSet::ALL),
        (Subject::System, _) => None,
    }
}

/// Whether `subject` may do `act` to an account whose role is `target`.
pub fn permits(subject: Subject, act: Act, target: Role) -> bool {
    reach(subject, act).is_some_and(|roles| roles.contains(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ALL_ROLES;

    /// The table of the module's documentation, row by row: (subject, act, the target roles it
    /// may act on; empty: refused outright).
    fn table() -> Vec<(Subject, Act, Option<&'static [Role]>)> {
        use Act::*;
        use Role::{Admin, Helpdesk, User};
        let any: &'static [Role] = &[Admin, Helpdesk, User];
        let users: &'static [Role] = &[User];
        let mut rows = Vec::new();
        for act in ALL_ACTS {
            rows.push((Subject::Account(Admin), act, Some(any)));
            rows.push((Subject::Account(User), act, None));
        }
        for (act, roles) in [
            (ReadAccounts, Some(any)),
            (ChangeStatus, Some(users)),
            (ChangeRole, None),
            (Bulk, None),
            (Provision, None),
            (Configure, None),
        ] {
            rows.push((Subject::Account(Helpdesk), act, roles));
        }
        for (act, plain, privileged) in [
            (ReadAccounts, None, None),
            (ChangeStatus, Some(users), Some(any)),
            (ChangeRole, None, None),
            (Bulk, None, None),
            (Provision, Some(users), Some(any)),
            (Configure, None, None),
        ] {
            rows.push((Subject::Provisioner { privileged: false }, act, plain));
            rows.push((Subject::Provisioner { privileged: true }, act, privileged));
        }
        for act in ALL_ACTS {
            let roles = (act == ChangeStatus).then_some(any);
            rows.push((Subject::System, act, roles));
        }
        rows
    }

    #[test]
    fn the_policy_is_the_documented_table() {
        for (subject, act, roles) in table() {
            let expected = roles.map(|roles| {
                roles
                    .iter()
                    .fold(RoleSet::NONE, |set, role| set.with(*role))
            });
            assert_eq!(reach(subject, act), expected, "{subject:?} {act:?}");
            for target in ALL_ROLES {
                let allowed = roles.is_some_and(|roles| roles.contains(&target));
                assert_eq!(
                    permits(subject, act, target),
                    allowed,
                    "{subject:?} {act:?} on {target:?}"
                );
            }
        }
    }

    #[test]
    fn a_helpdesk_never_reaches_staff_accounts() {
        for target in [Role::Admin, Role::Helpdesk] {
            for act in ALL_ACTS {
                assert!(
                    !permits(Subject::Account(Role::Helpdesk), act, target)
                        || act == Act::ReadAccounts
                );
            }
        }
        assert!(permits(
            Subject::Account(Role::Helpdesk),
            Act::ChangeStatus,
            Role::User
        ));
    }
}
