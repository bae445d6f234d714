/// A person running an operator tool (the `warden` CLI) on a host that holds the database.
///
/// Constructing one is the explicit act that unlocks the powers that bypass credentials:
/// [`crate::use_cases::Authenticator::admin_by_email`] (act on a named admin's authority without
/// their token) and [`crate::use_cases::IssueToken::for_email`] (mint a token without a
/// password). Only operator tools make one; HTTP code never does, so no request can reach those
/// powers. It records who claimed them: the OS user, kept in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    os_user: String,
}

impl Operator {
    /// The operator at this terminal, named by the OS user that runs the tool (as the system
    /// knows it, not as the environment claims).
    pub fn from_os_user(os_user: impl Into<String>) -> Self {
        Self {
            os_user: os_user.into(),
        }
    }

    /// The OS user recorded in the audit trail.
    pub fn os_user(&self) -> &str {
        &self.os_user
    }
}
