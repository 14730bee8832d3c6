//! Visit pages, phone first: log a visit in a few taps (kind, time, households picked from
//! the worker's grid with a filter box, findings), the visit with a one-step "make it a
//! request", my visits with the coverage of my grids, and the floating population.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use mulin_domain::ids::NodeId;
use mulin_domain::movement::Month;
use mulin_domain::policy::Action;
use mulin_domain::request::SERVICE_CATALOGUE;
use mulin_domain::visit::{CoverageWindow, VisitKind};
use mulin_storage::VisitRecord;

use super::{check_form, page, with_lang, Layout};
use crate::auth::PageUser;
use crate::clock::china;
use crate::error::{PageError, WebError};
use crate::visits::{self, NewVisit};
use crate::{floating, AppState};

/// The visit page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/visits", get(view_visits_get).post(view_visits_post))
        .route("/visits/new", get(view_visit_new_get))
        .route("/visits/{id}", get(view_visit_get))
        .route("/visits/{id}/request", post(view_visit_request_post))
        .route("/floating", get(view_floating_get))
        .route("/care", get(view_care_get))
}

/// A time as shown on the page: in China time, in which the form's time is also entered.
fn china_text(at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&china()).format(format).to_string()
}

fn from_china_local(text: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
    local
        .and_local_timezone(china())
        .single()
        .map(|at| at.with_timezone(&Utc))
}

/// A row of the visit list.
struct VisitRow {
    id: String,
    kind: String,
    at: String,
    minutes: u32,
    households: usize,
    findings: String,
    request: Option<String>,
}

impl VisitRow {
    fn new(l: &Layout, v: &VisitRecord) -> VisitRow {
        VisitRow {
            id: v.id.to_string(),
            kind: l.t.code("visit_kind", v.kind.as_str()),
            at: china_text(v.visited_at, "%m-%d %H:%M"),
            minutes: v.minutes,
            households: v.households.len(),
            findings: v.findings.clone(),
            request: v.request.map(|id| id.to_string()),
        }
    }
}

/// A row of the coverage table.
struct CoverageLine {
    grid: String,
    households: i64,
    not_visited: i64,
    visits: i64,
    share: String,
}

#[derive(Template)]
#[template(path = "visits.html")]
struct VisitsPage {
    l: Layout,
    rows: Vec<VisitRow>,
    coverage: Vec<CoverageLine>,
    days: u32,
    can_log: bool,
}

async fn view_visits_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let found = visits::list(&state, &user.auth, None, true, 1, 100)
        .await
        .map_err(with_lang(lang))?;
    let window = CoverageWindow::default();
    let coverage = visits::coverage(&state, &user.auth, None, window)
        .await
        .map_err(with_lang(lang))?;
    let l = Layout::for_user(&state, &user, &uri);
    let rows = found.items.iter().map(|v| VisitRow::new(&l, v)).collect();
    page(&VisitsPage {
        rows,
        coverage: coverage
            .into_iter()
            .map(|c| CoverageLine {
                grid: c.grid.name,
                households: c.households,
                not_visited: c.not_visited,
                visits: c.visits,
                share: c
                    .share
                    .map(|s| format!("{:.0}%", s * 100.0))
                    .unwrap_or_else(|| "—".into()),
            })
            .collect(),
        days: window.days(),
        can_log: user.auth.principal.allows_anywhere(Action::LogVisits),
        l,
    })
    .map_err(with_lang(lang))
}

/// A household the form offers.
struct HouseholdOption {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "visit_new.html")]
struct VisitNewPage {
    l: Layout,
    kinds: Vec<(&'static str, String)>,
    now_local: String,
    households: Vec<HouseholdOption>,
    error: Option<String>,
}

async fn new_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    if !user.auth.principal.allows_anywhere(Action::LogVisits) {
        return Err(WebError::Forbidden);
    }
    let l = Layout::for_user(state, user, uri);
    let households = visits::household_choices(state, &user.auth)
        .await?
        .into_iter()
        .map(|(node, label)| HouseholdOption {
            id: node.path.id().to_string(),
            label,
        })
        .collect();
    page(&VisitNewPage {
        kinds: VisitKind::ALL
            .iter()
            .map(|k| (k.as_str(), l.t.code("visit_kind", k.as_str())))
            .collect(),
        now_local: china_text(state.clock.now(), "%Y-%m-%dT%H:%M"),
        households,
        error,
        l,
    })
}

async fn view_visit_new_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    new_page(&state, &user, &uri, None)
        .await
        .map_err(with_lang(user.lang))
}

/// The form, read as pairs: `household` repeats once per box ticked.
fn new_visit(pairs: &[(String, String)]) -> NewVisit {
    let one = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    NewVisit {
        kind: one("kind"),
        visited_at: from_china_local(&one("visited_at")),
        // An unreadable number reaches the domain as 0 and is refused there.
        minutes: one("minutes").trim().parse().unwrap_or(0),
        grid: None,
        households: pairs
            .iter()
            .filter(|(k, _)| k == "household")
            .filter_map(|(_, v)| v.parse::<NodeId>().ok())
            .collect(),
        findings: one("findings"),
        position: None,
        updates: Vec::new(),
    }
}

async fn view_visits_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("visit.error.input")))?;
    match visits::log(&state, &user.auth, new_visit(&pairs)).await {
        Ok(visit) => Ok(Redirect::to(&format!("/visits/{}", visit.id)).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(new_page(&state, &user, &uri, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    l: Layout,
    v: VisitRow,
    visitor: String,
    households: Vec<HouseholdOption>,
    services: Vec<(&'static str, String)>,
    can_request: bool,
    error: Option<String>,
}

async fn visit_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: &str,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let visit = visits::get(state, &user.auth, id).await?;
    let l = Layout::for_user(state, user, uri);
    let mut households = Vec::new();
    for id in &visit.households {
        let node = state.store.node(user.auth.user.district, *id).await?;
        households.push(HouseholdOption {
            id: id.to_string(),
            label: node.address.unwrap_or(node.name),
        });
    }
    page(&VisitPage {
        v: VisitRow::new(&l, &visit),
        visitor: visit.visitor_name.clone(),
        can_request: visit.request.is_none()
            && !visit.households.is_empty()
            && user.auth.principal.allows(Action::LogVisits, &visit.grid),
        services: SERVICE_CATALOGUE
            .iter()
            .map(|s| (s.code, l.t.code("service", s.code)))
            .collect(),
        households,
        error,
        l,
    })
}

async fn view_visit_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    visit_page(&state, &user, &uri, &id, None)
        .await
        .map_err(with_lang(user.lang))
}

#[derive(serde::Deserialize)]
struct RequestForm {
    service_code: String,
    household: Option<String>,
}

async fn view_visit_request_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let form: RequestForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("visit.error.input")))?;
    let household = form.household.and_then(|h| h.parse().ok());
    match visits::to_request(&state, &user.auth, &id, form.service_code, household, None).await {
        Ok((_, request)) => Ok(Redirect::to(&format!("/requests/{request}")).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(visit_page(&state, &user, &uri, &id, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

/// A row of the floating-population lists.
struct MoveRow {
    resident_id: String,
    name: String,
    on: String,
    reason: String,
}

/// A month of the dynamics table.
struct MonthRow {
    month: String,
    moved_in: u32,
    moved_out: u32,
    present: u32,
}

#[derive(Template)]
#[template(path = "floating.html")]
struct FloatingPage {
    l: Layout,
    current: Vec<MoveRow>,
    past: Vec<MoveRow>,
    months: Vec<MonthRow>,
}

async fn view_floating_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let auth = &user.auth;
    let rows = |list: Vec<mulin_storage::MovementRecord>| {
        list.into_iter()
            .map(|m| MoveRow {
                resident_id: m.resident.to_string(),
                name: m.resident_name,
                on: m.on.to_string(),
                reason: m.reason,
            })
            .collect::<Vec<_>>()
    };
    let current = floating::list(&state, auth, None, true)
        .await
        .map_err(with_lang(lang))?;
    let past = floating::list(&state, auth, None, false)
        .await
        .map_err(with_lang(lang))?;
    // The last twelve months, this one included.
    let to = Month::of(state.clock.today());
    let from = Month::of(to.first_day() - Duration::days(334));
    let months = floating::dynamics(&state, auth, None, &from.to_string(), &to.to_string())
        .await
        .map_err(with_lang(lang))?
        .into_iter()
        .map(|f| MonthRow {
            month: f.month.to_string(),
            moved_in: f.moved_in,
            moved_out: f.moved_out,
            present: f.present_at_end,
        })
        .collect();
    page(&FloatingPage {
        l: Layout::for_user(&state, &user, &uri),
        current: rows(current),
        past: rows(past),
        months,
    })
    .map_err(with_lang(lang))
}

/// A member of the chosen group, as listed.
struct MemberRow {
    id: String,
    name: String,
    age: String,
    groups: String,
}

/// A sickbed, as listed.
struct SickbedRow {
    id: String,
    name: String,
    resident_id: String,
    team: String,
    next_due: String,
    days_overdue: i64,
}

#[derive(Template)]
#[template(path = "care.html")]
struct CarePage {
    l: Layout,
    /// Code, label, whether chosen.
    groups: Vec<(&'static str, String, bool)>,
    members: Vec<MemberRow>,
    sickbeds: Vec<SickbedRow>,
    overdue: usize,
    /// Only overdue sickbeds are listed.
    only_overdue: bool,
    /// The default day of a visit logged from the list.
    today: String,
    /// Whether the caller logs visits (the list's visit forms).
    can_log: bool,
}

#[derive(serde::Deserialize)]
struct CareQuery {
    group: Option<String>,
    /// `1`: list only overdue sickbeds.
    overdue: Option<String>,
}

async fn view_care_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    axum::extract::Query(query): axum::extract::Query<CareQuery>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let group = query.group.unwrap_or_else(|| "elderly".into());
    let only_overdue = query.overdue.as_deref() == Some("1");
    let found = crate::care::group_members(&state, &user.auth, None, &group, 1)
        .await
        .map_err(with_lang(lang))?;
    let beds = crate::care::sickbeds(&state, &user.auth, None)
        .await
        .map_err(with_lang(lang))?;
    let l = Layout::for_user(&state, &user, &uri);
    let today = state.clock.today();
    let members = found
        .items
        .iter()
        .map(|r| MemberRow {
            id: r.id.to_string(),
            name: r.name.as_ref().to_owned(),
            age: r
                .birth_date
                .map(|b| mulin_domain::person::age_on(b, today).to_string())
                .unwrap_or_default(),
            groups: r
                .groups
                .with_derived(r.birth_date, today)
                .iter()
                .map(|g| l.t.code("group", g.as_str()))
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect();
    let sickbeds: Vec<SickbedRow> = beds
        .iter()
        .map(|(s, late)| SickbedRow {
            id: s.id.to_string(),
            name: s.resident_name.clone(),
            resident_id: s.resident.to_string(),
            team: s.care_team.clone(),
            next_due: s.schedule.next_due(s.last_visit_on).to_string(),
            days_overdue: *late,
        })
        .collect();
    page(&CarePage {
        groups: mulin_domain::person::SpecialGroup::ALL
            .iter()
            .map(|g| {
                (
                    g.as_str(),
                    l.t.code("group", g.as_str()),
                    g.as_str() == group,
                )
            })
            .collect(),
        members,
        overdue: sickbeds.iter().filter(|s| s.days_overdue > 0).count(),
        sickbeds: if only_overdue {
            sickbeds
                .into_iter()
                .filter(|s| s.days_overdue > 0)
                .collect()
        } else {
            sickbeds
        },
        only_overdue,
        today: today.to_string(),
        can_log: user.auth.principal.allows_anywhere(Action::LogVisits),
        l,
    })
    .map_err(with_lang(lang))
}
