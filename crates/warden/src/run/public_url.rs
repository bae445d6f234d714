//! `WARDEN_PUBLIC_URL`: the address clients reach Warden at. It is the issuer of what Warden
//! signs for others (shared signals) and the base of every URL Warden advertises (SCIM
//! `meta.location`, discovery documents), so it never comes from a request's `Host` or
//! `X-Forwarded-*` headers, which any client can set.

use std::net::SocketAddr;

/// An absolute `http(s)` URL without a trailing slash, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// What `WARDEN_PUBLIC_URL` must be, for the error that names it.
    pub const EXPECTED: &'static str =
        "must be an absolute http(s) URL without query or fragment, like https://warden.example.com";

    /// # Errors
    /// [`PublicUrl::EXPECTED`] when `text` is not an absolute http(s) URL with a host, or has a
    /// query, a fragment or credentials.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let url = url::Url::parse(text.trim()).map_err(|_| Self::EXPECTED)?;
        let usable = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|host| !host.is_empty())
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !usable {
            return Err(Self::EXPECTED);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The default: `http://` and the address the server listens on.
    pub fn of_listener(addr: SocketAddr) -> Self {
        Self(format!("http://{addr}"))
    }

    /// The URL itself, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `path` (starting with `/`) under this URL.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_http_urls_are_kept_without_their_trailing_slash() {
        let url = PublicUrl::parse("https://warden.example.com/base/").unwrap();
        assert_eq!(url.as_str(), "https://warden.example.com/base");
        assert_eq!(
            url.at("/scim/v2"),
            "https://warden.example.com/base/scim/v2"
        );
        assert_eq!(
            PublicUrl::parse("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "warden.example.com",
            "/relative",
            "ftp://warden.example.com",
            "https://warden.example.com/?q=1",
            "https://warden.example.com/#top",
            "https://user:pw@warden.example.com",
            "mailto:admin@example.com",
            "",
        ] {
            assert_eq!(PublicUrl::parse(bad), Err(PublicUrl::EXPECTED), "{bad}");
        }
    }

    #[test]
    fn the_default_is_the_listener_over_http() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            PublicUrl::of_listener(addr).as_str(),
            "http://127.0.0.1:8080"
        );
    }
}
