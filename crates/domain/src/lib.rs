//! Mulin's domain: the organisation tree, the registry's value types, roles and the one
//! access policy.
//!
//! Everything here is pure. Nothing reads the clock (time and "today" are arguments), the
//! disk, the network or a database, so every rule can be tested by calling a function. The
//! rule of thumb is "parse, don't validate": constrained values are newtypes whose only
//! constructor checks them, so code past the edge never sees an unchecked ID number, code
//! or name.
#![deny(missing_docs)]

pub mod calendar;
pub mod care;
pub mod code;
pub mod codes;
pub mod deadline;
pub mod ids;
pub mod movement;
pub mod org;
pub mod person;
pub mod policy;
pub mod request;
pub mod station;
pub mod tree;
pub mod visit;

pub use ids::{DistrictId, NodeId, ResidentId, UserId};
pub use tree::{NodeKind, NodePath};
