//! The in-memory `LoginAttempts` adapter passes the conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use warden_domain::ports::LoginAttempts;
use warden_domain::MemoryLoginAttempts;
use warden_testkit::login_attempts::{
    concurrent_guesses_share_one_budget, login_attempts_contract,
};

#[tokio::test]
async fn memory_login_attempts_pass_the_contract() {
    login_attempts_contract(&MemoryLoginAttempts::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_in_memory_get_five_evaluations() {
    let attempts: Arc<dyn LoginAttempts> = Arc::new(MemoryLoginAttempts::default());
    concurrent_guesses_share_one_budget(&[attempts], 200).await;
}
