//! The visit service the API and the pages share: logging a home visit or patrol with the
//! record updates it brought back (written with it, once, audited), lists, turning a
//! finding into a request, and coverage per grid.
//!
//! Nothing here counts check-ins, time online, GPS tracks or photos (national rules against
//! "指尖上的形式主义"); a location is optional evidence and never required.

use chrono::{DateTime, Duration, Utc};
use mulin_domain::ids::{NodeId, RequestId, ResidentId};
use mulin_domain::person::{Phone, ResidenceStatus, SpecialGroup, SpecialGroups};
use mulin_domain::policy::{Action, Role};
use mulin_domain::request::Channel;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_domain::visit::{self, CoverageWindow, VisitKind, VisitMinutes};
use mulin_storage::{
    AuditEntry, LonLat, NodeRecord, Page, ResidentUpdate, StoreError, VisitFilter, VisitRecord,
};

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::requests::{self, NewRequest};
use crate::AppState;

/// How far back a visit may be logged.
pub const MAX_BACKDATE_DAYS: i64 = 30;

/// A change to a visited resident's record, as sent.
#[derive(Clone, Debug, Default)]
pub struct NewUpdate {
    /// Whom (a member of a visited household).
    pub resident: String,
    /// A new phone.
    pub phone: Option<String>,
    /// A new residence status code.
    pub status: Option<String>,
    /// The new tag set (special-group codes; `elderly` is derived and ignored).
    pub groups: Option<Vec<String>>,
}

/// A visit as sent.
#[derive(Clone, Debug, Default)]
pub struct NewVisit {
    /// `home_visit` or `patrol`.
    pub kind: String,
    /// When it started (default now).
    pub visited_at: Option<DateTime<Utc>>,
    /// How long it took.
    pub minutes: u32,
    /// The grid, for a patrol that called on no household (else the households' grid).
    pub grid: Option<NodeId>,
    /// The households called on.
    pub households: Vec<NodeId>,
    /// What was found.
    pub findings: String,
    /// Optional evidence of where.
    pub position: Option<LonLat>,
    /// Record updates.
    pub updates: Vec<NewUpdate>,
}

fn invalid(_: impl std::fmt::Debug) -> WebError {
    WebError::Invalid("visit.error.input")
}

/// A node of the caller's district, or "not found".
async fn node(state: &AppState, auth: &AuthUser, id: NodeId) -> Result<NodeRecord, WebError> {
    state
        .store
        .node(auth.user.district, id)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => WebError::NotFound,
            other => other.into(),
        })
}

fn audit_entry(
    state: &AppState,
    auth: &AuthUser,
    action: &str,
    target: (&str, String),
    detail: String,
) -> AuditEntry {
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
        detail,
    }
}

/// Logs a visit: the policy must allow logging in its grid, every household must lie in
/// it, and every update must name a member of a visited household the caller may edit.
/// The visit, the updates and their audit records land in one transaction.
pub async fn log(
    state: &AppState,
    auth: &AuthUser,
    input: NewVisit,
) -> Result<VisitRecord, WebError> {
    let kind =
        VisitKind::parse(input.kind.trim()).map_err(|_| WebError::Invalid("visit.error.kind"))?;
    let minutes =
        VisitMinutes::new(input.minutes).map_err(|_| WebError::Invalid("visit.error.minutes"))?;
    let findings =
        visit::findings(&input.findings).map_err(|_| WebError::Invalid("visit.error.findings"))?;
    let mut households = input.households.clone();
    households.sort();
    households.dedup();
    visit::check_households(kind, households.len())
        .map_err(|_| WebError::Invalid("visit.error.households"))?;
    let now = state.clock.now();
    let visited_at = input.visited_at.unwrap_or(now);
    if visited_at > now + Duration::minutes(5)
        || visited_at < now - Duration::days(MAX_BACKDATE_DAYS)
    {
        return Err(WebError::Invalid("visit.error.time"));
    }
    if let Some(pos) = input.position {
        if !(-180.0..=180.0).contains(&pos.lon) || !(-90.0..=90.0).contains(&pos.lat) {
            return Err(WebError::Invalid("visit.error.position"));
        }
    }
    let grid_id = match (input.grid, households.first()) {
        (Some(grid), _) => grid,
        (None, Some(first)) => node(state, auth, *first)
            .await?
            .path
            .at(NodeKind::Grid)
            .ok_or(WebError::NotFound)?,
        (None, None) => return Err(WebError::Invalid("visit.error.grid")),
    };
    let grid = node(state, auth, grid_id).await?;
    if grid.path.kind() != NodeKind::Grid || !auth.principal.allows(Action::LogVisits, &grid.path) {
        return Err(WebError::NotFound);
    }
    for id in &households {
        let household = node(state, auth, *id).await?;
        if household.path.kind() != NodeKind::Household
            || !household.path.is_within(NodeKind::Grid, grid_id)
        {
            return Err(WebError::Invalid("visit.error.households"));
        }
    }
    let record = VisitRecord {
        id: uuid::Uuid::now_v7(),
        district: auth.user.district,
        grid: grid.path,
        kind,
        visited_at,
        minutes: minutes.get(),
        visitor: auth.user.id,
        visitor_name: auth.user.display_name.clone(),
        findings,
        position: input.position,
        request: None,
        households,
    };
    let mut updates = Vec::new();
    let mut audit = vec![audit_entry(
        state,
        auth,
        "visit.create",
        ("visit", record.id.to_string()),
        format!("{} {} households", kind.as_str(), record.households.len()),
    )];
    for update in input.updates {
        let (update, fields) = check_update(state, auth, &record, update).await?;
        audit.push(audit_entry(
            state,
            auth,
            "resident.update",
            ("resident", update.resident.to_string()),
            format!("visit {}: {}", record.id, fields.join(",")),
        ));
        updates.push(update);
    }
    state.store.insert_visit(&record, &updates, &audit).await?;
    Ok(record)
}

async fn check_update(
    state: &AppState,
    auth: &AuthUser,
    visit: &VisitRecord,
    input: NewUpdate,
) -> Result<(ResidentUpdate, Vec<&'static str>), WebError> {
    let id: ResidentId = input.resident.parse().map_err(|_| WebError::NotFound)?;
    let resident = state.store.resident(auth.user.district, id).await?;
    let household = resident.household.id();
    if !visit.households.contains(&household)
        || !auth
            .principal
            .allows(Action::EditRegistry, &resident.household)
    {
        return Err(WebError::Invalid("visit.error.update"));
    }
    let mut fields = Vec::new();
    let phone = match input.phone.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => {
            fields.push("phone");
            Some(Phone::parse(text).map_err(|_| WebError::Invalid("visit.error.phone"))?)
        }
        _ => None,
    };
    let status = match input.status.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => {
            fields.push("status");
            Some(ResidenceStatus::parse(text).map_err(invalid)?)
        }
        _ => None,
    };
    let groups = match input.groups {
        Some(codes) => {
            fields.push("groups");
            let tags = codes
                .iter()
                .map(|code| SpecialGroup::parse(code.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?;
            Some(SpecialGroups::from_tags(tags))
        }
        None => None,
    };
    if fields.is_empty() {
        return Err(WebError::Invalid("visit.error.update"));
    }
    Ok((
        ResidentUpdate {
            resident: id,
            household,
            phone,
            status,
            groups,
        },
        fields,
    ))
}

/// One visit the caller may see.
pub async fn get(state: &AppState, auth: &AuthUser, id: &str) -> Result<VisitRecord, WebError> {
    let id: uuid::Uuid = id.parse().map_err(|_| WebError::NotFound)?;
    let visit = state.store.visit(auth.user.district, id).await?;
    if !auth.principal.allows(Action::ViewVisits, &visit.grid) {
        return Err(WebError::NotFound);
    }
    Ok(visit)
}

/// Visits the caller may see under `under` (default: all), optionally only their own.
pub async fn list(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    mine: bool,
    page: u32,
    per_page: u32,
) -> Result<Page<VisitRecord>, WebError> {
    let scopes = scopes(state, auth, under).await?;
    let filter = VisitFilter {
        visitor: mine.then_some(auth.user.id),
        page,
        per_page,
    };
    Ok(state
        .store
        .search_visits(auth.user.district, &scopes, &filter)
        .await?)
}

/// The subtrees the caller may see visits in under `under`: a caller with no such role is
/// refused, an `under` outside their scope is not found.
async fn scopes(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
) -> Result<Vec<NodePath>, WebError> {
    if !auth.principal.allows_anywhere(Action::ViewVisits) {
        return Err(WebError::Forbidden);
    }
    match under {
        Some(id) => {
            let under = node(state, auth, id).await?;
            let scopes = auth.principal.scopes_under(Action::ViewVisits, &under.path);
            if scopes.is_empty() {
                return Err(WebError::NotFound);
            }
            Ok(scopes)
        }
        None => Ok(auth.principal.roots(Action::ViewVisits)),
    }
}

/// Turns a visit's finding into a request in one step: taken in through the usual intake
/// with channel `patrol` at one of the visit's households (or the first), then linked to
/// the visit. A visit becomes at most one request.
pub async fn to_request(
    state: &AppState,
    auth: &AuthUser,
    id: &str,
    service_code: String,
    household: Option<NodeId>,
    description: Option<String>,
) -> Result<(VisitRecord, RequestId), WebError> {
    let visit = get(state, auth, id).await?;
    if !auth.principal.allows(Action::LogVisits, &visit.grid) {
        return Err(WebError::NotFound);
    }
    if visit.request.is_some() {
        return Err(WebError::Invalid("visit.error.already_request"));
    }
    let place = match household {
        Some(h) if visit.households.contains(&h) => h,
        Some(_) => return Err(WebError::Invalid("visit.error.households")),
        None => *visit
            .households
            .first()
            .ok_or(WebError::Invalid("visit.error.households"))?,
    };
    let description = description
        .filter(|text| !text.trim().is_empty())
        .unwrap_or_else(|| visit.findings.clone());
    let request = requests::submit(
        state,
        auth,
        NewRequest {
            service_code,
            description,
            address_node: Some(place),
            channel: Some(Channel::Patrol),
            ..NewRequest::default()
        },
    )
    .await?;
    let audit = audit_entry(
        state,
        auth,
        "visit.request",
        ("visit", visit.id.to_string()),
        format!("request {}", request.id),
    );
    state
        .store
        .link_visit_request(auth.user.district, visit.id, request.id, &audit)
        .await?;
    Ok((
        VisitRecord {
            request: Some(request.id),
            ..visit
        },
        request.id,
    ))
}

/// One grid's coverage.
#[derive(Clone, Debug)]
pub struct CoverageRow {
    /// The grid.
    pub grid: NodeRecord,
    /// Households in it.
    pub households: i64,
    /// Not visited in the window.
    pub not_visited: i64,
    /// Visits in the window.
    pub visits: i64,
    /// Their minutes.
    pub visit_minutes: i64,
    /// Grid workers posted there (granted the role at the grid).
    pub workers: i64,
    /// Their working minutes in the window on the work calendar.
    pub working_minutes: i64,
    /// Visit minutes over working minutes.
    pub share: Option<f64>,
}

/// Coverage per grid under `under` (default: the caller's scopes) over the last `days`.
pub async fn coverage(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    window: CoverageWindow,
) -> Result<Vec<CoverageRow>, WebError> {
    let district = auth.user.district;
    let today = state.clock.today();
    let first = window.first_day(today);
    let since = crate::clock::china_day_start(first);
    let calendar = state.calendars.of(district).await?;
    let per_worker = window.working_minutes(today, &calendar);
    let mut rows = Vec::new();
    for scope in scopes(state, auth, under).await? {
        for found in state.store.visit_coverage(district, &scope, since).await? {
            let grid = state.store.node(district, found.grid).await?;
            let workers = state
                .store
                .users_granted_at(district, found.grid)
                .await?
                .iter()
                .filter(|(_, role)| *role == Role::GridWorker)
                .count() as i64;
            let working_minutes = per_worker * workers;
            rows.push(CoverageRow {
                grid,
                households: found.households,
                not_visited: found.not_visited,
                visits: found.visits,
                visit_minutes: found.visit_minutes,
                workers,
                working_minutes,
                share: visit::visiting_share(found.visit_minutes, working_minutes),
            });
        }
    }
    rows.sort_by(|a, b| {
        a.grid
            .sort_key
            .cmp(&b.grid.sort_key)
            .then(a.grid.name.cmp(&b.grid.name))
    });
    Ok(rows)
}

/// The households of the caller's grids a visit form offers, with each one's label
/// (compound, building, entrance, household).
pub async fn household_choices(
    state: &AppState,
    auth: &AuthUser,
) -> Result<Vec<(NodeRecord, String)>, WebError> {
    let district = auth.user.district;
    let mut out = Vec::new();
    for root in auth.principal.roots(Action::LogVisits) {
        let nodes = state
            .store
            .subtree(district, &root, NodeKind::Household)
            .await?;
        let names: std::collections::HashMap<NodeId, String> = nodes
            .iter()
            .map(|n| (n.path.id(), n.name.clone()))
            .collect();
        for household in nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Household)
        {
            let label: String = [NodeKind::Compound, NodeKind::Building, NodeKind::Entrance]
                .iter()
                .filter_map(|kind| household.path.at(*kind).and_then(|id| names.get(&id)))
                .chain([&household.name])
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            out.push((household.clone(), label));
        }
    }
    Ok(out)
}
