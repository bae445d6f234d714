//! Rows about lookups and routing: ids in paths, unknown routes and methods.

use super::*;

pub(crate) fn lookup_rows(w: &World) -> Vec<Row> {
    let get = |name: &str, path: String| {
        row(format!("GET {path}: {name}"), Method::GET, path).bearer(&w.admin_token)
    };
    let user = |id: &str| format!("/api/v1/users/{id}");
    let events = |query: &str| format!("/api/v1/users/{}/events?{query}", w.target.id);
    let unknown = UserId::generate();
    let mut rows = vec![
        get("not a UUID", user("12345")).expect(404, NOT_FOUND),
        get("an unknown UUID", user(&unknown.to_string())).expect(404, NOT_FOUND),
        get("the nil UUID", user(&uuid::Uuid::nil().to_string())).expect(404, NOT_FOUND),
        get("SQL", user("'%20OR%20'1'%3D'1'%3B--")).expect(404, NOT_FOUND),
        get("HTML", user("%3Cscript%3Ealert(1)%3C%2Fscript%3E")).expect(404, NOT_FOUND),
        get("an encoded NUL", user("%00")).expect(404, NOT_FOUND),
        get("an encoded slash", user("..%2F..%2Fetc%2Fpasswd")).expect(404, NOT_FOUND),
        get("5,000 characters", user(&"x".repeat(5000))).expect(404, NOT_FOUND),
        get("the real id and SQL", user(&format!("{}'--", w.target.id))).expect(404, NOT_FOUND),
        get(
            "events of an unknown user",
            format!("{}/events", user(&unknown.to_string())),
        )
        .expect(404, NOT_FOUND),
        get("events of a non-UUID", format!("{}/events", user("me"))).expect(404, NOT_FOUND),
        get("an ignored parameter", events("foo=bar"))
            .expect(200, "User events retrieved successfully"),
        get("a hostile x-request-id", user(&w.target.id.to_string()))
            .header("x-request-id", "<script>alert(1)</script>")
            .expect(200, "User retrieved successfully"),
        get("an overlong x-request-id", user(&w.target.id.to_string()))
            .header("x-request-id", "a".repeat(65))
            .expect(200, "User retrieved successfully"),
    ];
    for (query, fields) in [
        ("limit=0", &["limit"][..]),
        ("limit=101", &["limit"]),
        ("limit=-1", &["limit"]),
        ("limit=abc", &["limit"]),
        ("limit=1.5", &["limit"]),
        ("limit=", &["limit"]),
        ("limit=99999999999999999999", &["limit"]),
        ("limit=%FF", &["limit"]),
        ("limit=5&limit=500", &["limit"]),
        ("cursor=nope", &["cursor"]),
        ("cursor='%20OR%201%3D1--", &["cursor"]),
        ("cursor=", &["cursor"]),
        ("limit=0&cursor=x", &["limit", "cursor"]),
    ] {
        rows.push(get(&format!("query {query}"), events(query)).invalid(fields));
    }
    rows
}

pub(crate) fn routing_rows(w: &World) -> Vec<Row> {
    let target = format!("/api/v1/users/{}", w.target.id);
    let bearer = format!("Bearer {}", w.admin_token);
    let mut rows = Vec::new();
    for (method, path) in [
        (Method::DELETE, ME.to_owned()),
        (Method::PUT, LOGIN.to_owned()),
        (Method::GET, LOGIN.to_owned()),
        (Method::POST, target.clone()),
        (Method::DELETE, target.clone()),
        (Method::PATCH, format!("{target}/events")),
        (Method::OPTIONS, DEACTIVATE.to_owned()),
        (Method::from_bytes(b"FOO").unwrap(), REACTIVATE.to_owned()),
        // A fixed path wins over `/users/{user_id}`, so these ids name the PATCH routes.
        (Method::GET, DEACTIVATE.to_owned()),
        (Method::GET, REACTIVATE.to_owned()),
    ] {
        rows.push(
            row(format!("{method} {path}"), method, path)
                .auth(&bearer)
                .json(json!({ "user_id": w.target.id.to_string() }).to_string())
                .expect(405, NO_METHOD),
        );
    }
    for path in [
        format!("{target}/events/extra"),
        "/api/v1/users//events".to_owned(),
        "/api/v1/users/".to_owned(),
        format!("{DEACTIVATE}/"),
        "/api/v2/users/me".to_owned(),
    ] {
        rows.push(
            row(format!("PATCH {path}"), Method::PATCH, path)
                .auth(&bearer)
                .json(json!({ "user_id": w.target.id.to_string() }).to_string())
                .expect(404, NO_ROUTE),
        );
    }
    rows
}
