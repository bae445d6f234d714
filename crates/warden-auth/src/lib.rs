//! # warden-auth
//!
//! Credential adapters for `warden-domain`:
//! - [`JwtAuth`]: HS256 or EdDSA (Ed25519) access tokens, the
//!   [`warden_domain::ports::TokenIssuer`], [`warden_domain::ports::AuthVerifier`] and
//!   [`warden_domain::ports::TokenInspector`], with the [`Jwks`] to publish;
//! - [`Ed25519Keys`]: the signing keys of one PEM file, created on first use and rotated;
//! - [`RandomClientTokens`]: machine clients' tokens and their SHA-256,
//!   [`warden_domain::ports::ClientTokens`];
//! - [`Argon2Hasher`]: argon2id password hashing, [`warden_domain::ports::PasswordHasher`];
//! - [`SetKey`]: the RS256 key that signs Security Event Tokens (SSF), its own file;
//! - [`load_or_create_secret`]: a signing secret kept in a `0600` file, created on first use.

mod argon;
mod client_tokens;
mod ed25519_keys;
mod jwt;
mod secret_file;
mod set_key;
mod verified_tokens;

pub use argon::Argon2Hasher;
pub use client_tokens::{RandomClientTokens, CLIENT_TOKEN_PREFIX};
pub use ed25519_keys::{Ed25519Keys, PublicJwk};
pub use jwt::{Jwks, JwtAuth, JwtSettings, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
pub use secret_file::{load_or_create_private, load_or_create_secret};
pub use set_key::{RsaPublicJwk, SetKey, SET_KEY_FILE, SET_TYP};
