//! Reads on behalf of a caller, shared by the API and the pages. Each function asks the
//! policy first and hands storage only what the policy allowed; something outside the
//! caller's scope is reported as not found, so its existence does not leak either.

use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::policy::Action;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    AuditEntry, AuditQuery, NodeCounts, NodeRecord, Page, Place, ResidentQuery, ResidentRecord,
};

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::views::Disclosure;
use crate::AppState;

/// A node the caller may see.
pub async fn node(state: &AppState, auth: &AuthUser, id: NodeId) -> Result<NodeRecord, WebError> {
    let node = state.store.node(auth.user.district, id).await?;
    if auth.principal.allows(Action::ViewTree, &node.path) {
        Ok(node)
    } else {
        Err(WebError::NotFound)
    }
}

/// A node with its counts and its children with theirs.
pub struct NodeDetail {
    /// The node.
    pub node: NodeRecord,
    /// Its counts.
    pub counts: NodeCounts,
    /// Its children, in sibling order, with their counts.
    pub children: Vec<(NodeRecord, NodeCounts)>,
}

/// A node's detail for the caller.
pub async fn node_detail(
    state: &AppState,
    auth: &AuthUser,
    id: NodeId,
) -> Result<NodeDetail, WebError> {
    let node = node(state, auth, id).await?;
    let district = auth.user.district;
    let today = state.clock.today();
    let counts = state.store.counts(district, &node.path, today).await?;
    let child_counts: std::collections::HashMap<NodeId, NodeCounts> = state
        .store
        .child_counts(district, &node.path, today)
        .await?
        .into_iter()
        .collect();
    let children = state
        .store
        .children(district, id)
        .await?
        .into_iter()
        .map(|child| {
            let counts = child_counts
                .get(&child.path.id())
                .copied()
                .unwrap_or_default();
            (child, counts)
        })
        .collect();
    Ok(NodeDetail {
        node,
        counts,
        children,
    })
}

/// What is attached to exactly this node: posts, party organisations, units.
pub struct Attached {
    /// Posts held at the node (representatives' household links included).
    pub posts: Vec<mulin_storage::PostRecord>,
    /// Party organisations attached to the node.
    pub party_orgs: Vec<mulin_storage::PartyOrgRecord>,
    /// Units whose address is the node.
    pub units: Vec<mulin_storage::UnitRecord>,
}

/// The posts, party organisations and units of a node the caller may see.
pub async fn attached(
    state: &AppState,
    auth: &AuthUser,
    node: &NodeRecord,
) -> Result<Attached, WebError> {
    if !auth.principal.allows(Action::ViewTree, &node.path) {
        return Err(WebError::NotFound);
    }
    let district = auth.user.district;
    let at = Place::At(&node.path);
    Ok(Attached {
        posts: state.store.posts(district, at).await?,
        party_orgs: state.store.party_orgs(district, at).await?,
        units: state.store.units(district, at).await?,
    })
}

/// The nodes the caller may see under `under` (default: all they may see), down to
/// `deepest`.
pub async fn tree(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    deepest: NodeKind,
) -> Result<Vec<NodeRecord>, WebError> {
    let district = auth.user.district;
    let scopes = match under {
        Some(id) => {
            let under = state.store.node(district, id).await?;
            let scopes = auth.principal.scopes_under(Action::ViewTree, &under.path);
            if scopes.is_empty() {
                return Err(WebError::NotFound);
            }
            scopes
        }
        None => auth.principal.roots(Action::ViewTree),
    };
    let mut nodes = Vec::new();
    for scope in scopes {
        nodes.extend(state.store.subtree(district, &scope, deepest).await?);
    }
    Ok(nodes)
}

/// Residents the caller may see under `under` (default: everywhere they may), a page at a
/// time. A caller whose roles show no residents, or an `under` outside them, is refused.
pub async fn search_residents(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    query: &ResidentQuery,
) -> Result<Page<ResidentRecord>, WebError> {
    if !auth.principal.allows_anywhere(Action::ViewResidents) {
        return Err(WebError::Forbidden);
    }
    let district = auth.user.district;
    let scopes: Vec<NodePath> = match under {
        Some(id) => {
            let under = match state.store.node(district, id).await {
                Ok(node) => node,
                Err(mulin_storage::StoreError::NotFound) => return Err(WebError::NotFound),
                Err(other) => return Err(other.into()),
            };
            let scopes = auth
                .principal
                .scopes_under(Action::ViewResidents, &under.path);
            if scopes.is_empty() {
                return Err(WebError::Forbidden);
            }
            scopes
        }
        None => auth.principal.roots(Action::ViewResidents),
    };
    Ok(state
        .store
        .search_residents(district, &scopes, query)
        .await?)
}

/// One resident the caller may see, and how much of them. Asking for full disclosure
/// without the right is refused; granted, it is audited before anything is returned.
pub async fn resident(
    state: &AppState,
    auth: &AuthUser,
    id: ResidentId,
    want_full: bool,
) -> Result<(ResidentRecord, Disclosure), WebError> {
    let resident = state.store.resident(auth.user.district, id).await?;
    if !auth
        .principal
        .allows(Action::ViewResidents, &resident.household)
    {
        return Err(WebError::NotFound);
    }
    if !want_full {
        return Ok((resident, Disclosure::Masked));
    }
    if !auth
        .principal
        .allows(Action::RevealPersonalData, &resident.household)
    {
        return Err(WebError::Forbidden);
    }
    state
        .audit(
            auth,
            "resident.reveal",
            ("resident", &id.to_string()),
            resident.name.as_ref(),
        )
        .await?;
    Ok((resident, Disclosure::Full))
}

/// The members of a household the caller may see.
pub async fn household(
    state: &AppState,
    auth: &AuthUser,
    id: NodeId,
) -> Result<(NodeRecord, Vec<ResidentRecord>), WebError> {
    let household = node(state, auth, id).await?;
    if household.path.kind() != NodeKind::Household {
        return Err(WebError::NotFound);
    }
    if !auth
        .principal
        .allows(Action::ViewResidents, &household.path)
    {
        return Err(WebError::Forbidden);
    }
    let members = state
        .store
        .household_members(auth.user.district, id)
        .await?;
    Ok((household, members))
}

/// The audit log the caller may read, filtered: the whole district for a district
/// administrator, what the accounts working inside their street did for a street
/// administrator; anyone else is refused.
pub async fn audit_log(
    state: &AppState,
    auth: &AuthUser,
    query: &AuditQuery,
) -> Result<Page<AuditEntry>, WebError> {
    let district_root = NodePath::root(auth.user.district.into());
    let scopes = auth
        .principal
        .scopes_under(Action::ViewAudit, &district_root);
    if scopes.is_empty() {
        return Err(WebError::Forbidden);
    }
    Ok(state
        .store
        .search_audit(auth.user.district, &scopes, query)
        .await?)
}
