//! The administrative and address tree: district → street → community → grid → compound →
//! building → entrance → household.
//!
//! The tree is stored flat. Every node carries the ids of all its ancestors by level (its
//! [`NodePath`]), so "is X inside Y" is a comparison, never a walk, and "everything under Y"
//! is one indexed equality. That keeps tree queries inside one tenant and free of recursive
//! SQL, which a sharded PostgreSQL cannot run across shards.

use std::fmt;

use crate::ids::NodeId;

/// The level of a node. The order of the variants is the order of the tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum NodeKind {
    /// 区/县: the tenant root.
    District,
    /// 街道 (or 乡镇).
    Street,
    /// 社区 (or 村).
    Community,
    /// 网格: 300–500 households with one grid worker.
    Grid,
    /// 小区 (the part of it inside one grid).
    Compound,
    /// 楼栋.
    Building,
    /// 单元.
    Entrance,
    /// 户: one dwelling, the leaf of the standard address.
    Household,
}

/// Raised when a text is not one of the known node kinds.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown node kind `{0}`")]
pub struct UnknownNodeKind(pub String);

impl NodeKind {
    /// Every kind, root first.
    pub const ALL: [NodeKind; 8] = [
        NodeKind::District,
        NodeKind::Street,
        NodeKind::Community,
        NodeKind::Grid,
        NodeKind::Compound,
        NodeKind::Building,
        NodeKind::Entrance,
        NodeKind::Household,
    ];

    /// Depth in the tree: the district is 0, a household 7.
    pub const fn level(self) -> usize {
        self as usize
    }

    /// The kind a child of this node must have; `None` for a household.
    pub const fn child(self) -> Option<NodeKind> {
        match self {
            NodeKind::District => Some(NodeKind::Street),
            NodeKind::Street => Some(NodeKind::Community),
            NodeKind::Community => Some(NodeKind::Grid),
            NodeKind::Grid => Some(NodeKind::Compound),
            NodeKind::Compound => Some(NodeKind::Building),
            NodeKind::Building => Some(NodeKind::Entrance),
            NodeKind::Entrance => Some(NodeKind::Household),
            NodeKind::Household => None,
        }
    }

    /// The stable name used in storage, URLs and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeKind::District => "district",
            NodeKind::Street => "street",
            NodeKind::Community => "community",
            NodeKind::Grid => "grid",
            NodeKind::Compound => "compound",
            NodeKind::Building => "building",
            NodeKind::Entrance => "entrance",
            NodeKind::Household => "household",
        }
    }

    /// Parses the stable name.
    pub fn parse(text: &str) -> Result<Self, UnknownNodeKind> {
        NodeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownNodeKind(text.to_owned()))
    }

    /// True for the administrative levels (district to grid), which carry division codes.
    pub const fn is_administrative(self) -> bool {
        matches!(
            self,
            NodeKind::District | NodeKind::Street | NodeKind::Community | NodeKind::Grid
        )
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Raised when a path would not describe a place in the tree.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    /// A node of this kind cannot hang under a node of that kind.
    #[error("a {child} cannot be placed under a {parent}")]
    WrongParent {
        /// The kind of the would-be parent.
        parent: NodeKind,
        /// The kind of the would-be child.
        child: NodeKind,
    },
    /// Paths are built from the root: only a district has no parent.
    #[error("only a district may be a root, not a {0}")]
    NotARoot(NodeKind),
    /// A stored path has a hole or an id past its own level.
    #[error("the stored path of a {0} is not contiguous")]
    Malformed(NodeKind),
}

/// A node's place in the tree: its own id and the id of each ancestor, by level.
///
/// Invariant: `ids[0..=kind.level()]` are all `Some` and every later entry is `None`;
/// `ids[kind.level()]` is the node itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NodePath {
    kind: NodeKind,
    own: NodeId,
    district: NodeId,
    ids: [Option<NodeId>; 8],
}

impl NodePath {
    /// The path of a new district (a tree root).
    pub fn root(district: NodeId) -> NodePath {
        let mut ids = [None; 8];
        ids[0] = Some(district);
        NodePath {
            kind: NodeKind::District,
            own: district,
            district,
            ids,
        }
    }

    /// The path of a new child of `self`; `kind` must be the parent's child kind.
    pub fn child(&self, kind: NodeKind, id: NodeId) -> Result<NodePath, PathError> {
        if self.kind.child() != Some(kind) {
            return Err(PathError::WrongParent {
                parent: self.kind,
                child: kind,
            });
        }
        let mut ids = self.ids;
        ids[kind.level()] = Some(id);
        Ok(NodePath {
            kind,
            own: id,
            district: self.district,
            ids,
        })
    }

    /// Rebuilds a path from stored columns (one optional id per level).
    pub fn from_levels(kind: NodeKind, ids: [Option<NodeId>; 8]) -> Result<NodePath, PathError> {
        let level = kind.level();
        let contiguous = ids
            .iter()
            .enumerate()
            .all(|(idx, id)| id.is_some() == (idx <= level));
        let (true, Some(own), Some(district)) = (contiguous, ids[level], ids[0]) else {
            return Err(PathError::Malformed(kind));
        };
        Ok(NodePath {
            kind,
            own,
            district,
            ids,
        })
    }

    /// The node's own kind.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// The node's own id.
    pub fn id(&self) -> NodeId {
        self.own
    }

    /// The district (tenant) the node belongs to.
    pub fn district(&self) -> NodeId {
        self.district
    }

    /// The ancestor (or the node itself) at `kind`'s level, if the node is that deep.
    pub fn at(&self, kind: NodeKind) -> Option<NodeId> {
        self.ids[kind.level()]
    }

    /// All levels, root first; entries past the node's own level are `None`.
    pub fn levels(&self) -> [Option<NodeId>; 8] {
        self.ids
    }

    /// The parent's id; `None` for a district.
    pub fn parent(&self) -> Option<NodeId> {
        self.kind
            .level()
            .checked_sub(1)
            .and_then(|level| self.ids[level])
    }

    /// True when this node is `ancestor` itself or lies beneath it.
    pub fn is_within(&self, ancestor_kind: NodeKind, ancestor: NodeId) -> bool {
        self.at(ancestor_kind) == Some(ancestor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Vec<NodePath> {
        let mut paths = vec![NodePath::root(NodeId::new_v7())];
        for kind in &NodeKind::ALL[1..] {
            let next = paths
                .last()
                .map(|last| last.child(*kind, NodeId::new_v7()))
                .map(Result::unwrap);
            paths.extend(next);
        }
        paths
    }

    #[test]
    fn a_full_chain_reaches_the_household() {
        let paths = chain();
        assert_eq!(paths.len(), 8);
        let household = paths[7];
        for ancestor in &paths {
            assert!(household.is_within(ancestor.kind(), ancestor.id()));
        }
        assert_eq!(household.parent(), Some(paths[6].id()));
        assert_eq!(household.district(), paths[0].id());
    }

    #[test]
    fn a_sibling_subtree_is_outside() {
        let paths = chain();
        let grid = paths[3];
        let other_grid = paths[2].child(NodeKind::Grid, NodeId::new_v7()).unwrap();
        assert!(!paths[7].is_within(NodeKind::Grid, other_grid.id()));
        assert!(!grid.is_within(NodeKind::Compound, paths[4].id()));
    }

    #[test]
    fn levels_cannot_be_skipped() {
        let district = NodePath::root(NodeId::new_v7());
        assert_eq!(
            district.child(NodeKind::Grid, NodeId::new_v7()),
            Err(PathError::WrongParent {
                parent: NodeKind::District,
                child: NodeKind::Grid
            })
        );
    }

    #[test]
    fn stored_paths_with_holes_are_rejected() {
        let mut ids = [None; 8];
        ids[0] = Some(NodeId::new_v7());
        ids[2] = Some(NodeId::new_v7());
        assert_eq!(
            NodePath::from_levels(NodeKind::Community, ids),
            Err(PathError::Malformed(NodeKind::Community))
        );
        let full = chain()[7].levels();
        assert!(NodePath::from_levels(NodeKind::Household, full).is_ok());
        assert!(NodePath::from_levels(NodeKind::Entrance, full).is_err());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in NodeKind::ALL {
            assert_eq!(NodeKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(NodeKind::parse("village").is_err());
    }
}
