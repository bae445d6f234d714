use super::*;

/// The example of the Standard Webhooks specification (and of its reference libraries' tests).
#[test]
fn signs_the_standard_webhooks_example_vector() {
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = br#"{"test": 2432232314}"#;
    let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
    assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert!(secret.verifies(
        &format!("v1,bm90IGl0 {signature}"),
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_330,
        body
    ));
    assert!(!secret.verifies(&signature, "msg_other", 1_614_265_330, body));
    assert!(!secret.verifies(
        &signature,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1_614_265_331,
        body
    ));
}

#[test]
fn secrets_round_trip_and_never_print() {
    let secret = WebhookSecret::from_bytes([7; 32]);
    let text = secret.expose();
    assert!(text.starts_with("whsec_"));
    assert_eq!(WebhookSecret::parse(&text).unwrap(), secret);
    assert!(!format!("{secret:?}").contains(&text[6..]));
    for bad in ["", "whsec_", "MfKQ9r8G", "whsec_!!"] {
        assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
    }
}

fn endpoint(previous_until: Option<DateTime<Utc>>) -> WebhookEndpoint {
    WebhookEndpoint {
        id: Uuid::nil(),
        url: "https://example.com/hook".into(),
        description: None,
        events: Some(vec![WebhookEventType::UserDeactivated]),
        enabled: true,
        secret: WebhookSecret::from_bytes([1; 32]),
        previous_secret: previous_until.map(|until| (WebhookSecret::from_bytes([2; 32]), until)),
        created_at: DateTime::UNIX_EPOCH,
        created_by: None,
    }
}

#[test]
fn a_rotated_secret_signs_beside_the_new_one_until_its_time_ends() {
    let now = DateTime::UNIX_EPOCH + TimeDelta::days(1);
    let old = WebhookSecret::from_bytes([2; 32]);
    let new = WebhookSecret::from_bytes([1; 32]);
    let rotated = endpoint(Some(now + TimeDelta::hours(1)));
    let header = rotated.signature("msg_1", 5, b"{}", now);
    assert_eq!(header.split(' ').count(), 2);
    assert!(old.verifies(&header, "msg_1", 5, b"{}"));
    assert!(new.verifies(&header, "msg_1", 5, b"{}"));
    let later = rotated.signature("msg_1", 5, b"{}", now + TimeDelta::hours(2));
    assert!(!old.verifies(&later, "msg_1", 5, b"{}"));
    assert_eq!(later, new.sign("msg_1", 5, b"{}"));
}

#[test]
fn subscriptions_default_to_every_type() {
    let mut hook = endpoint(None);
    assert!(hook.subscribes(WebhookEventType::UserDeactivated));
    assert!(!hook.subscribes(WebhookEventType::UserReactivated));
    hook.events = None;
    assert!(hook.subscribes(WebhookEventType::UserReactivated));
    assert_eq!(hook.event_types(), ALL_EVENT_TYPES.to_vec());
    for t in ALL_EVENT_TYPES {
        assert_eq!(WebhookEventType::parse(t.as_str()), Ok(t));
    }
    assert_eq!(
        WebhookEventType::of(StatusAction::Deactivate).as_str(),
        "user.deactivated"
    );
}

#[test]
fn the_schedule_retries_seven_times_then_gives_up() {
    let policy = WebhookRetryPolicy::default();
    let fail = WebhookAnswer::Status {
        code: 500,
        retry_after: None,
    };
    let expected = [5, 300, 1800, 7200, 18000, 36000, 36000];
    for (n, seconds) in expected.iter().enumerate() {
        let attempts = u32::try_from(n).unwrap() + 1;
        assert_eq!(
            policy.judge(fail, attempts, 0.5),
            AttemptOutcome::RetryAfter(TimeDelta::seconds(*seconds)),
            "after attempt {attempts}"
        );
        let AttemptOutcome::RetryAfter(low) = policy.judge(fail, attempts, 0.0) else {
            panic!("no retry");
        };
        let AttemptOutcome::RetryAfter(high) = policy.judge(fail, attempts, 1.0) else {
            panic!("no retry");
        };
        assert!(low < TimeDelta::seconds(*seconds) && high > TimeDelta::seconds(*seconds));
    }
    assert_eq!(policy.judge(fail, 8, 0.5), AttemptOutcome::GiveUp);
    assert_eq!(
        policy.judge(WebhookAnswer::NoAnswer, 8, 0.5),
        AttemptOutcome::GiveUp
    );
}

#[test]
fn answers_are_judged_by_their_status() {
    let policy = WebhookRetryPolicy::default();
    let status = |code| WebhookAnswer::Status {
        code,
        retry_after: Some(TimeDelta::seconds(90)),
    };
    assert_eq!(policy.judge(status(204), 1, 0.5), AttemptOutcome::Delivered);
    assert_eq!(
        policy.judge(status(410), 1, 0.5),
        AttemptOutcome::DisableEndpoint
    );
    for code in [429, 503] {
        assert_eq!(
            policy.judge(status(code), 1, 0.5),
            AttemptOutcome::RetryAfter(TimeDelta::seconds(90))
        );
    }
    for code in [301, 302, 400, 500] {
        assert_eq!(
            policy.judge(status(code), 1, 0.5),
            AttemptOutcome::RetryAfter(TimeDelta::seconds(5)),
            "{code}"
        );
    }
}

#[test]
fn descriptions_hold_no_control_or_invisible_characters() {
    for good in [
        "Billing revokes seats",
        "Facturación — café",
        "中文",
        &"x".repeat(500),
    ] {
        assert_eq!(check_webhook_description(good), Ok(()), "{good}");
    }
    for bad in [
        "billing\u{202E}gnp.exe",
        "a\u{200B}b",
        "a\u{2066}b",
        "a\u{FEFF}",
        "line\nbreak",
        "a\u{0}b",
        &"x".repeat(501),
    ] {
        assert_eq!(
            check_webhook_description(bad),
            Err(InvalidWebhookDescription),
            "{bad:?}"
        );
    }
}
