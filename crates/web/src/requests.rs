//! Requests on a caller's behalf: intake and routing, every lifecycle command, the deadline
//! scheduler and the KPI figures. The API, the pages and Open311 all come through here, so
//! the policy is asked in one place and every change lands with its timeline event.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mulin_domain::deadline::{DeadlinePolicy, Deadlines, EscalationLevel, Limit, Severity};
use mulin_domain::ids::{DistrictId, NodeId, NotificationId, RequestId, UserId};
use mulin_domain::person::Phone;
use mulin_domain::policy::{Action, Role};
use mulin_domain::request::{
    service_type, transition, Actor, Channel, Command, DeadlineKind, EventKind, MajorStage,
    RequestState, RequestStatus, TransitionError,
};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    HotlineCallbackRecord, Intake, LonLat, NotificationRecord, Page, Place, RequestChange,
    RequestEvent, RequestFilter, RequestRecord, RequestTallies, StoreError,
};

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::AppState;

/// The most characters of a description.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// The most characters of a title.
pub const MAX_TITLE_CHARS: usize = 100;

/// A request as taken in, before routing.
#[derive(Clone, Debug, Default)]
pub struct NewRequest {
    /// Catalogue code.
    pub service_code: String,
    /// A short summary (defaults to the start of the description).
    pub title: Option<String>,
    /// The resident's words.
    pub description: String,
    /// How it came in.
    pub channel: Option<Channel>,
    /// A building, entrance or household of the standard address.
    pub address_node: Option<NodeId>,
    /// A map pin.
    pub position: Option<LonLat>,
    /// Free-text address, when no node is given.
    pub address_text: Option<String>,
    /// The community to queue it at when neither an address nor a pin routes it.
    pub community: Option<NodeId>,
    /// Severity, when staff classify at intake.
    pub severity: Option<Severity>,
    /// Who raised it.
    pub reporter_name: Option<String>,
    /// Their phone.
    pub reporter_phone: Option<String>,
    /// When it was first received elsewhere (a hotline); deadlines count from then.
    pub received_at: Option<DateTime<Utc>>,
    /// A resolve limit set by the sender (a hotline's working days), instead of the
    /// community's.
    pub resolve_limit: Option<Limit>,
    /// The sender's work order number.
    pub external_ref: Option<String>,
}

/// Who is acting: an account, or the scheduler.
#[derive(Clone, Debug)]
pub struct ActorInfo {
    /// The account (none for the scheduler).
    pub user: Option<UserId>,
    /// The name written on the timeline.
    pub name: String,
}

impl ActorInfo {
    fn of(auth: &AuthUser) -> ActorInfo {
        ActorInfo {
            user: Some(auth.user.id),
            name: auth.user.display_name.clone(),
        }
    }

    fn system() -> ActorInfo {
        ActorInfo {
            user: None,
            name: "system".to_owned(),
        }
    }
}

fn text_field(
    text: &str,
    max: usize,
    required: bool,
    key: &'static str,
) -> Result<String, WebError> {
    let text = text.trim();
    let n = text.chars().count();
    if (required && n == 0) || n > max {
        return Err(WebError::Invalid(key));
    }
    Ok(text.to_owned())
}

/// The deadline policy of the community a place lies in: its own if it set one, else the
/// default "1341".
pub async fn policy_for(
    state: &AppState,
    district: DistrictId,
    place: &NodePath,
) -> Result<DeadlinePolicy, WebError> {
    Ok(match place.at(NodeKind::Community) {
        Some(community) => state.caches.deadline_policy(district, community).await?,
        None => None,
    }
    .unwrap_or_else(DeadlinePolicy::default_1341))
}

/// Where a new request is: its place in the tree and whether it reached a grid.
async fn route(
    state: &AppState,
    district: DistrictId,
    input: &NewRequest,
) -> Result<(NodePath, Option<String>), WebError> {
    if let Some(id) = input.address_node {
        let (node, compound_name) = state.store.address_node(district, id).await?;
        if node.path.kind() < NodeKind::Community {
            return Err(WebError::Invalid("request.error.place"));
        }
        // Households carry their full standard address; a building or entrance is named
        // after its compound ("阳光小区" + "3号楼").
        let address = match (node.address, compound_name) {
            (Some(address), _) => address,
            (None, Some(compound)) => format!("{compound}{}", node.name),
            (None, None) => node.name,
        };
        return Ok((node.path, Some(address)));
    }
    if let Some(pos) = input.position {
        // A pin routes by the grid boundaries (point-in-polygon, `grids::GridRouter`).
        if let Some(grid) = state.grids.locate(district, pos.lon, pos.lat).await? {
            let node = state.store.node(district, grid).await?;
            return Ok((node.path, input.address_text.clone()));
        }
    }
    if let Some(id) = input.community {
        let node = state.store.node(district, id).await?;
        // A finer node given as "community" still routes by where it is.
        if node.path.kind() < NodeKind::Community {
            return Err(WebError::Invalid("request.error.place"));
        }
        return Ok((node.path, input.address_text.clone()));
    }
    Err(WebError::Invalid("request.error.place"))
}

/// Where a request given by location is, for channels that know no place of the tree
/// (Open311): a node of the standard address (a building, entrance or household), else a
/// map point, else a free-text address. The one place that turns a location into a place:
/// point routing (grid cells) plugs in here.
///
/// Until points can be routed, a point or a bare address text is refused with
/// `request.error.unroutable` rather than being queued nowhere.
pub async fn locate(
    state: &AppState,
    district: DistrictId,
    node: Option<NodeId>,
    position: Option<LonLat>,
    address_text: Option<&str>,
) -> Result<(NodePath, Option<String>), WebError> {
    if let Some(id) = node {
        // The standard address is named as every other channel names it.
        let by_node = NewRequest {
            address_node: Some(id),
            ..NewRequest::default()
        };
        return match route(state, district, &by_node).await {
            Ok((place, address)) if place.kind() >= NodeKind::Building => Ok((place, address)),
            Ok(_) | Err(WebError::Invalid(_)) => {
                Err(WebError::Invalid("request.error.address_node"))
            }
            Err(other) => Err(other),
        };
    }
    if position.is_some() {
        let by_point = NewRequest {
            position,
            address_text: address_text.map(str::to_owned),
            ..NewRequest::default()
        };
        return match route(state, district, &by_point).await {
            Ok(found) => Ok(found),
            // A point outside every grid of the district.
            Err(WebError::Invalid(_)) => Err(WebError::Invalid("request.error.unroutable")),
            Err(other) => Err(other),
        };
    }
    if address_text.is_some_and(|text| !text.trim().is_empty()) {
        return Err(WebError::Invalid("request.error.unroutable"));
    }
    Err(WebError::Invalid("request.error.place"))
}

/// Users to tell about a request at `level`: those granted a working role at that level's
/// node on the request's path or, when nobody is, at the next level up the ladder (and
/// finally the district).
async fn recipients(
    state: &AppState,
    district: DistrictId,
    place: &NodePath,
    level: EscalationLevel,
) -> Result<Vec<UserId>, WebError> {
    let ladder = std::iter::successors(Some(level), |l| l.next())
        .map(EscalationLevel::node_kind)
        .chain([NodeKind::District]);
    for kind in ladder {
        let Some(node) = place.at(kind) else {
            continue;
        };
        let mut users: Vec<UserId> = state
            .caches
            .granted_at(district, node)
            .await?
            .iter()
            .filter(|(_, role)| {
                matches!(
                    role,
                    Role::GridWorker | Role::CommunityStaff | Role::StreetAdmin | Role::Admin
                )
            })
            .map(|(user, _)| *user)
            .collect();
        users.dedup();
        if !users.is_empty() {
            return Ok(users);
        }
    }
    Ok(Vec::new())
}

fn notifications(
    request: &RequestRecord,
    users: &[UserId],
    kind: &str,
    at: DateTime<Utc>,
) -> Vec<NotificationRecord> {
    users
        .iter()
        .map(|user| NotificationRecord {
            id: NotificationId::new_v7(),
            district: request.district,
            user: *user,
            at,
            kind: kind.to_owned(),
            request: request.id,
            text: request.title.clone(),
            read: false,
        })
        .collect()
}

fn event(
    seq: i64,
    at: DateTime<Utc>,
    kind: EventKind,
    actor: &ActorInfo,
    note: &str,
    data: Vec<(&str, String)>,
) -> RequestEvent {
    RequestEvent {
        seq,
        at,
        kind,
        actor: actor.user,
        actor_name: actor.name.clone(),
        note: note.to_owned(),
        data: data
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    }
}

/// Takes in a request from a logged-in caller: checks the catalogue and the caller's right
/// to raise a request there, routes it, computes its deadlines and stores it with its first
/// events, telling the grid (or the community's queue).
pub async fn submit(
    state: &AppState,
    auth: &AuthUser,
    input: NewRequest,
) -> Result<RequestRecord, WebError> {
    let district = auth.user.district;
    let located = route(state, district, &input).await?;
    if !auth.principal.allows(Action::SubmitRequests, &located.0) {
        // Outside the caller's scope looks the same as a place that does not exist.
        return Err(WebError::NotFound);
    }
    let channel = input.channel.unwrap_or(Channel::Api);
    take_in(
        state,
        district,
        located,
        input,
        channel,
        &ActorInfo::of(auth),
        IntakeExtras::default(),
    )
    .await
}

/// How far back a hotline may date a work order's receipt.
const MAX_BACKDATE_DAYS: i64 = 30;

/// Takes in a city 12345 hotline work order once: staff of the community (or an account
/// the hotline integration uses) send it with its order number, and where its results go
/// (a checked callback URL and secret, recorded with the new request); sending it again
/// returns the request already made. Returns the request and whether it is new.
pub async fn take_in_hotline(
    state: &AppState,
    auth: &AuthUser,
    order_no: &str,
    mut input: NewRequest,
    callback: Option<(String, Option<String>)>,
) -> Result<(RequestRecord, bool), WebError> {
    let order_no = text_field(order_no, 64, true, "request.error.order_no")?;
    let district = auth.user.district;
    let located = route(state, district, &input).await?;
    if !auth.principal.allows(Action::ManageRequests, &located.0) {
        return Err(WebError::NotFound);
    }
    match state
        .store
        .request_by_external_ref(district, &order_no)
        .await
    {
        Ok(existing) => return Ok((existing, false)),
        Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    input.external_ref = Some(order_no.clone());
    let extras = IntakeExtras {
        callback,
        ..IntakeExtras::default()
    };
    match take_in(
        state,
        district,
        located,
        input,
        Channel::Hotline,
        &ActorInfo::of(auth),
        extras,
    )
    .await
    {
        Ok(record) => Ok((record, true)),
        // Sent twice at the same moment: the other one won.
        Err(WebError::Conflict(_)) => Ok((
            state
                .store
                .request_by_external_ref(district, &order_no)
                .await?,
            false,
        )),
        Err(other) => Err(other),
    }
}

/// A hotline work order's request, for the hotline to read the result back.
pub async fn hotline_order(
    state: &AppState,
    auth: &AuthUser,
    order_no: &str,
) -> Result<(RequestRecord, Vec<RequestEvent>), WebError> {
    let request = state
        .store
        .request_by_external_ref(auth.user.district, order_no.trim())
        .await?;
    detail(state, auth, request.id).await
}

/// A channel's audit record of an intake; the actor and the request are the intake's.
#[derive(Clone, Debug)]
pub struct IntakeAudit {
    /// What is recorded (`open311.submit`).
    pub action: &'static str,
    /// The client's address.
    pub ip: Option<String>,
    /// A short detail.
    pub detail: String,
}

/// What an intake writes beside its request, in the same transaction.
#[derive(Clone, Debug, Default)]
pub struct IntakeExtras {
    /// The channel's audit record of the intake.
    pub audit: Option<IntakeAudit>,
    /// A hotline's callback URL and signing secret, as checked by
    /// [`crate::notify::check_callback`].
    pub callback: Option<(String, Option<String>)>,
}

/// The intake shared by every channel once the place (and its address text, from
/// [`locate`] or the routing) is known and allowed.
pub async fn take_in(
    state: &AppState,
    district: DistrictId,
    (place, address): (NodePath, Option<String>),
    input: NewRequest,
    channel: Channel,
    actor: &ActorInfo,
    extras: IntakeExtras,
) -> Result<RequestRecord, WebError> {
    let service = service_type(input.service_code.trim())
        .ok_or(WebError::Invalid("request.error.service"))?;
    let description = text_field(
        &input.description,
        MAX_DESCRIPTION_CHARS,
        true,
        "request.error.description",
    )?;
    let title = match input.title.as_deref().map(str::trim) {
        Some(title) if !title.is_empty() => {
            text_field(title, MAX_TITLE_CHARS, true, "request.error.title")?
        }
        _ => description.chars().take(30).collect(),
    };
    let reporter_phone = match input.reporter_phone.as_deref().map(str::trim) {
        Some(phone) if !phone.is_empty() => {
            Some(Phone::parse(phone).map_err(|_| WebError::Invalid("request.error.phone"))?)
        }
        _ => None,
    };
    let reporter_name = input
        .reporter_name
        .as_deref()
        .map(|name| text_field(name, 50, false, "request.error.name"))
        .transpose()?
        .filter(|name| !name.is_empty());
    if let Some(pos) = input.position {
        if !(-180.0..=180.0).contains(&pos.lon) || !(-90.0..=90.0).contains(&pos.lat) {
            return Err(WebError::Invalid("request.error.position"));
        }
    }
    let now = state.clock.now();
    let received_at = match input.received_at {
        Some(at) if at > now || at < now - chrono::Duration::days(MAX_BACKDATE_DAYS) => {
            return Err(WebError::Invalid("request.error.received_at"));
        }
        Some(at) => at,
        None => now,
    };
    let severity = input.severity.unwrap_or(service.severity);
    let calendar = state.calendars.of(district).await?;
    let mut deadlines =
        policy_for(state, district, &place)
            .await?
            .deadlines(severity, received_at, &calendar);
    if let Some(limit) = input.resolve_limit {
        let limit = limit
            .check()
            .map_err(|_| WebError::Invalid("policy.error.limit"))?;
        deadlines.resolve_by = limit.due(received_at, &calendar);
    }
    // An item outside the community's duty list (准入) waits in the community's queue until
    // someone approves pushing it to a grid.
    let admission_pending =
        !crate::schedule::admitted(state, district, &place, service.code).await?;
    let place = match place.at(NodeKind::Community) {
        Some(community) if admission_pending && place.kind() > NodeKind::Community => {
            state.store.node(district, community).await?.path
        }
        _ => place,
    };
    let routed = place.at(NodeKind::Grid).is_some();
    let (status, level) = if routed {
        (RequestStatus::Dispatched, EscalationLevel::Grid)
    } else {
        (RequestStatus::Received, EscalationLevel::Community)
    };
    let record = RequestRecord {
        id: RequestId::new_v7(),
        district,
        place,
        address: address.or(input.address_text),
        position: input.position,
        service_code: service.code.to_owned(),
        severity,
        channel,
        state: RequestState {
            status,
            level,
            whistle_open: false,
            whistle_acknowledged: false,
            extension_pending: None,
            major: (severity == Severity::Major).then_some(MajorStage::NotStarted),
            admission_pending,
        },
        title,
        description,
        reporter_name,
        reporter_phone,
        submitted_by: actor.user,
        received_at,
        arrive_due: deadlines.arrive_by,
        resolve_due: deadlines.resolve_by,
        arrived_at: None,
        resolved_at: None,
        closed_at: None,
        rating: None,
        arrive_breached: false,
        resolve_breached: false,
        whistle_department: None,
        whistle_liaison: None,
        whistle_due: None,
        whistle_breached: false,
        external_ref: input.external_ref.clone(),
        merged_into: None,
        seq: if routed { 2 } else { 1 },
        updated_at: now,
    };
    let mut events = vec![event(
        1,
        now,
        EventKind::Received,
        actor,
        "",
        [
            ("channel", channel.as_str().to_owned()),
            ("severity", severity.as_str().to_owned()),
        ]
        .into_iter()
        .chain(admission_pending.then(|| ("admission", "pending".to_owned())))
        .collect(),
    )];
    if routed {
        events.push(event(
            2,
            now,
            EventKind::Dispatched,
            actor,
            "",
            vec![("level", level.as_str().to_owned())],
        ));
    }
    let users = recipients(state, district, &record.place, level).await?;
    let kind = match (routed, admission_pending) {
        (true, _) => "dispatched",
        (false, true) => "admission_pending",
        (false, false) => "queued",
    };
    let notes = notifications(&record, &users, kind, now);
    let audit = extras.audit.map(|audit| {
        state.audit_entry(
            district,
            actor.user,
            &actor.name,
            audit.ip.as_deref(),
            audit.action,
            ("request", &record.id.to_string()),
            &audit.detail,
        )
    });
    let callback = extras.callback.map(|(url, secret)| HotlineCallbackRecord {
        district,
        request: record.id,
        url,
        secret,
    });
    state
        .store
        .insert_intake(&Intake {
            request: &record,
            events: &events,
            notifications: &notes,
            audit: audit.as_ref(),
            callback: callback.as_ref(),
        })
        .await?;
    Ok(record)
}

/// Whether the caller may see a request: by place, as its submitter, or as the liaison its
/// open whistle is addressed to.
fn may_view(auth: &AuthUser, request: &RequestRecord) -> bool {
    auth.principal.allows(Action::ViewRequests, &request.place)
        || request.submitted_by == Some(auth.user.id)
        || (request.state.whistle_open && request.whistle_liaison == Some(auth.user.id))
}

/// One request the caller may see (outside their sight: not found).
pub async fn view(
    state: &AppState,
    auth: &AuthUser,
    id: RequestId,
) -> Result<RequestRecord, WebError> {
    let request = state.store.request(auth.user.district, id).await?;
    if may_view(auth, &request) {
        Ok(request)
    } else {
        Err(WebError::NotFound)
    }
}

/// A request with its timeline.
pub async fn detail(
    state: &AppState,
    auth: &AuthUser,
    id: RequestId,
) -> Result<(RequestRecord, Vec<RequestEvent>), WebError> {
    let request = view(state, auth, id).await?;
    let events = state.store.request_events(request.district, id).await?;
    Ok((request, events))
}

/// The request's state with `admission_pending` as it stands now: flagged at intake, or its
/// item has left the community's duty list since and was never approved. Checked before it
/// is pushed to a grid (dispatch, reassign), so a later change of the list counts too.
pub async fn admission_state(
    state: &AppState,
    request: &RequestRecord,
    events: &[RequestEvent],
) -> Result<RequestState, WebError> {
    let mut current = request.state;
    if !current.admission_pending
        && !events
            .iter()
            .any(|e| e.kind == EventKind::AdmissionApproved)
    {
        current.admission_pending = !crate::schedule::admitted(
            state,
            request.district,
            &request.place,
            &request.service_code,
        )
        .await?;
    }
    Ok(current)
}

/// How close two requests must be to look like the same problem.
const DUPLICATE_METRES: f64 = 200.0;
/// How far back a duplicate is looked for.
const DUPLICATE_HOURS: i64 = 24;

/// Open requests that look like the same problem as `request` — same service, same
/// community, in the last day, at the same building or within 200 m — for staff to merge.
/// Empty for callers who cannot merge.
pub async fn possible_duplicates(
    state: &AppState,
    auth: &AuthUser,
    request: &RequestRecord,
) -> Result<Vec<RequestRecord>, WebError> {
    let Some(community) = request.place.at(NodeKind::Community) else {
        return Ok(Vec::new());
    };
    if !request.state.status.is_open()
        || !auth
            .principal
            .allows(Action::ManageRequests, &request.place)
    {
        return Ok(Vec::new());
    }
    let since = request.received_at - chrono::Duration::hours(DUPLICATE_HOURS);
    let candidates = state
        .store
        .similar_requests(request.district, community, &request.service_code, since)
        .await?;
    Ok(candidates
        .into_iter()
        .filter(|other| other.id != request.id && near(request, other))
        .collect())
}

fn near(a: &RequestRecord, b: &RequestRecord) -> bool {
    let building = |r: &RequestRecord| r.place.at(NodeKind::Building);
    if building(a).is_some() && building(a) == building(b) {
        return true;
    }
    match (a.position, b.position) {
        (Some(p), Some(q)) => metres(p, q) <= DUPLICATE_METRES,
        _ => false,
    }
}

/// Great-circle distance (haversine; plenty for 200 m).
fn metres(p: mulin_storage::LonLat, q: mulin_storage::LonLat) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_000.0;
    let (lat1, lat2) = (p.lat.to_radians(), q.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (q.lon - p.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// What a list asks for, before the policy narrows it.
#[derive(Clone, Debug)]
pub enum ListScope {
    /// Requests at places under a node (or everywhere the caller may see).
    Under(Option<NodeId>),
    /// The caller's own submissions.
    Mine,
    /// Open whistles addressed to the caller.
    Whistled,
}

/// A page of requests the caller may see.
pub async fn list(
    state: &AppState,
    auth: &AuthUser,
    scope: ListScope,
    mut filter: RequestFilter,
) -> Result<Page<RequestRecord>, WebError> {
    let district = auth.user.district;
    let scopes = match scope {
        ListScope::Mine => {
            filter.submitted_by = Some(auth.user.id);
            Vec::new()
        }
        ListScope::Whistled => {
            filter.whistle_liaison = Some(auth.user.id);
            Vec::new()
        }
        ListScope::Under(under) => {
            if !auth.principal.allows_anywhere(Action::ViewRequests) {
                return Err(WebError::Forbidden);
            }
            let scopes = scopes_under(state, auth, Action::ViewRequests, under).await?;
            if scopes.is_empty() {
                return Err(WebError::Forbidden);
            }
            scopes
        }
    };
    Ok(state
        .store
        .search_requests(district, &scopes, &filter)
        .await?)
}

async fn scopes_under(
    state: &AppState,
    auth: &AuthUser,
    action: Action,
    under: Option<NodeId>,
) -> Result<Vec<NodePath>, WebError> {
    Ok(match under {
        Some(id) => {
            let node = state.store.node(auth.user.district, id).await?;
            auth.principal.scopes_under(action, &node.path)
        }
        None => auth.principal.roots(action),
    })
}

fn transition_error(err: TransitionError) -> WebError {
    WebError::Invalid(match err {
        TransitionError::WrongState { .. } => "request.error.wrong_state",
        TransitionError::TopLevel => "request.error.top_level",
        TransitionError::Extension => "request.error.extension",
        TransitionError::NoWhistle => "request.error.no_whistle",
        TransitionError::BadRating(_) => "request.error.rating",
        TransitionError::Text { .. } => "request.error.text",
        TransitionError::MajorStep => "request.error.major_step",
        TransitionError::Admission => "request.error.admission",
    })
}

/// A lifecycle action as the API (JSON) and the pages (a form) send it. `action` names it;
/// the other fields are those it needs.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct ActionInput {
    /// `dispatch`, `sign_for`, `arrive`, `return`, `reassign`, `escalate`, `whistle`,
    /// `acknowledge_whistle`, `report_whistle`, `request_extension`, `approve_extension`,
    /// `reject_extension`, `solve`, `verify`, `rate`, `close`, `revisit`, `note`, `merge`;
    /// for major requests, in this order, `collect_issue` (收集问题), `propose_plan` (提出方案),
    /// `whistle` (吹哨通知), `hold_meeting` (召开会议), `record_resolution` (落实决议); and
    /// `approve_admission` for an item outside the community's duty list (准入).
    pub action: String,
    /// The grid, for `dispatch` and `reassign`.
    pub grid_id: Option<String>,
    /// The department, for `whistle` (`urban_management`, `fire_service`, `power`, `water`,
    /// `sanitation`, `police`, `market_regulation`).
    pub department: Option<String>,
    /// The reason, note, report or comment; the plan for `propose_plan`, the minutes for
    /// `hold_meeting`, the resolution for `record_resolution`.
    pub note: Option<String>,
    /// For `hold_meeting`: the day it was held (`YYYY-MM-DD`).
    pub meeting_date: Option<String>,
    /// For `hold_meeting`: who attended.
    pub attendees: Option<String>,
    /// For `record_resolution`: how it is carried out and checked.
    pub follow_up: Option<String>,
    /// Minutes, for `request_extension`.
    pub minutes: Option<u32>,
    /// For `verify`: whether the result holds.
    pub passed: Option<bool>,
    /// For `rate`: 1–5.
    pub stars: Option<u8>,
    /// For `merge`: the request this duplicate is closed into.
    pub into: Option<String>,
}

impl ActionInput {
    /// The command, or which field is missing or wrong.
    pub fn command(self) -> Result<Command, WebError> {
        let note = self.note.unwrap_or_default();
        let missing = || WebError::Invalid("request.error.action_field");
        let grid = || -> Result<NodeId, WebError> {
            self.grid_id
                .as_deref()
                .ok_or_else(missing)?
                .parse()
                .map_err(|_| WebError::Invalid("request.error.grid"))
        };
        Ok(match self.action.as_str() {
            "dispatch" => Command::Dispatch { grid: grid()? },
            "reassign" => Command::Reassign { grid: grid()? },
            "sign_for" => Command::SignFor,
            "arrive" => Command::ArriveOnSite,
            "return" => Command::Return { reason: note },
            "escalate" => Command::Escalate { reason: note },
            "whistle" => Command::Whistle {
                department: mulin_domain::org::Department::parse(
                    self.department.as_deref().ok_or_else(missing)?.trim(),
                )
                .map_err(|_| WebError::Invalid("request.error.department"))?,
                note,
            },
            "acknowledge_whistle" => Command::AcknowledgeWhistle,
            "report_whistle" => Command::ReportWhistle { note },
            "request_extension" => Command::RequestExtension {
                minutes: self.minutes.ok_or_else(missing)?,
                reason: note,
            },
            "approve_extension" => Command::ApproveExtension,
            "reject_extension" => Command::RejectExtension { reason: note },
            "solve" => Command::Solve { note },
            "verify" => Command::Verify {
                passed: self.passed.ok_or_else(missing)?,
                note,
            },
            "rate" => Command::Rate {
                rating: mulin_domain::request::Rating::new(self.stars.ok_or_else(missing)?)
                    .map_err(|_| WebError::Invalid("request.error.rating"))?,
                comment: note,
            },
            "close" => Command::Close,
            "revisit" => Command::Revisit { note },
            "note" => Command::Note { text: note },
            "merge" => Command::MergeInto {
                into: self
                    .into
                    .as_deref()
                    .ok_or_else(missing)?
                    .parse()
                    .map_err(|_| WebError::Invalid("request.error.merge"))?,
            },
            "collect_issue" => Command::CollectIssue { note },
            "propose_plan" => Command::ProposePlan { plan: note },
            "hold_meeting" => Command::HoldMeeting {
                held_on: chrono::NaiveDate::parse_from_str(
                    self.meeting_date.as_deref().ok_or_else(missing)?.trim(),
                    "%Y-%m-%d",
                )
                .map_err(|_| WebError::Invalid("request.error.meeting_date"))?,
                attendees: self.attendees.unwrap_or_default(),
                minutes: note,
            },
            "record_resolution" => Command::RecordResolution {
                resolution: note,
                follow_up: self.follow_up.unwrap_or_default(),
            },
            "approve_admission" => Command::ApproveAdmission { reason: note },
            _ => return Err(WebError::Invalid("request.error.action")),
        })
    }
}

/// Whether the caller may issue `command` on `request`.
pub fn may_issue(auth: &AuthUser, request: &RequestRecord, command: &Command) -> bool {
    match command.actor() {
        Actor::Liaison => request.whistle_liaison == Some(auth.user.id),
        Actor::Submitter => {
            request.submitted_by == Some(auth.user.id)
                || auth
                    .principal
                    .allows(Action::ManageRequests, &request.place)
        }
        actor => actor
            .action()
            .is_some_and(|action| auth.principal.allows(action, &request.place)),
    }
}

/// How often a command is tried again on a fresher copy when the request changed under it.
const COMMAND_ATTEMPTS: usize = 3;

/// Applies a command from the caller: policy, state machine, the record's new fields, one
/// timeline event and whoever must hear of it, written together or not at all.
///
/// The scheduler records breaches and escalations on the same requests people are working,
/// so a change that lands between our read and our write must not turn the caller's click
/// into an error: the command is checked and applied again on the fresh record (which may
/// then refuse it for what it now is), and only a request that keeps changing is reported.
pub async fn command(
    state: &AppState,
    auth: &AuthUser,
    id: RequestId,
    command: Command,
) -> Result<RequestRecord, WebError> {
    let mut attempt = 1;
    loop {
        match command_once(state, auth, id, command.clone()).await {
            Err(WebError::Invalid(CONCURRENT)) if attempt < COMMAND_ATTEMPTS => attempt += 1,
            outcome => return outcome,
        }
    }
}

/// The locale key of a change refused because the request changed meanwhile.
const CONCURRENT: &str = "request.error.concurrent";

async fn command_once(
    state: &AppState,
    auth: &AuthUser,
    id: RequestId,
    command: Command,
) -> Result<RequestRecord, WebError> {
    let request = view(state, auth, id).await?;
    if !may_issue(auth, &request, &command) {
        return Err(WebError::Forbidden);
    }
    let actor = ActorInfo::of(auth);
    let now = state.clock.now();
    let mut next = request.clone();
    let mut current = request.state;
    if matches!(
        command,
        Command::Dispatch { .. } | Command::Reassign { .. } | Command::ApproveAdmission { .. }
    ) {
        let events = state
            .store
            .request_events(request.district, request.id)
            .await?;
        current = admission_state(state, &request, &events).await?;
    }
    let transition = transition(current, &command).map_err(transition_error)?;
    next.state = transition.state;
    let mut data: Vec<(&str, String)> = vec![("status", next.state.status.as_str().to_owned())];
    let mut notify: Option<(EscalationLevel, &str)> = None;
    match &command {
        Command::Dispatch { grid } | Command::Reassign { grid } => {
            let grid_node = state.store.node(request.district, *grid).await?;
            if grid_node.path.kind() != NodeKind::Grid
                || !auth
                    .principal
                    .allows(Action::ManageRequests, &grid_node.path)
            {
                return Err(WebError::Invalid("request.error.grid"));
            }
            if !request.place.is_within(NodeKind::Grid, *grid) {
                next.place = grid_node.path;
            }
            data.push(("grid", grid.to_string()));
            data.push(("grid_name", grid_node.name.clone()));
            notify = Some((EscalationLevel::Grid, "dispatched"));
        }
        Command::Return { .. } => {
            let community = request
                .place
                .at(NodeKind::Community)
                .ok_or(WebError::Invalid("request.error.place"))?;
            next.place = state.store.node(request.district, community).await?.path;
            notify = Some((EscalationLevel::Community, "returned"));
        }
        Command::Escalate { .. } => {
            data.push(("level", next.state.level.as_str().to_owned()));
            notify = Some((next.state.level, "escalated"));
        }
        Command::Whistle { department, .. } => {
            let liaison = find_liaison(state, &request, *department).await?;
            next.whistle_department = Some(*department);
            next.whistle_liaison = liaison;
            next.whistle_breached = false;
            next.whistle_due = Some(
                policy_for(state, request.district, &request.place)
                    .await?
                    .whistle_acknowledge_by(now, &*state.calendars.of(request.district).await?),
            );
            data.push(("department", department.as_str().to_owned()));
        }
        Command::ReportWhistle { .. } => {
            if let Some(department) = request.whistle_department {
                data.push(("department", department.as_str().to_owned()));
            }
        }
        Command::AcknowledgeWhistle => {
            if let Some(department) = request.whistle_department {
                data.push(("department", department.as_str().to_owned()));
            }
            data.push((
                "late",
                request.whistle_due.is_some_and(|due| now > due).to_string(),
            ));
        }
        Command::RequestExtension { minutes, .. } => {
            data.push(("minutes", minutes.to_string()));
            notify = Some((EscalationLevel::Community, "extension_requested"));
        }
        Command::ApproveExtension => {
            if let Some(minutes) = request.state.extension_pending {
                let granted = state
                    .store
                    .request_events(request.district, request.id)
                    .await?
                    .iter()
                    .filter(|e| e.kind == EventKind::ExtensionApproved)
                    .count();
                let current = Deadlines {
                    arrive_by: request.arrive_due,
                    resolve_by: request.resolve_due,
                };
                let extended = policy_for(state, request.district, &request.place)
                    .await?
                    .extend(
                        current,
                        u32::try_from(granted).unwrap_or(u32::MAX),
                        Limit::Clock(minutes),
                        &*state.calendars.of(request.district).await?,
                    )
                    .map_err(|_| WebError::Invalid("request.error.extension_cap"))?;
                next.resolve_due = extended.resolve_by;
                // A deadline moved past now is owed again.
                next.resolve_breached = next.resolve_breached && next.resolve_due <= now;
                data.push(("minutes", minutes.to_string()));
                data.push(("resolve_due", next.resolve_due.to_rfc3339()));
            }
        }
        Command::Rate { rating, .. } => {
            next.rating = Some(*rating);
            data.push(("stars", rating.stars().to_string()));
        }
        Command::MergeInto { into } => {
            let target = view(state, auth, *into).await?;
            if target.id == request.id
                || !target.state.status.is_open()
                || target.place.at(NodeKind::Community) != request.place.at(NodeKind::Community)
            {
                return Err(WebError::Invalid("request.error.merge"));
            }
            next.merged_into = Some(target.id);
            data.push(("into", target.id.to_string()));
            data.push(("into_title", target.title.clone()));
        }
        Command::HoldMeeting {
            held_on, attendees, ..
        } => {
            if *held_on > now.date_naive() + chrono::Duration::days(1) {
                return Err(WebError::Invalid("request.error.meeting_date"));
            }
            data.push(("meeting_date", held_on.to_string()));
            data.push(("attendees", attendees.trim().to_owned()));
        }
        Command::RecordResolution { follow_up, .. } => {
            data.push(("follow_up", follow_up.trim().to_owned()));
        }
        Command::ApproveAdmission { .. } => {
            notify = Some((EscalationLevel::Community, "admission_approved"));
        }
        _ => {}
    }
    if transition.stamps.arrived && next.arrived_at.is_none() {
        next.arrived_at = Some(now);
    }
    if transition.stamps.resolved {
        next.resolved_at = Some(now);
    }
    if transition.stamps.closed {
        next.closed_at = Some(now);
    }
    if transition.stamps.reopened {
        // Reopened work gets a fresh resolve deadline from now, by the same policy.
        next.resolved_at = None;
        next.closed_at = None;
        next.resolve_due = policy_for(state, request.district, &request.place)
            .await?
            .deadlines(
                request.severity,
                now,
                &*state.calendars.of(request.district).await?,
            )
            .resolve_by;
        next.resolve_breached = false;
        notify = Some((next.state.level, "reopened"));
    }
    let mut events = vec![event(
        request.seq + 1,
        now,
        command.event(),
        &actor,
        command.note(),
        data,
    )];
    if transition.stamps.reopened && command.event() == EventKind::Rated {
        events.push(event(
            request.seq + 2,
            now,
            EventKind::Reopened,
            &actor,
            "",
            vec![("status", next.state.status.as_str().to_owned())],
        ));
    }
    next.seq = request.seq + events.len() as i64;
    next.updated_at = now;
    let mut notes = Vec::new();
    if let Some((level, kind)) = notify {
        let users = recipients(state, request.district, &next.place, level).await?;
        notes = notifications(&next, &users, kind, now);
    }
    if let (Command::Whistle { .. }, Some(liaison)) = (&command, next.whistle_liaison) {
        notes.extend(notifications(&next, &[liaison], "whistled", now));
    }
    state
        .store
        .update_request(&request, &next, &events, &notes)
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => WebError::Invalid(CONCURRENT),
            other => other.into(),
        })?;
    if let Command::ApproveAdmission { reason } = &command {
        state
            .audit(
                auth,
                "admission.approve",
                ("request", &request.id.to_string()),
                &format!("{}: {}", request.service_code, reason.trim()),
            )
            .await?;
    }
    Ok(next)
}

/// The liaison with an account for `department` nearest the request: its grid first, then
/// its community, then its street.
async fn find_liaison(
    state: &AppState,
    request: &RequestRecord,
    department: mulin_domain::org::Department,
) -> Result<Option<UserId>, WebError> {
    for kind in [NodeKind::Grid, NodeKind::Community, NodeKind::Street] {
        let Some(node) = request.place.at(kind) else {
            continue;
        };
        let path = state.store.node(request.district, node).await?.path;
        let liaison = state
            .store
            .posts(request.district, Place::At(&path))
            .await?
            .into_iter()
            .filter(|post| {
                post.kind == mulin_domain::org::PostKind::DepartmentLiaison
                    && post.department == Some(department)
            })
            .find_map(|post| post.user);
        if liaison.is_some() {
            return Ok(liaison);
        }
    }
    Ok(None)
}

/// One pass of the scheduler at `now`: every deadline owed and passed is recorded once as a
/// breach, the request moves one level up the ladder for each missed arrive or resolve
/// deadline, and the holders at the new level are told. Returns the breaches recorded.
///
/// Safe to run from several processes at once and after a restart: each change is written
/// only if the request is still as it was read, so a breach is never recorded twice and a
/// request changed meanwhile is simply looked at again on the next pass.
pub async fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<usize, WebError> {
    const BATCH: u32 = 500;
    const MAX_BATCHES: usize = 20;
    let mut recorded = 0;
    for _ in 0..MAX_BATCHES {
        let due = state.store.due_requests(now, BATCH).await?;
        let n = due.len();
        let mut changes = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        for request in due {
            if let Some((change, breaches)) = breach(state, request, now).await? {
                changes.push(change);
                counts.push(breaches);
            }
        }
        // One transaction for the batch; a request changed since it was read is skipped
        // and looked at again on the next pass.
        let written = state.store.update_requests(&changes).await?;
        recorded += counts
            .iter()
            .zip(written)
            .filter(|(_, done)| *done)
            .map(|(count, _)| count)
            .sum::<usize>();
        if n < BATCH as usize {
            break;
        }
    }
    Ok(recorded)
}

/// The breach a due request records: the change to write and how many deadlines it misses.
async fn breach(
    state: &AppState,
    request: RequestRecord,
    now: DateTime<Utc>,
) -> Result<Option<(RequestChange, usize)>, WebError> {
    let kinds = request.pending().breached_at(now);
    if kinds.is_empty() {
        return Ok(None);
    }
    let system = ActorInfo::system();
    let mut next = request.clone();
    let mut events = Vec::new();
    let mut seq = request.seq;
    let mut escalated = false;
    for kind in &kinds {
        let due = match kind {
            DeadlineKind::Arrive => {
                next.arrive_breached = true;
                request.arrive_due
            }
            DeadlineKind::Resolve => {
                next.resolve_breached = true;
                request.resolve_due
            }
            DeadlineKind::WhistleAcknowledge => {
                next.whistle_breached = true;
                request.whistle_due.unwrap_or(now)
            }
        };
        seq += 1;
        let mut data = vec![
            ("deadline", kind.as_str().to_owned()),
            ("due", due.to_rfc3339()),
        ];
        if let (DeadlineKind::WhistleAcknowledge, Some(d)) = (kind, request.whistle_department) {
            data.push(("department", d.as_str().to_owned()));
        }
        events.push(event(seq, now, EventKind::Breached, &system, "", data));
        if *kind != DeadlineKind::WhistleAcknowledge {
            if let Some(level) = next.state.level.next() {
                next.state.level = level;
                escalated = true;
                seq += 1;
                events.push(event(
                    seq,
                    now,
                    EventKind::Escalated,
                    &system,
                    "",
                    vec![("level", level.as_str().to_owned())],
                ));
            }
        }
    }
    next.seq = seq;
    next.updated_at = now;
    let notify_level = if escalated {
        next.state.level
    } else {
        EscalationLevel::Community
    };
    let users = recipients(state, request.district, &next.place, notify_level).await?;
    let notifications = notifications(&next, &users, "breached", now);
    Ok(Some((
        RequestChange {
            previous: request,
            request: next,
            events,
            notifications,
        },
        kinds.len(),
    )))
}

/// Runs [`sweep`] every `every` until the process ends. Errors are logged and the loop goes
/// on: a database hiccup must not stop deadlines for good.
pub fn spawn_scheduler(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = state.clock.now();
            match sweep(&state, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(breaches = n, "deadlines breached"),
                Err(err) => tracing::warn!(error = %err, "deadline sweep failed"),
            }
        }
    })
}

/// The request KPIs of a subtree and period (MISSION B1, E1).
#[derive(Clone, PartialEq, Debug)]
pub struct RequestStats {
    /// The raw counts.
    pub tallies: RequestTallies,
    /// On site in time, of those whose arrive deadline is decided.
    pub response_rate: Option<f64>,
    /// Solved in time, of those whose resolve deadline is decided.
    pub on_time_rate: Option<f64>,
    /// Solved, of all received.
    pub resolution_rate: Option<f64>,
    /// Rated 4–5 stars, of those rated.
    pub satisfaction_rate: Option<f64>,
    /// Mean minutes from intake to solved.
    pub mean_handling_minutes: Option<f64>,
    /// "三率" composite: response, resolution and satisfaction weighted 30/35/35.
    pub composite: Option<f64>,
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl RequestStats {
    /// Rates from counts.
    pub fn from_tallies(tallies: RequestTallies) -> RequestStats {
        let response_rate = ratio(tallies.arrived_on_time, tallies.arrive_decided);
        let resolution_rate = ratio(tallies.resolved, tallies.total);
        let satisfaction_rate = ratio(tallies.satisfied, tallies.rated);
        let composite = match (response_rate, resolution_rate, satisfaction_rate) {
            (Some(a), Some(b), Some(c)) => Some(0.30 * a + 0.35 * b + 0.35 * c),
            _ => None,
        };
        RequestStats {
            on_time_rate: ratio(tallies.resolved_on_time, tallies.resolve_decided),
            mean_handling_minutes: (tallies.resolved > 0)
                .then(|| tallies.handling_minutes_sum / tallies.resolved as f64),
            tallies,
            response_rate,
            resolution_rate,
            satisfaction_rate,
            composite,
        }
    }
}

/// KPIs for the subtree of `under` and `[from, to)`, with the same figures for the period
/// just before, so a change ("办事时长缩短30%") can be shown or refuted.
pub async fn stats(
    state: &AppState,
    auth: &AuthUser,
    under: NodeId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(RequestStats, RequestStats), WebError> {
    let node = state.store.node(auth.user.district, under).await?;
    if !auth.principal.allows(Action::ViewRequestStats, &node.path) {
        return Err(WebError::NotFound);
    }
    if to <= from {
        return Err(WebError::Invalid("request.error.period"));
    }
    let before = from - (to - from);
    let mut tallies = state
        .store
        .request_tallies_of_periods(auth.user.district, &node.path, &[before, from, to])
        .await?
        .into_iter()
        .map(RequestStats::from_tallies);
    match (tallies.next(), tallies.next()) {
        (Some(previous), Some(current)) => Ok((current, previous)),
        _ => Err(WebError::Internal("two periods, not two tallies".into())),
    }
}

/// The scheduler's period when none is configured: a breach is recorded within about this
/// long of its deadline.
pub const DEFAULT_SWEEP_EVERY: Duration = Duration::from_millis(500);

/// A community's deadline policy as the caller may read it, and whether it is the default.
pub async fn community_policy(
    state: &AppState,
    auth: &AuthUser,
    community: NodeId,
) -> Result<(DeadlinePolicy, bool), WebError> {
    let node = community_node(state, auth, community, Action::ViewRequests).await?;
    let own = state
        .store
        .deadline_policy(auth.user.district, node.path.id())
        .await?;
    let is_default = own.is_none();
    Ok((own.unwrap_or_else(DeadlinePolicy::default_1341), is_default))
}

/// Sets a community's deadline policy (community staff and above), audited. New requests
/// use it at once; requests already taken in keep the deadlines they were given.
pub async fn set_community_policy(
    state: &AppState,
    auth: &AuthUser,
    community: NodeId,
    parts: mulin_domain::deadline::DeadlinePolicyParts,
) -> Result<DeadlinePolicy, WebError> {
    let node = community_node(state, auth, community, Action::ManageRequests).await?;
    let policy = DeadlinePolicy::new(parts).map_err(|err| {
        WebError::Invalid(match err {
            mulin_domain::deadline::PolicyError::Limit { .. } => "policy.error.limit",
            mulin_domain::deadline::PolicyError::SeverityOrder { .. } => "policy.error.order",
            mulin_domain::deadline::PolicyError::TooManyExtensions { .. } => {
                "policy.error.extensions"
            }
        })
    })?;
    let now = state.clock.now();
    state
        .store
        .set_deadline_policy(auth.user.district, node.path.id(), &policy, now)
        .await?;
    state
        .caches
        .policy_changed(auth.user.district, node.path.id());
    let p = policy.parts();
    state
        .audit(
            auth,
            "deadline_policy.set",
            ("node", &node.path.id().to_string()),
            &format!(
                "arrive {:?}; resolve {:?}/{:?}/{:?}; whistle {:?}; verify {:?}; extensions {}",
                p.arrive,
                p.resolve_ordinary,
                p.resolve_complex,
                p.resolve_major,
                p.whistle_acknowledge,
                p.verify,
                p.max_extensions
            ),
        )
        .await?;
    Ok(policy)
}

async fn community_node(
    state: &AppState,
    auth: &AuthUser,
    community: NodeId,
    action: Action,
) -> Result<mulin_storage::NodeRecord, WebError> {
    let node = state.store.node(auth.user.district, community).await?;
    if node.path.kind() != NodeKind::Community || !auth.principal.allows(action, &node.path) {
        return Err(WebError::NotFound);
    }
    Ok(node)
}
