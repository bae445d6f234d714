use std::sync::Arc;

use super::*;
use crate::ports::MockUserRepo;
use crate::use_cases::test_support::{admin, at, user};
use crate::{ActorKind, RecordedActor, Role};

fn events_for(user: UserId, count: usize) -> Vec<AuditEvent> {
    let mut events: Vec<AuditEvent> = (0..count)
        .map(|_| AuditEvent {
            id: Uuid::now_v7(),
            user_id: user,
            actor: RecordedActor {
                kind: ActorKind::User,
                id: None,
                name: String::new(),
                role: None,
            },
            action: crate::AuditAction::Deactivated,
            role_shift: None,
            reason: None,
            at: at(),
        })
        .collect();
    events.reverse(); // newest first, as the store returns them
    events
}

fn repo_with(target: User, stored_events: usize) -> MockUserRepo {
    let events = events_for(target.id, stored_events);
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_id()
        .returning(move |id| Ok((*id == target.id).then(|| target.clone())));
    users.expect_events().returning(move |_, after, limit| {
        let start = after
            .and_then(|a| events.iter().position(|e| e.id == a).map(|i| i + 1))
            .unwrap_or(0);
        Ok(events
            .iter()
            .skip(start)
            .take(limit as usize)
            .cloned()
            .collect())
    });
    users
}

#[tokio::test]
async fn pages_through_events_with_a_cursor() {
    let admin = admin().await;
    let target = user(Role::User);
    let queries = UserQueries::new(Arc::new(repo_with(target.clone(), 5)));
    let id = target.id;

    let first = queries.events(&admin, id, None, 2).await.unwrap();
    assert_eq!(first.events.len(), 2);
    let second = queries
        .events(&admin, id, first.next_cursor, 2)
        .await
        .unwrap();
    assert_eq!(second.events.len(), 2);
    assert!(second.events[0].id < first.events[1].id, "newest first");
    let last = queries
        .events(&admin, id, second.next_cursor, 2)
        .await
        .unwrap();
    assert_eq!(last.events.len(), 1);
    assert_eq!(last.next_cursor, None);
}

#[tokio::test]
async fn an_exact_last_page_has_no_cursor_and_limits_are_clamped() {
    let admin = admin().await;
    let target = user(Role::User);
    let queries = UserQueries::new(Arc::new(repo_with(target.clone(), 3)));
    let page = queries.events(&admin, target.id, None, 3).await.unwrap();
    assert_eq!((page.events.len(), page.next_cursor), (3, None));
    let clamped = queries.events(&admin, target.id, None, 0).await.unwrap();
    assert_eq!(clamped.events.len(), 1);
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let admin = admin().await;
    let queries = UserQueries::new(Arc::new(repo_with(user(Role::User), 0)));
    {
        let id = UserId::generate();
        assert!(matches!(
            queries.get(&admin, id).await,
            Err(QueryError::NotFound)
        ));
        assert!(matches!(
            queries.events(&admin, id, None, 10).await,
            Err(QueryError::NotFound)
        ));
    }
}
