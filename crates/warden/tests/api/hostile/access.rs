//! Rows about who may call: every protected route with every non-credential, and
//! authentication before the body.

use super::*;

// ---------------------------------------------------------------------------------------------
// The table.

pub(crate) struct Protected {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// A body that would change something were the credential accepted.
    pub(crate) body: Option<Value>,
    pub(crate) unauthenticated: &'static str,
}

pub(crate) fn protected_routes(w: &World) -> Vec<Protected> {
    vec![
        Protected {
            method: Method::GET,
            path: ME.into(),
            body: None,
            unauthenticated: USER_401,
        },
        Protected {
            method: Method::PATCH,
            path: DEACTIVATE.into(),
            body: Some(json!({"user_id": w.target.id.to_string(), "reason": "forged"})),
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::PATCH,
            path: REACTIVATE.into(),
            body: Some(json!({"user_id": w.gone.id.to_string()})),
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::GET,
            path: format!("/api/v1/users/{}", w.target.id),
            body: None,
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::GET,
            path: format!("/api/v1/users/{}/events", w.target.id),
            body: None,
            unauthenticated: ADMIN_401,
        },
    ]
}

/// Every credential that is not one, on every protected route: 401, whatever the body.
pub(crate) fn credential_rows(w: &World) -> Vec<Row> {
    let mut rows = Vec::new();
    for route in protected_routes(w) {
        let base = |name: String| {
            let mut row = row(
                format!("{} {}: {name}", route.method, route.path),
                route.method.clone(),
                route.path.clone(),
            )
            .expect(401, route.unauthenticated);
            if let Some(body) = &route.body {
                row = row.json(body.to_string());
            }
            row
        };
        for (name, values) in malformed_headers(w) {
            let mut row = base(name);
            for value in values {
                row = row.auth(value);
            }
            rows.push(row);
        }
        for (name, token) in forged_tokens(w) {
            rows.push(base(format!("a JWT with {name}")).bearer(&token));
        }
    }
    rows
}

/// Authentication comes before the body: no credential is a 401 and a member's token a 403,
/// whatever the body (too large, streamed, broken, not UTF-8).
pub(crate) fn auth_before_body_rows(w: &World) -> Vec<Row> {
    let mut rows = Vec::new();
    let bodies: Vec<(&str, Vec<u8>, Framing)> = vec![
        ("1 MiB", vec![b'x'; MIB], Framing::Sized),
        ("1 MiB chunked", vec![b'{'; MIB], Framing::Chunked),
        (
            "1 MiB declared, none sent",
            vec![],
            Framing::DeclaredOnly(MIB),
        ),
        (
            "truncated JSON",
            b"{\"user_id\": \"".to_vec(),
            Framing::Sized,
        ),
        ("invalid UTF-8", b"\xff\xfe\xfd".to_vec(), Framing::Sized),
    ];
    for path in [DEACTIVATE, REACTIVATE] {
        for (name, body, framing) in &bodies {
            rows.push(
                row(
                    format!("PATCH {path}: no credential, {name}"),
                    Method::PATCH,
                    path,
                )
                .json(body.clone())
                .framing(*framing)
                .expect(401, ADMIN_401),
            );
            rows.push(
                row(
                    format!("PATCH {path}: a member, {name}"),
                    Method::PATCH,
                    path,
                )
                .bearer(&w.member_token)
                .json(body.clone())
                .framing(*framing)
                .expect(403, FORBIDDEN),
            );
        }
    }
    rows.push(
        row(
            "GET /users/{id}: a member, a garbage id",
            Method::GET,
            "/api/v1/users/'%20OR%201=1--",
        )
        .bearer(&w.member_token)
        .expect(403, FORBIDDEN),
    );
    rows.push(
        row(
            "GET /users/{id}/events: a member, a bad limit",
            Method::GET,
            format!("/api/v1/users/{}/events?limit=0", w.target.id),
        )
        .bearer(&w.member_token)
        .expect(403, FORBIDDEN),
    );
    rows
}
