use chrono::TimeZone;

use super::*;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn record(body: &[u8], at: i64, response: Option<(u16, &str)>) -> IdempotencyRecord {
    IdempotencyRecord {
        fingerprint: Fingerprint::of_body(body),
        reserved_at: t(at),
        response: response.map(|(status, body)| StoredResponse {
            status,
            body: body.to_owned(),
        }),
    }
}

#[test]
fn keys_are_one_to_255_visible_ascii_characters() {
    for good in [
        "a",
        "!~",
        "550e8400-e29b-41d4-a716-446655440000",
        &"k".repeat(255),
    ] {
        assert_eq!(IdempotencyKey::parse(good).unwrap().as_str(), good);
    }
    for bad in [
        "",
        " ",
        "a b",
        "tab\t",
        "é",
        "nul\0",
        "\u{7f}",
        &"k".repeat(256),
    ] {
        assert_eq!(
            IdempotencyKey::parse(bad),
            Err(InvalidIdempotencyKey),
            "{bad:?}"
        );
    }
}

#[test]
fn keys_stay_out_of_debug_output() {
    let key = IdempotencyKey::parse("secret-ish").unwrap();
    assert!(!format!("{key:?}").contains("secret"));
}

#[test]
fn fingerprints_are_sha256_of_the_raw_bytes() {
    assert_eq!(
        Fingerprint::of_body(b"").as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_ne!(
        Fingerprint::of_body(b"{\"a\":1}"),
        Fingerprint::of_body(b"{ \"a\": 1 }")
    );
}

#[test]
fn decides_replay_conflict_in_progress_or_new() {
    let fp = Fingerprint::of_body(b"same");
    let decide = |r: &IdempotencyRecord, at| IdempotencyPolicy::decide(Some(r), &fp, t(at));
    assert_eq!(
        IdempotencyPolicy::decide(None, &fp, t(0)),
        IdempotencyDecision::Proceed
    );

    let done = record(b"same", 0, Some((400, "{}")));
    assert_eq!(
        decide(&done, 10),
        IdempotencyDecision::Replay(StoredResponse {
            status: 400,
            body: "{}".into()
        })
    );
    assert_eq!(
        decide(&record(b"other", 0, Some((200, "{}"))), 10),
        IdempotencyDecision::Mismatch
    );
    assert_eq!(
        decide(&record(b"other", 0, None), 10),
        IdempotencyDecision::Mismatch
    );
    assert_eq!(
        decide(&record(b"same", 0, None), 59),
        IdempotencyDecision::InProgress
    );
    // An abandoned reservation is taken over, whatever body it had.
    assert_eq!(
        decide(&record(b"same", 0, None), 60),
        IdempotencyDecision::Proceed
    );
    assert_eq!(
        decide(&record(b"other", 0, None), 60),
        IdempotencyDecision::Proceed
    );
    // Within 24 h a completed answer replays; after that the key is new.
    assert!(matches!(
        decide(&done, 86_399),
        IdempotencyDecision::Replay(_)
    ));
    assert_eq!(decide(&done, 86_400), IdempotencyDecision::Proceed);
    assert_eq!(
        decide(&record(b"other", 0, Some((200, "{}"))), 86_400),
        IdempotencyDecision::Proceed
    );
    assert_eq!(IdempotencyPolicy::expired_before(t(86_400)), t(0));
}

#[test]
fn server_failures_are_not_stored() {
    assert!(IdempotencyPolicy::stores(200));
    assert!(IdempotencyPolicy::stores(404));
    assert!(IdempotencyPolicy::stores(422));
    assert!(!IdempotencyPolicy::stores(500));
    assert!(!IdempotencyPolicy::stores(503));
}
