//! What storage keeps about requests: the request with its current state and deadlines,
//! its timeline, and the in-app notifications it causes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::deadline::{DeadlinePolicy, EscalationLevel, Severity};
use mulin_domain::ids::{DistrictId, NodeId, NotificationId, RequestId, UserId};
use mulin_domain::org::Department;
use mulin_domain::person::Phone;
use mulin_domain::request::{
    Channel, EventKind, PendingDeadlines, Rating, RequestState, RequestStatus,
};
use mulin_domain::tree::NodePath;

use crate::{LonLat, Page, StoreResult};

/// A request with its current state. Changes are written with [`RequestStore::update_request`],
/// which checks `seq` so two concurrent changes cannot both win.
#[derive(Clone, PartialEq, Debug)]
pub struct RequestRecord {
    /// Identity (also the Open311 `service_request_id`).
    pub id: RequestId,
    /// Tenant.
    pub district: DistrictId,
    /// Where it is: the deepest node known (building, compound, grid, or the community when
    /// it could not be routed).
    pub place: NodePath,
    /// The standard address or what the resident wrote.
    pub address: Option<String>,
    /// Where, when a pin was given.
    pub position: Option<LonLat>,
    /// Catalogue code.
    pub service_code: String,
    /// 一般 / 复杂 / 重大.
    pub severity: Severity,
    /// How it came in.
    pub channel: Channel,
    /// State-machine state.
    pub state: RequestState,
    /// A short summary.
    pub title: String,
    /// The resident's words.
    pub description: String,
    /// Who raised it, when given.
    pub reporter_name: Option<String>,
    /// Their phone, when given (masked on output unless the role needs it).
    pub reporter_phone: Option<Phone>,
    /// The account that submitted it (a resident, staff at the window, an API client).
    pub submitted_by: Option<UserId>,
    /// Taken in.
    pub received_at: DateTime<Utc>,
    /// On site by.
    pub arrive_due: DateTime<Utc>,
    /// Solved by (moves with approved extensions).
    pub resolve_due: DateTime<Utc>,
    /// First on site.
    pub arrived_at: Option<DateTime<Utc>>,
    /// Solved (cleared when reopened).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The resident's rating.
    pub rating: Option<Rating>,
    /// The arrive deadline passed unmet (recorded once).
    pub arrive_breached: bool,
    /// The resolve deadline passed unmet (recorded once).
    pub resolve_breached: bool,
    /// The open whistle's department.
    pub whistle_department: Option<Department>,
    /// The liaison account it was addressed to.
    pub whistle_liaison: Option<UserId>,
    /// The open whistle must be acknowledged by.
    pub whistle_due: Option<DateTime<Utc>>,
    /// The open whistle's acknowledgement came late (recorded once).
    pub whistle_breached: bool,
    /// The work order number of the system it came from (a 12345 hotline), unique in the
    /// district.
    pub external_ref: Option<String>,
    /// The request this one was closed into as a duplicate.
    pub merged_into: Option<RequestId>,
    /// Events written so far (the timeline's length); the optimistic-concurrency check.
    pub seq: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl RequestRecord {
    /// The deadlines still owed.
    pub fn pending(&self) -> PendingDeadlines {
        let open = self.state.status.is_open();
        PendingDeadlines {
            arrive: (open && self.arrived_at.is_none() && !self.arrive_breached)
                .then_some(self.arrive_due),
            resolve: (open && self.resolved_at.is_none() && !self.resolve_breached)
                .then_some(self.resolve_due),
            whistle: self.whistle_due.filter(|_| {
                self.state.whistle_open
                    && !self.state.whistle_acknowledged
                    && !self.whistle_breached
            }),
        }
    }

    /// When the scheduler must next look at it.
    pub fn next_due_at(&self) -> Option<DateTime<Utc>> {
        self.pending().next().map(|(_, at)| at)
    }
}

/// One entry of a request's timeline.
#[derive(Clone, PartialEq, Debug)]
pub struct RequestEvent {
    /// 1-based position on the timeline.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// Who (none for the scheduler).
    pub actor: Option<UserId>,
    /// Their name at the time (or "系统" for the scheduler: a locale key is rendered).
    pub actor_name: String,
    /// The note, reason or report.
    pub note: String,
    /// Structured detail: the status after, the grid, department, rating, deadline kind ...
    pub data: Vec<(String, String)>,
}

/// An in-app notification for one account.
#[derive(Clone, PartialEq, Debug)]
pub struct NotificationRecord {
    /// Identity.
    pub id: NotificationId,
    /// Tenant.
    pub district: DistrictId,
    /// Recipient.
    pub user: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What happened: a locale key suffix (`breached`, `escalated`, `whistled`, `dispatched`).
    pub kind: String,
    /// The request it is about.
    pub request: RequestId,
    /// A short text (the request's title).
    pub text: String,
    /// Read.
    pub read: bool,
}

/// Which requests a list shows.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RequestFilter {
    /// Only open ones (not solved, verified or closed).
    pub open_only: bool,
    /// Only this status.
    pub status: Option<RequestStatus>,
    /// Only those submitted by this account (a resident's own list).
    pub submitted_by: Option<UserId>,
    /// Only those with an open whistle addressed to this liaison.
    pub whistle_liaison: Option<UserId>,
    /// Order.
    pub order: RequestOrder,
    /// 1-based page.
    pub page: u32,
    /// Page size, 1–200.
    pub per_page: u32,
}

/// The order of a request list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RequestOrder {
    /// The nearest resolve deadline first (an inbox).
    Deadline,
    /// The newest first.
    Newest,
}

/// Raw counts a KPI is computed from, for one subtree and period (see [`crate::kpi`] for
/// how each is judged).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct RequestTallies {
    /// Requests received in the period.
    pub total: i64,
    /// Whose arrive deadline is decided (arrived, or the deadline has passed).
    pub arrive_decided: i64,
    /// Arrived by the deadline.
    pub arrived_on_time: i64,
    /// Whose resolve deadline is decided (solved, or the deadline has passed).
    pub resolve_decided: i64,
    /// Solved by the deadline.
    pub resolved_on_time: i64,
    /// Solved at all.
    pub resolved: i64,
    /// Rated.
    pub rated: i64,
    /// Rated 4 or 5 stars.
    pub satisfied: i64,
    /// Sum of handling minutes of those solved.
    pub handling_minutes_sum: f64,
    /// Median handling minutes of those solved.
    pub handling_minutes_median: Option<f64>,
    /// Breaches recorded (arrive, resolve, whistle).
    pub breaches: i64,
    /// Breaches by the escalation level their request stands at, lowest level first.
    pub breaches_by_level: Vec<(EscalationLevel, i64)>,
    /// Whistle acknowledgements missed, by department.
    pub breaches_by_department: Vec<(Department, i64)>,
}

/// Requests, their timelines and notifications.
#[async_trait]
pub trait RequestStore {
    /// Stores a new request with its first events and notifications, in one transaction.
    async fn insert_request(
        &self,
        request: &RequestRecord,
        events: &[RequestEvent],
        notifications: &[NotificationRecord],
    ) -> StoreResult<()>;

    /// One request.
    async fn request(&self, district: DistrictId, id: RequestId) -> StoreResult<RequestRecord>;

    /// A request by the work order number it came with.
    async fn request_by_external_ref(
        &self,
        district: DistrictId,
        external_ref: &str,
    ) -> StoreResult<RequestRecord>;

    /// A request's timeline, oldest first.
    async fn request_events(
        &self,
        district: DistrictId,
        id: RequestId,
    ) -> StoreResult<Vec<RequestEvent>>;

    /// Writes a changed request, its new events and notifications in one transaction, if
    /// it is still stored as `previous` (checked by `seq`); otherwise `Conflict` and nothing
    /// is written. The KPI rollup moves from `previous` to `request` in the same transaction.
    async fn update_request(
        &self,
        previous: &RequestRecord,
        request: &RequestRecord,
        events: &[RequestEvent],
        notifications: &[NotificationRecord],
    ) -> StoreResult<()>;

    /// Requests inside any of `scopes` (an empty list means no place restriction is
    /// applied only when `filter.submitted_by` or `filter.whistle_liaison` names someone;
    /// otherwise it finds nothing).
    async fn search_requests(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        filter: &RequestFilter,
    ) -> StoreResult<Page<RequestRecord>>;

    /// Open requests of the same service in the same community received at or after
    /// `since`, newest first (at most 20): the candidates for a duplicate.
    async fn similar_requests(
        &self,
        district: DistrictId,
        community: NodeId,
        service_code: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<RequestRecord>>;

    /// Requests of any district with a deadline owed at or before `now`, earliest first.
    async fn due_requests(&self, now: DateTime<Utc>, limit: u32)
        -> StoreResult<Vec<RequestRecord>>;

    /// The counts behind the request KPIs of a subtree, for requests received in
    /// `[from, to)`: whole days from the rollup, the rest from the requests themselves.
    /// Duplicates merged into another request are not counted.
    async fn request_tallies(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<RequestTallies>;

    /// Accounts granted a role exactly at `node` (whom to notify at a level).
    async fn users_granted_at(
        &self,
        district: DistrictId,
        node: NodeId,
    ) -> StoreResult<Vec<(UserId, mulin_domain::policy::Role)>>;

    /// An account's notifications, newest first.
    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRecord>>;

    /// Marks an account's notifications read.
    async fn mark_notifications_read(&self, user: UserId) -> StoreResult<()>;

    /// A community's own deadline policy, if it set one.
    async fn deadline_policy(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> StoreResult<Option<DeadlinePolicy>>;

    /// Sets (or replaces) a community's deadline policy.
    async fn set_deadline_policy(
        &self,
        district: DistrictId,
        community: NodeId,
        policy: &DeadlinePolicy,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}
