//! Division codes after GB/T 2260 and the statistical division code: 12 digits down to the
//! community (6 for the county, 3 for the street or town, 3 for the community), and a
//! 3-digit sequence more for a grid, giving 15 digits (as Beijing's grid standard does).
//! A child's code always extends its parent's.

use std::fmt;

use crate::tree::NodeKind;

/// Why a text is not a valid division code for its place.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodeError {
    /// Codes are decimal digits only.
    #[error("a division code has digits only")]
    NotDigits,
    /// Each level has a fixed length.
    #[error("a {kind} code has {expected} digits, not {actual}")]
    WrongLength {
        /// The level the code was meant for.
        kind: NodeKind,
        /// The length that level needs.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The digits that belong to the parent must be the parent's.
    #[error("code {code} does not extend its parent's code {parent}")]
    NotUnderParent {
        /// The code given.
        code: String,
        /// The parent's code.
        parent: String,
    },
    /// The digits that belong to this level must not be all zero.
    #[error("code {0} has a zero sequence at its own level")]
    ZeroSequence(String),
    /// Only district to grid carry a division code.
    #[error("a {0} has no division code")]
    NotAdministrative(NodeKind),
}

/// A checked division code of a district, street, community or grid.
///
/// Invariant: digits only; 12 digits for district/street/community (trailing zeros below
/// the level), 15 for a grid; the own-level segment is not all zero.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DivisionCode(String);

/// Significant digits of each administrative level: how much of the code is the node's own.
const fn significant_digits(kind: NodeKind) -> Option<usize> {
    match kind {
        NodeKind::District => Some(6),
        NodeKind::Street => Some(9),
        NodeKind::Community => Some(12),
        NodeKind::Grid => Some(15),
        _ => None,
    }
}

impl DivisionCode {
    /// Checks `text` as the code of a node of `kind` under a parent with `parent` code.
    pub fn parse(
        kind: NodeKind,
        text: &str,
        parent: Option<&DivisionCode>,
    ) -> Result<DivisionCode, CodeError> {
        let significant = significant_digits(kind).ok_or(CodeError::NotAdministrative(kind))?;
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits);
        }
        let expected = if kind == NodeKind::Grid { 15 } else { 12 };
        if text.len() != expected {
            return Err(CodeError::WrongLength {
                kind,
                expected,
                actual: text.len(),
            });
        }
        if text[significant..].bytes().any(|b| b != b'0') {
            return Err(CodeError::WrongLength {
                kind,
                expected: significant,
                actual: text.trim_end_matches('0').len(),
            });
        }
        let own_start = significant.saturating_sub(if kind == NodeKind::District { 6 } else { 3 });
        if text[own_start..significant].bytes().all(|b| b == b'0') {
            return Err(CodeError::ZeroSequence(text.to_owned()));
        }
        if let Some(parent) = parent {
            let parent_significant = parent.0.trim_end_matches('0').len().max(own_start);
            if text[..own_start] != parent.0[..own_start] || parent_significant > own_start {
                return Err(CodeError::NotUnderParent {
                    code: text.to_owned(),
                    parent: parent.0.clone(),
                });
            }
        }
        Ok(DivisionCode(text.to_owned()))
    }

    /// The code of the `seq`-th child of this code (1-based), if `child` is a coded level
    /// and `seq` fits its digits.
    pub fn child(&self, child: NodeKind, seq: u32) -> Option<DivisionCode> {
        let significant = significant_digits(child)?;
        if seq == 0 || seq > 999 {
            return None;
        }
        let prefix = &self.0.get(..significant - 3)?;
        let mut text = format!("{prefix}{seq:03}");
        while text.len() < 12 {
            text.push('0');
        }
        Some(DivisionCode(text))
    }
}

impl AsRef<str> for DivisionCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district() -> DivisionCode {
        DivisionCode::parse(NodeKind::District, "140212000000", None).unwrap()
    }

    #[test]
    fn children_extend_their_parents() {
        let district = district();
        let street = district.child(NodeKind::Street, 1);
        assert_eq!(street.as_ref().map(AsRef::as_ref), Some("140212001000"));
        let street = street.unwrap();
        let community = street.child(NodeKind::Community, 5);
        assert_eq!(community.as_ref().map(AsRef::as_ref), Some("140212001005"));
        let community = community.unwrap();
        let grid = community.child(NodeKind::Grid, 27);
        assert_eq!(grid.as_ref().map(AsRef::as_ref), Some("140212001005027"));
        for (kind, code, parent) in [
            (NodeKind::Street, street.clone(), &district),
            (NodeKind::Community, community.clone(), &street),
        ] {
            assert_eq!(
                DivisionCode::parse(kind, code.as_ref(), Some(parent)),
                Ok(code)
            );
        }
    }

    #[test]
    fn lengths_are_checked_on_both_sides() {
        assert!(matches!(
            DivisionCode::parse(NodeKind::Grid, "14021200100502", None),
            Err(CodeError::WrongLength { actual: 14, .. })
        ));
        assert!(DivisionCode::parse(NodeKind::Grid, "140212001005027", None).is_ok());
        assert!(matches!(
            DivisionCode::parse(NodeKind::Grid, "1402120010050270", None),
            Err(CodeError::WrongLength { actual: 16, .. })
        ));
        assert_eq!(
            DivisionCode::parse(NodeKind::Street, "14021200100x", None),
            Err(CodeError::NotDigits)
        );
    }

    #[test]
    fn a_code_under_the_wrong_parent_is_rejected() {
        let other = DivisionCode::parse(NodeKind::District, "140213000000", None).unwrap();
        assert!(matches!(
            DivisionCode::parse(NodeKind::Street, "140212001000", Some(&other)),
            Err(CodeError::NotUnderParent { .. })
        ));
        assert_eq!(
            DivisionCode::parse(NodeKind::Street, "140212000000", Some(&district())),
            Err(CodeError::ZeroSequence("140212000000".into()))
        );
    }

    #[test]
    fn households_have_no_division_code() {
        assert_eq!(
            DivisionCode::parse(NodeKind::Household, "1", None),
            Err(CodeError::NotAdministrative(NodeKind::Household))
        );
    }
}
