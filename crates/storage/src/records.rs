//! The records storage reads and writes, built from checked domain values.

use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, NodeId, PartyOrgId, PostId, ResidentId, UnitId, UserId};
use mulin_domain::org::{
    Department, Employment, FieldDef, Origin, PartyOrgKind, PostKind, UnitKind,
};
use mulin_domain::person::{
    Gender, IdNumber, PersonName, Phone, Relation, ResidenceStatus, SpecialGroups,
};
use mulin_domain::policy::Role;
use mulin_domain::tree::NodePath;
use uuid::Uuid;

/// A WGS-84 position. Stored as WGS-84; converted to GCJ-02 only at a map provider's edge.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LonLat {
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
}

/// Which nodes a query about attached things (posts, party organisations, units) covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place<'a> {
    /// The node and its whole subtree.
    Within(&'a NodePath),
    /// Exactly this node: what a node page lists, without reading its subtree.
    At(&'a NodePath),
}

/// A node of the tree with what is shown about it.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeRecord {
    /// Where it sits (its own id, kind and every ancestor).
    pub path: NodePath,
    /// Its name: "振华街道", "3号楼", "2单元", "401室".
    pub name: String,
    /// Division code (district to grid) or house number code; checked by the caller.
    pub code: Option<String>,
    /// Order among siblings.
    pub sort_key: i64,
    /// A point: a building's or household's location.
    pub position: Option<LonLat>,
    /// A GeoJSON geometry: a grid's or community's polygon.
    pub geometry: Option<String>,
    /// For households: the full standard address, e.g. "阳光小区3号楼2单元401室".
    pub address: Option<String>,
    /// The district's extra fields, by key.
    pub extra: Vec<(String, String)>,
}

/// Counts under a node. `special_groups` counts people with any tag or aged 65+.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NodeCounts {
    /// Households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
    /// Residents in at least one special group (65+ included).
    pub special_groups: i64,
    /// Residents aged 65 or over.
    pub elderly: i64,
}

/// A resident, linked to the standard address of their household.
#[derive(Clone, PartialEq, Debug)]
pub struct ResidentRecord {
    /// Identity.
    pub id: ResidentId,
    /// The household's place in the tree: gives the grid, community and so on.
    pub household: NodePath,
    /// The household's full address (read side; derived from the household node).
    pub address: String,
    /// 姓名.
    pub name: PersonName,
    /// 性别.
    pub gender: Gender,
    /// 出生日期.
    pub birth_date: Option<NaiveDate>,
    /// 民族.
    pub ethnicity: Option<String>,
    /// 身份证号.
    pub id_number: Option<IdNumber>,
    /// 联系电话.
    pub phone: Option<Phone>,
    /// 与户主关系.
    pub relation: Relation,
    /// 人户状态.
    pub status: ResidenceStatus,
    /// Tagged special groups (65+ is derived, not stored).
    pub groups: SpecialGroups,
    /// The district's extra fields, by key.
    pub extra: Vec<(String, String)>,
}

/// A resident search.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResidentQuery {
    /// Name, part of an address, or the last digits of an ID number; empty lists all.
    pub q: String,
    /// 1-based page number.
    pub page: u32,
    /// Page size, 1–200.
    pub per_page: u32,
}

/// One page of a list.
#[derive(Clone, PartialEq, Debug)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Whether a next page has rows.
    pub has_more: bool,
}

/// A party organisation attached to a node of the administrative tree.
#[derive(Clone, PartialEq, Debug)]
pub struct PartyOrgRecord {
    /// Identity.
    pub id: PartyOrgId,
    /// Tenant.
    pub district: DistrictId,
    /// The organisation above it.
    pub parent: Option<PartyOrgId>,
    /// The node it is attached to (street, community, grid, compound ...).
    pub node: NodeId,
    /// 党工委, 党委, 党总支, 党支部, 党小组.
    pub kind: PartyOrgKind,
    /// Its name.
    pub name: String,
}

/// A unit (驻区单位, business, property company, owners' committee, social organisation).
#[derive(Clone, PartialEq, Debug)]
pub struct UnitRecord {
    /// Identity.
    pub id: UnitId,
    /// Tenant.
    pub district: DistrictId,
    /// Its standard address: a compound, building or household node.
    pub node: NodeId,
    /// Kind of unit.
    pub kind: UnitKind,
    /// Its name.
    pub name: String,
    /// 统一社会信用代码, when known.
    pub credit_code: Option<String>,
    /// Contact person.
    pub contact: Option<String>,
    /// Contact phone.
    pub phone: Option<Phone>,
    /// The district's extra fields, by key.
    pub extra: Vec<(String, String)>,
}

/// A post: a person holding a role at a node. Several posts of one person are a
/// cross-appointment.
#[derive(Clone, PartialEq, Debug)]
pub struct PostRecord {
    /// Identity.
    pub id: PostId,
    /// Tenant.
    pub district: DistrictId,
    /// Which post.
    pub kind: PostKind,
    /// Where it is held: the grid, building, community or area.
    pub node: NodeId,
    /// For party posts: the organisation.
    pub party_org: Option<PartyOrgId>,
    /// For unit posts: the unit (property company, owners' committee).
    pub unit: Option<UnitId>,
    /// The holder's name.
    pub holder_name: PersonName,
    /// The holder, when registered as a resident.
    pub resident: Option<ResidentId>,
    /// The holder's account, when they have one.
    pub user: Option<UserId>,
    /// The holder's work phone (published for liaisons).
    pub phone: Option<Phone>,
    /// Full- or part-time (grid workers).
    pub employment: Option<Employment>,
    /// Where the holder comes from (四方力量).
    pub origin: Option<Origin>,
    /// For department liaisons: the department.
    pub department: Option<Department>,
    /// For department liaisons: the request categories they answer.
    pub categories: Vec<String>,
    /// For representatives and captains: the households they link.
    pub households: Vec<NodeId>,
}

/// A login account. Grants are stored apart (see [`crate::Storage::grants`]).
#[derive(Clone, PartialEq, Debug)]
pub struct UserRecord {
    /// Identity.
    pub id: UserId,
    /// Tenant.
    pub district: DistrictId,
    /// Login name, unique in the database.
    pub username: String,
    /// The name shown.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Created by the demo generator.
    pub is_demo: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Whether a session came from the web login (cookie + CSRF token) or the API (bearer).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SessionKind {
    /// A browser session: cookie plus a CSRF token.
    Web,
    /// An API bearer token.
    Api,
}

impl SessionKind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// A session. Only the hash of its token is stored, so a leaked database holds no live
/// credentials.
#[derive(Clone, PartialEq, Debug)]
pub struct SessionRecord {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The account.
    pub user_id: UserId,
    /// Tenant.
    pub district: DistrictId,
    /// Web or API.
    pub kind: SessionKind,
    /// The per-session CSRF token (web sessions).
    pub csrf_token: String,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// One audit record: who did or read what, when, from where.
#[derive(Clone, PartialEq, Debug)]
pub struct AuditEntry {
    /// UUIDv7, so entries sort by time.
    pub id: Uuid,
    /// Tenant.
    pub district: DistrictId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (none for a failed login of an unknown name).
    pub user_id: Option<UserId>,
    /// The username at the time, for reading the log without a join.
    pub username: String,
    /// What: `resident.reveal`, `user.create`, `login.failed` ...
    pub action: String,
    /// The kind of thing touched: `resident`, `user`, `node` ...
    pub target_kind: String,
    /// Its id.
    pub target_id: String,
    /// The client address.
    pub ip: Option<String>,
    /// A short human-readable detail.
    pub detail: String,
}

/// A whole dataset written in one transaction: a new district, the demo, an import.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Nodes, parents before children.
    pub nodes: Vec<NodeRecord>,
    /// Residents of households in `nodes` or already stored.
    pub residents: Vec<ResidentRecord>,
    /// Party organisations, parents first.
    pub party_orgs: Vec<PartyOrgRecord>,
    /// Units.
    pub units: Vec<UnitRecord>,
    /// Posts.
    pub posts: Vec<PostRecord>,
    /// Accounts with their grants (role at node).
    pub users: Vec<(UserRecord, Vec<(Role, NodeId)>)>,
    /// Extra field definitions, by district.
    pub field_defs: Vec<(DistrictId, FieldDef)>,
}
