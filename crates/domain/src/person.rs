//! A resident's checked values: name, resident ID number (GB 11643), phone, gender,
//! residence status, relation to the head of household and special-group tags, plus the
//! masking every role without a need to know sees.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Why a value a person typed cannot be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonError {
    /// Names are 1 to 30 characters of text.
    #[error("a name has 1 to 30 characters and no control characters")]
    BadName,
    /// A resident ID number is 17 digits and a check character.
    #[error("an ID number has 18 characters: 17 digits and a check digit or X")]
    IdNumberShape,
    /// Digits 7–14 of an ID number are the birth date.
    #[error("the birth date inside the ID number is not a real date")]
    IdNumberBirthDate,
    /// The GB 11643 check character does not match.
    #[error("the ID number's check digit is wrong (expected {expected})")]
    IdNumberCheck {
        /// The check character the 17 digits call for.
        expected: char,
    },
    /// Phones are an 11-digit mobile or a landline.
    #[error("a phone is an 11-digit mobile (1xxxxxxxxxx) or a landline such as 0352-1234567")]
    BadPhone,
    /// An unknown enumerated value.
    #[error(transparent)]
    Unknown(#[from] crate::codes::UnknownCode),
}

/// A person's name as written in the registry.
///
/// Invariant: trimmed, 1–30 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PersonName(String);

impl PersonName {
    /// Checks and trims a name.
    pub fn parse(text: &str) -> Result<PersonName, PersonError> {
        let trimmed = text.trim();
        let n_chars = trimmed.chars().count();
        if n_chars == 0 || n_chars > 30 || trimmed.chars().any(char::is_control) {
            return Err(PersonError::BadName);
        }
        Ok(PersonName(trimmed.to_owned()))
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The weights of GB 11643 (ISO 7064 MOD 11-2) for the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder mod 11.
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character GB 11643 calls for after 17 digits; `None` if they are not digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (ch, weight) in first17.chars().zip(ID_WEIGHTS) {
        sum += ch.to_digit(10)? * weight;
    }
    ID_CHECK.get((sum % 11) as usize).copied()
}

/// A resident ID number (居民身份证号码), checked against GB 11643.
///
/// Invariant: 17 ASCII digits and an upper-case check character that matches them; digits
/// 7–14 are a real date.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// Checks an ID number; a lower-case `x` is accepted and stored upper-case.
    pub fn parse(text: &str) -> Result<IdNumber, PersonError> {
        let text = text.trim().to_ascii_uppercase();
        let shape_ok = text.len() == 18
            && text.as_bytes()[..17].iter().all(u8::is_ascii_digit)
            && matches!(text.as_bytes()[17], b'0'..=b'9' | b'X');
        if !shape_ok {
            return Err(PersonError::IdNumberShape);
        }
        let expected = id_check_char(&text[..17]).ok_or(PersonError::IdNumberShape)?;
        if text.ends_with(expected) {
            let id_number = IdNumber(text);
            id_number
                .birth_date()
                .ok_or(PersonError::IdNumberBirthDate)?;
            Ok(id_number)
        } else {
            Err(PersonError::IdNumberCheck { expected })
        }
    }

    /// The birth date written in digits 7–14.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let digits = &self.0[6..14];
        NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
    }

    /// The gender the 17th digit records (odd: male).
    pub fn gender(&self) -> Gender {
        let digit = self.0.as_bytes()[16];
        if digit % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The full number. Callers that show it must have checked the policy and audited.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The number as every role without a need to know sees it: `1402**********123X`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 4, 4)
    }
}

impl fmt::Debug for IdNumber {
    /// Debug output lands in logs, so it shows the masked form only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A contact phone: an 11-digit mobile or a landline (area code, dash, 7–8 digits).
///
/// Invariant: digits, with at most one dash after a 3–4 digit area code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Checks a phone; spaces are dropped.
    pub fn parse(text: &str) -> Result<Phone, PersonError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let is_mobile = compact.len() == 11
            && compact.starts_with('1')
            && compact.bytes().all(|b| b.is_ascii_digit());
        let is_landline = match compact.split_once('-') {
            Some((area, local)) => {
                (3..=4).contains(&area.len())
                    && area.starts_with('0')
                    && (7..=8).contains(&local.len())
                    && area
                        .bytes()
                        .chain(local.bytes())
                        .all(|b| b.is_ascii_digit())
            }
            None => (7..=8).contains(&compact.len()) && compact.bytes().all(|b| b.is_ascii_digit()),
        };
        if is_mobile || is_landline {
            Ok(Phone(compact))
        } else {
            Err(PersonError::BadPhone)
        }
    }

    /// The full number. Callers that show it must have checked the policy and audited.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The number as every role without a need to know sees it: `138****5678`.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 3, 4)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// Keeps `head` leading and `tail` trailing characters and stars out the rest; a value too
/// short to keep both is starred out entirely.
pub fn mask_middle(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Age in whole years on `today`.
pub fn age_on(birth_date: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth_date).unwrap_or(0)
}

/// The latest birth date of someone who is at least `years` old on `today`.
pub fn born_on_or_before(years: u32, today: NaiveDate) -> NaiveDate {
    let year = today.year() - years as i32;
    NaiveDate::from_ymd_opt(year, today.month(), today.day())
        // 29 February in a year without one: a person born on 28 February is already of age.
        .or_else(|| NaiveDate::from_ymd_opt(year, today.month(), 28))
        .unwrap_or(today)
}

use crate::codes::code_enum;

code_enum!(
    /// 性别.
    Gender, "gender" {
        /// 男.
        Male = "male",
        /// 女.
        Female = "female",
    }
);

code_enum!(
    /// 人户状态: how a person's residence and household registration relate.
    ResidenceStatus, "residence status" {
        /// 户籍: registered here and living here.
        Registered = "registered",
        /// 常住: living here, registered elsewhere, settled.
        Permanent = "permanent",
        /// 流动: floating population, here for a while.
        Floating = "floating",
        /// 空挂: registered here but living elsewhere.
        RegisteredAbsent = "registered_absent",
    }
);

code_enum!(
    /// 与户主关系.
    Relation, "relation to the head of household" {
        /// 户主/本人.
        Head = "head",
        /// 配偶.
        Spouse = "spouse",
        /// 子女.
        Child = "child",
        /// 父母.
        Parent = "parent",
        /// 孙子女.
        Grandchild = "grandchild",
        /// 祖父母/外祖父母.
        Grandparent = "grandparent",
        /// 兄弟姐妹.
        Sibling = "sibling",
        /// 儿媳/女婿.
        ChildInLaw = "child_in_law",
        /// 其他.
        Other = "other",
    }
);

code_enum!(
    /// 特殊群体. `Elderly` is derived from the birth date; the others are tagged.
    SpecialGroup, "special group" {
        /// 65 岁以上老人 (derived from the birth date, never tagged by hand).
        Elderly = "elderly",
        /// 空巢老人.
        EmptyNest = "empty_nest",
        /// 独居老人.
        LivingAlone = "living_alone",
        /// 低保.
        Dibao = "dibao",
        /// 失独家庭.
        Shidu = "shidu",
        /// 残疾人.
        Disabled = "disabled",
        /// 留守儿童.
        LeftBehindChild = "left_behind_child",
    }
);

/// Age from which a resident counts as elderly (seeds 000, 002: health records for 65+).
pub const ELDERLY_AGE: u32 = 65;

impl SpecialGroup {
    /// The bit this tag takes in a stored tag set.
    pub const fn bit(self) -> i64 {
        1 << (self as u32)
    }
}

/// A set of special-group tags, stored as a bit set so counting one group is one indexed
/// comparison. `Elderly` is never stored: it is derived from the birth date on the day asked.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SpecialGroups(i64);

impl SpecialGroups {
    /// Builds a set from tags; `Elderly` is dropped (it is derived, not tagged).
    pub fn from_tags(tags: impl IntoIterator<Item = SpecialGroup>) -> SpecialGroups {
        SpecialGroups(
            tags.into_iter()
                .filter(|tag| *tag != SpecialGroup::Elderly)
                .fold(0, |bits, tag| bits | tag.bit()),
        )
    }

    /// Rebuilds a set from its stored bits, ignoring bits no tag uses.
    pub fn from_bits(bits: i64) -> SpecialGroups {
        SpecialGroups::from_tags(
            SpecialGroup::ALL
                .iter()
                .copied()
                .filter(|tag| bits & tag.bit() != 0),
        )
    }

    /// The stored form.
    pub fn bits(self) -> i64 {
        self.0
    }

    /// The tags, plus `Elderly` when the birth date makes the person 65 or over on `today`.
    pub fn with_derived(
        self,
        birth_date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Vec<SpecialGroup> {
        let elderly = birth_date.is_some_and(|birth| age_on(birth, today) >= ELDERLY_AGE);
        SpecialGroup::ALL
            .iter()
            .copied()
            .filter(|tag| match tag {
                SpecialGroup::Elderly => elderly,
                _ => self.0 & tag.bit() != 0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_valid_id_number_is_accepted_and_masked() {
        // 17 digits chosen freely, check digit computed by the rule.
        let first17 = "14021219560314231";
        let check = id_check_char(first17).unwrap();
        let id_number = IdNumber::parse(&format!("{first17}{check}")).unwrap();
        assert_eq!(id_number.birth_date(), Some(date(1956, 3, 14)));
        assert_eq!(id_number.gender(), Gender::Male);
        assert_eq!(id_number.masked(), format!("1402**********231{check}"));
        assert!(!format!("{id_number:?}").contains("19560314"));
    }

    #[test]
    fn the_published_example_has_check_x() {
        // GB 11643's worked example ends in X.
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(PersonError::IdNumberCheck { expected: 'X' })
        );
    }

    #[test]
    fn id_number_lengths_are_checked_on_both_sides() {
        assert_eq!(
            IdNumber::parse("11010519491231002"),
            Err(PersonError::IdNumberShape)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002X1"),
            Err(PersonError::IdNumberShape)
        );
    }

    #[test]
    fn an_impossible_birth_date_is_rejected() {
        let first17 = "14021219560231231";
        let check = id_check_char(first17).unwrap();
        assert_eq!(
            IdNumber::parse(&format!("{first17}{check}")),
            Err(PersonError::IdNumberBirthDate)
        );
    }

    #[test]
    fn phones_are_mobile_or_landline() {
        assert_eq!(
            Phone::parse("138 1234 5678").unwrap().masked(),
            "138****5678"
        );
        assert!(Phone::parse("0352-6012345").is_ok());
        assert!(Phone::parse("1381234567").is_err());
        assert!(Phone::parse("138123456789").is_err());
        assert!(Phone::parse("phone").is_err());
    }

    #[test]
    fn names_are_bounded() {
        assert!(PersonName::parse(" 张伟 ").is_ok_and(|n| n.as_ref() == "张伟"));
        assert!(PersonName::parse(&"李".repeat(30)).is_ok());
        assert_eq!(
            PersonName::parse(&"李".repeat(31)),
            Err(PersonError::BadName)
        );
        assert_eq!(PersonName::parse("  "), Err(PersonError::BadName));
    }

    #[test]
    fn elderly_is_derived_on_the_day_asked() {
        let groups = SpecialGroups::from_tags([SpecialGroup::Elderly, SpecialGroup::Dibao]);
        let birth = Some(date(1960, 5, 1));
        assert_eq!(
            groups.with_derived(birth, date(2025, 4, 30)),
            vec![SpecialGroup::Dibao]
        );
        assert_eq!(
            groups.with_derived(birth, date(2025, 5, 1)),
            vec![SpecialGroup::Elderly, SpecialGroup::Dibao]
        );
        assert_eq!(born_on_or_before(65, date(2025, 5, 1)), date(1960, 5, 1));
        assert_eq!(born_on_or_before(1, date(2024, 2, 29)), date(2023, 2, 28));
    }

    proptest! {
        #[test]
        fn every_computed_check_digit_parses(digits in "[1-6][0-9]{5}(19[3-9][0-9]|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}") {
            let check = id_check_char(&digits).unwrap();
            let id_number = IdNumber::parse(&format!("{digits}{check}")).unwrap();
            prop_assert_eq!(id_number.expose().len(), 18);
            // Any other check character is rejected.
            for other in ID_CHECK.iter().filter(|c| **c != check) {
                let wrong = format!("{digits}{other}");
                prop_assert!(IdNumber::parse(&wrong).is_err());
            }
        }

        #[test]
        fn special_group_bits_round_trip(bits in 0i64..256) {
            let groups = SpecialGroups::from_bits(bits);
            prop_assert_eq!(SpecialGroups::from_bits(groups.bits()), groups);
            prop_assert_eq!(groups.bits() & SpecialGroup::Elderly.bit(), 0);
        }
    }
}
