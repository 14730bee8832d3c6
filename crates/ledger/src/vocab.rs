//! The ledger's vocabulary: column headers as offices write them, and the Chinese words for
//! the domain's enumerations, both ways.

use mulin_domain::person::{Gender, Relation, ResidenceStatus, SpecialGroup};

/// A column the ledger knows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Field {
    /// 姓名.
    Name,
    /// 性别.
    Gender,
    /// 民族.
    Ethnicity,
    /// 出生日期.
    BirthDate,
    /// 身份证号.
    IdNumber,
    /// 联系电话.
    Phone,
    /// 小区.
    Compound,
    /// 楼栋.
    Building,
    /// 单元.
    Entrance,
    /// 房号/门牌号.
    House,
    /// 与户主关系.
    Relation,
    /// 人户状态.
    Status,
    /// 特殊群体.
    Groups,
    /// 备注 (read and ignored by the resident ledger; the floating ledger keeps it).
    Note,
    /// 现居住地址 written in one cell ("阳光小区3号楼2单元401室"), where a file has no
    /// separate 小区/楼栋/单元/房号 columns.
    CurrentAddress,
    /// 户籍地址: where a floating resident is registered.
    HomeAddress,
    /// 来本地日期: the move in.
    MoveInDate,
    /// 暂住事由: why they came.
    MoveInReason,
    /// 离开日期: the move out.
    MoveOutDate,
    /// 离开原因.
    MoveOutReason,
    /// 职业/工作单位.
    Occupation,
    /// 居住证号.
    PermitNumber,
}

impl Field {
    /// The resident ledger's columns, in the order its template and exports write them.
    pub const ALL: [Field; 14] = [
        Field::Name,
        Field::Gender,
        Field::Ethnicity,
        Field::BirthDate,
        Field::IdNumber,
        Field::Phone,
        Field::Compound,
        Field::Building,
        Field::Entrance,
        Field::House,
        Field::Relation,
        Field::Status,
        Field::Groups,
        Field::Note,
    ];

    /// The floating-population ledger's columns (流动人口信息登记台账), in the order its
    /// template and exports write them.
    pub const FLOATING: [Field; 18] = [
        Field::Name,
        Field::Gender,
        Field::Ethnicity,
        Field::BirthDate,
        Field::IdNumber,
        Field::Phone,
        Field::HomeAddress,
        Field::Compound,
        Field::Building,
        Field::Entrance,
        Field::House,
        Field::MoveInDate,
        Field::MoveInReason,
        Field::MoveOutDate,
        Field::MoveOutReason,
        Field::Occupation,
        Field::PermitNumber,
        Field::Note,
    ];

    /// Every column a header may name, in either ledger.
    const KNOWN: [Field; 22] = [
        Field::Name,
        Field::Gender,
        Field::Ethnicity,
        Field::BirthDate,
        Field::IdNumber,
        Field::Phone,
        Field::Compound,
        Field::Building,
        Field::Entrance,
        Field::House,
        Field::Relation,
        Field::Status,
        Field::Groups,
        Field::Note,
        Field::CurrentAddress,
        Field::HomeAddress,
        Field::MoveInDate,
        Field::MoveInReason,
        Field::MoveOutDate,
        Field::MoveOutReason,
        Field::Occupation,
        Field::PermitNumber,
    ];

    /// The header the template and exports write.
    pub const fn header(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::Gender => "性别",
            Field::Ethnicity => "民族",
            Field::BirthDate => "出生日期",
            Field::IdNumber => "身份证号",
            Field::Phone => "联系电话",
            Field::Compound => "小区",
            Field::Building => "楼栋",
            Field::Entrance => "单元",
            Field::House => "房号",
            Field::Relation => "与户主关系",
            Field::Status => "人户状态",
            Field::Groups => "特殊群体",
            Field::Note => "备注",
            Field::CurrentAddress => "现居住地址",
            Field::HomeAddress => "户籍地址",
            Field::MoveInDate => "来本地日期",
            Field::MoveInReason => "暂住事由",
            Field::MoveOutDate => "离开日期",
            Field::MoveOutReason => "离开原因",
            Field::Occupation => "职业/工作单位",
            Field::PermitNumber => "居住证号",
        }
    }

    /// Other headers offices use for the same column (already normalized).
    const fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "名字", "居民姓名", "人员姓名", "成员姓名"],
            Field::Gender => &["性别"],
            Field::Ethnicity => &["民族", "族别"],
            Field::BirthDate => &["出生日期", "出生年月", "出生年月日", "生日", "出生时间"],
            Field::IdNumber => &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "公民身份证号码",
                "身份证",
                "证件号码",
                "证件号",
                "身份号码",
            ],
            Field::Phone => &[
                "联系电话",
                "电话",
                "电话号码",
                "手机",
                "手机号",
                "手机号码",
                "联系方式",
            ],
            Field::Compound => &[
                "小区",
                "小区名称",
                "所属小区",
                "小区名",
                "院落",
                "小区/院落",
            ],
            Field::Building => &["楼栋", "楼栋号", "楼号", "栋", "幢", "楼"],
            Field::Entrance => &["单元", "单元号"],
            Field::House => &[
                "房号",
                "门牌号",
                "房号/门牌号",
                "门牌号/房号",
                "房间号",
                "户号",
                "室",
                "门牌",
            ],
            Field::Relation => &["与户主关系", "与户主的关系", "户主关系", "关系"],
            Field::Status => &["人户状态", "人户情况", "居住状态", "人户关系"],
            Field::Groups => &[
                "特殊群体",
                "特殊人群",
                "人员类别",
                "群体类别",
                "特殊群体类别",
            ],
            Field::Note => &["备注", "说明"],
            Field::CurrentAddress => &[
                "现居住地址",
                "现居住地",
                "现住址",
                "现住地址",
                "居住地址",
                "现居地址",
                "暂住地址",
                "暂住地",
                "暂住处所",
            ],
            Field::HomeAddress => &[
                "户籍地址",
                "户籍地",
                "户籍所在地",
                "户口所在地",
                "户籍住址",
                "户籍详址",
                "原籍",
            ],
            Field::MoveInDate => &[
                "来本地日期",
                "来本地时间",
                "来本地居住日期",
                "迁入日期",
                "迁入时间",
                "来住日期",
                "入住日期",
                "到达日期",
            ],
            Field::MoveInReason => &[
                "暂住事由",
                "来由",
                "来本地事由",
                "来本地原因",
                "迁入原因",
                "迁入事由",
                "居住事由",
                "暂住原因",
            ],
            Field::MoveOutDate => &[
                "离开日期",
                "离开时间",
                "迁出日期",
                "迁出时间",
                "离开本地日期",
                "注销日期",
            ],
            Field::MoveOutReason => &["离开原因", "迁出原因", "离开事由", "迁出事由"],
            Field::Occupation => &[
                "职业/工作单位",
                "工作单位/职业",
                "职业",
                "工作单位",
                "服务处所",
                "从业单位",
                "职业及工作单位",
                "就业单位",
            ],
            Field::PermitNumber => &[
                "居住证号",
                "居住证号码",
                "居住证编号",
                "暂住证号",
                "暂住证号码",
            ],
        }
    }

    /// The column a header names, if any.
    pub fn from_header(text: &str) -> Option<Field> {
        let key = normalize_header(text);
        if key.is_empty() {
            return None;
        }
        Field::KNOWN
            .into_iter()
            .find(|field| field.synonyms().contains(&key.as_str()))
    }
}

/// Folds full-width ASCII (ＡＢＣ１２３, full-width parentheses) to ASCII and drops every kind
/// of space, so "出生 日期" and "出生　日期" read alike.
pub fn fold(text: &str) -> String {
    text.chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '\u{200b}')
        .map(|ch| match ch {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(ch as u32 - 0xfee0).unwrap_or(ch),
            _ => ch,
        })
        .collect()
}

/// A header reduced to compare with the synonyms: folded, without required-field stars,
/// colons, or a parenthesised hint such as "(必填)" or "(yyyy-mm-dd)".
pub fn normalize_header(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len());
    let mut depth = 0usize;
    for ch in folded.chars() {
        match ch {
            '(' | '【' | '[' => depth += 1,
            ')' | '】' | ']' => depth = depth.saturating_sub(1),
            '*' | ':' | '：' => {}
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out.to_lowercase()
}

/// The word for a gender.
pub const fn gender_label(gender: Gender) -> &'static str {
    match gender {
        Gender::Male => "男",
        Gender::Female => "女",
    }
}

/// Reads a gender.
pub fn gender_from(text: &str) -> Option<Gender> {
    match fold(text).as_str() {
        "男" | "男性" | "m" | "M" | "male" => Some(Gender::Male),
        "女" | "女性" | "f" | "F" | "female" => Some(Gender::Female),
        _ => None,
    }
}

/// The word for a relation to the head of household.
pub const fn relation_label(relation: Relation) -> &'static str {
    match relation {
        Relation::Head => "户主",
        Relation::Spouse => "配偶",
        Relation::Child => "子女",
        Relation::Parent => "父母",
        Relation::Grandchild => "孙子女",
        Relation::Grandparent => "祖父母",
        Relation::Sibling => "兄弟姐妹",
        Relation::ChildInLaw => "儿媳/女婿",
        Relation::Other => "其他",
    }
}

/// Reads a relation to the head of household, as offices write it.
pub fn relation_from(text: &str) -> Option<Relation> {
    let relation = match fold(text).as_str() {
        "户主" | "本人" | "户主本人" | "本人/户主" => Relation::Head,
        "配偶" | "妻" | "妻子" | "夫" | "丈夫" | "之妻" | "之夫" => Relation::Spouse,
        "子女" | "子" | "女" | "儿子" | "女儿" | "长子" | "次子" | "三子" | "长女" | "次女"
        | "三女" | "独生子" | "独生女" | "养子" | "养女" | "继子" | "继女" => {
            Relation::Child
        }
        "父母" | "父" | "母" | "父亲" | "母亲" | "继父" | "继母" | "养父" | "养母" | "公公"
        | "婆婆" | "岳父" | "岳母" => Relation::Parent,
        "孙子女" | "孙子" | "孙女" | "外孙" | "外孙子" | "外孙女" => {
            Relation::Grandchild
        }
        "祖父母" | "祖父" | "祖母" | "外祖父" | "外祖母" | "外祖父母" | "爷爷" | "奶奶"
        | "姥爷" | "姥姥" => Relation::Grandparent,
        "兄弟姐妹" | "兄" | "弟" | "姐" | "妹" | "哥哥" | "弟弟" | "姐姐" | "妹妹" => {
            Relation::Sibling
        }
        "儿媳/女婿" | "儿媳" | "女婿" | "媳" => Relation::ChildInLaw,
        "其他" | "其它" | "亲属" | "其他亲属" | "非亲属" | "租户" => Relation::Other,
        _ => return None,
    };
    Some(relation)
}

/// The word for a residence status.
pub const fn status_label(status: ResidenceStatus) -> &'static str {
    match status {
        ResidenceStatus::Registered => "户籍",
        ResidenceStatus::Permanent => "常住",
        ResidenceStatus::Floating => "流动",
        ResidenceStatus::RegisteredAbsent => "空挂",
    }
}

/// Reads a residence status, as offices write it.
pub fn status_from(text: &str) -> Option<ResidenceStatus> {
    let status = match fold(text).as_str() {
        "户籍" | "户籍人口" | "人户一致" | "人在户在" | "户在人在" => {
            ResidenceStatus::Registered
        }
        "常住" | "常住人口" | "人在户不在" | "非户籍常住" => {
            ResidenceStatus::Permanent
        }
        "流动" | "流动人口" | "暂住" | "外来" => ResidenceStatus::Floating,
        "空挂" | "空挂户" | "户在人不在" | "人户分离" => {
            ResidenceStatus::RegisteredAbsent
        }
        _ => return None,
    };
    Some(status)
}

/// The word for a special group.
pub const fn group_label(group: SpecialGroup) -> &'static str {
    match group {
        SpecialGroup::Elderly => "65岁以上老人",
        SpecialGroup::EmptyNest => "空巢老人",
        SpecialGroup::LivingAlone => "独居老人",
        SpecialGroup::Dibao => "低保",
        SpecialGroup::Shidu => "失独",
        SpecialGroup::Disabled => "残疾人",
        SpecialGroup::LeftBehindChild => "留守儿童",
    }
}

/// Reads one special-group word; `Elderly` words are recognised (and later dropped: the
/// registry derives 65+ from the birth date).
pub fn group_from(text: &str) -> Option<SpecialGroup> {
    let group = match fold(text).as_str() {
        "65岁以上老人" | "老年人" | "老人" | "高龄老人" | "65岁以上" => {
            SpecialGroup::Elderly
        }
        "空巢" | "空巢老人" => SpecialGroup::EmptyNest,
        "独居" | "独居老人" => SpecialGroup::LivingAlone,
        "低保" | "低保户" | "低保对象" => SpecialGroup::Dibao,
        "失独" | "失独家庭" => SpecialGroup::Shidu,
        "残疾" | "残疾人" | "残障" => SpecialGroup::Disabled,
        "留守儿童" => SpecialGroup::LeftBehindChild,
        _ => return None,
    };
    Some(group)
}

/// Splits a list of special groups written with any of the usual separators.
pub fn split_groups(text: &str) -> impl Iterator<Item = &str> {
    text.split(['、', ',', '，', ';', '；', '/', ' ', '\u{3000}', '|'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

/// The key an address part is matched by: folded, and without the usual suffix, so
/// "3号楼", "3栋" and "3" name the same building.
pub fn address_key(field: Field, text: &str) -> String {
    let folded = fold(text);
    let suffixes: &[&str] = match field {
        Field::Building => &["号楼", "栋", "幢", "号", "楼"],
        Field::Entrance => &["单元", "号"],
        Field::House => &["室", "号", "户"],
        _ => &[],
    };
    for suffix in suffixes {
        if let Some(stem) = folded.strip_suffix(suffix) {
            if !stem.is_empty() {
                return stem.to_owned();
            }
        }
    }
    folded
}

/// The name a new node of this address part gets: "3" becomes "3号楼", "2单元", "401室";
/// anything else is kept as written.
pub fn address_name(field: Field, text: &str) -> String {
    let key = address_key(field, text);
    let numeric = !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit());
    match field {
        Field::Building if numeric => format!("{key}号楼"),
        Field::Entrance if numeric => format!("{key}单元"),
        Field::House if numeric => format!("{key}室"),
        _ => fold(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_with_spaces_stars_and_hints() {
        assert_eq!(Field::from_header(" 姓　名 "), Some(Field::Name));
        assert_eq!(Field::from_header("*身份证号码"), Some(Field::IdNumber));
        assert_eq!(
            Field::from_header("出生日期（yyyy-mm-dd）"),
            Some(Field::BirthDate)
        );
        assert_eq!(Field::from_header("房号/门牌号"), Some(Field::House));
        assert_eq!(Field::from_header("序号"), None);
        assert_eq!(Field::from_header(""), None);
    }

    #[test]
    fn every_label_reads_back() {
        for gender in Gender::ALL {
            assert_eq!(gender_from(gender_label(*gender)), Some(*gender));
        }
        for relation in Relation::ALL {
            assert_eq!(relation_from(relation_label(*relation)), Some(*relation));
        }
        for status in ResidenceStatus::ALL {
            assert_eq!(status_from(status_label(*status)), Some(*status));
        }
        for group in SpecialGroup::ALL {
            assert_eq!(group_from(group_label(*group)), Some(*group));
        }
        for field in Field::KNOWN {
            assert_eq!(Field::from_header(field.header()), Some(field));
        }
    }

    #[test]
    fn address_parts_match_whatever_the_suffix() {
        assert_eq!(address_key(Field::Building, "3号楼"), "3");
        assert_eq!(address_key(Field::Building, " ３栋"), "3");
        assert_eq!(address_key(Field::Entrance, "2单元"), "2");
        assert_eq!(address_key(Field::House, "401室"), "401");
        assert_eq!(address_name(Field::House, "401"), "401室");
        assert_eq!(address_name(Field::Building, "综合楼"), "综合楼");
    }
}
