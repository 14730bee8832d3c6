//! Grid geometry for Mulin: reading boundaries ([`shape`]), checking that a community's
//! grids tile it ([`tiling`]), routing a point to its grid fast ([`index`]), and synthetic
//! tilings and cities for tests and the benchmarks ([`synth`]); the "四维" grid score
//! ([`score`]) and its per-district settings ([`rules`]); balanced re-division of buildings
//! into grids ([`partition`]) and the boundaries that follow it ([`regrid`]); the 15-minute
//! service circle ([`walk`]); and WGS-84 → GCJ-02 for Chinese map tiles ([`gcj02`]).
//!
//! Pure: no I/O, no clock. Coordinates are WGS-84 longitude/latitude in degrees.

pub mod gcj02;
pub mod index;
pub mod partition;
pub mod regrid;
pub mod rules;
pub mod score;
pub mod shape;
pub mod synth;
pub mod tiling;
pub mod walk;

pub use index::{locate_exact, BaselineIndex, GridIndex, IndexStats};
pub use rules::{GridRules, GridRulesError};
pub use score::{score, GridFacts, GridScore, ScoreRules, StaffingReason};
pub use shape::{parse_geometry, to_geojson, ShapeError};
pub use tiling::{validate_tiling, Tolerance, Violation};
