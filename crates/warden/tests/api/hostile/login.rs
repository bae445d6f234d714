//! Rows about sign-in bodies.

use super::*;

/// Sign-in bodies. Few rows reach the password check, each with its own email where it can,
/// so that none of them is throttled.
pub(crate) fn login_rows(w: &World) -> Vec<Row> {
    let login = |name: &str| row(format!("POST {LOGIN}: {name}"), Method::POST, LOGIN);
    let target = w.target.email.to_string();
    let gone = w.gone.email.to_string();
    vec![
        login("an empty body").json("").invalid(&["body"]),
        login("truncated JSON")
            .json(format!(
                "{{\"email\": \"{target}\", \"password\": \"{PASSWORD}"
            ))
            .invalid(&["body"]),
        login("null").json("null").invalid(&["body"]),
        login("an array")
            .json(json!([target, PASSWORD]).to_string())
            .invalid(&["body"]),
        login("a number").json("1e999").invalid(&["body"]),
        login("invalid UTF-8")
            .json(b"{\"email\": \"\xff@example.com\", \"password\": \"x\"}".to_vec())
            .invalid(&["body"]),
        login("10,000 levels of nesting")
            .json("[".repeat(10_000))
            .invalid(&["body"]),
        login("a form-encoded body")
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(format!("email={target}&password={PASSWORD}"))
            .invalid(&["body"]),
        login("no fields")
            .json("{}")
            .invalid(&["email", "password"]),
        login("nulls")
            .json(r#"{"email": null, "password": null}"#)
            .invalid(&["email", "password"]),
        login("wrong types")
            .json(r#"{"email": 1, "password": true}"#)
            .invalid(&["email", "password"]),
        login("arrays")
            .json(json!({"email": [target], "password": [PASSWORD]}).to_string())
            .invalid(&["email", "password"]),
        login("empty strings")
            .json(r#"{"email": "", "password": ""}"#)
            .invalid(&["email", "password"]),
        login("no password")
            .json(json!({ "email": target }).to_string())
            .invalid(&["password"]),
        login("a blank password")
            .json(json!({"email": target, "password": "   "}).to_string())
            .invalid(&["password"]),
        login("a body one byte over the limit")
            .json({
                let skeleton = json!({"email": target, "password": PASSWORD, "p": ""});
                let pad = LIMIT + 1 - skeleton.to_string().len();
                json!({"email": target, "password": PASSWORD, "p": "p".repeat(pad)}).to_string()
            })
            .expect(413, TOO_LARGE),
        login("1 MiB").json(vec![b' '; MIB]).expect(413, TOO_LARGE),
        login("1 MiB chunked")
            .json(vec![b'['; MIB])
            .framing(Framing::Chunked)
            .expect(413, TOO_LARGE),
        login("1 MiB declared, none sent")
            .json(Vec::new())
            .framing(Framing::DeclaredOnly(MIB))
            .expect(413, TOO_LARGE),
        // These reach the password check (each one failed sign-in).
        login("SQL in the password")
            .json(json!({"email": target, "password": "' OR '1'='1"}).to_string())
            .expect(401, BAD_LOGIN),
        login("SQL in the email")
            .json(json!({"email": "' OR '1'='1' --", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("HTML in the email")
            .json(
                json!({"email": "<script>alert(1)</script>@example.com", "password": "x"})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("a NUL in the email")
            .json(json!({"email": format!("{target}\u{0}"), "password": PASSWORD}).to_string())
            .expect(401, BAD_LOGIN),
        login("an email of 15 KiB")
            .json(
                json!({"email": format!("{}@example.com", "a".repeat(15 * 1024)), "password": "x"})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("a password of 15 KiB")
            .json(
                json!({"email": "nobody@example.com", "password": "p".repeat(15 * 1024)})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("duplicate password keys, the last wrong")
            .json(format!(
                "{{\"email\": \"{target}\", \"password\": \"{PASSWORD}\", \"password\": \"wrong\"}}"
            ))
            .expect(401, BAD_LOGIN),
        login("Content-Type text/plain")
            .header("content-type", "text/plain")
            .raw(json!({"email": "plain@example.com", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("no Content-Type")
            .raw(json!({"email": "bare@example.com", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("a deactivated user, the wrong password")
            .json(json!({"email": gone, "password": "wrong"}).to_string())
            .expect(401, BAD_LOGIN),
    ]
}
