//! [`SetPusher`]: RFC 8935 push delivery of Security Event Tokens, under the same rules as
//! webhooks (no redirects, no proxy, a deadline, and unless private targets are allowed https
//! only through the public-only resolver, a literal address checked before connecting).

use url::Url;

use crate::outbound::Outbound;

/// The media type of a pushed SET (RFC 8935 section 2).
pub const SET_CONTENT_TYPE: &str = "application/secevent+jwt";

/// What a receiver answered to one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAnswer {
    /// An HTTP status, and the `err` of a JSON error body (RFC 8935 section 2.3) if it had one.
    Status { code: u16, err: Option<String> },
    /// No answer (refused target, connection failure, timeout).
    NoAnswer(String),
}

/// Posts SETs to push endpoints.
#[derive(Debug, Clone)]
pub struct SetPusher {
    outbound: Outbound,
}

impl SetPusher {
    /// # Errors
    /// When the HTTP client cannot be built (its TLS setup).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let user_agent = concat!("Warden-SSF/", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            outbound: Outbound::new(allow_private, user_agent)?,
        })
    }

    /// Posts `set` to `endpoint` with `authorization` as the `Authorization` header.
    pub async fn push(&self, endpoint: &str, authorization: Option<&str>, set: &str) -> PushAnswer {
        let url = match Url::parse(endpoint) {
            Ok(url) if self.outbound.allowed(&url) => url,
            _ => return PushAnswer::NoAnswer("not a public https URL".to_owned()),
        };
        let mut request = self
            .outbound
            .client
            .post(url)
            .header("content-type", SET_CONTENT_TYPE)
            .header("accept", "application/json")
            .body(set.to_owned());
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        match request.send().await {
            Ok(response) => {
                let code = response.status().as_u16();
                let err = if code == 400 {
                    response
                        .json::<serde_json::Value>()
                        .await
                        .ok()
                        .and_then(|body| body.get("err")?.as_str().map(str::to_owned))
                } else {
                    None
                };
                PushAnswer::Status { code, err }
            }
            // Without the URL, whose path or query may carry the receiver's token.
            Err(error) => PushAnswer::NoAnswer(error.without_url().to_string()),
        }
    }
}
