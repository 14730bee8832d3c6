//! UI text from locale files: zh-CN by default, English on request. Handlers and templates
//! never hold UI text themselves; they look keys up here.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A UI language.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Lang {
    /// 简体中文, the default.
    #[default]
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses a tag; anything but English is Chinese.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }
}

type Table = HashMap<String, String>;

fn parse(text: &str) -> Table {
    // The locale files are part of the binary and checked by a test, so a parse failure
    // can only come from editing them without running the tests; fall back to keys.
    toml::from_str(text).unwrap_or_default()
}

static ZH_CN: LazyLock<Table> = LazyLock::new(|| parse(include_str!("../locales/zh-CN.toml")));
static EN: LazyLock<Table> = LazyLock::new(|| parse(include_str!("../locales/en.toml")));

/// Looks keys up in one language.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    lang: Lang,
    table: &'static Table,
}

impl Tr {
    /// The translator for `lang`.
    pub fn new(lang: Lang) -> Tr {
        let table: &'static Table = match lang {
            Lang::ZhCn => &ZH_CN,
            Lang::En => &EN,
        };
        Tr { lang, table }
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text for `key`; the key itself when missing, so a gap shows rather than hides.
    pub fn get<'k>(&self, key: &'k str) -> &'k str
    where
        'static: 'k,
    {
        self.table.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The text for `prefix.code`, e.g. `kind` + `grid`.
    pub fn code(&self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}.{code}");
        self.table.get(&key).cloned().unwrap_or(key)
    }

    /// `template` (a text of this language) with each `{name}` replaced by its value.
    pub fn fill(&self, template: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(template.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_locales_have_the_same_keys() {
        let zh: Table = toml::from_str(include_str!("../locales/zh-CN.toml")).unwrap();
        let en: Table = toml::from_str(include_str!("../locales/en.toml")).unwrap();
        let mut zh_keys: Vec<_> = zh.keys().collect();
        let mut en_keys: Vec<_> = en.keys().collect();
        zh_keys.sort();
        en_keys.sort();
        assert_eq!(zh_keys, en_keys);
        assert!(zh.len() > 50);
    }

    #[test]
    fn every_enum_code_has_a_label() {
        use mulin_domain::person::{Gender, Relation, ResidenceStatus, SpecialGroup};
        use mulin_domain::policy::Role;
        use mulin_domain::tree::NodeKind;
        for lang in [Lang::ZhCn, Lang::En] {
            let tr = Tr::new(lang);
            let mut keys: Vec<String> = NodeKind::ALL.iter().map(|k| format!("kind.{k}")).collect();
            keys.extend(Role::ALL.iter().map(|r| format!("role.{r}")));
            keys.extend(Gender::ALL.iter().map(|g| format!("gender.{g}")));
            keys.extend(Relation::ALL.iter().map(|r| format!("relation.{r}")));
            keys.extend(ResidenceStatus::ALL.iter().map(|s| format!("status.{s}")));
            keys.extend(SpecialGroup::ALL.iter().map(|g| format!("group.{g}")));
            keys.extend(
                mulin_domain::org::PostKind::ALL
                    .iter()
                    .map(|p| format!("post.{p}")),
            );
            keys.extend(
                mulin_domain::org::Department::ALL
                    .iter()
                    .map(|d| format!("department.{d}")),
            );
            keys.extend(
                mulin_domain::org::PartyOrgKind::ALL
                    .iter()
                    .map(|k| format!("party_org.{k}")),
            );
            keys.extend(
                mulin_domain::org::UnitKind::ALL
                    .iter()
                    .map(|k| format!("unit.{k}")),
            );
            for key in keys {
                let (prefix, code) = key.split_once('.').unwrap();
                assert_ne!(tr.code(prefix, code), key, "{key} has no {lang:?} label");
            }
        }
        assert_eq!(Tr::new(Lang::ZhCn).get("kind.grid"), "网格");
        assert_eq!(Tr::new(Lang::En).get("kind.grid"), "Grid");
    }
}
