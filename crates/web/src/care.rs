//! The elderly-care service: health records of residents aged 65+ (every read audited),
//! family sickbeds with their schedules, sickbed visits, and which are overdue on the
//! app clock's day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mulin_domain::care::{self, Schedule, MAX_CARE_TEXT};
use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::person::SpecialGroup;
use mulin_domain::policy::Action;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    AuditEntry, HealthRecord, Page, ResidentRecord, SickbedRecord, SickbedVisit, StoreError,
};

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::AppState;

fn text(value: &str, key: &'static str) -> Result<String, WebError> {
    let value = value.trim();
    if value.chars().count() > MAX_CARE_TEXT {
        return Err(WebError::Invalid(key));
    }
    Ok(value.to_owned())
}

fn audit(state: &AppState, auth: &AuthUser, action: &str, target: (&str, String)) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district: auth.user.district,
        at: state.clock.now(),
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: action.to_owned(),
        target_kind: target.0.to_owned(),
        target_id: target.1,
        ip: auth.ip.clone(),
        detail: String::new(),
    }
}

/// A resident the caller may see, with their grid's path.
async fn resident(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
) -> Result<(ResidentRecord, NodePath), WebError> {
    let id: ResidentId = id.parse().map_err(|_| WebError::NotFound)?;
    let person = state.store.resident(auth.user.district, id).await?;
    if !auth
        .principal
        .allows(Action::ViewResidents, &person.household)
    {
        return Err(WebError::NotFound);
    }
    let grid = person
        .household
        .at(NodeKind::Grid)
        .ok_or(WebError::NotFound)?;
    let grid = state.store.node(auth.user.district, grid).await?.path;
    Ok((person, grid))
}

/// Writes a health record for a resident aged 65+ that the caller may edit.
pub async fn put_health(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    conditions: &str,
    care_team: &str,
    notes: &str,
) -> Result<HealthRecord, WebError> {
    let (person, grid) = resident(state, auth, id).await?;
    if !auth
        .principal
        .allows(Action::EditRegistry, &person.household)
    {
        return Err(WebError::Forbidden);
    }
    if !care::is_elderly(person.birth_date, state.clock.today()) {
        return Err(WebError::Invalid("care.error.not_elderly"));
    }
    let record = HealthRecord {
        district: auth.user.district,
        resident: person.id,
        household: person.household.id(),
        grid,
        conditions: text(conditions, "care.error.text")?,
        care_team: text(care_team, "care.error.text")?,
        notes: text(notes, "care.error.text")?,
        updated_at: state.clock.now(),
        updated_by: auth.user.id,
    };
    let entry = audit(
        state,
        auth,
        "health.update",
        ("resident", person.id.to_string()),
    );
    state.store.put_health_record(&record, &entry).await?;
    Ok(record)
}

/// A resident's health record: personal data, so the read is audited before it is
/// returned, and only roles that may see full personal data get it.
pub async fn health(state: &AppState, auth: &AuthUser, id: &str) -> Result<HealthRecord, WebError> {
    let (person, _) = resident(state, auth, id).await?;
    if !auth
        .principal
        .allows(Action::RevealPersonalData, &person.household)
    {
        return Err(WebError::Forbidden);
    }
    let record = state
        .store
        .health_record(auth.user.district, person.id)
        .await?;
    state
        .audit(
            auth,
            "health.read",
            ("resident", &person.id.to_string()),
            "",
        )
        .await?;
    Ok(record)
}

/// Sets up a family sickbed for a resident the caller may edit.
pub async fn create_sickbed(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    care_team: &str,
    every_days: u32,
    starts_on: NaiveDate,
) -> Result<SickbedRecord, WebError> {
    let (person, grid) = resident(state, auth, id).await?;
    if !auth
        .principal
        .allows(Action::EditRegistry, &person.household)
    {
        return Err(WebError::Forbidden);
    }
    let care_team = text(care_team, "care.error.text")?;
    if care_team.is_empty() {
        return Err(WebError::Invalid("care.error.team"));
    }
    let schedule = Schedule::new(every_days, starts_on)
        .map_err(|_| WebError::Invalid("care.error.interval"))?;
    let sickbed = SickbedRecord {
        id: uuid::Uuid::now_v7(),
        district: auth.user.district,
        resident: person.id,
        resident_name: person.name.as_ref().to_owned(),
        household: person.household.id(),
        grid,
        care_team,
        schedule,
        last_visit_on: None,
        created_at: state.clock.now(),
    };
    let entry = audit(
        state,
        auth,
        "sickbed.create",
        ("sickbed", sickbed.id.to_string()),
    );
    state.store.insert_sickbed(&sickbed, &entry).await?;
    Ok(sickbed)
}

/// Records a visit to a sickbed in the caller's scope (not in the future).
pub async fn log_sickbed_visit(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    on: NaiveDate,
    note: &str,
) -> Result<SickbedRecord, WebError> {
    let id: uuid::Uuid = id.parse().map_err(|_| WebError::NotFound)?;
    let district = auth.user.district;
    let sickbed = match state.store.sickbed(district, id).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Err(WebError::NotFound),
        Err(other) => return Err(other.into()),
    };
    if !auth.principal.allows(Action::LogVisits, &sickbed.grid) {
        return Err(WebError::NotFound);
    }
    if on > state.clock.today() {
        return Err(WebError::Invalid("care.error.future"));
    }
    let visit = SickbedVisit {
        id: uuid::Uuid::now_v7(),
        district,
        sickbed: id,
        on,
        note: text(note, "care.error.text")?,
        recorded_by: auth.user.id,
        recorded_at: state.clock.now(),
    };
    let entry = audit(state, auth, "sickbed.visit", ("sickbed", id.to_string()));
    state.store.insert_sickbed_visit(&visit, &entry).await?;
    Ok(state.store.sickbed(district, id).await?)
}

/// Sickbeds the caller may see under `under`, each with the days its next visit is late on
/// the clock's day.
pub async fn sickbeds(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
) -> Result<Vec<(SickbedRecord, i64)>, WebError> {
    let district = auth.user.district;
    let scopes = scopes(state, auth, under).await?;
    let today = state.clock.today();
    Ok(state
        .store
        .sickbeds_under(district, &scopes)
        .await?
        .into_iter()
        .map(|s| {
            let late = s.schedule.days_overdue(s.last_visit_on, today);
            (s, late)
        })
        .collect())
}

/// The subtrees the care lists may cover under `under`: field work's registers, like
/// visits (a resident sees their own record only).
async fn scopes(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
) -> Result<Vec<NodePath>, WebError> {
    if !auth.principal.allows_anywhere(Action::ViewVisits) {
        return Err(WebError::Forbidden);
    }
    let district = auth.user.district;
    Ok(match under {
        Some(id) => {
            let node = match state.store.node(district, id).await {
                Ok(node) => node,
                Err(StoreError::NotFound) => return Err(WebError::NotFound),
                Err(other) => return Err(other.into()),
            };
            let scopes = auth.principal.scopes_under(Action::ViewVisits, &node.path);
            if scopes.is_empty() {
                return Err(WebError::NotFound);
            }
            scopes
        }
        None => auth.principal.roots(Action::ViewVisits),
    })
}

/// Members of a special group under `under`, a page at a time (masked on output).
pub async fn group_members(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    group: &str,
    page: u32,
) -> Result<Page<ResidentRecord>, WebError> {
    let group =
        SpecialGroup::parse(group.trim()).map_err(|_| WebError::Invalid("care.error.group"))?;
    let scopes = scopes(state, auth, under).await?;
    Ok(state
        .store
        .special_group_members(
            auth.user.district,
            &scopes,
            group,
            state.clock.today(),
            page,
            100,
        )
        .await?)
}

/// Per grid: sickbeds and how many are overdue.
pub fn overdue_per_grid(rows: &[(SickbedRecord, i64)]) -> BTreeMap<NodeId, (u32, u32)> {
    let mut out: BTreeMap<NodeId, (u32, u32)> = BTreeMap::new();
    for (sickbed, late) in rows {
        let entry = out.entry(sickbed.grid.id()).or_default();
        entry.0 += 1;
        if *late > 0 {
            entry.1 += 1;
        }
    }
    out
}
