//! Request pages: the resident's form (phone-sized), the inbox (a grid worker's grid sorted
//! by the nearest deadline with live countdowns, a community's board, a liaison's whistles,
//! a resident's own requests), the request page with its timeline and the actions the
//! caller may take, and the KPI page. All of it goes through [`crate::requests`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use mulin_domain::deadline::EscalationLevel;
use mulin_domain::ids::{NodeId, RequestId};
use mulin_domain::org::Department;
use mulin_domain::policy::{Action, Role};
use mulin_domain::request::{
    transition, Command, EventKind, Rating, TransitionError, SERVICE_CATALOGUE,
};
use mulin_domain::tree::NodeKind;
use mulin_storage::{RequestEvent, RequestFilter, RequestOrder, RequestRecord};
use serde::Deserialize;

use super::{check_form, dashboard, page, parse_id, with_lang, Layout};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::i18n::Tr;
use crate::requests::{self, ActionInput, ListScope, NewRequest, RequestStats};
use crate::AppState;

/// The request page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(view_requests_get).post(view_requests_post))
        .route("/requests/new", get(view_request_new_get))
        .route("/requests/{id}", get(view_request_get))
        .route("/requests/{id}/actions", post(view_request_action_post))
        .route("/stats/requests", get(view_stats_get))
}

/// China time, for every instant shown on a page.
fn china(at: DateTime<Utc>) -> String {
    at.with_timezone(&crate::clock::china())
        .format("%m-%d %H:%M")
        .to_string()
}

/// A row of a request list.
struct RequestRow {
    id: String,
    title: String,
    service: String,
    status: String,
    address: String,
    /// The deadline the handler works against now, RFC 3339, for the countdown.
    due_iso: String,
    due_label: String,
    open: bool,
    breached: bool,
}

impl RequestRow {
    fn new(t: &Tr, r: &RequestRecord) -> RequestRow {
        let due = if r.arrived_at.is_none() {
            r.arrive_due
        } else {
            r.resolve_due
        };
        RequestRow {
            id: r.id.to_string(),
            title: r.title.clone(),
            service: t.code("service", &r.service_code),
            status: t.code("request_status", r.state.status.as_str()),
            address: r.address.clone().unwrap_or_default(),
            due_iso: due.to_rfc3339(),
            due_label: china(due),
            open: r.state.status.is_open(),
            breached: r.arrive_breached || r.resolve_breached || r.whistle_breached,
        }
    }
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    l: Layout,
    heading: &'static str,
    rows: Vec<RequestRow>,
    can_submit: bool,
    show_closed: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    all: Option<String>,
}

/// What the caller's inbox is: their scope's requests, the whistles addressed to a liaison,
/// or a resident's own.
fn inbox(user: &PageUser) -> (ListScope, &'static str) {
    let principal = &user.auth.principal;
    if principal.allows_anywhere(Action::ViewRequests) {
        (ListScope::Under(None), "requests.inbox")
    } else if principal
        .grants()
        .iter()
        .any(|g| g.role == Role::DepartmentLiaison)
    {
        (ListScope::Whistled, "requests.whistled")
    } else {
        (ListScope::Mine, "requests.mine")
    }
}

async fn view_requests_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let show_closed = query.all.is_some();
    let (scope, heading) = inbox(&user);
    let filter = RequestFilter {
        open_only: !show_closed,
        status: None,
        submitted_by: None,
        whistle_liaison: None,
        order: if show_closed {
            RequestOrder::Newest
        } else {
            RequestOrder::Deadline
        },
        page: 1,
        per_page: 200,
    };
    let found = requests::list(&state, &user.auth, scope, filter)
        .await
        .map_err(with_lang(lang))?;
    let l = Layout::for_user(&state, &user, &uri);
    let rows = found
        .items
        .iter()
        .map(|r| RequestRow::new(&l.t, r))
        .collect();
    page(&RequestsPage {
        can_submit: user.auth.principal.allows_anywhere(Action::SubmitRequests),
        l,
        heading,
        rows,
        show_closed,
    })
    .map_err(with_lang(lang))
}

/// A place the form offers.
struct PlaceOption {
    id: String,
    label: String,
}

/// A catalogue entry for the form.
struct ServiceOption {
    code: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "request_new.html")]
struct RequestNewPage {
    l: Layout,
    services: Vec<ServiceOption>,
    places: Vec<PlaceOption>,
    error: Option<String>,
}

/// The places a caller can raise a request for: a resident's household, or the buildings of
/// the caller's grids and communities.
async fn places(state: &AppState, user: &PageUser) -> Result<Vec<PlaceOption>, WebError> {
    let district = user.auth.user.district;
    let mut out = Vec::new();
    for root in user.auth.principal.roots(Action::SubmitRequests) {
        if root.kind() >= NodeKind::Building {
            let node = state.store.node(district, root.id()).await?;
            out.push(PlaceOption {
                id: node.path.id().to_string(),
                label: node.address.unwrap_or(node.name),
            });
            continue;
        }
        let nodes = state
            .store
            .subtree(district, &root, NodeKind::Building)
            .await?;
        let names: std::collections::HashMap<NodeId, String> = nodes
            .iter()
            .map(|n| (n.path.id(), n.name.clone()))
            .collect();
        for building in nodes.iter().filter(|n| n.path.kind() == NodeKind::Building) {
            let compound = building
                .path
                .at(NodeKind::Compound)
                .and_then(|id| names.get(&id))
                .cloned()
                .unwrap_or_default();
            out.push(PlaceOption {
                id: building.path.id().to_string(),
                label: format!("{compound}{}", building.name),
            });
        }
    }
    Ok(out)
}

async fn new_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let l = Layout::for_user(state, user, uri);
    let services = SERVICE_CATALOGUE
        .iter()
        .map(|s| ServiceOption {
            code: s.code,
            label: l.t.code("service", s.code),
        })
        .collect();
    let places = places(state, user).await?;
    page(&RequestNewPage {
        l,
        services,
        places,
        error,
    })
}

async fn view_request_new_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    new_page(&state, &user, &uri, None)
        .await
        .map_err(with_lang(user.lang))
}

#[derive(Deserialize)]
struct NewForm {
    service_code: String,
    description: String,
    place: String,
    reporter_phone: Option<String>,
}

async fn view_requests_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let form: NewForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("request.error.service")))?;
    // The channel follows from who fills the form: a resident online, a grid worker on
    // patrol, anyone else at the community's window.
    let has = |role: Role| user.auth.principal.grants().iter().any(|g| g.role == role);
    let channel = if has(Role::Resident) {
        mulin_domain::request::Channel::Web
    } else if has(Role::GridWorker) {
        mulin_domain::request::Channel::Patrol
    } else {
        mulin_domain::request::Channel::WalkIn
    };
    let input = NewRequest {
        service_code: form.service_code,
        description: form.description,
        address_node: form.place.parse().ok(),
        reporter_phone: form.reporter_phone,
        channel: Some(channel),
        ..NewRequest::default()
    };
    match requests::submit(&state, &user.auth, input).await {
        Ok(record) => Ok(Redirect::to(&format!("/requests/{}", record.id)).into_response()),
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

/// One timeline entry as shown.
struct EventRow {
    at: String,
    label: String,
    actor: String,
    note: String,
    detail: String,
}

/// An action button (or small form) the caller may use now.
struct ActionOption {
    action: &'static str,
    label: String,
    /// What the form asks for beyond the button: `note`, `stars`, `department`, `minutes`,
    /// `grid`, `passed`, `meeting`, `resolution`.
    needs: &'static str,
    /// What the text field asks for.
    hint: &'static str,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    l: Layout,
    r: RequestRow,
    description: String,
    severity: String,
    channel: String,
    level: String,
    received: String,
    arrive_due: String,
    resolve_due: String,
    rating: Option<u8>,
    events: Vec<EventRow>,
    actions: Vec<ActionOption>,
    departments: Vec<(String, String)>,
    grids: Vec<(String, String)>,
    duplicates: Vec<RequestRow>,
    /// Why this request cannot be merged into a duplicate now (then no merge button shows).
    merge_blocked: Option<&'static str>,
    /// The five steps, for a major request.
    major: Vec<MajorStep>,
    admission_pending: bool,
    today: String,
    error: Option<String>,
}

fn event_row(t: &Tr, e: &RequestEvent) -> EventRow {
    let detail = e
        .data
        .iter()
        .filter_map(|(key, value)| match key.as_str() {
            "department" => Some(t.code("department", value)),
            "level" => Some(t.code("level", value)),
            "deadline" => Some(t.code("deadline", value)),
            "stars" => Some(format!("{value}★")),
            "grid_name" | "into_title" | "attendees" | "meeting_date" => Some(value.clone()),
            "follow_up" => Some(format!("{}：{value}", t.get("requests.follow_up"))),
            "admission" => Some(t.get("requests.admission_pending").to_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" · ");
    EventRow {
        at: china(e.at),
        label: t.code("event", e.kind.as_str()),
        actor: if e.actor.is_none() {
            t.get("requests.system").to_owned()
        } else {
            e.actor_name.clone()
        },
        note: e.note.clone(),
        detail,
    }
}

/// A probe command per action, to ask the state machine and the policy which apply now.
fn probes() -> Vec<(&'static str, &'static str, Command)> {
    let grid = NodeId::from_uuid(uuid::Uuid::nil());
    let text = || "·".to_owned();
    vec![
        ("sign_for", "", Command::SignFor),
        ("arrive", "", Command::ArriveOnSite),
        ("solve", "note", Command::Solve { note: text() }),
        (
            "whistle",
            "department",
            Command::Whistle {
                department: Department::Water,
                note: text(),
            },
        ),
        ("acknowledge_whistle", "", Command::AcknowledgeWhistle),
        (
            "report_whistle",
            "note",
            Command::ReportWhistle { note: text() },
        ),
        (
            "request_extension",
            "minutes",
            Command::RequestExtension {
                minutes: 60,
                reason: text(),
            },
        ),
        ("approve_extension", "", Command::ApproveExtension),
        (
            "reject_extension",
            "note",
            Command::RejectExtension { reason: text() },
        ),
        ("escalate", "note", Command::Escalate { reason: text() }),
        ("return", "note", Command::Return { reason: text() }),
        ("dispatch", "grid", Command::Dispatch { grid }),
        ("reassign", "grid", Command::Reassign { grid }),
        (
            "verify",
            "passed",
            Command::Verify {
                passed: true,
                note: String::new(),
            },
        ),
        (
            "rate",
            "stars",
            Command::Rate {
                rating: Rating::BEST,
                comment: String::new(),
            },
        ),
        ("close", "", Command::Close),
        ("revisit", "note", Command::Revisit { note: text() }),
        ("note", "note", Command::Note { text: text() }),
        (
            "approve_admission",
            "note",
            Command::ApproveAdmission { reason: text() },
        ),
        (
            "collect_issue",
            "note",
            Command::CollectIssue { note: text() },
        ),
        (
            "propose_plan",
            "note",
            Command::ProposePlan { plan: text() },
        ),
        (
            "hold_meeting",
            "meeting",
            Command::HoldMeeting {
                held_on: chrono::NaiveDate::MIN,
                attendees: text(),
                minutes: text(),
            },
        ),
        (
            "record_resolution",
            "resolution",
            Command::RecordResolution {
                resolution: text(),
                follow_up: text(),
            },
        ),
    ]
}

/// One of the five steps of a major request (seed 003), done or still to come.
struct MajorStep {
    label: String,
    /// The event that recorded it, when done.
    done: Option<EventRow>,
}

/// The events recording each step of a major request, in order; the whistle step is the
/// first whistle after the plan.
fn major_steps(t: &Tr, events: &[RequestEvent]) -> Vec<MajorStep> {
    // A whistle before the plan belongs to no step (it cannot happen since the steps
    // exist, but requests taken in earlier may carry one).
    let after_plan = events
        .iter()
        .find(|e| e.kind == EventKind::PlanProposed)
        .map_or(i64::MAX, |e| e.seq);
    [
        EventKind::IssueCollected,
        EventKind::PlanProposed,
        EventKind::Whistled,
        EventKind::MeetingHeld,
        EventKind::ResolutionRecorded,
    ]
    .into_iter()
    .map(|kind| MajorStep {
        label: t.code("major_step", kind.as_str()),
        done: events
            .iter()
            .find(|e| e.kind == kind && (kind != EventKind::Whistled || e.seq > after_plan))
            .map(|e| event_row(t, e)),
    })
    .collect()
}

async fn request_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: RequestId,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let (r, events) = requests::detail(state, &user.auth, id).await?;
    let l = Layout::for_user(state, user, uri);
    let current = requests::admission_state(state, &r, &events).await?;
    let actions: Vec<ActionOption> = probes()
        .into_iter()
        .filter(|(_, _, command)| {
            requests::may_issue(&user.auth, &r, command) && transition(current, command).is_ok()
        })
        .map(|(action, needs, _)| ActionOption {
            action,
            label: l.t.code("action", action),
            needs,
            hint: match action {
                "collect_issue" => "requests.issue",
                "propose_plan" => "requests.plan",
                "hold_meeting" => "requests.minutes_text",
                "record_resolution" => "requests.resolution",
                "approve_admission" => "requests.admission_reason",
                _ => "requests.note",
            },
        })
        .collect();
    let departments = Department::ALL
        .iter()
        .map(|d| (d.as_str().to_owned(), l.t.code("department", d.as_str())))
        .collect();
    let grids = if actions.iter().any(|a| a.needs == "grid") {
        match r.place.at(NodeKind::Community) {
            Some(community) => state
                .store
                .children(r.district, community)
                .await?
                .into_iter()
                .map(|g| (g.path.id().to_string(), g.name))
                .collect(),
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let duplicates = requests::possible_duplicates(state, &user.auth, &r).await?;
    let t = &l.t;
    // A merge closes this request: offered only when the state machine would take it,
    // else the page says why (a major request first records its resolution).
    let merge_blocked = match transition(current, &Command::MergeInto { into: r.id }) {
        _ if duplicates.is_empty() => None,
        Ok(_) => None,
        Err(TransitionError::MajorStep) => Some(t.get("requests.merge_blocked_major")),
        Err(_) => Some(t.get("requests.merge_blocked")),
    };
    page(&RequestPage {
        merge_blocked,
        duplicates: duplicates.iter().map(|d| RequestRow::new(t, d)).collect(),
        r: RequestRow::new(t, &r),
        description: r.description.clone(),
        severity: t.code("severity", r.severity.as_str()),
        channel: t.code("channel", r.channel.as_str()),
        level: t.code("level", r.state.level.as_str()),
        received: china(r.received_at),
        arrive_due: china(r.arrive_due),
        resolve_due: china(r.resolve_due),
        rating: r.rating.map(|x| x.stars()),
        major: if r.state.major.is_some() {
            major_steps(t, &events)
        } else {
            Vec::new()
        },
        admission_pending: current.admission_pending,
        today: state.clock.today().to_string(),
        events: events.iter().map(|e| event_row(t, e)).collect(),
        actions,
        departments,
        grids,
        error,
        l,
    })
}

async fn view_request_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    request_page(&state, &user, &uri, id, None)
        .await
        .map_err(with_lang(lang))
}

async fn view_request_action_post(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let id: RequestId = parse_id(&id, lang)?;
    let form: ActionInput = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("request.error.action")))?;
    let result = match form.command() {
        Ok(command) => requests::command(&state, &user.auth, id, command).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(request_page(&state, &user, &uri, id, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

/// How one figure is read off a period's stats.
type FigureOf = fn(&RequestStats) -> String;

/// One figure of the dashboard, with the previous period's beside it.
struct Figure {
    label: String,
    now: String,
    before: String,
}

#[derive(Template)]
#[template(path = "request_stats.html")]
struct StatsPage {
    l: Layout,
    scope_name: String,
    figures: Vec<Figure>,
    scopes: Vec<dashboard::Choice>,
    periods: Vec<dashboard::Choice>,
    /// The charts' data (JSON, translated labels included).
    chart: String,
}

#[derive(Deserialize)]
struct StatsQuery {
    under: Option<String>,
    days: Option<i64>,
}

/// The count kept for `key` (none kept: zero).
fn count_of<K: PartialEq>(counts: &[(K, i64)], key: K) -> i64 {
    counts
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0, |(_, n)| *n)
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn minutes(value: Option<f64>) -> String {
    value
        .map(|m| format!("{m:.0}"))
        .unwrap_or_else(|| "—".into())
}

async fn view_stats_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Query(query): Query<StatsQuery>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let under = match query.under.as_deref() {
        Some(text) => parse_id(text, lang)?,
        None => user
            .auth
            .principal
            .roots(Action::ViewRequestStats)
            .first()
            .map(|p| p.id())
            .ok_or_else(|| with_lang(lang)(WebError::Forbidden))?,
    };
    let to = state.clock.now() + chrono::Duration::milliseconds(1);
    let days = query.days.unwrap_or(30).clamp(1, 3660);
    let from = to - chrono::Duration::days(days);
    let (now, before): (RequestStats, RequestStats) =
        requests::stats(&state, &user.auth, under, from, to)
            .await
            .map_err(with_lang(lang))?;
    let node = state
        .store
        .node(user.auth.user.district, under)
        .await
        .map_err(|e| with_lang(lang)(e.into()))?;
    let l = Layout::for_user(&state, &user, &uri);
    let rows: [(&str, FigureOf); 8] = [
        ("stats.total", |s| s.tallies.total.to_string()),
        ("stats.response_rate", |s| percent(s.response_rate)),
        ("stats.on_time_rate", |s| percent(s.on_time_rate)),
        ("stats.resolution_rate", |s| percent(s.resolution_rate)),
        ("stats.satisfaction_rate", |s| percent(s.satisfaction_rate)),
        ("stats.mean_minutes", |s| minutes(s.mean_handling_minutes)),
        ("stats.median_minutes", |s| {
            minutes(s.tallies.handling_minutes_median)
        }),
        ("stats.breaches", |s| s.tallies.breaches.to_string()),
    ];
    let mut figures: Vec<Figure> = rows
        .iter()
        .map(|(key, f)| Figure {
            label: l.t.get(key).to_owned(),
            now: f(&now),
            before: f(&before),
        })
        .collect();
    for level in EscalationLevel::ALL.iter().copied() {
        figures.push(Figure {
            label: format!(
                "{} · {}",
                l.t.get("stats.breaches_at_level"),
                l.t.get(&format!("level.{level}"))
            ),
            now: count_of(&now.tallies.breaches_by_level, level).to_string(),
            before: count_of(&before.tallies.breaches_by_level, level).to_string(),
        });
    }
    // Only the departments that missed a whistle in either period: most never do.
    let mut departments: Vec<Department> = now
        .tallies
        .breaches_by_department
        .iter()
        .chain(&before.tallies.breaches_by_department)
        .map(|(d, _)| *d)
        .collect();
    departments.sort();
    departments.dedup();
    for dept in departments {
        figures.push(Figure {
            label: format!(
                "{} · {}",
                l.t.get("stats.breaches_of_department"),
                l.t.get(&format!("department.{dept}"))
            ),
            now: count_of(&now.tallies.breaches_by_department, dept).to_string(),
            before: count_of(&before.tallies.breaches_by_department, dept).to_string(),
        });
    }
    let chart = dashboard::chart_json(&state, &user.auth, &node, (from, to), (&now, &before), &l.t)
        .await
        .map_err(with_lang(lang))?;
    let scopes = dashboard::scope_choices(&state, &user.auth, &node)
        .await
        .map_err(with_lang(lang))?;
    let periods = dashboard::period_choices(&l.t, days);
    page(&StatsPage {
        l,
        scope_name: node.name,
        figures,
        scopes,
        periods,
        chart,
    })
    .map_err(with_lang(lang))
}
