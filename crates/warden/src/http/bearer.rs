use actix_web::http::header;
use actix_web::HttpRequest;

/// The token of a well-formed `Authorization: Bearer <token>` header, if the request has exactly
/// one. Anything else (no header, two headers, another scheme, an empty or spaced token) is
/// `None`, which the domain treats as "no credential".
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace);
    well_formed.then_some(token)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn token_of(headers: &[&str]) -> Option<String> {
        let mut req = TestRequest::default();
        for value in headers {
            req = req.append_header((header::AUTHORIZATION, *value));
        }
        bearer_token(&req.to_http_request()).map(str::to_owned)
    }

    #[test]
    fn accepts_one_bearer_token_in_any_case() {
        assert_eq!(
            token_of(&["Bearer abc.def.ghi"]).as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(token_of(&["bearer  abc"]).as_deref(), Some("abc"));
    }

    #[test]
    fn refuses_everything_else() {
        for headers in [
            &[][..],
            &[""],
            &["Bearer"],
            &["Bearer "],
            &["Basic dXNlcjpwYXNz"],
            &["abc.def.ghi"],
            &["Bearer a b"],
            &["Bearer a", "Bearer b"],
        ] {
            assert_eq!(token_of(headers), None, "{headers:?}");
        }
    }
}
