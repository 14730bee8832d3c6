//! What the API returns and the pages show, built from records. Masking happens here and
//! only here: a view carries the full ID number or phone only when built with
//! [`Disclosure::Full`], which handlers choose after asking the policy (and auditing).

use chrono::NaiveDate;
use mulin_domain::person::age_on;
use mulin_domain::tree::NodeKind;
use mulin_storage::{NodeCounts, NodeRecord, ResidentRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// How much personal data a view shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Disclosure {
    /// ID numbers and phones masked (`1402**********123X`, `138****5678`).
    Masked,
    /// Everything, for a role that needs it; the read is audited.
    Full,
}

/// A node of the tree.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct NodeView {
    /// Id (UUID).
    pub id: String,
    /// `district`, `street`, `community`, `grid`, `compound`, `building`, `entrance`,
    /// `household`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Division code (district to grid).
    pub code: Option<String>,
    /// Parent id; none for the district.
    pub parent_id: Option<String>,
}

impl From<&NodeRecord> for NodeView {
    fn from(node: &NodeRecord) -> NodeView {
        NodeView {
            id: node.path.id().to_string(),
            kind: node.path.kind().as_str().to_owned(),
            name: node.name.clone(),
            code: node.code.clone(),
            parent_id: node.path.parent().map(|id| id.to_string()),
        }
    }
}

/// Counts under a node.
#[derive(Serialize, ToSchema, Clone, Copy, Debug, Default)]
pub struct CountsView {
    /// Households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
    /// Residents in a special group (65+ included).
    pub special_groups: i64,
    /// Residents aged 65 or over.
    pub elderly: i64,
}

impl From<NodeCounts> for CountsView {
    fn from(counts: NodeCounts) -> CountsView {
        CountsView {
            households: counts.households,
            residents: counts.residents,
            special_groups: counts.special_groups,
            elderly: counts.elderly,
        }
    }
}

/// A resident.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct ResidentView {
    /// Id (UUID).
    pub id: String,
    /// 姓名.
    pub name: String,
    /// `male` or `female`.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Age today.
    pub age: Option<u32>,
    /// 民族.
    pub ethnicity: Option<String>,
    /// ID number, masked unless `masked` is false.
    pub id_number: Option<String>,
    /// Phone, masked unless `masked` is false.
    pub phone: Option<String>,
    /// Relation to the head of household.
    pub relation: String,
    /// Residence status: `registered`, `permanent`, `floating`, `registered_absent`.
    pub status: String,
    /// Special groups, 65+ derived from the birth date.
    pub special_groups: Vec<String>,
    /// The household (a node id).
    pub household_id: String,
    /// The grid the household lies in.
    pub grid_id: String,
    /// The community.
    pub community_id: String,
    /// The standard address.
    pub address: String,
    /// Whether ID number and phone are masked.
    pub masked: bool,
    /// The district's extra fields.
    pub extra: std::collections::BTreeMap<String, String>,
}

impl ResidentView {
    /// Builds a view, masked or not.
    pub fn new(
        resident: &ResidentRecord,
        today: NaiveDate,
        disclosure: Disclosure,
    ) -> ResidentView {
        let full = disclosure == Disclosure::Full;
        let level = |kind: NodeKind| {
            resident
                .household
                .at(kind)
                .map(|id| id.to_string())
                .unwrap_or_default()
        };
        ResidentView {
            id: resident.id.to_string(),
            name: resident.name.as_ref().to_owned(),
            gender: resident.gender.as_str().to_owned(),
            birth_date: resident
                .birth_date
                .map(|d| d.format("%Y-%m-%d").to_string()),
            age: resident.birth_date.map(|d| age_on(d, today)),
            ethnicity: resident.ethnicity.clone(),
            id_number: resident.id_number.as_ref().map(|n| {
                if full {
                    n.expose().to_owned()
                } else {
                    n.masked()
                }
            }),
            phone: resident.phone.as_ref().map(|p| {
                if full {
                    p.expose().to_owned()
                } else {
                    p.masked()
                }
            }),
            relation: resident.relation.as_str().to_owned(),
            status: resident.status.as_str().to_owned(),
            special_groups: resident
                .groups
                .with_derived(resident.birth_date, today)
                .into_iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            household_id: resident.household.id().to_string(),
            grid_id: level(NodeKind::Grid),
            community_id: level(NodeKind::Community),
            address: resident.address.clone(),
            masked: !full,
            extra: resident.extra.iter().cloned().collect(),
        }
    }
}

/// A request as the API shows it. The reporter's phone is masked unless the caller handles
/// the request.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct RequestView {
    /// Id (UUID; also the Open311 `service_request_id`).
    pub id: String,
    /// Catalogue code.
    pub service_code: String,
    /// `ordinary`, `complex`, `major`.
    pub severity: String,
    /// How it came in: `walk_in`, `phone`, `web`, `patrol`, `representative`, `open311`,
    /// `api`, `hotline`.
    pub channel: String,
    /// `received`, `dispatched`, `signed_for`, `on_site`, `whistled`, `solved`, `verified`,
    /// `closed`.
    pub status: String,
    /// Level on the ladder: `grid`, `compound`, `community`, `street`.
    pub level: String,
    /// Summary.
    pub title: String,
    /// The resident's words.
    pub description: String,
    /// Address.
    pub address: Option<String>,
    /// Longitude (WGS-84).
    pub lon: Option<f64>,
    /// Latitude (WGS-84).
    pub lat: Option<f64>,
    /// The node it is at (building, grid or community).
    pub place_id: String,
    /// That node's kind.
    pub place_kind: String,
    /// The grid, once routed.
    pub grid_id: Option<String>,
    /// The community.
    pub community_id: Option<String>,
    /// Who raised it.
    pub reporter_name: Option<String>,
    /// Their phone (masked unless the caller handles the request).
    pub reporter_phone: Option<String>,
    /// Taken in (RFC 3339, UTC).
    pub received_at: String,
    /// On site by.
    pub arrive_due: String,
    /// Solved by (current, after extensions).
    pub resolve_due: String,
    /// First on site.
    pub arrived_at: Option<String>,
    /// Solved.
    pub resolved_at: Option<String>,
    /// Closed.
    pub closed_at: Option<String>,
    /// 1–5 stars.
    pub rating: Option<u8>,
    /// Deadlines missed: any of `arrive`, `resolve`, `whistle_acknowledge`.
    pub breaches: Vec<String>,
    /// The open whistle's department.
    pub whistle_department: Option<String>,
    /// Whether the whistle was acknowledged.
    pub whistle_acknowledged: bool,
    /// The whistle must be acknowledged by.
    pub whistle_due: Option<String>,
    /// Minutes of extension asked for and not yet decided.
    pub extension_pending: Option<u32>,
    /// A major request's step (`not_started`, `collected`, `planned`, `whistled`, `met`,
    /// `resolved`); absent for others.
    pub major_stage: Option<String>,
    /// The item is outside the community's duty list (准入) and waits for an approval.
    pub admission_pending: bool,
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl RequestView {
    /// The view; `disclosure` decides the phone.
    pub fn new(r: &mulin_storage::RequestRecord, disclosure: Disclosure) -> RequestView {
        let breaches = [
            (r.arrive_breached, "arrive"),
            (r.resolve_breached, "resolve"),
            (r.whistle_breached, "whistle_acknowledge"),
        ]
        .into_iter()
        .filter(|(yes, _)| *yes)
        .map(|(_, kind)| kind.to_owned())
        .collect();
        RequestView {
            id: r.id.to_string(),
            service_code: r.service_code.clone(),
            severity: r.severity.as_str().to_owned(),
            channel: r.channel.as_str().to_owned(),
            status: r.state.status.as_str().to_owned(),
            level: r.state.level.as_str().to_owned(),
            title: r.title.clone(),
            description: r.description.clone(),
            address: r.address.clone(),
            lon: r.position.map(|p| p.lon),
            lat: r.position.map(|p| p.lat),
            place_id: r.place.id().to_string(),
            place_kind: r.place.kind().as_str().to_owned(),
            grid_id: r.place.at(NodeKind::Grid).map(|id| id.to_string()),
            community_id: r.place.at(NodeKind::Community).map(|id| id.to_string()),
            reporter_name: r.reporter_name.clone(),
            reporter_phone: r.reporter_phone.as_ref().map(|p| match disclosure {
                Disclosure::Full => p.expose().to_owned(),
                Disclosure::Masked => p.masked(),
            }),
            received_at: rfc3339(r.received_at),
            arrive_due: rfc3339(r.arrive_due),
            resolve_due: rfc3339(r.resolve_due),
            arrived_at: r.arrived_at.map(rfc3339),
            resolved_at: r.resolved_at.map(rfc3339),
            closed_at: r.closed_at.map(rfc3339),
            rating: r.rating.map(|rating| rating.stars()),
            breaches,
            whistle_department: r
                .state
                .whistle_open
                .then(|| r.whistle_department.map(|d| d.as_str().to_owned()))
                .flatten(),
            whistle_acknowledged: r.state.whistle_open && r.state.whistle_acknowledged,
            whistle_due: r.whistle_due.filter(|_| r.state.whistle_open).map(rfc3339),
            extension_pending: r.state.extension_pending,
            major_stage: r.state.major.map(|stage| stage.as_str().to_owned()),
            admission_pending: r.state.admission_pending,
        }
    }
}

/// One entry of a request's timeline.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct EventView {
    /// Position on the timeline, from 1.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What: `received`, `dispatched`, `signed_for`, … `breached`.
    pub kind: String,
    /// Who (`system` for the scheduler).
    pub actor: String,
    /// The note, reason or report.
    pub note: String,
    /// Detail: status after, grid, department, stars, deadline …
    pub data: std::collections::BTreeMap<String, String>,
}

impl From<&mulin_storage::RequestEvent> for EventView {
    fn from(e: &mulin_storage::RequestEvent) -> EventView {
        EventView {
            seq: e.seq,
            at: rfc3339(e.at),
            kind: e.kind.as_str().to_owned(),
            actor: e.actor_name.clone(),
            note: e.note.clone(),
            data: e.data.iter().cloned().collect(),
        }
    }
}

/// A resident as a ledger export writes it, masked or not; `names` gives the name of each
/// node of the household's address (compound, building, entrance, household).
pub fn ledger_row(
    resident: &ResidentRecord,
    names: &std::collections::HashMap<mulin_domain::ids::NodeId, String>,
    today: NaiveDate,
    disclosure: Disclosure,
) -> mulin_ledger::ExportRow {
    let full = disclosure == Disclosure::Full;
    let name_at = |kind: NodeKind| {
        resident
            .household
            .at(kind)
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_default()
    };
    mulin_ledger::ExportRow {
        name: resident.name.as_ref().to_owned(),
        gender: resident.gender,
        ethnicity: resident.ethnicity.clone(),
        birth_date: resident.birth_date,
        id_number: resident.id_number.as_ref().map(|n| {
            if full {
                n.expose().to_owned()
            } else {
                n.masked()
            }
        }),
        phone: resident.phone.as_ref().map(|p| {
            if full {
                p.expose().to_owned()
            } else {
                p.masked()
            }
        }),
        compound: name_at(NodeKind::Compound),
        building: name_at(NodeKind::Building),
        entrance: name_at(NodeKind::Entrance),
        house: name_at(NodeKind::Household),
        relation: resident.relation,
        status: resident.status,
        groups: resident.groups.with_derived(resident.birth_date, today),
    }
}
