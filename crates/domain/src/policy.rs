//! The one access policy. Every page, API endpoint and export asks it; nothing else decides
//! who may see or change what.
//!
//! A role is granted at a node and holds for that node's whole subtree. An action is allowed
//! on a target when some grant's role permits the action and the target lies inside the
//! grant's node. Lists are narrowed the same way through [`Principal::scopes_under`].

use crate::codes::code_enum;
use crate::ids::{DistrictId, UserId};
use crate::tree::{NodeKind, NodePath};

code_enum!(
    /// The roles of MISSION.md. Each is granted at a node and scoped to its subtree.
    Role, "role" {
        /// 区管理员: the whole district, accounts and settings.
        Admin = "admin",
        /// 街道管理员.
        StreetAdmin = "street_admin",
        /// 社区工作者 / 社区书记: one-window intake, ledgers, dispatch.
        CommunityStaff = "community_staff",
        /// 网格员: their grid's households and residents.
        GridWorker = "grid_worker",
        /// 部门片区联系人: whistles for their area; no resident data.
        DepartmentLiaison = "department_liaison",
        /// 党员: registration and service; no resident data.
        PartyMember = "party_member",
        /// 志愿者: activities and points; no resident data.
        Volunteer = "volunteer",
        /// 居民: their own household.
        Resident = "resident",
    }
);

/// Something a user may want to do to a node or what lies under it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// See the node, its children and their counts.
    ViewTree,
    /// See residents with ID numbers and phones masked.
    ViewResidents,
    /// See a resident's full ID number and phone (audited).
    RevealPersonalData,
    /// Add or change households, residents, units and posts.
    EditRegistry,
    /// Create accounts and grant roles at nodes.
    ManageAccounts,
    /// Read the audit log (a street administrator: what their street's accounts did).
    ViewAudit,
    /// See the requests raised at places in scope.
    ViewRequests,
    /// Raise a request for a place in scope (a resident: their own household).
    SubmitRequests,
    /// Work a request: sign for it, go on site, whistle, solve, return, escalate.
    HandleRequests,
    /// Run the queue: dispatch, reassign, decide extensions, verify, close, revisit.
    ManageRequests,
    /// See request figures (response, resolution, satisfaction) for places in scope.
    ViewRequestStats,
    /// Replace grid boundaries (a community's whole tiling at once).
    EditGrids,
    /// Import a ledger (Excel) into the registry: creates places inside compounds and
    /// writes residents in bulk.
    ImportRegistry,
    /// Edit the district's work calendar (holidays and 调休 make-up days).
    EditCalendar,
    /// Log home visits and patrols in a grid (and the record updates they bring back).
    LogVisits,
    /// See visits, their coverage, the share of working time spent visiting, and the
    /// floating-population registers.
    ViewVisits,
    /// See the map: grids with their figures, buildings, open requests, service stations
    /// and the service circle.
    ViewMap,
    /// Record and remove a community's service stations.
    ManageStations,
    /// Set the district's grid rules (score thresholds, the service-circle walk).
    SetGridRules,
    /// Link households to a community's representatives and building captains.
    AssignRepresentatives,
}

impl Role {
    /// Whether this role permits `action` (inside its scope).
    pub const fn permits(self, action: Action) -> bool {
        use Action::*;
        use Role::*;
        match action {
            ViewTree => true,
            ViewResidents => matches!(
                self,
                Admin | StreetAdmin | CommunityStaff | GridWorker | Resident
            ),
            // Those who serve residents face to face need the full number; managers do not.
            RevealPersonalData => matches!(self, CommunityStaff | GridWorker),
            EditRegistry => matches!(self, Admin | CommunityStaff | GridWorker),
            ManageAccounts => matches!(self, Admin | StreetAdmin),
            // A street administrator reads what the accounts of their street did.
            ViewAudit => matches!(self, Admin | StreetAdmin),
            ViewRequests | ViewRequestStats => {
                matches!(self, Admin | StreetAdmin | CommunityStaff | GridWorker)
            }
            SubmitRequests => matches!(
                self,
                Admin | StreetAdmin | CommunityStaff | GridWorker | Resident
            ),
            HandleRequests => matches!(self, CommunityStaff | GridWorker),
            // Escalated requests reach the street, whose staff then run them too.
            ManageRequests => matches!(self, Admin | StreetAdmin | CommunityStaff),
            EditGrids => matches!(self, Admin | StreetAdmin | CommunityStaff),
            ImportRegistry => matches!(self, Admin | CommunityStaff | GridWorker),
            EditCalendar => matches!(self, Admin),
            LogVisits => matches!(self, CommunityStaff | GridWorker),
            ViewVisits => matches!(self, Admin | StreetAdmin | CommunityStaff | GridWorker),
            ViewMap => matches!(self, Admin | StreetAdmin | CommunityStaff | GridWorker),
            ManageStations => matches!(self, Admin | StreetAdmin | CommunityStaff),
            SetGridRules => matches!(self, Admin),
            AssignRepresentatives => matches!(self, Admin | StreetAdmin | CommunityStaff),
        }
    }

    /// The node level a grant of this role is normally made at, for forms that offer it.
    pub const fn usual_level(self) -> NodeKind {
        match self {
            Role::Admin => NodeKind::District,
            Role::StreetAdmin => NodeKind::Street,
            Role::CommunityStaff | Role::PartyMember | Role::Volunteer => NodeKind::Community,
            Role::GridWorker | Role::DepartmentLiaison => NodeKind::Grid,
            Role::Resident => NodeKind::Household,
        }
    }
}

/// A role granted at a node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// Where it was granted; it holds for this node's subtree.
    pub at: NodePath,
}

/// Who is asking: an account of one district and its grants.
///
/// Invariant: every grant lies in `district`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Principal {
    user_id: UserId,
    district: DistrictId,
    grants: Vec<Grant>,
}

/// Raised when a grant would cross from one district into another.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a grant lies outside the account's district")]
pub struct CrossDistrictGrant;

impl Principal {
    /// Builds a principal; every grant must lie in `district`.
    pub fn new(
        user_id: UserId,
        district: DistrictId,
        grants: Vec<Grant>,
    ) -> Result<Principal, CrossDistrictGrant> {
        if grants
            .iter()
            .any(|grant| DistrictId::from(grant.at.district()) != district)
        {
            return Err(CrossDistrictGrant);
        }
        Ok(Principal {
            user_id,
            district,
            grants,
        })
    }

    /// The account.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The tenant.
    pub fn district(&self) -> DistrictId {
        self.district
    }

    /// The grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Whether the principal may do `action` on the node at `target`.
    pub fn allows(&self, action: Action, target: &NodePath) -> bool {
        self.grants.iter().any(|grant| {
            grant.role.permits(action) && target.is_within(grant.at.kind(), grant.at.id())
        })
    }

    /// Whether the principal may do `action` somewhere.
    pub fn allows_anywhere(&self, action: Action) -> bool {
        self.grants.iter().any(|grant| grant.role.permits(action))
    }

    /// The subtrees a list of `action` under `under` may cover: `under` itself when a grant
    /// contains it, else every granted node that lies beneath it. Empty means "nothing".
    /// The result never overlaps: nested scopes collapse into the outer one.
    pub fn scopes_under(&self, action: Action, under: &NodePath) -> Vec<NodePath> {
        let permitted = self
            .grants
            .iter()
            .filter(|grant| grant.role.permits(action));
        let mut scopes: Vec<NodePath> = Vec::new();
        for grant in permitted {
            if under.is_within(grant.at.kind(), grant.at.id()) {
                return vec![*under];
            }
            if grant.at.is_within(under.kind(), under.id()) {
                scopes.push(grant.at);
            }
        }
        scopes.sort_by_key(|scope| scope.kind());
        let mut disjoint: Vec<NodePath> = Vec::new();
        for scope in scopes {
            if !disjoint
                .iter()
                .any(|outer| scope.is_within(outer.kind(), outer.id()))
            {
                disjoint.push(scope);
            }
        }
        disjoint
    }

    /// The highest nodes the principal may do `action` at: the roots of what it can see.
    pub fn roots(&self, action: Action) -> Vec<NodePath> {
        let district_root = NodePath::root(self.district.into());
        self.scopes_under(action, &district_root)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::NodeId;

    /// A district with 2 streets × 2 communities × 2 grids × 1 household chain each.
    struct World {
        district: NodePath,
        grids: Vec<NodePath>,
        households: Vec<NodePath>,
    }

    fn world() -> World {
        let district = NodePath::root(NodeId::new_v7());
        let mut grids = Vec::new();
        let mut households = Vec::new();
        for _ in 0..2 {
            let street = district.child(NodeKind::Street, NodeId::new_v7()).unwrap();
            for _ in 0..2 {
                let community = street.child(NodeKind::Community, NodeId::new_v7()).unwrap();
                for _ in 0..2 {
                    let grid = community.child(NodeKind::Grid, NodeId::new_v7()).unwrap();
                    let mut node = grid;
                    for kind in [
                        NodeKind::Compound,
                        NodeKind::Building,
                        NodeKind::Entrance,
                        NodeKind::Household,
                    ] {
                        node = node.child(kind, NodeId::new_v7()).unwrap();
                    }
                    grids.push(grid);
                    households.push(node);
                }
            }
        }
        World {
            district,
            grids,
            households,
        }
    }

    fn principal(world: &World, grants: Vec<Grant>) -> Principal {
        Principal::new(UserId::new_v7(), world.district.id().into(), grants).unwrap()
    }

    #[test]
    fn a_grid_worker_sees_only_their_grid() {
        let world = world();
        let worker = principal(
            &world,
            vec![Grant {
                role: Role::GridWorker,
                at: world.grids[0],
            }],
        );
        assert!(worker.allows(Action::ViewResidents, &world.households[0]));
        assert!(worker.allows(Action::RevealPersonalData, &world.households[0]));
        for household in &world.households[1..] {
            assert!(!worker.allows(Action::ViewResidents, household));
        }
        assert!(!worker.allows(Action::ViewResidents, &world.district));
        assert_eq!(
            worker.scopes_under(Action::ViewResidents, &world.district),
            vec![world.grids[0]]
        );
        assert!(worker
            .scopes_under(Action::ViewResidents, &world.grids[1])
            .is_empty());
        assert!(!worker.allows_anywhere(Action::ManageAccounts));
    }

    #[test]
    fn managers_see_masked_data_only() {
        let world = world();
        let admin = principal(
            &world,
            vec![Grant {
                role: Role::Admin,
                at: world.district,
            }],
        );
        assert!(admin.allows(Action::ViewResidents, &world.households[7]));
        assert!(!admin.allows(Action::RevealPersonalData, &world.households[7]));
        assert_eq!(admin.roots(Action::ViewTree), vec![world.district]);
    }

    #[test]
    fn liaisons_and_volunteers_see_no_residents() {
        let world = world();
        for role in [Role::DepartmentLiaison, Role::PartyMember, Role::Volunteer] {
            let someone = principal(
                &world,
                vec![Grant {
                    role,
                    at: world.district,
                }],
            );
            assert!(someone.allows(Action::ViewTree, &world.grids[3]));
            assert!(!someone.allows(Action::ViewResidents, &world.households[3]));
            assert!(someone.roots(Action::ViewResidents).is_empty());
        }
    }

    #[test]
    fn grants_cannot_cross_districts() {
        let home = world();
        let other = world();
        let res = Principal::new(
            UserId::new_v7(),
            home.district.id().into(),
            vec![Grant {
                role: Role::Admin,
                at: other.district,
            }],
        );
        assert_eq!(res, Err(CrossDistrictGrant));
    }

    proptest! {
        /// Whatever the grants, a list's scopes are disjoint, inside `under`, and exactly
        /// the households the principal may view are covered by them.
        #[test]
        fn scopes_agree_with_allows(
            picks in proptest::collection::vec((0usize..8, 0usize..4, 0usize..8), 0..4),
            under_pick in 0usize..3,
        ) {
            let world = world();
            let grants: Vec<Grant> = picks
                .iter()
                .map(|(role_idx, level, target)| {
                    let household = world.households[*target];
                    let kind = [NodeKind::District, NodeKind::Street, NodeKind::Community, NodeKind::Grid][*level];
                    let levels = household.levels();
                    let mut ids = [None; 8];
                    ids[..=kind.level()].copy_from_slice(&levels[..=kind.level()]);
                    Grant { role: Role::ALL[*role_idx], at: NodePath::from_levels(kind, ids).unwrap() }
                })
                .collect();
            let principal = principal(&world, grants);
            let under = match under_pick {
                0 => world.district,
                1 => world.grids[2],
                _ => world.households[5],
            };
            let scopes = principal.scopes_under(Action::ViewResidents, &under);
            for (idx, scope) in scopes.iter().enumerate() {
                prop_assert!(scope.is_within(under.kind(), under.id()));
                for other in &scopes[idx + 1..] {
                    prop_assert!(!scope.is_within(other.kind(), other.id()));
                    prop_assert!(!other.is_within(scope.kind(), scope.id()));
                }
            }
            for household in &world.households {
                let in_under = household.is_within(under.kind(), under.id());
                let covered = scopes.iter().any(|scope| household.is_within(scope.kind(), scope.id()));
                prop_assert_eq!(covered, in_under && principal.allows(Action::ViewResidents, household));
            }
        }
    }
}
