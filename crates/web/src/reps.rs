//! Representatives and building captains (居民代表 / 楼栋长) and the households each looks
//! after: a community's overview (posts with their load against the 5–15 rule, households
//! nobody looks after) and replacing one post's households. The API and the page share it.

use std::collections::{HashMap, HashSet};

use mulin_domain::ids::{NodeId, PostId};
use mulin_domain::org::LinkLoad;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, NodeRecord, Place, PostRecord};

use crate::access;
use crate::auth::AuthUser;
use crate::error::WebError;
use crate::AppState;

/// A post that links households, with where it is held and its load.
pub struct RepPost {
    /// The post (its households included).
    pub post: PostRecord,
    /// The name of the node it is held at.
    pub node_name: String,
    /// Its load against the 5–15 rule.
    pub load: LinkLoad,
}

/// A community's representatives and its households.
pub struct Overview {
    /// The community.
    pub community: NodeRecord,
    /// Its representative and building-captain posts.
    pub posts: Vec<RepPost>,
    /// Its households, in tree order.
    pub households: Vec<NodeRecord>,
    /// Its households no post links.
    pub unlinked: Vec<NodeRecord>,
    /// Names of its nodes by id (buildings, grids), for labels.
    pub names: HashMap<NodeId, String>,
}

/// The community the caller may assign representatives in: 404 when they cannot see it
/// (or it is no community), 403 when they see it but may not assign.
async fn community(state: &AppState, auth: &AuthUser, id: NodeId) -> Result<NodeRecord, WebError> {
    let node = access::node(state, auth, id).await?;
    if node.path.kind() != NodeKind::Community {
        return Err(WebError::NotFound);
    }
    if !auth
        .principal
        .allows(Action::AssignRepresentatives, &node.path)
    {
        return Err(WebError::Forbidden);
    }
    Ok(node)
}

/// The community's representatives, their loads and the households nobody looks after.
pub async fn overview(state: &AppState, auth: &AuthUser, id: NodeId) -> Result<Overview, WebError> {
    let district = auth.user.district;
    let community = community(state, auth, id).await?;
    let nodes = state
        .store
        .subtree(district, &community.path, NodeKind::Household)
        .await?;
    let names: HashMap<NodeId, String> = nodes
        .iter()
        .map(|n| (n.path.id(), n.name.clone()))
        .collect();
    let posts: Vec<RepPost> = state
        .store
        .posts(district, Place::Within(&community.path))
        .await?
        .into_iter()
        .filter(|p| p.kind.links_households())
        .map(|post| RepPost {
            node_name: names.get(&post.node).cloned().unwrap_or_default(),
            load: LinkLoad::of(post.households.len()),
            post,
        })
        .collect();
    let linked: HashSet<NodeId> = posts
        .iter()
        .flat_map(|p| p.post.households.iter().copied())
        .collect();
    let households: Vec<NodeRecord> = nodes
        .into_iter()
        .filter(|n| n.path.kind() == NodeKind::Household)
        .collect();
    let unlinked = households
        .iter()
        .filter(|h| !linked.contains(&h.path.id()))
        .cloned()
        .collect();
    Ok(Overview {
        community,
        posts,
        households,
        unlinked,
        names,
    })
}

/// Replaces the households `post` links (each must lie in the post's community), audited,
/// in one transaction. Returns the post's new load.
pub async fn set_households(
    state: &AppState,
    auth: &AuthUser,
    post: PostId,
    households: &[NodeId],
) -> Result<(usize, LinkLoad), WebError> {
    let district = auth.user.district;
    let (kind, node) = state.store.post_place(district, post).await?;
    let node = state.store.node(district, node).await?;
    let Some(community_id) = node.path.at(NodeKind::Community) else {
        return Err(WebError::NotFound);
    };
    let community = community(state, auth, community_id).await?;
    if !kind.links_households() {
        return Err(WebError::Invalid("reps.error.post_kind"));
    }
    let mut wanted: Vec<NodeId> = households.to_vec();
    wanted.sort();
    wanted.dedup();
    let inside: HashSet<NodeId> = state
        .store
        .subtree(district, &community.path, NodeKind::Household)
        .await?
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Household)
        .map(|n| n.path.id())
        .collect();
    if wanted.iter().any(|h| !inside.contains(h)) {
        return Err(WebError::Invalid("reps.error.household"));
    }
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: state.clock.now(),
        user_id: Some(auth.user.id),
        username: auth.user.username.clone(),
        action: "post.households".into(),
        target_kind: "post".into(),
        target_id: post.to_string(),
        ip: auth.ip.clone(),
        detail: format!(
            "{} {} @ {}: {} households",
            kind.as_str(),
            post,
            community.name,
            wanted.len()
        ),
    };
    state
        .store
        .set_post_households(district, post, &wanted, &audit)
        .await?;
    Ok((wanted.len(), LinkLoad::of(wanted.len())))
}
