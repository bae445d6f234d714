//! The security headers every response carries, by the kind of path it answers.

use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// The Swagger UI's policy: it loads only its own files (no inline script, no `eval`), fetches
/// only the OpenAPI document from this origin, and cannot be framed. The one inline style it
/// needs, the `<style>` of the Swagger logo's SVG in the vendored bundle, is allowed by its
/// hash. Checked in headless Chromium (docs/api.md says how); a new utoipa-swagger-ui version
/// may need the hash updated (Chromium's console names the one it wants).
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'none'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/// The admin console's policy (`/admin`): its own script and style only (no inline script or
/// style, no `eval`), API calls to this origin only, no forms posted anywhere, never framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; \
object-src 'none'; base-uri 'none'";

/// What a response's path says about the headers it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Sign-in answers carry a token, user routes and the audit log personal data: never
    /// cached.
    Private,
    /// The Swagger UI under `/docs`: a browser page, so it gets a Content-Security-Policy.
    Docs,
    /// The admin console under `/admin`: its own strict policy, and no referrer leaves it.
    Console,
    Other,
}

impl PageKind {
    pub fn of(path: &str) -> Self {
        if path.starts_with("/api/v1/auth/")
            || path.starts_with("/api/v1/users")
            || path.starts_with("/api/v1/events")
            || path.starts_with("/api/v1/jobs")
            || path.starts_with("/scim/")
        {
            Self::Private
        } else if path == "/docs" || path.starts_with("/docs/") {
            Self::Docs
        } else if path == "/admin" || path.starts_with("/admin/") {
            Self::Console
        } else {
            Self::Other
        }
    }

    /// `X-Content-Type-Options: nosniff` always, plus this kind's own headers.
    pub fn set_headers(self, headers: &mut HeaderMap) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        match self {
            Self::Private => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            Self::Docs => {
                headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(DOCS_CSP),
                );
            }
            Self::Console => {
                headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONSOLE_CSP),
                );
                headers.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                );
                headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            }
            Self::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(PageKind::of("/api/v1/auth/login"), PageKind::Private);
        assert_eq!(PageKind::of("/api/v1/users/me"), PageKind::Private);
        assert_eq!(PageKind::of("/api/v1/users/x/events"), PageKind::Private);
        assert_eq!(PageKind::of("/api/v1/events"), PageKind::Private);
        assert_eq!(PageKind::of("/api/v1/jobs/x"), PageKind::Private);
        assert_eq!(PageKind::of("/docs"), PageKind::Docs);
        assert_eq!(PageKind::of("/docs/index.css"), PageKind::Docs);
        assert_eq!(PageKind::of("/docsx"), PageKind::Other);
        assert_eq!(PageKind::of("/api/v1/openapi.json"), PageKind::Other);
        assert_eq!(PageKind::of("/health/live"), PageKind::Other);
        assert_eq!(PageKind::of("/admin"), PageKind::Console);
        assert_eq!(PageKind::of("/admin/console.js"), PageKind::Console);
        assert_eq!(PageKind::of("/administrator"), PageKind::Other);
    }
}
