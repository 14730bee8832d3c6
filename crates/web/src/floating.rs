//! The floating-population service the API and the page share: recording a move in or out
//! (checked against the resident's history, audited), the current and past lists, and the
//! monthly dynamics of a subtree.

use chrono::NaiveDate;
use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::movement::{self, Direction, Month, MonthFigures, Move};
use mulin_domain::policy::Action;
use mulin_domain::tree::NodePath;
use mulin_storage::{AuditEntry, MovementRecord, StoreError};

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::AppState;

pub use mulin_domain::movement::MAX_REASON_CHARS;

fn as_move(m: &MovementRecord) -> Move {
    Move {
        direction: m.direction,
        on: m.on,
    }
}

/// Records a move of a resident the caller may edit; the history must stay coherent (in
/// and out alternate, never back in time) and the day may not lie in the future.
pub async fn record(
    state: &AppState,
    auth: &AuthUser,
    resident: &str,
    direction: &str,
    on: NaiveDate,
    reason: &str,
) -> Result<MovementRecord, WebError> {
    let id: ResidentId = resident.parse().map_err(|_| WebError::NotFound)?;
    let district = auth.user.district;
    let person = state.store.resident(district, id).await?;
    if !auth
        .principal
        .allows(Action::ViewResidents, &person.household)
    {
        return Err(WebError::NotFound);
    }
    if !auth
        .principal
        .allows(Action::EditRegistry, &person.household)
    {
        return Err(WebError::Forbidden);
    }
    let direction = Direction::parse(direction.trim())
        .map_err(|_| WebError::Invalid("floating.error.direction"))?;
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(WebError::Invalid("floating.error.reason"));
    }
    if on > state.clock.today() {
        return Err(WebError::Invalid("floating.error.future"));
    }
    let history = state.store.movements(district, id).await?;
    let moves: Vec<Move> = history.iter().map(as_move).collect();
    movement::check_next(&moves, Move { direction, on }).map_err(|err| match err {
        movement::MovementError::SameDirection => {
            WebError::Invalid("floating.error.same_direction")
        }
        movement::MovementError::BeforeLast => WebError::Invalid("floating.error.before_last"),
    })?;
    let record = MovementRecord {
        id: uuid::Uuid::now_v7(),
        district,
        resident: id,
        resident_name: person.name.as_ref().to_owned(),
        seq: history.len() as i64 + 1,
        household: person.household,
        direction,
        on,
        reason: reason.to_owned(),
        recorded_by: auth.user.id,
        recorded_at: state.clock.now(),
    };
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: record.recorded_at,
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: format!("movement.{}", direction.as_str()),
        target_kind: "resident".into(),
        target_id: id.to_string(),
        ip: auth.ip.clone(),
        detail: on.to_string(),
    };
    state
        .store
        .insert_movement(&record, &audit)
        .await
        .map_err(|err| match err {
            // Another move of the same resident landed first.
            StoreError::Conflict(_) => WebError::Invalid("floating.error.same_direction"),
            other => other.into(),
        })?;
    Ok(record)
}

/// A resident's moves, oldest first, when the caller may see the resident.
pub async fn history(
    state: &AppState,
    auth: &AuthUser,
    resident: &str,
) -> Result<Vec<MovementRecord>, WebError> {
    let id: ResidentId = resident.parse().map_err(|_| WebError::NotFound)?;
    let person = state.store.resident(auth.user.district, id).await?;
    if !auth
        .principal
        .allows(Action::ViewResidents, &person.household)
    {
        return Err(WebError::NotFound);
    }
    Ok(state.store.movements(auth.user.district, id).await?)
}

async fn scopes(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
) -> Result<Vec<NodePath>, WebError> {
    // The registers are field work's, like visits: a resident sees their own record only.
    if !auth.principal.allows_anywhere(Action::ViewVisits) {
        return Err(WebError::Forbidden);
    }
    match under {
        Some(id) => {
            let node = match state.store.node(auth.user.district, id).await {
                Ok(node) => node,
                Err(StoreError::NotFound) => return Err(WebError::NotFound),
                Err(other) => return Err(other.into()),
            };
            let scopes = auth.principal.scopes_under(Action::ViewVisits, &node.path);
            if scopes.is_empty() {
                return Err(WebError::NotFound);
            }
            Ok(scopes)
        }
        None => Ok(auth.principal.roots(Action::ViewVisits)),
    }
}

/// Every history under the caller's scopes up to `until`, one per resident, oldest first.
async fn histories(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    until: NaiveDate,
) -> Result<Vec<Vec<MovementRecord>>, WebError> {
    let scopes = scopes(state, auth, under).await?;
    let all = state
        .store
        .movements_under(auth.user.district, &scopes, until)
        .await?;
    let mut out: Vec<Vec<MovementRecord>> = Vec::new();
    for m in all {
        match out.last_mut() {
            Some(last) if last[0].resident == m.resident => last.push(m),
            _ => out.push(vec![m]),
        }
    }
    Ok(out)
}

/// The latest move of each resident with a history under `under`: those here today
/// (`current`) or gone (`!current`), most recent first.
pub async fn list(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    current: bool,
) -> Result<Vec<MovementRecord>, WebError> {
    let today = state.clock.today();
    let mut rows: Vec<MovementRecord> = histories(state, auth, under, today)
        .await?
        .into_iter()
        .filter(|h| {
            let moves: Vec<Move> = h.iter().map(as_move).collect();
            movement::present_on(&moves, today) == current
        })
        .filter_map(|mut h| h.pop())
        .collect();
    rows.sort_by(|a, b| b.on.cmp(&a.on).then(a.resident_name.cmp(&b.resident_name)));
    Ok(rows)
}

/// Per month from `from` to `to`: moves in, moves out and people present at the month's
/// end under `under`.
pub async fn dynamics(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    from: &str,
    to: &str,
) -> Result<Vec<MonthFigures>, WebError> {
    let bad = || WebError::Invalid("floating.error.months");
    let from = Month::parse(from.trim()).ok_or_else(bad)?;
    let to = Month::parse(to.trim()).ok_or_else(bad)?;
    let histories: Vec<Vec<Move>> = histories(state, auth, under, to.last_day())
        .await?
        .iter()
        .map(|h| h.iter().map(as_move).collect())
        .collect();
    movement::monthly_dynamics(&histories, from, to).ok_or_else(bad)
}
