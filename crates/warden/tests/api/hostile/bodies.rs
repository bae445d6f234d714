//! Rows about what a status change's body may hold.

use super::*;

/// Bodies of a status change, with a valid admin token. `aim` is the account an accepted body
/// would change; it must not.
pub(crate) fn status_change_rows(w: &World, path: &'static str, aim: &User) -> Vec<Row> {
    let aim = aim.id.to_string();
    let unknown = UserId::generate().to_string();
    let admin = |name: &str| {
        row(format!("PATCH {path}: {name}"), Method::PATCH, path).bearer(&w.admin_token)
    };
    let nested = format!(
        "{{\"user_id\": {}\"{aim}\"{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let padded = |size: usize| {
        let skeleton = json!({"user_id": unknown, "padding": ""}).to_string();
        json!({"user_id": unknown, "padding": "p".repeat(size - skeleton.len())}).to_string()
    };
    vec![
        // Not JSON, or not an object.
        admin("an empty body").json("").invalid(&["body"]),
        admin("truncated JSON")
            .json(format!("{{\"user_id\": \"{aim}"))
            .invalid(&["body"]),
        admin("truncated after the key")
            .json("{\"user_id\":")
            .invalid(&["body"]),
        admin("an unclosed object")
            .json(format!("{{\"user_id\": \"{aim}\""))
            .invalid(&["body"]),
        admin("trailing garbage")
            .json(format!("{{\"user_id\": \"{aim}\"}} trailing"))
            .invalid(&["body"]),
        admin("two objects")
            .json(format!("{{\"user_id\": \"{aim}\"}}{{}}"))
            .invalid(&["body"]),
        admin("single quotes")
            .json(format!("{{'user_id': '{aim}'}}"))
            .invalid(&["body"]),
        admin("a comment")
            .json(format!("{{\"user_id\": \"{aim}\" /* hi */}}"))
            .invalid(&["body"]),
        admin("null").json("null").invalid(&["body"]),
        admin("a NUL in the reason")
            .json(json!({"user_id": aim, "reason": "a\u{0}b"}).to_string())
            .invalid(&["reason"]),
        admin("a terminal escape in the reason")
            .json(json!({"user_id": aim, "reason": "\u{1b}[2J"}).to_string())
            .invalid(&["reason"]),
        admin("a right-to-left override in the reason")
            .json(json!({"user_id": aim, "reason": "refund \u{202E}fdp.exe"}).to_string())
            .invalid(&["reason"]),
        admin("a zero-width space in the reason")
            .json(json!({"user_id": aim, "reason": "spam\u{200B}"}).to_string())
            .invalid(&["reason"]),
        admin("an array")
            .json(json!([{ "user_id": aim }]).to_string())
            .invalid(&["body"]),
        admin("a number").json("42").invalid(&["body"]),
        admin("a string")
            .json(format!("\"{aim}\""))
            .invalid(&["body"]),
        admin("true").json("true").invalid(&["body"]),
        admin("invalid UTF-8 in a string")
            .json(b"{\"user_id\": \"\xff\xfe\"}".to_vec())
            .invalid(&["body"]),
        admin("invalid UTF-8 around the object")
            .json([b"\xc3\x28".as_slice(), json!({"user_id": aim}).to_string().as_bytes()].concat())
            .invalid(&["body"]),
        admin("a UTF-8 byte order mark")
            .json([b"\xef\xbb\xbf".as_slice(), json!({"user_id": aim}).to_string().as_bytes()].concat())
            .invalid(&["body"]),
        admin("UTF-16")
            .json(
                json!({"user_id": aim})
                    .to_string()
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<u8>>(),
            )
            .invalid(&["body"]),
        admin("a lone surrogate escape")
            .json(r#"{"user_id": "\ud800"}"#)
            .invalid(&["body"]),
        admin("5,000 levels of nesting")
            .json(nested)
            .invalid(&["body"]),
        // JSON objects with bad fields.
        admin("no user_id").json("{}").invalid(&["user_id"]),
        admin("user_id null")
            .json(r#"{"user_id": null}"#)
            .invalid(&["user_id"]),
        admin("user_id empty")
            .json(r#"{"user_id": ""}"#)
            .invalid(&["user_id"]),
        admin("user_id blank")
            .json(r#"{"user_id": " \t\n "}"#)
            .invalid(&["user_id"]),
        admin("user_id a number")
            .json(r#"{"user_id": 12345}"#)
            .invalid(&["user_id"]),
        admin("user_id a boolean")
            .json(r#"{"user_id": true}"#)
            .invalid(&["user_id"]),
        admin("user_id an array holding the id")
            .json(json!({ "user_id": [aim] }).to_string())
            .invalid(&["user_id"]),
        admin("user_id an object holding the id")
            .json(json!({"user_id": {"id": aim}}).to_string())
            .invalid(&["user_id"]),
        admin("reason a number")
            .json(json!({"user_id": aim, "reason": 7}).to_string())
            .invalid(&["reason"]),
        admin("reason an array")
            .json(json!({"user_id": aim, "reason": ["spam"]}).to_string())
            .invalid(&["reason"]),
        admin("reason an object")
            .json(json!({"user_id": aim, "reason": {}}).to_string())
            .invalid(&["reason"]),
        admin("reason of 501 characters")
            .json(json!({"user_id": aim, "reason": "r".repeat(501)}).to_string())
            .invalid(&["reason"]),
        admin("reason of 501 two-byte characters")
            .json(json!({"user_id": aim, "reason": "é".repeat(501)}).to_string())
            .invalid(&["reason"]),
        admin("every field wrong")
            .json(r#"{"user_id": 1, "reason": false}"#)
            .invalid(&["user_id", "reason"]),
        // Well-formed, aimed at nobody.
        admin("reason of 500 two-byte characters, unknown user")
            .json(json!({"user_id": unknown, "reason": "é".repeat(500)}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id not a UUID")
            .json(r#"{"user_id": "12345"}"#)
            .expect(404, NOT_FOUND),
        admin("user_id SQL")
            .json(json!({"user_id": "' OR '1'='1'; DROP TABLE users; --"}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id SQL after the real id")
            .json(json!({"user_id": format!("{aim}' OR '1'='1")}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id HTML")
            .json(json!({"user_id": "<script>alert(1)</script>"}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id of 15 KiB")
            .json(json!({"user_id": "x".repeat(15 * 1024)}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id with a NUL")
            .json(json!({"user_id": format!("{aim}\u{0}")}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id the nil UUID")
            .json(json!({"user_id": uuid::Uuid::nil().to_string()}).to_string())
            .expect(404, NOT_FOUND),
        admin("SQL and HTML in the reason, unknown user")
            .json(
                json!({"user_id": unknown,
                       "reason": "<img src=x onerror=alert(1)>'); DROP TABLE users; --"})
                .to_string(),
            )
            .expect(404, NOT_FOUND),
        admin("duplicate user_id keys, the last unknown")
            .json(format!(
                "{{\"user_id\": \"{aim}\", \"user_id\": \"{unknown}\"}}"
            ))
            .expect(404, NOT_FOUND),
        admin("extra fields")
            .json(
                json!({"user_id": unknown, "role": "admin", "is_active": false,
                       "token_version": 0})
                .to_string(),
            )
            .expect(404, NOT_FOUND),
        // Content-Type and framing.
        admin("no Content-Type")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("Content-Type text/plain")
            .header("content-type", "text/plain")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("Content-Type garbage")
            .header("content-type", "\u{1f4a9}/;;;=")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("a form-encoded body")
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(format!("user_id={aim}"))
            .invalid(&["body"]),
        admin("a multipart body")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .raw(format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n{aim}\r\n--XyZ--\r\n"
            ))
            .invalid(&["body"]),
        admin("an XML body")
            .header("content-type", "application/xml")
            .raw(format!("<user_id>{aim}</user_id>"))
            .invalid(&["body"]),
        admin("a small chunked body")
            .json(json!({ "user_id": unknown }).to_string())
            .framing(Framing::Chunked)
            .expect(404, NOT_FOUND),
        admin("a body of exactly the limit")
            .json(padded(LIMIT))
            .expect(404, NOT_FOUND),
        admin("a body one byte over the limit")
            .json(padded(LIMIT + 1))
            .expect(413, TOO_LARGE),
        admin("1 MiB of JSON")
            .json(json!({"user_id": aim, "padding": "p".repeat(MIB)}).to_string())
            .expect(413, TOO_LARGE),
        admin("1 MiB of invalid UTF-8")
            .json(vec![0xff; MIB])
            .expect(413, TOO_LARGE),
        admin("1 MiB chunked")
            .json(json!({"user_id": aim, "padding": "p".repeat(MIB)}).to_string())
            .framing(Framing::Chunked)
            .expect(413, TOO_LARGE),
        admin("1 MiB declared, none sent")
            .json(Vec::new())
            .framing(Framing::DeclaredOnly(MIB))
            .expect(413, TOO_LARGE),
    ]
}

pub(crate) fn rule_rows(w: &World) -> Vec<Row> {
    let admin = |name: &str, path: &'static str, user: &User| {
        row(format!("PATCH {path}: {name}"), Method::PATCH, path)
            .bearer(&w.admin_token)
            .json(json!({ "user_id": user.id.to_string() }).to_string())
    };
    vec![
        admin("deactivate oneself", DEACTIVATE, &w.admin)
            .expect(400, "You cannot deactivate your own account"),
        admin("an already deactivated user", DEACTIVATE, &w.gone)
            .expect(400, "User is already deactivated"),
        admin("an already active user", REACTIVATE, &w.target)
            .expect(400, "User is already active"),
    ]
}
