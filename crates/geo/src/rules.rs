//! A district's grid settings: the "四维" score thresholds and the service-circle walk,
//! kept together because the same administrator sets both.

use crate::score::ScoreRules;
use crate::walk::{WalkRules, WalkRulesError};

/// The settings of one district.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct GridRules {
    /// Score thresholds and reference values.
    pub score: ScoreRules,
    /// The service-circle walk.
    pub walk: WalkRules,
}

/// Why settings are refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum GridRulesError {
    /// A threshold or reference value is negative, zero where it divides, or not finite.
    #[error("score thresholds and reference values must be positive")]
    Score,
    /// The walk is not a walk.
    #[error(transparent)]
    Walk(#[from] WalkRulesError),
}

impl GridRules {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), GridRulesError> {
        let s = &self.score;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let share = |v: f64| positive(v) && v <= 1.0;
        let ok = s.households_over > 0
            && positive(s.large_area_km2)
            && share(s.special_share_over)
            && positive(s.reference_area_km2)
            && positive(s.reference_density)
            && share(s.reference_special_share)
            && positive(s.reference_places);
        if !ok {
            return Err(GridRulesError::Score);
        }
        self.walk.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_refused() {
        assert_eq!(GridRules::default().validate(), Ok(()));
        let mut rules = GridRules::default();
        rules.score.special_share_over = 1.5;
        assert_eq!(rules.validate(), Err(GridRulesError::Score));
        let mut rules = GridRules::default();
        rules.score.reference_density = f64::NAN;
        assert_eq!(rules.validate(), Err(GridRulesError::Score));
        let mut rules = GridRules::default();
        rules.walk.detour_factor = 0.5;
        assert_eq!(
            rules.validate(),
            Err(GridRulesError::Walk(WalkRulesError::DetourBelowOne))
        );
    }
}
