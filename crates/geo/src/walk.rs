//! The 15-minute service circle of seed 000: which homes lie within a short walk of a
//! service station. A walk is estimated as the great-circle distance times a detour factor
//! (streets are not straight lines), at a walking speed.
//!
//! [`ServiceCircle`] keeps the stations as points on the unit sphere in an R-tree. The
//! straight-line (chord) distance between two such points grows with the great-circle
//! distance, so "some station within this chord" is exactly "some station within this walk"
//! and one R-tree range query answers a home, with no projection error anywhere on Earth.
//! [`covered_brute_force`] is the obvious loop over every station, kept as the baseline
//! `mulin bench circle` measures against.

use rstar::RTree;

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The great-circle (haversine) distance in metres between two WGS-84 points given as
/// `[longitude, latitude]` in degrees.
pub fn distance_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// How far a walk reaches.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct WalkRules {
    /// The walk, in minutes (seed 000: a 15-minute circle).
    pub minutes: f64,
    /// Walking speed, km/h (4.5 in the issue).
    pub speed_kmh: f64,
    /// Walked distance over straight-line distance. 1.3 is a placeholder until measured
    /// on the district's streets.
    pub detour_factor: f64,
}

impl Default for WalkRules {
    fn default() -> Self {
        WalkRules {
            minutes: 15.0,
            speed_kmh: 4.5,
            detour_factor: 1.3,
        }
    }
}

/// Why walk rules are refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WalkRulesError {
    /// Minutes and speed must be positive and finite.
    #[error("walk minutes and speed must be positive")]
    NotPositive,
    /// A detour factor below 1 would walk shorter than the straight line.
    #[error("the detour factor must be at least 1")]
    DetourBelowOne,
}

impl WalkRules {
    /// Checks that the rules describe a walk.
    pub fn validate(&self) -> Result<(), WalkRulesError> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.minutes) || !positive(self.speed_kmh) {
            return Err(WalkRulesError::NotPositive);
        }
        if !(self.detour_factor.is_finite() && self.detour_factor >= 1.0) {
            return Err(WalkRulesError::DetourBelowOne);
        }
        Ok(())
    }

    /// The straight-line distance in metres the walk covers.
    pub fn reach_m(&self) -> f64 {
        self.speed_kmh * 1000.0 * self.minutes / 60.0 / self.detour_factor
    }
}

/// The point on the unit sphere of a `[longitude, latitude]`.
fn unit(p: [f64; 2]) -> [f64; 3] {
    let (lon, lat) = (p[0].to_radians(), p[1].to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Stations indexed for "is this home within reach of one?".
pub struct ServiceCircle {
    stations: RTree<[f64; 3]>,
    /// The squared chord on the unit sphere matching the reach.
    reach_chord2: f64,
}

impl ServiceCircle {
    /// Indexes `stations` (`[longitude, latitude]`) for a walk of `reach_m` metres.
    pub fn new(stations: &[[f64; 2]], reach_m: f64) -> ServiceCircle {
        let angle = (reach_m.max(0.0) / EARTH_RADIUS_M).min(std::f64::consts::PI);
        let chord = 2.0 * (angle / 2.0).sin();
        ServiceCircle {
            stations: RTree::bulk_load(stations.iter().copied().map(unit).collect()),
            reach_chord2: chord * chord,
        }
    }

    /// Whether some station lies within reach of `home`.
    pub fn covers(&self, home: [f64; 2]) -> bool {
        // Any station will do: the search stops at the first one inside the sphere.
        self.stations
            .locate_within_distance(unit(home), self.reach_chord2)
            .next()
            .is_some()
    }
}

/// The baseline: whether any station is within `reach_m` metres of `home`, trying each.
pub fn covered_brute_force(stations: &[[f64; 2]], reach_m: f64, home: [f64; 2]) -> bool {
    stations.iter().any(|s| distance_m(*s, home) <= reach_m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn distances_match_known_values() {
        // One degree of latitude is about 111.2 km on the mean sphere.
        let d = distance_m([113.1, 40.0], [113.1, 41.0]);
        assert!((d - 111_195.0).abs() < 1.0, "{d}");
        // Beijing Tiananmen to Shanghai People's Square: about 1,067 km.
        let d = distance_m([116.3975, 39.9087], [121.4737, 31.2304]);
        assert!((d - 1_067_000.0).abs() < 3_000.0, "{d}");
        assert_eq!(distance_m([113.1, 40.2], [113.1, 40.2]), 0.0);
    }

    #[test]
    fn fifteen_minutes_at_walking_speed() {
        let rules = WalkRules::default();
        // 4.5 km/h for 15 minutes is 1,125 m walked; 1.3 detour leaves 865 m straight.
        assert!((rules.reach_m() - 1125.0 / 1.3).abs() < 1e-9);
        let straight = WalkRules {
            detour_factor: 1.0,
            ..rules
        };
        assert!((straight.reach_m() - 1125.0).abs() < 1e-9);
        assert!(rules.validate().is_ok());
        let bad = WalkRules {
            detour_factor: 0.9,
            ..rules
        };
        assert_eq!(bad.validate(), Err(WalkRulesError::DetourBelowOne));
        let bad = WalkRules {
            speed_kmh: 0.0,
            ..rules
        };
        assert_eq!(bad.validate(), Err(WalkRulesError::NotPositive));
    }

    #[test]
    fn a_home_just_inside_is_covered_and_just_outside_is_not() {
        let station = [113.1, 40.22];
        // 0.01° of latitude is about 1,112 m.
        let circle = ServiceCircle::new(&[station], 1_100.0);
        assert!(circle.covers([113.1, 40.2298]));
        assert!(!circle.covers([113.1, 40.2302]));
        assert!(!ServiceCircle::new(&[], 1_000.0).covers(station));
    }

    proptest! {
        #[test]
        fn the_index_agrees_with_the_brute_force_loop(
            stations in proptest::collection::vec((113.0f64..113.2, 40.1f64..40.3), 0..30),
            homes in proptest::collection::vec((113.0f64..113.2, 40.1f64..40.3), 1..50),
            reach in 50.0f64..3000.0,
        ) {
            let stations: Vec<[f64; 2]> = stations.into_iter().map(|(x, y)| [x, y]).collect();
            let circle = ServiceCircle::new(&stations, reach);
            for (x, y) in homes {
                let home = [x, y];
                // Skip homes within a millimetre of the edge, where rounding may differ.
                let nearest = stations.iter().map(|s| distance_m(*s, home)).fold(f64::INFINITY, f64::min);
                prop_assume!((nearest - reach).abs() > 1e-3);
                prop_assert_eq!(circle.covers(home), covered_brute_force(&stations, reach, home));
            }
        }
    }
}
