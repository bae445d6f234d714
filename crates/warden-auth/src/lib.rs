//! # warden-auth
//!
//! Credential adapters for `warden-domain`:
//! - [`JwtAuth`]: HS256 access tokens, both [`warden_domain::ports::TokenIssuer`] and
//!   [`warden_domain::ports::AuthVerifier`];
//! - [`Argon2Hasher`]: argon2id password hashing, [`warden_domain::ports::PasswordHasher`];
//! - [`load_or_create_secret`]: a signing secret kept in a `0600` file, created on first use.

mod argon;
mod jwt;
mod secret_file;

pub use argon::Argon2Hasher;
pub use jwt::JwtAuth;
pub use secret_file::load_or_create_secret;
