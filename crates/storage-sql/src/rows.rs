//! Row ↔ record conversion: the only place that knows column names and stored encodings.

use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{NodeId, ResidentId, UserId};
use mulin_domain::person::{
    Gender, IdNumber, PersonName, Phone, Relation, ResidenceStatus, SpecialGroups,
};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    AuditEntry, LonLat, NodeRecord, ResidentRecord, SessionKind, SessionRecord, StoreError,
    UserRecord,
};
use sqlx::any::AnyRow;

use crate::id_crypt::IdKeys;
use crate::sql::{get, Arg};

/// The path columns of every tree-keyed table, by level (household excluded: a node's own
/// id and a resident's `household_id` stand for that level).
pub(crate) const LEVEL_COLUMNS: [&str; 7] = [
    "district_id",
    "street_id",
    "community_id",
    "grid_id",
    "compound_id",
    "building_id",
    "entrance_id",
];

/// The column that holds the id of a node of `kind` in the `nodes` table.
pub(crate) fn node_level_column(kind: NodeKind) -> &'static str {
    LEVEL_COLUMNS.get(kind.level()).copied().unwrap_or("id")
}

/// The column that holds the id of a node of `kind` in the `residents` table.
pub(crate) fn resident_level_column(kind: NodeKind) -> &'static str {
    LEVEL_COLUMNS
        .get(kind.level())
        .copied()
        .unwrap_or("household_id")
}

pub(crate) const NODE_COLUMNS: &str = "district_id, id, kind, parent_id, street_id, community_id, \
     grid_id, compound_id, building_id, entrance_id, name, code, sort_key, lon, lat, geometry, \
     address, extra";

pub(crate) const RESIDENT_COLUMNS: &str = "district_id, id, household_id, street_id, \
     community_id, grid_id, compound_id, building_id, entrance_id, name, gender, birth_date, \
     ethnicity, id_key, id_sealed, id_hash, id_tail4, id_tail6, phone, relation, status, \
     group_bits, search_text, extra";

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn uuid_text(row: &AnyRow, column: &str) -> Result<uuid::Uuid, StoreError> {
    let text: String = get(row, column)?;
    uuid::Uuid::parse_str(&text).map_err(|err| corrupt(format!("{column}: {err}")))
}

fn opt_uuid_text(row: &AnyRow, column: &str) -> Result<Option<uuid::Uuid>, StoreError> {
    let text: Option<String> = get(row, column)?;
    text.map(|text| uuid::Uuid::parse_str(&text).map_err(|err| corrupt(format!("{column}: {err}"))))
        .transpose()
}

fn path_from_row(row: &AnyRow, kind: NodeKind, leaf_column: &str) -> Result<NodePath, StoreError> {
    let mut ids = [None; 8];
    for (level, column) in LEVEL_COLUMNS.iter().enumerate() {
        ids[level] = opt_uuid_text(row, column)?.map(NodeId::from_uuid);
    }
    if kind == NodeKind::Household {
        ids[7] = Some(NodeId::from_uuid(uuid_text(row, leaf_column)?));
    }
    NodePath::from_levels(kind, ids).map_err(corrupt)
}

/// The path columns' values, district first, for an insert.
pub(crate) fn level_args(path: &NodePath) -> Vec<Arg> {
    path.levels()[..7]
        .iter()
        .map(|id| Arg::Text(id.map(|id| id.to_string())))
        .collect()
}

pub(crate) fn extra_to_text(extra: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = extra
        .iter()
        .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub(crate) fn extra_from_text(text: &str) -> Result<Vec<(String, String)>, StoreError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
    let serde_json::Value::Object(map) = value else {
        return Err(corrupt("extra is not a JSON object"));
    };
    Ok(map
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect())
}

pub(crate) fn node_from_row(row: &AnyRow) -> Result<NodeRecord, StoreError> {
    let kind_text: String = get(row, "kind")?;
    let kind = NodeKind::parse(&kind_text).map_err(corrupt)?;
    let path = path_from_row(row, kind, "id")?;
    let lon: Option<f64> = get(row, "lon")?;
    let lat: Option<f64> = get(row, "lat")?;
    let extra: String = get(row, "extra")?;
    Ok(NodeRecord {
        path,
        name: get(row, "name")?,
        code: get(row, "code")?,
        sort_key: get(row, "sort_key")?,
        position: lon.zip(lat).map(|(lon, lat)| LonLat { lon, lat }),
        geometry: get(row, "geometry")?,
        address: get(row, "address")?,
        extra: extra_from_text(&extra)?,
    })
}

pub(crate) fn node_args(node: &NodeRecord) -> Vec<Arg> {
    let path = &node.path;
    let mut args = vec![
        Arg::from(path.district().to_string()),
        Arg::from(path.id().to_string()),
        Arg::from(path.kind().as_str()),
        Arg::Text(path.parent().map(|id| id.to_string())),
    ];
    args.extend(level_args(path).into_iter().skip(1));
    args.extend([
        Arg::from(node.name.clone()),
        Arg::from(node.code.clone()),
        Arg::from(node.sort_key),
        Arg::from(node.position.map(|p| p.lon)),
        Arg::from(node.position.map(|p| p.lat)),
        Arg::from(node.geometry.clone()),
        Arg::from(node.address.clone()),
        Arg::from(extra_to_text(&node.extra)),
    ]);
    args
}

/// What a substring search matches: name and address, lower-cased so SQLite's
/// case-insensitive `LIKE` and PostgreSQL's case-sensitive one agree.
pub(crate) fn search_text(name: &str, address: &str) -> String {
    format!("{name} {address}").to_lowercase()
}

/// What seals a resident's ID number: the tenant and the resident, so a sealed value opens
/// on its own row only.
pub(crate) fn sealing_context(district: &str, resident: &str) -> String {
    format!("{district}/{resident}")
}

pub(crate) fn resident_args(
    id_keys: &IdKeys,
    resident: &ResidentRecord,
) -> Result<Vec<Arg>, StoreError> {
    let path = &resident.household;
    let mut args = vec![
        Arg::from(path.district().to_string()),
        Arg::from(resident.id.to_string()),
        Arg::from(path.id().to_string()),
    ];
    args.extend(level_args(path).into_iter().skip(1));
    let sealed = resident
        .id_number
        .as_ref()
        .map(|n| {
            let context = sealing_context(&path.district().to_string(), &resident.id.to_string());
            id_keys.seal(&context, n.expose())
        })
        .transpose()?;
    args.extend([
        Arg::from(resident.name.as_ref()),
        Arg::from(resident.gender.as_str()),
        Arg::from(
            resident
                .birth_date
                .map(|d| d.format("%Y-%m-%d").to_string()),
        ),
        Arg::from(resident.ethnicity.clone()),
        Arg::from(sealed.as_ref().map(|s| s.key_id.clone())),
        Arg::from(sealed.as_ref().map(|s| s.sealed.clone())),
        Arg::from(sealed.as_ref().map(|s| s.hash.clone())),
        Arg::from(sealed.as_ref().map(|s| s.tail4.clone())),
        Arg::from(sealed.as_ref().map(|s| s.tail6.clone())),
        Arg::from(resident.phone.as_ref().map(|p| p.expose().to_owned())),
        Arg::from(resident.relation.as_str()),
        Arg::from(resident.status.as_str()),
        Arg::from(resident.groups.bits()),
        Arg::from(search_text(resident.name.as_ref(), &resident.address)),
        Arg::from(extra_to_text(&resident.extra)),
    ]);
    Ok(args)
}

/// Residents below this many are sealed on the calling thread: a thread costs more than it
/// saves on a few hundred rows.
const SEAL_PER_THREAD: usize = 2_000;

/// [`resident_args`] for many residents, in order. Sealing (AES-GCM and three HMACs per ID
/// number) is the part of a bulk write that needs no database, so it runs on every core and
/// before the caller takes the writer, which then holds the lock for the statements only.
pub(crate) fn resident_rows(
    id_keys: &IdKeys,
    residents: &[ResidentRecord],
) -> Result<Vec<Vec<Arg>>, StoreError> {
    let n_threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(residents.len() / SEAL_PER_THREAD)
        .max(1);
    let seal = |part: &[ResidentRecord]| {
        part.iter()
            .map(|resident| resident_args(id_keys, resident))
            .collect::<Result<Vec<_>, StoreError>>()
    };
    if n_threads == 1 {
        return seal(residents);
    }
    let per_thread = residents.len().div_ceil(n_threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = residents
            .chunks(per_thread)
            .map(|part| scope.spawn(move || seal(part)))
            .collect();
        let mut rows = Vec::with_capacity(residents.len());
        for part in parts {
            match part.join() {
                Ok(part) => rows.extend(part?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(rows)
    })
}

pub(crate) fn resident_from_row(
    id_keys: &IdKeys,
    row: &AnyRow,
) -> Result<ResidentRecord, StoreError> {
    let household = path_from_row(row, NodeKind::Household, "household_id")?;
    let name: String = get(row, "name")?;
    let gender: String = get(row, "gender")?;
    let birth_date: Option<String> = get(row, "birth_date")?;
    let id_key: Option<String> = get(row, "id_key")?;
    let id_sealed: Option<String> = get(row, "id_sealed")?;
    let id = uuid_text(row, "id")?;
    let id_number = match id_key.zip(id_sealed) {
        Some((key_id, sealed)) => {
            let context = sealing_context(&household.district().to_string(), &id.to_string());
            Some(id_keys.open(&key_id, &sealed, &context)?)
        }
        None => None,
    };
    let phone: Option<String> = get(row, "phone")?;
    let relation: String = get(row, "relation")?;
    let status: String = get(row, "status")?;
    let extra: String = get(row, "extra")?;
    let address: Option<String> = get(row, "address")?;
    Ok(ResidentRecord {
        id: ResidentId::from_uuid(id),
        household,
        address: address.unwrap_or_default(),
        name: PersonName::parse(&name).map_err(corrupt)?,
        gender: Gender::parse(&gender).map_err(corrupt)?,
        birth_date: birth_date
            .map(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(corrupt))
            .transpose()?,
        ethnicity: get(row, "ethnicity")?,
        id_number: id_number
            .map(|text| IdNumber::parse(&text).map_err(corrupt))
            .transpose()?,
        phone: phone
            .map(|text| Phone::parse(&text).map_err(corrupt))
            .transpose()?,
        relation: Relation::parse(&relation).map_err(corrupt)?,
        status: ResidenceStatus::parse(&status).map_err(corrupt)?,
        groups: SpecialGroups::from_bits(get(row, "group_bits")?),
        extra: extra_from_text(&extra)?,
    })
}

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn instant(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    let ms: i64 = get(row, column)?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("{column}: {ms}")))
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    user_from_prefixed(row, "")
}

/// An account from columns named with `prefix` (a join reads it beside other tables).
pub(crate) fn user_from_prefixed(row: &AnyRow, prefix: &str) -> Result<UserRecord, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let is_demo: i64 = get(row, &column("is_demo"))?;
    Ok(UserRecord {
        id: UserId::from_uuid(uuid_text(row, &column("id"))?),
        district: NodeId::from_uuid(uuid_text(row, &column("district_id"))?).into(),
        username: get(row, &column("username"))?,
        display_name: get(row, &column("display_name"))?,
        password_hash: get(row, &column("password_hash"))?,
        is_demo: is_demo != 0,
        created_at: instant(row, &column("created_at"))?,
    })
}

pub(crate) fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    session_from_prefixed(row, "")
}

/// A session from columns named with `prefix` (a join reads it beside other tables).
pub(crate) fn session_from_prefixed(
    row: &AnyRow,
    prefix: &str,
) -> Result<SessionRecord, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let kind: String = get(row, &column("kind"))?;
    Ok(SessionRecord {
        token_hash: get(row, &column("token_hash"))?,
        user_id: UserId::from_uuid(uuid_text(row, &column("user_id"))?),
        district: NodeId::from_uuid(uuid_text(row, &column("district_id"))?).into(),
        kind: if kind == SessionKind::Api.as_str() {
            SessionKind::Api
        } else {
            SessionKind::Web
        },
        csrf_token: get(row, &column("csrf_token"))?,
        created_at: instant(row, &column("created_at"))?,
        expires_at: instant(row, &column("expires_at"))?,
    })
}

pub(crate) fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: uuid_text(row, "id")?,
        district: NodeId::from_uuid(uuid_text(row, "district_id")?).into(),
        at: instant(row, "at")?,
        user_id: opt_uuid_text(row, "user_id")?.map(UserId::from_uuid),
        username: get(row, "username")?,
        action: get(row, "action")?,
        target_kind: get(row, "target_kind")?,
        target_id: get(row, "target_id")?,
        ip: get(row, "ip")?,
        detail: get(row, "detail")?,
    })
}
