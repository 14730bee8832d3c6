//! The "四维" (four-dimension) score of a grid: area, population density, special groups,
//! places and buildings; and the staffing rule of seed 002: a grid with over 400 resident
//! households, a large area, or a high share of special-group residents gets a part-time
//! grid worker suggested. Every threshold is a field of [`ScoreRules`].

/// What is known about a grid.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct GridFacts {
    /// Its area in m².
    pub area_m2: f64,
    /// Resident households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
    /// Residents in a special group (65+ included).
    pub special_groups: i64,
    /// Buildings.
    pub buildings: i64,
    /// Places: units (businesses, property companies, organisations …).
    pub places: i64,
}

/// Thresholds and reference values; the defaults follow seed 002.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ScoreRules {
    /// More households than this suggest a part-time worker (seed 002: 400).
    pub households_over: i64,
    /// A grid larger than this (km²) suggests a part-time worker. Seed 002 names no figure:
    /// 0.5 is a placeholder until the district sets its own.
    pub large_area_km2: f64,
    /// A share of special-group residents above this suggests a part-time worker. Seed 002
    /// names no figure: 0.3 is a placeholder until the district sets its own.
    pub special_share_over: f64,
    /// Reference values: a grid at exactly these scores 1.0 on that dimension.
    pub reference_area_km2: f64,
    /// Residents per km².
    pub reference_density: f64,
    /// Share of special-group residents.
    pub reference_special_share: f64,
    /// Buildings plus places.
    pub reference_places: f64,
}

impl Default for ScoreRules {
    fn default() -> Self {
        ScoreRules {
            households_over: 400,
            large_area_km2: 0.5,
            special_share_over: 0.3,
            reference_area_km2: 0.25,
            reference_density: 10_000.0,
            reference_special_share: 0.2,
            reference_places: 20.0,
        }
    }
}

/// Why a part-time worker is suggested.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StaffingReason {
    /// Over the household threshold.
    ManyHouseholds,
    /// Over the area threshold.
    LargeArea,
    /// Over the special-group share threshold.
    ManySpecialGroups,
}

impl StaffingReason {
    /// A stable code: `many_households`, `large_area`, `many_special_groups`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StaffingReason::ManyHouseholds => "many_households",
            StaffingReason::LargeArea => "large_area",
            StaffingReason::ManySpecialGroups => "many_special_groups",
        }
    }
}

/// A grid's four dimensions, each as a measure and as an index against its reference
/// (1.0 = the reference grid), their mean, and the staffing suggestion.
#[derive(Clone, PartialEq, Debug)]
pub struct GridScore {
    /// Area, km².
    pub area_km2: f64,
    /// Residents per km² (0 for a grid without area).
    pub density: f64,
    /// Share of residents in a special group (0 with no residents).
    pub special_share: f64,
    /// Buildings plus places.
    pub places: i64,
    /// Indices: area, density, special groups, places.
    pub indices: [f64; 4],
    /// The mean of the four indices: the workload relative to the reference grid.
    pub score: f64,
    /// Why a part-time worker is suggested; empty when not.
    pub part_time_reasons: Vec<StaffingReason>,
}

impl GridScore {
    /// Whether a part-time worker is suggested.
    pub fn suggests_part_time(&self) -> bool {
        !self.part_time_reasons.is_empty()
    }
}

fn ratio(value: f64, reference: f64) -> f64 {
    if reference > 0.0 && value.is_finite() {
        value / reference
    } else {
        0.0
    }
}

/// Scores one grid.
pub fn score(facts: &GridFacts, rules: &ScoreRules) -> GridScore {
    let area_km2 = facts.area_m2.max(0.0) / 1e6;
    let density = if area_km2 > 0.0 {
        facts.residents as f64 / area_km2
    } else {
        0.0
    };
    let special_share = if facts.residents > 0 {
        facts.special_groups as f64 / facts.residents as f64
    } else {
        0.0
    };
    let places = facts.buildings + facts.places;
    let indices = [
        ratio(area_km2, rules.reference_area_km2),
        ratio(density, rules.reference_density),
        ratio(special_share, rules.reference_special_share),
        ratio(places as f64, rules.reference_places),
    ];
    let mut part_time_reasons = Vec::new();
    if facts.households > rules.households_over {
        part_time_reasons.push(StaffingReason::ManyHouseholds);
    }
    if area_km2 > rules.large_area_km2 {
        part_time_reasons.push(StaffingReason::LargeArea);
    }
    if special_share > rules.special_share_over {
        part_time_reasons.push(StaffingReason::ManySpecialGroups);
    }
    GridScore {
        area_km2,
        density,
        special_share,
        places,
        score: indices.iter().sum::<f64>() / 4.0,
        indices,
        part_time_reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts() -> GridFacts {
        GridFacts {
            area_m2: 250_000.0,
            households: 350,
            residents: 2_500,
            special_groups: 500,
            buildings: 12,
            places: 8,
        }
    }

    #[test]
    fn the_reference_grid_scores_one_and_needs_no_helper() {
        let s = score(&facts(), &ScoreRules::default());
        assert_eq!(s.indices, [1.0, 1.0, 1.0, 1.0]);
        assert_eq!(s.score, 1.0);
        assert!((s.density - 10_000.0).abs() < 1e-9);
        assert!(!s.suggests_part_time());
    }

    #[test]
    fn each_rule_of_seed_002_suggests_a_part_time_worker() {
        let rules = ScoreRules::default();
        let many = GridFacts {
            households: 401,
            ..facts()
        };
        assert_eq!(
            score(&many, &rules).part_time_reasons,
            [StaffingReason::ManyHouseholds]
        );
        let exactly = GridFacts {
            households: 400,
            ..facts()
        };
        assert!(!score(&exactly, &rules).suggests_part_time());
        let large = GridFacts {
            area_m2: 600_000.0,
            ..facts()
        };
        assert_eq!(
            score(&large, &rules).part_time_reasons,
            [StaffingReason::LargeArea]
        );
        let old = GridFacts {
            special_groups: 900,
            ..facts()
        };
        assert_eq!(
            score(&old, &rules).part_time_reasons,
            [StaffingReason::ManySpecialGroups]
        );
        // Thresholds are settings.
        let strict = ScoreRules {
            households_over: 300,
            ..rules
        };
        assert!(score(&facts(), &strict).suggests_part_time());
    }

    #[test]
    fn empty_grids_score_zero_without_dividing_by_zero() {
        let s = score(&GridFacts::default(), &ScoreRules::default());
        assert_eq!(s.score, 0.0);
        assert_eq!((s.density, s.special_share), (0.0, 0.0));
    }

    proptest! {
        #[test]
        fn more_of_anything_never_lowers_the_score(
            area in 0.0f64..2e6, households in 0i64..2000, residents in 0i64..6000,
            special in 0i64..6000, buildings in 0i64..100, places in 0i64..100, extra in 1i64..50,
        ) {
            let rules = ScoreRules::default();
            let f = GridFacts { area_m2: area, households, residents, special_groups: special.min(residents), buildings, places };
            let base = score(&f, &rules);
            prop_assert!(base.score.is_finite() && base.score >= 0.0);
            let more_places = score(&GridFacts { places: places + extra, ..f }, &rules);
            prop_assert!(more_places.score > base.score);
            let more_households = score(&GridFacts { households: households + extra, ..f }, &rules);
            prop_assert!(more_households.part_time_reasons.len() >= base.part_time_reasons.len());
        }
    }
}
