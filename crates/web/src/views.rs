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
