//! The transmitter configuration metadata (SSF section 7.1).

use serde_json::{json, Value};
use warden_domain::{POLL_METHOD, PUSH_METHOD};

/// Where the transmitter's endpoints are, as absolute URLs.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub jwks_uri: String,
    pub configuration: String,
    pub status: String,
    pub verification: String,
    pub add_subject: String,
    pub remove_subject: String,
}

/// The document served at `/.well-known/ssf-configuration`.
pub fn discovery(issuer: &str, endpoints: &Endpoints) -> Value {
    json!({
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": endpoints.jwks_uri,
        "delivery_methods_supported": [PUSH_METHOD, POLL_METHOD],
        "configuration_endpoint": endpoints.configuration,
        "status_endpoint": endpoints.status,
        "verification_endpoint": endpoints.verification,
        "add_subject_endpoint": endpoints.add_subject,
        "remove_subject_endpoint": endpoints.remove_subject,
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL",
    })
}
