//! Typed identifiers. Every key is a UUIDv7, so keys sort by creation time and can be made
//! on any node of a sharded database without coordination.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (read back from storage or from a URL).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// A fresh UUIDv7.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A node of the administrative and address tree (district down to household).
    NodeId
);
id_type!(
    /// The tenant key. It is the id of the district's root node; every row carries it.
    DistrictId
);
id_type!(
    /// A resident (a person in the registry).
    ResidentId
);
id_type!(
    /// A login account.
    UserId
);
id_type!(
    /// A party organisation.
    PartyOrgId
);
id_type!(
    /// A unit: a registered unit, business, property company, owners' committee or
    /// social organisation.
    UnitId
);
id_type!(
    /// A post: a person holding a role at a node (grid worker, building captain ...).
    PostId
);

id_type!(
    /// A resident's request (诉求) / work order.
    RequestId
);
id_type!(
    /// An in-app notification.
    NotificationId
);

impl From<NodeId> for DistrictId {
    /// A district is identified by its root node.
    fn from(node_id: NodeId) -> Self {
        Self(node_id.0)
    }
}

impl From<DistrictId> for NodeId {
    fn from(district_id: DistrictId) -> Self {
        Self(district_id.0)
    }
}
