//! The scheme and host a client addressed (`https://warden.example.com`), for the absolute URLs
//! an answer carries (SCIM's `meta.location` and `Location`).
//!
//! `Forwarded`, `X-Forwarded-Proto` and `X-Forwarded-Host` say what the client asked a proxy
//! for, so they are believed only from a peer in `WARDEN_TRUSTED_PROXIES`; from anyone else the
//! origin is what this connection carries (plain `http` and its `Host` header). Either way the
//! scheme is `http` or `https` and the host a valid authority without user information:
//! anything else falls back to what the connection carries, then to the server's own name.

use actix_web::http::header::HOST;
use actix_web::http::uri::Authority;
use actix_web::HttpRequest;

use super::TrustedProxies;

/// `scheme://host[:port]` of the request, as described in the module documentation.
pub fn request_origin(req: &HttpRequest, trusted: &TrustedProxies) -> String {
    let direct_scheme = if req.app_config().secure() || req.uri().scheme_str() == Some("https") {
        "https"
    } else {
        "http"
    };
    let direct_host = req
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .and_then(authority)
        .or_else(|| req.uri().authority().and_then(|a| authority(a.as_str())))
        .unwrap_or_else(|| req.app_config().host().to_owned());
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| trusted.contains(peer.ip()));
    if !from_proxy {
        return format!("{direct_scheme}://{direct_host}");
    }
    let info = req.connection_info();
    let scheme = match info.scheme() {
        "https" => "https",
        "http" => "http",
        _ => direct_scheme,
    };
    let host = authority(info.host()).unwrap_or(direct_host);
    format!("{scheme}://{host}")
}

/// `text` if it is a host with an optional port and nothing else.
fn authority(text: &str) -> Option<String> {
    let parsed: Authority = text.trim().parse().ok()?;
    let plain = !parsed.as_str().contains('@') && !parsed.host().is_empty();
    plain.then(|| parsed.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse("10.0.0.0/8").unwrap()
    }

    fn forged(peer: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap())
            .insert_header(("host", "warden.example.com"))
            .insert_header(("forwarded", "proto=ftp;host=evil.example"))
            .insert_header(("x-forwarded-proto", "ftp"))
            .insert_header(("x-forwarded-host", "evil.example"))
            .to_http_request()
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let req = forged("203.0.113.5:4000");
        assert_eq!(
            request_origin(&req, &trusted()),
            "http://warden.example.com"
        );
        assert_eq!(
            request_origin(&req, &TrustedProxies::default()),
            "http://warden.example.com"
        );
    }

    #[test]
    fn a_trusted_proxy_says_the_public_origin() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:4000".parse().unwrap())
            .insert_header(("host", "warden-internal:8080"))
            .insert_header(("x-forwarded-proto", "https"))
            .insert_header(("x-forwarded-host", "id.example.com"))
            .to_http_request();
        assert_eq!(request_origin(&req, &trusted()), "https://id.example.com");
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:4000".parse().unwrap())
            .insert_header(("forwarded", "proto=https;host=id.example.com:8443"))
            .to_http_request();
        assert_eq!(
            request_origin(&req, &trusted()),
            "https://id.example.com:8443"
        );
    }

    #[test]
    fn even_a_trusted_proxy_cannot_name_another_scheme_or_a_non_host() {
        assert_eq!(
            request_origin(&forged("10.0.0.2:4000"), &trusted()),
            "http://evil.example",
            "a trusted proxy is believed about the host"
        );
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:4000".parse().unwrap())
            .insert_header(("host", "warden.example.com"))
            .insert_header(("x-forwarded-proto", "javascript"))
            .insert_header(("x-forwarded-host", "user@evil.example/path"))
            .to_http_request();
        assert_eq!(
            request_origin(&req, &trusted()),
            "http://warden.example.com"
        );
        let req = TestRequest::default()
            .peer_addr("203.0.113.5:4000".parse().unwrap())
            .insert_header(("host", "a b/c"))
            .to_http_request();
        assert_eq!(request_origin(&req, &trusted()), "http://localhost:8080");
    }
}
