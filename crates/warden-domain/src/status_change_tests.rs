use super::*;

use StatusAction::{Deactivate, Reactivate};

fn found(active: bool, role: Role) -> Unapplied {
    Unapplied {
        target: Some(FoundTarget { active, role }),
        actor_holds: true,
        last_admin_guarded: false,
        expectation_held: true,
    }
}

fn guarded(found: Unapplied) -> Unapplied {
    Unapplied {
        last_admin_guarded: true,
        expectation_held: true,
        ..found
    }
}

fn revoked(found: Unapplied) -> Unapplied {
    Unapplied {
        actor_holds: false,
        ..found
    }
}

fn done(outcome: StatusChangeOutcome) -> NextStep {
    NextStep::Done(outcome)
}

#[test]
fn no_target_is_not_found_whatever_else_was_found() {
    let none = Unapplied {
        target: None,
        actor_holds: false,
        last_admin_guarded: false,
        expectation_held: true,
    };
    for action in [Deactivate, Reactivate] {
        assert_eq!(action.judge(none), done(StatusChangeOutcome::NotFound));
    }
}

#[test]
fn a_target_already_in_the_resulting_state_is_reported_as_such() {
    assert_eq!(
        Deactivate.judge(found(false, Role::User)),
        done(StatusChangeOutcome::AlreadyInState)
    );
    assert_eq!(
        Deactivate.judge(guarded(found(false, Role::Admin))),
        done(StatusChangeOutcome::AlreadyInState)
    );
    assert_eq!(
        Reactivate.judge(found(true, Role::Admin)),
        done(StatusChangeOutcome::AlreadyInState)
    );
}

#[test]
fn an_active_admin_goes_through_the_last_admin_guard_which_alone_can_refuse_it() {
    assert_eq!(
        Deactivate.judge(found(true, Role::Admin)),
        NextStep::ApplyWithLastAdminGuard
    );
    assert_eq!(
        Deactivate.judge(guarded(found(true, Role::Admin))),
        done(StatusChangeOutcome::LastActiveAdmin)
    );
    // Reactivating an admin never removes one.
    assert_eq!(Reactivate.judge(found(false, Role::Admin)), NextStep::Retry);
}

#[test]
fn an_eligible_target_left_unchanged_lost_a_race() {
    assert_eq!(Deactivate.judge(found(true, Role::User)), NextStep::Retry);
    assert_eq!(Reactivate.judge(found(false, Role::User)), NextStep::Retry);
}

#[test]
fn an_actor_who_lost_its_authority_stops_the_change_whatever_the_target_state() {
    for (action, active, role) in [
        (Deactivate, true, Role::User),
        (Deactivate, false, Role::User),
        (Deactivate, true, Role::Admin),
        (Reactivate, true, Role::Admin),
        (Reactivate, false, Role::User),
    ] {
        assert_eq!(
            action.judge(revoked(found(active, role))),
            done(StatusChangeOutcome::ActorRevoked)
        );
        assert_eq!(
            action.judge(guarded(revoked(found(active, role)))),
            done(StatusChangeOutcome::ActorRevoked)
        );
    }
}

#[test]
fn the_declared_guards_match_the_actions() {
    assert!(Deactivate.requires_active());
    assert!(!Reactivate.requires_active());
    assert!(Deactivate.needs_last_admin_guard(Role::Admin));
    assert!(!Deactivate.needs_last_admin_guard(Role::User));
    assert!(!Reactivate.needs_last_admin_guard(Role::Admin));
}

#[test]
fn the_new_status_records_who_when_and_why_and_reactivation_clears_it() {
    let actor = Actor::admin(UserId::generate(), "admin@example.com", 3);
    let mut change = StatusChange {
        action: Deactivate,
        target: UserId::generate(),
        actor: actor.clone(),
        reason: Reason::parse("spam").unwrap(),
        at: chrono::Utc::now(),
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
        until: None,
        only_if_due_at: None,
        target_roles: crate::RoleSet::ALL,
    };
    assert_eq!(
        change.new_status(),
        AccountStatus::Deactivated(Deactivation {
            at: change.at,
            by: actor.account(),
            reason: change.reason.clone(),
            until: None,
        })
    );
    change.action = Reactivate;
    assert_eq!(change.new_status(), AccountStatus::Active);
}

#[test]
fn the_greeting_name_is_the_first_name_or_else_the_email_address() {
    let email = crate::EmailAddress::parse("ada@example.com").unwrap();
    assert_eq!(crate::display_name("Ada", &email), "Ada");
    assert_eq!(crate::display_name(" \t\n", &email), "ada@example.com");
    assert_eq!(crate::display_name("", &email), "ada@example.com");
}

#[test]
fn a_target_not_meeting_the_expectation_is_not_due_unless_already_in_state() {
    let unmet = |found: Unapplied| Unapplied {
        expectation_held: false,
        ..found
    };
    assert_eq!(
        Reactivate.judge(unmet(found(false, Role::User))),
        done(StatusChangeOutcome::NotDue)
    );
    assert_eq!(
        Reactivate.judge(unmet(found(true, Role::User))),
        done(StatusChangeOutcome::AlreadyInState)
    );
    assert_eq!(
        Reactivate.judge(revoked(unmet(found(false, Role::User)))),
        done(StatusChangeOutcome::ActorRevoked)
    );
}

#[test]
fn the_expectation_holds_for_an_end_at_or_before_due_at() {
    let now = chrono::Utc::now();
    let mut change = StatusChange {
        action: Reactivate,
        target: UserId::generate(),
        actor: Actor::system(),
        reason: None,
        at: now,
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
        until: None,
        only_if_due_at: None,
        target_roles: crate::RoleSet::ALL,
    };
    assert!(change.expectation_holds(None), "no expectation, always");
    change.only_if_due_at = Some(now);
    assert!(change.expectation_holds(Some(now)));
    assert!(change.expectation_holds(Some(now - chrono::TimeDelta::seconds(1))));
    assert!(!change.expectation_holds(Some(now + chrono::TimeDelta::seconds(1))));
    assert!(!change.expectation_holds(None), "no end: never due");
}
