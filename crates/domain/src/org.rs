//! The people and bodies beside the address tree: party organisations, units, posts (a
//! person holding a role at a node) and the district's own extra fields ("9+X").

use crate::codes::{code_enum, UnknownCode};

code_enum!(
    /// The kinds of party organisation of the "五级联动" party tree (seed 003).
    PartyOrgKind, "party organisation kind" {
        /// 街道党工委.
        WorkingCommittee = "working_committee",
        /// 社区党委.
        Committee = "committee",
        /// 党总支.
        GeneralBranch = "general_branch",
        /// 党支部 (e.g. a compound branch).
        Branch = "branch",
        /// 网格党小组 / 楼栋党小组.
        Group = "group",
    }
);

code_enum!(
    /// Kinds of unit linked to a standard address.
    UnitKind, "unit kind" {
        /// 驻区单位: a government or public body registered in the area.
        ResidentUnit = "resident_unit",
        /// 商户/企业.
        Business = "business",
        /// 物业公司.
        PropertyCompany = "property_company",
        /// 业委会.
        OwnersCommittee = "owners_committee",
        /// 社会组织.
        SocialOrganisation = "social_organisation",
    }
);

code_enum!(
    /// Posts a person can hold at a node. A cross-appointment (双向进入、交叉任职) is
    /// simply several posts held by one person.
    PostKind, "post kind" {
        /// 网格员, at a grid.
        GridWorker = "grid_worker",
        /// 楼栋长, at a building.
        BuildingCaptain = "building_captain",
        /// 居民代表 / 中心户, linked to 5–15 households.
        ResidentRepresentative = "resident_representative",
        /// 党组织书记, of a party organisation.
        BranchSecretary = "branch_secretary",
        /// 党组织委员, of a party organisation.
        BranchMember = "branch_member",
        /// 部门片区联系人: a department's contact for an area.
        DepartmentLiaison = "department_liaison",
        /// 业委会成员.
        OwnersCommitteeMember = "owners_committee_member",
        /// 物业负责人.
        PropertyManager = "property_manager",
    }
);

code_enum!(
    /// Full- or part-time, for grid workers (seed 002: 27 full-time + 12 part-time).
    Employment, "employment" {
        /// 专职.
        FullTime = "full_time",
        /// 兼职.
        PartTime = "part_time",
    }
);

code_enum!(
    /// Where a post holder comes from: the "四方力量" of the "1+4" mechanism (seed 000) and
    /// the "五面红旗" pools branch secretaries are drawn from.
    Origin, "origin" {
        /// 社区工作者.
        CommunityWorker = "community_worker",
        /// 居民.
        Resident = "resident",
        /// 下沉干部: cadres sent down from district units.
        SentDownCadre = "sent_down_cadre",
        /// 物业人员.
        PropertyStaff = "property_staff",
        /// 退休干部.
        RetiredCadre = "retired_cadre",
        /// 高校毕业生.
        Graduate = "graduate",
    }
);

code_enum!(
    /// Departments that answer a grid's whistle (网格吹哨、部门报到).
    Department, "department" {
        /// 城管.
        UrbanManagement = "urban_management",
        /// 消防.
        FireService = "fire_service",
        /// 电力.
        Power = "power",
        /// 自来水.
        Water = "water",
        /// 环卫.
        Sanitation = "sanitation",
        /// 公安.
        Police = "police",
        /// 市场监管.
        MarketRegulation = "market_regulation",
    }
);

code_enum!(
    /// What a district-defined extra field is attached to.
    FieldEntity, "field entity" {
        /// 居民.
        Resident = "resident",
        /// 户.
        Household = "household",
        /// 单位.
        Unit = "unit",
    }
);

code_enum!(
    /// The value type of an extra field.
    FieldType, "field type" {
        /// Free text up to 200 characters.
        Text = "text",
        /// A decimal number.
        Number = "number",
        /// A date, `YYYY-MM-DD`.
        Date = "date",
        /// One of the field's listed options.
        Choice = "choice",
    }
);

/// Why an extra field or its value is rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    /// A field key is a short snake_case identifier.
    #[error("a field key is 1–40 characters of a–z, 0–9 and _, starting with a letter")]
    BadKey,
    /// A choice field needs options; other kinds take none.
    #[error("a choice field lists its options; other fields have none")]
    BadOptions,
    /// The value does not fit the field's type.
    #[error("`{value}` is not a valid {field_type} for field {key}")]
    BadValue {
        /// The field.
        key: String,
        /// Its type.
        field_type: FieldType,
        /// The value given.
        value: String,
    },
    /// No such field is defined for this entity.
    #[error("no extra field `{0}` is defined")]
    UnknownField(String),
    /// An unknown code.
    #[error(transparent)]
    Unknown(#[from] UnknownCode),
}

/// A district's own field on residents, households or units (the "X" of GB/T 31000's
/// "9+X"): added without a schema change, values kept beside the fixed columns.
///
/// Invariant: `key` is snake_case; `options` is non-empty exactly for `Choice`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldDef {
    entity: FieldEntity,
    key: String,
    label: String,
    field_type: FieldType,
    options: Vec<String>,
}

impl FieldDef {
    /// Checks a field definition.
    pub fn new(
        entity: FieldEntity,
        key: &str,
        label: &str,
        field_type: FieldType,
        options: Vec<String>,
    ) -> Result<FieldDef, FieldError> {
        let key_ok = (1..=40).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Err(FieldError::BadKey);
        }
        if (field_type == FieldType::Choice) == options.is_empty() {
            return Err(FieldError::BadOptions);
        }
        Ok(FieldDef {
            entity,
            key: key.to_owned(),
            label: label.trim().to_owned(),
            field_type,
            options,
        })
    }

    /// What the field is attached to.
    pub fn entity(&self) -> FieldEntity {
        self.entity
    }
    /// The stable key.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The label the district gave it.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The value type.
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }
    /// The options of a choice field.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// Checks a value for this field and returns it normalised (trimmed).
    pub fn check_value(&self, value: &str) -> Result<String, FieldError> {
        let value = value.trim();
        let ok = match self.field_type {
            FieldType::Text => value.chars().count() <= 200,
            FieldType::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
            FieldType::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
            FieldType::Choice => self.options.iter().any(|option| option == value),
        };
        if ok {
            Ok(value.to_owned())
        } else {
            Err(FieldError::BadValue {
                key: self.key.clone(),
                field_type: self.field_type,
                value: value.to_owned(),
            })
        }
    }
}

/// How many households a resident representative or building captain looks after
/// (居民代表 / 楼栋长 each link 5–15 households, issue 5).
pub const LINKED_HOUSEHOLDS: std::ops::RangeInclusive<usize> = 5..=15;

impl PostKind {
    /// Whether this post links households: representatives and building captains do.
    pub const fn links_households(self) -> bool {
        matches!(
            self,
            PostKind::ResidentRepresentative | PostKind::BuildingCaptain
        )
    }
}

/// How a post's linked households stand against [`LINKED_HOUSEHOLDS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkLoad {
    /// Fewer than 5.
    TooFew,
    /// 5 to 15.
    Within,
    /// More than 15.
    TooMany,
}

impl LinkLoad {
    /// The load of a post linking `count` households.
    pub fn of(count: usize) -> LinkLoad {
        if count < *LINKED_HOUSEHOLDS.start() {
            LinkLoad::TooFew
        } else if count > *LINKED_HOUSEHOLDS.end() {
            LinkLoad::TooMany
        } else {
            LinkLoad::Within
        }
    }

    /// Its code for the API and the locale files (`too_few`, `within`, `too_many`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkLoad::TooFew => "too_few",
            LinkLoad::Within => "within",
            LinkLoad::TooMany => "too_many",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_are_checked_by_type() {
        let floor = FieldDef::new(
            FieldEntity::Household,
            "floor_area",
            "建筑面积",
            FieldType::Number,
            vec![],
        )
        .unwrap();
        assert_eq!(floor.check_value(" 86.5 ").unwrap(), "86.5");
        assert!(floor.check_value("八十").is_err());
        let kind = FieldDef::new(
            FieldEntity::Household,
            "house_use",
            "房屋用途",
            FieldType::Choice,
            vec!["自住".into(), "出租".into()],
        )
        .unwrap();
        assert!(kind.check_value("出租").is_ok());
        assert!(kind.check_value("商用").is_err());
        let note = FieldDef::new(
            FieldEntity::Resident,
            "note",
            "备注",
            FieldType::Text,
            vec![],
        )
        .unwrap();
        assert!(note.check_value(&"字".repeat(200)).is_ok());
        assert!(note.check_value(&"字".repeat(201)).is_err());
    }

    #[test]
    fn field_definitions_are_checked() {
        assert_eq!(
            FieldDef::new(FieldEntity::Unit, "Bad Key", "x", FieldType::Text, vec![]),
            Err(FieldError::BadKey)
        );
        assert_eq!(
            FieldDef::new(FieldEntity::Unit, "kind", "x", FieldType::Choice, vec![]),
            Err(FieldError::BadOptions)
        );
        assert_eq!(
            FieldDef::new(
                FieldEntity::Unit,
                "kind",
                "x",
                FieldType::Text,
                vec!["a".into()]
            ),
            Err(FieldError::BadOptions)
        );
    }

    #[test]
    fn five_to_fifteen_households_are_within_the_rule() {
        assert_eq!(LinkLoad::of(0), LinkLoad::TooFew);
        assert_eq!(LinkLoad::of(4), LinkLoad::TooFew);
        assert_eq!(LinkLoad::of(5), LinkLoad::Within);
        assert_eq!(LinkLoad::of(15), LinkLoad::Within);
        assert_eq!(LinkLoad::of(16), LinkLoad::TooMany);
        assert!(PostKind::BuildingCaptain.links_households());
        assert!(!PostKind::GridWorker.links_households());
    }
}
