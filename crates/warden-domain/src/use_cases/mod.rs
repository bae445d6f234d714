//! The use cases: each one a struct holding the ports it needs, with one `execute`-style method
//! and one error enum naming every way it can refuse.

mod authenticate;
mod bulk_deactivate;
mod change_role;
mod change_status;
mod clients;
mod create_user;
mod deliver_notifications;
mod directory;
mod explain_access;
mod export_audit;
mod introspect;
mod issue_token;
mod lift_suspensions;
mod principal;
mod provision;
mod user_queries;
mod webhooks;

pub use authenticate::*;
pub use bulk_deactivate::*;
pub use change_role::*;
pub use change_status::*;
pub use clients::*;
pub use create_user::*;
pub use deliver_notifications::*;
pub use directory::*;
pub use explain_access::*;
pub use export_audit::*;
pub use introspect::*;
pub use issue_token::*;
pub use lift_suspensions::*;
pub use principal::*;
pub use provision::*;
pub use user_queries::*;
pub use webhooks::*;

#[cfg(test)]
mod test_support;
