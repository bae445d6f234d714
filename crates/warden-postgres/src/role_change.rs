//! [`UserRepo::change_role`](warden_domain::ports::UserRepo::change_role) on PostgreSQL: one
//! short transaction, serialised with the guarded deactivations of admins by their advisory
//! lock (so the last-active-admin guard holds across both), the target row locked and judged by
//! the domain's [`RoleChange::verdict`].

use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::StoreError;
use warden_domain::{AuditAction, Role, RoleChange, RoleChangeOutcome, RoleTarget, User};

use crate::prepared::Prepared;
use crate::rows::UserRow;
use crate::schema::{audit_events, users};
use crate::status_change::ADMIN_LOCK;
use crate::PgStore;

/// $1 the audit event's id, $2 the event type, $3 the user's email, $4 the time: one delivery
/// per enabled endpoint subscribed to the event type.
const ENQUEUE_WEBHOOKS: &str = "\
INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, email, next_attempt_at)
SELECT gen_random_uuid(), hook.id, $1, $2, $3, $4
  FROM webhook_endpoints AS hook
 WHERE hook.enabled AND (hook.events IS NULL OR $2 = ANY (hook.events))";

pub(crate) async fn change_role(
    store: &PgStore,
    change: RoleChange,
) -> Result<RoleChangeOutcome, StoreError> {
    store
        .provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| apply(conn, &change).await))
        })
        .await
}

async fn apply(
    conn: &mut AsyncPgConnection,
    change: &RoleChange,
) -> QueryResult<RoleChangeOutcome> {
    Prepared(diesel::sql_query(ADMIN_LOCK))
        .execute(conn)
        .await?;
    let target = *change.target.as_uuid();
    let found = users::table
        .find(target)
        .select((users::role, users::is_active))
        .for_no_key_update()
        .first::<(String, bool)>(conn)
        .await
        .optional()?
        .map(|(role, active)| {
            Role::parse(&role)
                .map(|role| RoleTarget { role, active })
                .map_err(|_| unreadable(&role))
        })
        .transpose()?;
    let actor_holds = crate::changes::holds(conn, &change.actor).await?;
    // Under the advisory lock, a new statement sees every admin change committed before it.
    let others: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::is_active.eq(true))
        .filter(users::id.ne(target))
        .count()
        .get_result(conn)
        .await?;
    let verdict = change.verdict(found, actor_holds, || {
        Ok::<_, diesel::result::Error>(others > 0)
    })?;
    let (Some(found), None) = (found, verdict.clone()) else {
        return Ok(verdict.unwrap_or(RoleChangeOutcome::NotFound));
    };
    let row = diesel::update(users::table.find(target))
        .set((
            users::role.eq(change.to.as_str()),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(change.at),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await?;
    let user =
        User::try_from(row).map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(change.event_id),
            audit_events::user_id.eq(target),
            audit_events::actor_id.eq(change.actor.account().map(|id| *id.as_uuid())),
            audit_events::action.eq(AuditAction::RoleChanged.as_str()),
            audit_events::reason.eq(change.reason.as_ref().map(|r| r.as_str())),
            audit_events::created_at.eq(change.at),
            audit_events::actor_kind.eq(change.actor.kind().as_str()),
            audit_events::actor_name.eq(change.actor.name()),
            audit_events::actor_client_id.eq(client_of(change)),
            audit_events::actor_role.eq(change.actor.role().map(Role::as_str)),
            audit_events::from_role.eq(Some(found.role.as_str())),
            audit_events::to_role.eq(Some(change.to.as_str())),
        ))
        .execute(conn)
        .await?;
    let event_type = warden_domain::WebhookEventType::UserRoleChanged.as_str();
    Prepared(
        diesel::sql_query(ENQUEUE_WEBHOOKS)
            .bind::<SqlUuid, _>(change.event_id)
            .bind::<Text, _>(event_type)
            .bind::<Text, _>(user.email.as_str())
            .bind::<Timestamptz, _>(change.at),
    )
    .execute(conn)
    .await?;
    Ok(RoleChangeOutcome::Applied {
        user: Box::new(user),
        from: found.role,
    })
}

fn client_of(change: &RoleChange) -> Option<uuid::Uuid> {
    match change.actor.authority() {
        warden_domain::Authority::Client { client } => Some(*client),
        _ => None,
    }
}

fn unreadable(role: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("stored role {role:?}").into())
}
