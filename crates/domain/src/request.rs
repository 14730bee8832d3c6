//! Residents' requests (诉求) and their lifecycle: the service catalogue, the channels a
//! request arrives by, the states of a city 12345 work order and the one transition function
//! every change goes through.
//!
//! The lifecycle is an explicit state machine. A command either moves a request to its next
//! state or is refused with a [`TransitionError`]; nothing else changes a status, so the
//! timeline of events is always a replay of accepted commands.

use chrono::{DateTime, Utc};

use crate::codes::code_enum;
use crate::deadline::{EscalationLevel, Severity};
use crate::ids::NodeId;
use crate::org::Department;
use crate::policy::Action;

code_enum!(
    /// How a request reached us (the channel is recorded on every request).
    Channel, "channel" {
        /// 一窗式受理: entered by staff at the community's one window.
        WalkIn = "walk_in",
        /// 电话: taken by phone.
        Phone = "phone",
        /// 网上: the resident's own web form.
        Web = "web",
        /// 巡查发现: found by a grid worker on patrol.
        Patrol = "patrol",
        /// 代办 (点单/接单): a representative or building captain on behalf of a household.
        Representative = "representative",
        /// Open311 GeoReport v2 clients.
        Open311 = "open311",
        /// The JSON API.
        Api = "api",
        /// A city 12345 hotline work order.
        Hotline = "hotline",
    }
);

code_enum!(
    /// The states of a request, named as 12345 hotline work orders name them.
    RequestStatus, "request status" {
        /// 待派单: received, waiting in the community's queue (unrouted or returned).
        Received = "received",
        /// 已派单: dispatched to a grid (or, escalated, to a higher level).
        Dispatched = "dispatched",
        /// 已签收: the handler has signed for it.
        SignedFor = "signed_for",
        /// 已到场: the handler is on site.
        OnSite = "on_site",
        /// 已吹哨: a department was whistled and must report.
        Whistled = "whistled",
        /// 已办结: the handler says it is solved.
        Solved = "solved",
        /// 已核查: staff verified the result.
        Verified = "verified",
        /// 已关闭: rated or closed by staff.
        Closed = "closed",
    }
);

impl RequestStatus {
    /// Whether the request still needs work (it counts against deadlines).
    pub const fn is_open(self) -> bool {
        !matches!(
            self,
            RequestStatus::Solved | RequestStatus::Verified | RequestStatus::Closed
        )
    }
}

code_enum!(
    /// What a timeline entry records.
    EventKind, "request event" {
        /// The request was taken in.
        Received = "received",
        /// Routed or dispatched to a grid.
        Dispatched = "dispatched",
        /// 签收.
        SignedFor = "signed_for",
        /// 到场.
        OnSite = "on_site",
        /// 退单: returned by the handler as misrouted.
        Returned = "returned",
        /// 改派: reassigned by staff.
        Reassigned = "reassigned",
        /// Moved one level up the ladder (by hand or by a breach).
        Escalated = "escalated",
        /// 吹哨: a department was called.
        Whistled = "whistled",
        /// 报到: the department's liaison acknowledged.
        WhistleAcknowledged = "whistle_acknowledged",
        /// The department reported what it did.
        WhistleReported = "whistle_reported",
        /// 延期申请.
        ExtensionRequested = "extension_requested",
        /// 延期批准.
        ExtensionApproved = "extension_approved",
        /// 延期驳回.
        ExtensionRejected = "extension_rejected",
        /// 办结.
        Solved = "solved",
        /// 核查通过.
        Verified = "verified",
        /// 核查未通过: back to the handler.
        VerificationFailed = "verification_failed",
        /// 评价.
        Rated = "rated",
        /// Reopened after a poor rating.
        Reopened = "reopened",
        /// 关闭.
        Closed = "closed",
        /// 回访.
        Revisited = "revisited",
        /// Closed as a duplicate of another request.
        Merged = "merged",
        /// A note, or a recorded step of a major request (方案, 会议, 决议).
        Note = "note",
        /// A deadline passed unmet (written by the scheduler).
        Breached = "breached",
        /// 收集问题: the first step of a major request.
        IssueCollected = "issue_collected",
        /// 提出方案.
        PlanProposed = "plan_proposed",
        /// 召开会议: with its date, attendees and minutes.
        MeetingHeld = "meeting_held",
        /// 落实决议: the resolution and its follow-up.
        ResolutionRecorded = "resolution_recorded",
        /// A catalogue item outside the community's duty list (准入) was approved for its
        /// grids.
        AdmissionApproved = "admission_approved",
    }
);

code_enum!(
    /// How far a major request (重大) has come through the five recorded steps of seed 003,
    /// "收集问题—提出方案—吹哨通知—召开会议—落实决议". The third step is the existing
    /// whistle ([`Command::Whistle`]).
    MajorStage, "major step" {
        /// No step recorded yet.
        NotStarted = "not_started",
        /// 收集问题.
        Collected = "collected",
        /// 提出方案.
        Planned = "planned",
        /// 吹哨通知.
        Whistled = "whistled",
        /// 召开会议.
        Met = "met",
        /// 落实决议: the request may now be solved and closed.
        Resolved = "resolved",
    }
);

impl MajorStage {
    /// The stage after this one.
    pub fn next(self) -> Option<MajorStage> {
        let i = MajorStage::ALL.iter().position(|s| *s == self)?;
        MajorStage::ALL.get(i + 1).copied()
    }
}

code_enum!(
    /// Which deadline a breach concerns.
    DeadlineKind, "deadline" {
        /// On site in time (the "10" of 1341).
        Arrive = "arrive",
        /// Solved in time.
        Resolve = "resolve",
        /// A whistled department reports in time.
        WhistleAcknowledge = "whistle_acknowledge",
    }
);

/// A resident-facing request type of the service catalogue, with the department that
/// usually handles it and its usual severity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServiceType {
    /// Stable code (also the Open311 `service_code` and the locale key `service.<code>`).
    pub code: &'static str,
    /// The catalogue group (locale key `service_group.<group>`).
    pub group: &'static str,
    /// The department a whistle goes to by default.
    pub department: Option<Department>,
    /// The usual severity; staff may reclassify.
    pub severity: Severity,
}

const fn service(
    code: &'static str,
    group: &'static str,
    department: Option<Department>,
    severity: Severity,
) -> ServiceType {
    ServiceType {
        code,
        group,
        department,
        severity,
    }
}

/// The resident-facing catalogue (MISSION B1). Codes are stable: they are stored and sent
/// to Open311 clients.
pub const SERVICE_CATALOGUE: &[ServiceType] = &[
    service(
        "sanitation",
        "environment",
        Some(Department::Sanitation),
        Severity::Ordinary,
    ),
    service(
        "illegal_construction",
        "environment",
        Some(Department::UrbanManagement),
        Severity::Complex,
    ),
    service(
        "noise",
        "environment",
        Some(Department::UrbanManagement),
        Severity::Ordinary,
    ),
    service("property_repair", "housing", None, Severity::Ordinary),
    service("heating", "housing", None, Severity::Complex),
    service(
        "drainage",
        "housing",
        Some(Department::Water),
        Severity::Complex,
    ),
    service(
        "water_supply",
        "housing",
        Some(Department::Water),
        Severity::Complex,
    ),
    service(
        "power_supply",
        "housing",
        Some(Department::Power),
        Severity::Complex,
    ),
    service(
        "parking",
        "order",
        Some(Department::Police),
        Severity::Ordinary,
    ),
    service("neighbour_dispute", "order", None, Severity::Ordinary),
    service(
        "safety_hazard",
        "safety",
        Some(Department::FireService),
        Severity::Major,
    ),
    service("other", "other", None, Severity::Ordinary),
];

/// A catalogue entry by its code.
pub fn service_type(code: &str) -> Option<&'static ServiceType> {
    SERVICE_CATALOGUE.iter().find(|s| s.code == code)
}

/// A rating of the result, 1 to 5 stars; 4 and 5 count as satisfied.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    /// Five stars.
    pub const BEST: Rating = Rating(5);

    /// Checks 1..=5.
    pub fn new(stars: u8) -> Result<Rating, TransitionError> {
        if (1..=5).contains(&stars) {
            Ok(Rating(stars))
        } else {
            Err(TransitionError::BadRating(stars))
        }
    }

    /// The stars.
    pub const fn stars(self) -> u8 {
        self.0
    }

    /// 满意: the share of these is the satisfaction rate.
    pub const fn is_satisfied(self) -> bool {
        self.0 >= 4
    }

    /// A rating this poor reopens the request.
    pub const fn reopens(self) -> bool {
        self.0 <= 2
    }
}

/// A change someone asks for. The caller's right to ask is [`Command::action`]; whether
/// the request's state allows it is [`transition`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Command {
    /// Staff send an unrouted or returned request to a grid.
    Dispatch {
        /// The grid.
        grid: NodeId,
    },
    /// 签收.
    SignFor,
    /// 到场.
    ArriveOnSite,
    /// 退单, with the reason.
    Return {
        /// Why it is not this grid's.
        reason: String,
    },
    /// 改派 to another grid.
    Reassign {
        /// The grid.
        grid: NodeId,
    },
    /// Hand the request one level up ("小事不出网格、大事不出社区").
    Escalate {
        /// Why.
        reason: String,
    },
    /// 吹哨 a department.
    Whistle {
        /// The department called.
        department: Department,
        /// What it should do.
        note: String,
    },
    /// The liaison reports for duty (报到).
    AcknowledgeWhistle,
    /// The liaison reports what the department did.
    ReportWhistle {
        /// The report.
        note: String,
    },
    /// 延期申请: more minutes for the resolve deadline.
    RequestExtension {
        /// Minutes asked for.
        minutes: u32,
        /// Why.
        reason: String,
    },
    /// Staff approve the pending extension.
    ApproveExtension,
    /// Staff reject the pending extension.
    RejectExtension {
        /// Why.
        reason: String,
    },
    /// 办结.
    Solve {
        /// What was done.
        note: String,
    },
    /// 核查: staff check the result.
    Verify {
        /// Whether it holds.
        passed: bool,
        /// What was found.
        note: String,
    },
    /// The resident rates the result.
    Rate {
        /// Stars.
        rating: Rating,
        /// Their words.
        comment: String,
    },
    /// Staff close a verified request the resident did not rate.
    Close,
    /// 回访 after closing.
    Revisit {
        /// What the resident said.
        note: String,
    },
    /// A note on the timeline (also the recorded steps of a major request).
    Note {
        /// The text.
        text: String,
    },
    /// Staff close a duplicate into the request that carries the work.
    MergeInto {
        /// The request that stays.
        into: crate::ids::RequestId,
    },
    /// 收集问题: the problem as gathered from the residents (major requests).
    CollectIssue {
        /// What was gathered.
        note: String,
    },
    /// 提出方案 (major requests).
    ProposePlan {
        /// The plan.
        plan: String,
    },
    /// 召开会议 (major requests), after the whistle.
    HoldMeeting {
        /// The day it was held.
        held_on: chrono::NaiveDate,
        /// Who attended (names and units, as written).
        attendees: String,
        /// The minutes.
        minutes: String,
    },
    /// 落实决议 (major requests): what was resolved and how it is followed up.
    RecordResolution {
        /// The resolution.
        resolution: String,
        /// Who does what by when to carry it out.
        follow_up: String,
    },
    /// Staff approve pushing a catalogue item outside the community's duty list (准入) to
    /// its grids.
    ApproveAdmission {
        /// Why it is admitted this time.
        reason: String,
    },
}

/// Who may issue a command, as a policy action on the request's place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Actor {
    /// Those handling the request: the grid worker, community staff.
    Handler,
    /// Those managing the queue: community staff and above.
    Manager,
    /// The liaison a whistle was addressed to.
    Liaison,
    /// The resident who raised it (or staff rating on their behalf).
    Submitter,
}

impl Actor {
    /// The policy action this actor needs on the request's place (a submitter needs none:
    /// being the submitter is the right).
    pub const fn action(self) -> Option<Action> {
        match self {
            Actor::Handler => Some(Action::HandleRequests),
            Actor::Manager => Some(Action::ManageRequests),
            Actor::Liaison | Actor::Submitter => None,
        }
    }
}

impl Command {
    /// The event this command writes on the timeline when accepted.
    pub fn event(&self) -> EventKind {
        match self {
            Command::Dispatch { .. } => EventKind::Dispatched,
            Command::SignFor => EventKind::SignedFor,
            Command::ArriveOnSite => EventKind::OnSite,
            Command::Return { .. } => EventKind::Returned,
            Command::Reassign { .. } => EventKind::Reassigned,
            Command::Escalate { .. } => EventKind::Escalated,
            Command::Whistle { .. } => EventKind::Whistled,
            Command::AcknowledgeWhistle => EventKind::WhistleAcknowledged,
            Command::ReportWhistle { .. } => EventKind::WhistleReported,
            Command::RequestExtension { .. } => EventKind::ExtensionRequested,
            Command::ApproveExtension => EventKind::ExtensionApproved,
            Command::RejectExtension { .. } => EventKind::ExtensionRejected,
            Command::Solve { .. } => EventKind::Solved,
            Command::Verify { passed: true, .. } => EventKind::Verified,
            Command::Verify { passed: false, .. } => EventKind::VerificationFailed,
            Command::Rate { .. } => EventKind::Rated,
            Command::Close => EventKind::Closed,
            Command::Revisit { .. } => EventKind::Revisited,
            Command::Note { .. } => EventKind::Note,
            Command::MergeInto { .. } => EventKind::Merged,
            Command::CollectIssue { .. } => EventKind::IssueCollected,
            Command::ProposePlan { .. } => EventKind::PlanProposed,
            Command::HoldMeeting { .. } => EventKind::MeetingHeld,
            Command::RecordResolution { .. } => EventKind::ResolutionRecorded,
            Command::ApproveAdmission { .. } => EventKind::AdmissionApproved,
        }
    }

    /// Who may issue it.
    pub fn actor(&self) -> Actor {
        match self {
            Command::SignFor
            | Command::ArriveOnSite
            | Command::Return { .. }
            | Command::Escalate { .. }
            | Command::Whistle { .. }
            | Command::RequestExtension { .. }
            | Command::Solve { .. }
            | Command::Note { .. }
            | Command::CollectIssue { .. } => Actor::Handler,
            Command::Dispatch { .. }
            | Command::Reassign { .. }
            | Command::ApproveExtension
            | Command::RejectExtension { .. }
            | Command::Verify { .. }
            | Command::Close
            | Command::Revisit { .. }
            | Command::MergeInto { .. }
            | Command::ProposePlan { .. }
            | Command::HoldMeeting { .. }
            | Command::RecordResolution { .. }
            | Command::ApproveAdmission { .. } => Actor::Manager,
            Command::AcknowledgeWhistle | Command::ReportWhistle { .. } => Actor::Liaison,
            Command::Rate { .. } => Actor::Submitter,
        }
    }

    /// The free text the command carries, for the timeline.
    pub fn note(&self) -> &str {
        match self {
            Command::Return { reason }
            | Command::Escalate { reason }
            | Command::RejectExtension { reason }
            | Command::RequestExtension { reason, .. }
            | Command::ApproveAdmission { reason } => reason,
            Command::CollectIssue { note } => note,
            Command::ProposePlan { plan } => plan,
            Command::HoldMeeting { minutes, .. } => minutes,
            Command::RecordResolution { resolution, .. } => resolution,
            Command::Whistle { note, .. }
            | Command::ReportWhistle { note }
            | Command::Solve { note }
            | Command::Verify { note, .. }
            | Command::Revisit { note } => note,
            Command::Rate { comment, .. } => comment,
            Command::Note { text } => text,
            Command::Dispatch { .. }
            | Command::SignFor
            | Command::ArriveOnSite
            | Command::Reassign { .. }
            | Command::AcknowledgeWhistle
            | Command::ApproveExtension
            | Command::Close
            | Command::MergeInto { .. } => "",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    /// The command does not apply in the request's state.
    #[error("cannot {command} a request that is {status}")]
    WrongState {
        /// The event the command would have written.
        command: EventKind,
        /// The state it is in.
        status: RequestStatus,
    },
    /// Already at the top of the ladder.
    #[error("the request is already at the street level")]
    TopLevel,
    /// An extension is already pending, or none is pending to decide.
    #[error("no extension can be decided or asked for now")]
    Extension,
    /// No whistle is open to acknowledge or report.
    #[error("no open whistle")]
    NoWhistle,
    /// A rating must be 1 to 5 stars.
    #[error("a rating must be 1 to 5 stars, not {0}")]
    BadRating(u8),
    /// A major request's steps are recorded in order, and it is solved only after its
    /// resolution (落实决议).
    #[error("the steps of a major request must be recorded in order first")]
    MajorStep,
    /// The item is outside the community's duty list and its admission is not approved,
    /// or there is no admission to approve.
    #[error("the item needs an admission approval first")]
    Admission,
    /// A text that must say something was empty or too long.
    #[error("a reason or note is required (at most {max} characters)")]
    Text {
        /// The most characters allowed.
        max: usize,
    },
}

/// The most characters of a note or reason.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// What a request's state is, as far as the transition rules need to know.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RequestState {
    /// Its status.
    pub status: RequestStatus,
    /// Its level on the ladder.
    pub level: EscalationLevel,
    /// Whether a whistle is open (not yet reported).
    pub whistle_open: bool,
    /// Whether a whistle is acknowledged.
    pub whistle_acknowledged: bool,
    /// Minutes of extension asked for and not yet decided.
    pub extension_pending: Option<u32>,
    /// The step a major request has reached; `None` for a request that is not major.
    pub major: Option<MajorStage>,
    /// The item is outside the community's duty list (准入) and not yet approved: it may
    /// not be dispatched to a grid.
    pub admission_pending: bool,
}

/// Which instants an accepted command stamps on the request.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stamps {
    /// First arrival on site.
    pub arrived: bool,
    /// Solved (cleared again if reopened).
    pub resolved: bool,
    /// Closed.
    pub closed: bool,
    /// Back to open work: solved and closed instants are cleared.
    pub reopened: bool,
}

/// The outcome of an accepted command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transition {
    /// The new state.
    pub state: RequestState,
    /// Instants to stamp.
    pub stamps: Stamps,
}

fn check_text(text: &str, required: bool) -> Result<(), TransitionError> {
    let n = text.trim().chars().count();
    if (required && n == 0) || n > MAX_NOTE_CHARS {
        Err(TransitionError::Text {
            max: MAX_NOTE_CHARS,
        })
    } else {
        Ok(())
    }
}

/// The one transition function: the new state after `command`, or why not.
pub fn transition(state: RequestState, command: &Command) -> Result<Transition, TransitionError> {
    use RequestStatus as S;
    let wrong = || TransitionError::WrongState {
        command: command.event(),
        status: state.status,
    };
    let required = matches!(
        command,
        Command::Return { .. }
            | Command::Escalate { .. }
            | Command::Whistle { .. }
            | Command::ReportWhistle { .. }
            | Command::RequestExtension { .. }
            | Command::RejectExtension { .. }
            | Command::Revisit { .. }
            | Command::Note { .. }
            | Command::CollectIssue { .. }
            | Command::ProposePlan { .. }
            | Command::HoldMeeting { .. }
            | Command::RecordResolution { .. }
            | Command::ApproveAdmission { .. }
    );
    check_text(command.note(), required)?;
    match command {
        Command::HoldMeeting { attendees, .. } => check_text(attendees, true)?,
        Command::RecordResolution { follow_up, .. } => check_text(follow_up, true)?,
        _ => {}
    }
    let mut next = state;
    let mut stamps = Stamps::default();
    let status = state.status;
    match command {
        Command::Dispatch { .. } => {
            if status != S::Received {
                return Err(wrong());
            }
            if state.admission_pending {
                return Err(TransitionError::Admission);
            }
            next.status = S::Dispatched;
            next.level = EscalationLevel::Grid;
        }
        Command::Reassign { .. } => {
            if !matches!(status, S::Received | S::Dispatched | S::SignedFor) {
                return Err(wrong());
            }
            if state.admission_pending {
                return Err(TransitionError::Admission);
            }
            next.status = S::Dispatched;
            next.level = EscalationLevel::Grid;
        }
        Command::SignFor => {
            if status != S::Dispatched {
                return Err(wrong());
            }
            next.status = S::SignedFor;
        }
        Command::ArriveOnSite => {
            if !matches!(status, S::Dispatched | S::SignedFor) {
                return Err(wrong());
            }
            next.status = S::OnSite;
            stamps.arrived = true;
        }
        Command::Return { .. } => {
            if !matches!(status, S::Dispatched | S::SignedFor) {
                return Err(wrong());
            }
            next.status = S::Received;
            next.level = EscalationLevel::Community;
        }
        Command::Escalate { .. } => {
            if !status.is_open() || status == S::Received {
                return Err(wrong());
            }
            next.level = state.level.next().ok_or(TransitionError::TopLevel)?;
            next.status = S::Dispatched;
        }
        Command::Whistle { .. } => {
            if !matches!(status, S::SignedFor | S::OnSite) {
                return Err(wrong());
            }
            if state.whistle_open {
                return Err(TransitionError::NoWhistle);
            }
            // A major request whistles once its plan is proposed (吹哨通知 is its third
            // step); a later whistle to another department is still allowed.
            match state.major {
                Some(MajorStage::NotStarted | MajorStage::Collected) => {
                    return Err(TransitionError::MajorStep);
                }
                Some(MajorStage::Planned) => next.major = Some(MajorStage::Whistled),
                _ => {}
            }
            next.status = S::Whistled;
            next.whistle_open = true;
            next.whistle_acknowledged = false;
        }
        Command::AcknowledgeWhistle => {
            if !state.whistle_open || state.whistle_acknowledged {
                return Err(TransitionError::NoWhistle);
            }
            next.whistle_acknowledged = true;
        }
        Command::ReportWhistle { .. } => {
            if !state.whistle_open {
                return Err(TransitionError::NoWhistle);
            }
            next.whistle_open = false;
            next.whistle_acknowledged = true;
            if status == S::Whistled {
                next.status = S::OnSite;
                stamps.arrived = true;
            }
        }
        Command::RequestExtension { minutes, .. } => {
            if !status.is_open() || state.extension_pending.is_some() || *minutes == 0 {
                return Err(TransitionError::Extension);
            }
            next.extension_pending = Some(*minutes);
        }
        Command::ApproveExtension | Command::RejectExtension { .. } => {
            if state.extension_pending.is_none() {
                return Err(TransitionError::Extension);
            }
            next.extension_pending = None;
        }
        Command::Solve { .. } => {
            if !matches!(status, S::SignedFor | S::OnSite | S::Dispatched) || state.whistle_open {
                return Err(wrong());
            }
            next.status = S::Solved;
            next.extension_pending = None;
            stamps.arrived = true;
            stamps.resolved = true;
        }
        Command::Verify { passed, .. } => {
            if status != S::Solved {
                return Err(wrong());
            }
            if *passed {
                next.status = S::Verified;
            } else {
                next.status = S::OnSite;
                stamps.reopened = true;
            }
        }
        Command::Rate { rating, .. } => {
            if !matches!(status, S::Solved | S::Verified) {
                return Err(wrong());
            }
            if rating.reopens() {
                next.status = S::Dispatched;
                stamps.reopened = true;
            } else {
                next.status = S::Closed;
                stamps.closed = true;
            }
        }
        Command::Close => {
            if status != S::Verified {
                return Err(wrong());
            }
            next.status = S::Closed;
            stamps.closed = true;
        }
        Command::Revisit { .. } => {
            if status != S::Closed {
                return Err(wrong());
            }
        }
        Command::Note { .. } => {}
        Command::MergeInto { .. } => {
            if !matches!(
                status,
                S::Received | S::Dispatched | S::SignedFor | S::OnSite
            ) || state.whistle_open
            {
                return Err(wrong());
            }
            next.status = S::Closed;
            next.extension_pending = None;
            stamps.closed = true;
        }
        Command::CollectIssue { .. }
        | Command::ProposePlan { .. }
        | Command::HoldMeeting { .. }
        | Command::RecordResolution { .. } => {
            let (from, to) = match command {
                Command::CollectIssue { .. } => (MajorStage::NotStarted, MajorStage::Collected),
                Command::ProposePlan { .. } => (MajorStage::Collected, MajorStage::Planned),
                Command::HoldMeeting { .. } => (MajorStage::Whistled, MajorStage::Met),
                _ => (MajorStage::Met, MajorStage::Resolved),
            };
            if !status.is_open() {
                return Err(wrong());
            }
            if state.major != Some(from) {
                return Err(TransitionError::MajorStep);
            }
            next.major = Some(to);
        }
        Command::ApproveAdmission { .. } => {
            if !state.admission_pending {
                return Err(TransitionError::Admission);
            }
            next.admission_pending = false;
        }
    }
    // Whatever the path to solved or closed, a major request takes it only after its
    // resolution is recorded.
    if matches!(next.status, S::Solved | S::Verified | S::Closed)
        && next.status != status
        && next
            .major
            .is_some_and(|stage| stage != MajorStage::Resolved)
    {
        return Err(TransitionError::MajorStep);
    }
    Ok(Transition {
        state: next,
        stamps,
    })
}

/// The deadlines a request still owes, as the scheduler sees them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PendingDeadlines {
    /// On site by, unless arrived or already breached.
    pub arrive: Option<DateTime<Utc>>,
    /// Solved by, unless solved or already breached.
    pub resolve: Option<DateTime<Utc>>,
    /// The open whistle's acknowledgement, unless acknowledged or already breached.
    pub whistle: Option<DateTime<Utc>>,
}

impl PendingDeadlines {
    /// The earliest deadline still owed and its kind; ties go to the earlier step.
    pub fn next(&self) -> Option<(DeadlineKind, DateTime<Utc>)> {
        [
            (DeadlineKind::Arrive, self.arrive),
            (DeadlineKind::Resolve, self.resolve),
            (DeadlineKind::WhistleAcknowledge, self.whistle),
        ]
        .into_iter()
        .filter_map(|(kind, at)| at.map(|at| (kind, at)))
        .min_by_key(|(_, at)| *at)
    }

    /// Every deadline owed that has passed at `now`, earliest first.
    pub fn breached_at(&self, now: DateTime<Utc>) -> Vec<DeadlineKind> {
        let mut due: Vec<(DeadlineKind, DateTime<Utc>)> = [
            (DeadlineKind::Arrive, self.arrive),
            (DeadlineKind::Resolve, self.resolve),
            (DeadlineKind::WhistleAcknowledge, self.whistle),
        ]
        .into_iter()
        .filter_map(|(kind, at)| at.filter(|at| *at <= now).map(|at| (kind, at)))
        .collect();
        due.sort_by_key(|(_, at)| *at);
        due.into_iter().map(|(kind, _)| kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(status: RequestStatus) -> RequestState {
        RequestState {
            status,
            level: EscalationLevel::Grid,
            whistle_open: false,
            whistle_acknowledged: false,
            extension_pending: None,
            major: None,
            admission_pending: false,
        }
    }

    fn apply(state: RequestState, command: Command) -> RequestState {
        transition(state, &command).unwrap().state
    }

    #[test]
    fn the_happy_path_reaches_closed() {
        let grid = NodeId::new_v7();
        let mut s = state(RequestStatus::Received);
        s = apply(s, Command::Dispatch { grid });
        assert_eq!(s.status, RequestStatus::Dispatched);
        s = apply(s, Command::SignFor);
        let t = transition(s, &Command::ArriveOnSite).unwrap();
        assert!(t.stamps.arrived);
        s = t.state;
        s = apply(
            s,
            Command::Solve {
                note: "清理完毕".into(),
            },
        );
        s = apply(
            s,
            Command::Verify {
                passed: true,
                note: String::new(),
            },
        );
        let t = transition(
            s,
            &Command::Rate {
                rating: Rating::new(5).unwrap(),
                comment: String::new(),
            },
        )
        .unwrap();
        assert_eq!(t.state.status, RequestStatus::Closed);
        assert!(t.stamps.closed);
    }

    #[test]
    fn a_poor_rating_reopens() {
        let t = transition(
            state(RequestStatus::Verified),
            &Command::Rate {
                rating: Rating::new(1).unwrap(),
                comment: "没修好".into(),
            },
        )
        .unwrap();
        assert_eq!(t.state.status, RequestStatus::Dispatched);
        assert!(t.stamps.reopened);
        assert!(Rating::new(0).is_err() && Rating::new(6).is_err());
    }

    #[test]
    fn escalation_climbs_the_ladder_and_stops_at_the_street() {
        let mut s = state(RequestStatus::SignedFor);
        let why = || Command::Escalate {
            reason: "需要社区协调".into(),
        };
        for level in [
            EscalationLevel::Compound,
            EscalationLevel::Community,
            EscalationLevel::Street,
        ] {
            s = apply(s, why());
            assert_eq!(s.level, level);
            assert_eq!(s.status, RequestStatus::Dispatched);
        }
        assert_eq!(transition(s, &why()), Err(TransitionError::TopLevel));
    }

    #[test]
    fn a_whistle_must_be_reported_before_solving() {
        let mut s = state(RequestStatus::OnSite);
        s = apply(
            s,
            Command::Whistle {
                department: Department::Water,
                note: "管道破裂".into(),
            },
        );
        assert!(transition(s, &Command::Solve { note: "x".into() }).is_err());
        s = apply(s, Command::AcknowledgeWhistle);
        assert_eq!(
            transition(s, &Command::AcknowledgeWhistle),
            Err(TransitionError::NoWhistle)
        );
        s = apply(
            s,
            Command::ReportWhistle {
                note: "已抢修".into(),
            },
        );
        assert_eq!(s.status, RequestStatus::OnSite);
        assert!(!s.whistle_open);
        assert!(transition(s, &Command::Solve { note: "x".into() }).is_ok());
    }

    #[test]
    fn extensions_are_asked_then_decided() {
        let s = apply(
            state(RequestStatus::SignedFor),
            Command::RequestExtension {
                minutes: 60,
                reason: "等配件".into(),
            },
        );
        assert_eq!(s.extension_pending, Some(60));
        let again = Command::RequestExtension {
            minutes: 30,
            reason: "再等".into(),
        };
        assert_eq!(transition(s, &again), Err(TransitionError::Extension));
        let s = apply(s, Command::ApproveExtension);
        assert_eq!(s.extension_pending, None);
        assert_eq!(
            transition(s, &Command::ApproveExtension),
            Err(TransitionError::Extension)
        );
    }

    #[test]
    fn reasons_are_required_where_they_matter() {
        let s = state(RequestStatus::Dispatched);
        let err = transition(
            s,
            &Command::Return {
                reason: "  ".into(),
            },
        );
        assert!(matches!(err, Err(TransitionError::Text { .. })));
    }

    #[test]
    fn the_catalogue_codes_are_unique() {
        let mut codes: Vec<_> = SERVICE_CATALOGUE.iter().map(|s| s.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SERVICE_CATALOGUE.len());
        assert!(service_type("noise").is_some() && service_type("nope").is_none());
    }

    fn any_command() -> impl Strategy<Value = Command> {
        let grid = NodeId::new_v7();
        prop_oneof![
            Just(Command::Dispatch { grid }),
            Just(Command::SignFor),
            Just(Command::ArriveOnSite),
            Just(Command::Return { reason: "r".into() }),
            Just(Command::Reassign { grid }),
            Just(Command::Escalate { reason: "r".into() }),
            Just(Command::Whistle {
                department: Department::Power,
                note: "n".into()
            }),
            Just(Command::AcknowledgeWhistle),
            Just(Command::ReportWhistle { note: "n".into() }),
            (1u32..600).prop_map(|minutes| Command::RequestExtension {
                minutes,
                reason: "r".into()
            }),
            Just(Command::ApproveExtension),
            Just(Command::RejectExtension { reason: "r".into() }),
            Just(Command::Solve { note: "n".into() }),
            any::<bool>().prop_map(|passed| Command::Verify {
                passed,
                note: String::new()
            }),
            (1u8..=5).prop_map(|stars| Command::Rate {
                rating: Rating::new(stars).unwrap(),
                comment: String::new()
            }),
            Just(Command::Close),
            Just(Command::Revisit { note: "n".into() }),
            Just(Command::Note { text: "t".into() }),
            Just(Command::MergeInto {
                into: crate::ids::RequestId::new_v7()
            }),
            Just(Command::CollectIssue { note: "n".into() }),
            Just(Command::ProposePlan { plan: "p".into() }),
            Just(Command::HoldMeeting {
                held_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
                attendees: "a".into(),
                minutes: "m".into()
            }),
            Just(Command::RecordResolution {
                resolution: "r".into(),
                follow_up: "f".into()
            }),
            Just(Command::ApproveAdmission { reason: "r".into() }),
        ]
    }

    fn meeting() -> Command {
        Command::HoldMeeting {
            held_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
            attendees: "社区书记、城管中队、物业".into(),
            minutes: "议定先抢修后追责".into(),
        }
    }

    #[test]
    fn a_major_request_walks_the_five_steps_before_it_is_solved() {
        let mut s = state(RequestStatus::SignedFor);
        s.major = Some(MajorStage::NotStarted);
        let solve = Command::Solve { note: "x".into() };
        let whistle = Command::Whistle {
            department: Department::UrbanManagement,
            note: "违建".into(),
        };
        assert_eq!(transition(s, &solve), Err(TransitionError::MajorStep));
        assert_eq!(transition(s, &whistle), Err(TransitionError::MajorStep));
        assert_eq!(transition(s, &meeting()), Err(TransitionError::MajorStep));
        s = apply(
            s,
            Command::CollectIssue {
                note: "楼顶违建".into(),
            },
        );
        s = apply(
            s,
            Command::ProposePlan {
                plan: "联合拆除".into(),
            },
        );
        assert_eq!(transition(s, &meeting()), Err(TransitionError::MajorStep));
        s = apply(s, whistle);
        assert_eq!(s.major, Some(MajorStage::Whistled));
        s = apply(s, Command::AcknowledgeWhistle);
        s = apply(
            s,
            Command::ReportWhistle {
                note: "已到场".into(),
            },
        );
        s = apply(s, meeting());
        assert_eq!(transition(s, &solve), Err(TransitionError::MajorStep));
        let no_follow_up = Command::RecordResolution {
            resolution: "限期拆除".into(),
            follow_up: " ".into(),
        };
        assert!(matches!(
            transition(s, &no_follow_up),
            Err(TransitionError::Text { .. })
        ));
        s = apply(
            s,
            Command::RecordResolution {
                resolution: "限期拆除".into(),
                follow_up: "城管7日内复查".into(),
            },
        );
        assert_eq!(s.major, Some(MajorStage::Resolved));
        assert_eq!(apply(s, solve).status, RequestStatus::Solved);
    }

    #[test]
    fn an_item_outside_the_duty_list_waits_for_its_admission() {
        let grid = NodeId::new_v7();
        let mut s = state(RequestStatus::Received);
        s.admission_pending = true;
        assert_eq!(
            transition(s, &Command::Dispatch { grid }),
            Err(TransitionError::Admission)
        );
        s = apply(
            s,
            Command::ApproveAdmission {
                reason: "本村一村一策同意".into(),
            },
        );
        assert!(!s.admission_pending);
        assert_eq!(
            transition(s, &Command::ApproveAdmission { reason: "x".into() }),
            Err(TransitionError::Admission)
        );
        assert_eq!(
            apply(s, Command::Dispatch { grid }).status,
            RequestStatus::Dispatched
        );
    }

    proptest! {
        /// Whatever commands arrive, a major request's steps are recorded one at a time in
        /// the order of seed 003, and it is never solved or closed before its resolution;
        /// an unapproved admission never reaches a grid.
        #[test]
        fn major_steps_never_go_out_of_order(
            commands in proptest::collection::vec(any_command(), 0..60),
            admission_pending in any::<bool>(),
        ) {
            let mut s = state(RequestStatus::Received);
            s.level = EscalationLevel::Community;
            s.major = Some(MajorStage::NotStarted);
            s.admission_pending = admission_pending;
            for command in &commands {
                let before = s;
                if let Ok(t) = transition(s, command) {
                    s = t.state;
                }
                let (b, a) = (before.major.unwrap(), s.major.unwrap());
                prop_assert!(a == b || b.next() == Some(a));
                if a == MajorStage::Whistled && b == MajorStage::Planned {
                    let by_whistle = matches!(command, Command::Whistle { .. });
                    prop_assert!(by_whistle);
                }
                if !s.status.is_open() {
                    prop_assert_eq!(a, MajorStage::Resolved);
                }
                if s.admission_pending {
                    prop_assert_eq!(s.status, RequestStatus::Received);
                }
            }
        }
    }

    proptest! {
        /// Whatever commands arrive in whatever order, the state stays coherent: a closed
        /// request was solved first (or merged into another), nothing solved has an open whistle, and a request
        /// waiting in the queue sits at the community.
        #[test]
        fn any_command_sequence_keeps_the_state_coherent(
            commands in proptest::collection::vec(any_command(), 0..40)
        ) {
            let mut s = state(RequestStatus::Received);
            s.level = EscalationLevel::Community;
            let mut solved_once = false;
            for command in &commands {
                if let Ok(t) = transition(s, command) {
                    if t.stamps.resolved { solved_once = true; }
                    let merged = matches!(command, Command::MergeInto { .. });
                    prop_assert!(!t.stamps.closed || solved_once || merged);
                    s = t.state;
                }
                prop_assert!(!s.whistle_open || s.status.is_open());
                if s.status == RequestStatus::Received {
                    prop_assert_eq!(s.level, EscalationLevel::Community);
                }
                if s.status == RequestStatus::Whistled {
                    prop_assert!(s.whistle_open);
                }
            }
        }
    }

    #[test]
    fn pending_deadlines_fire_in_order() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let p = PendingDeadlines {
            arrive: Some(t0 + chrono::Duration::minutes(10)),
            resolve: Some(t0 + chrono::Duration::minutes(30)),
            whistle: None,
        };
        assert_eq!(
            p.next(),
            Some((DeadlineKind::Arrive, t0 + chrono::Duration::minutes(10)))
        );
        assert!(p.breached_at(t0).is_empty());
        assert_eq!(
            p.breached_at(t0 + chrono::Duration::hours(1)),
            vec![DeadlineKind::Arrive, DeadlineKind::Resolve]
        );
    }
}
