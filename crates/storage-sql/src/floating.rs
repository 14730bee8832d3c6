//! `impl FloatingStore for SqlStore`: moves in and out, appended, never overwritten.

use async_trait::async_trait;
use chrono::NaiveDate;
use mulin_domain::ids::{DistrictId, NodeId, ResidentId, UserId};
use mulin_domain::movement::Direction;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{AuditEntry, FloatingStore, MovementRecord, StoreResult};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::rows::{corrupt, instant, millis, uuid_text, LEVEL_COLUMNS};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, execute_in, id_text};
use crate::visits::push_grid_scopes;
use crate::{map_err, SqlStore};

const MOVEMENT_COLUMNS: &str = "district_id, id, resident_id, seq, household_id, street_id, \
     community_id, grid_id, compound_id, building_id, entrance_id, direction, on_date, reason, \
     recorded_by, recorded_at";

/// The head of an insert of moves; rows come from [`movement_args`].
pub(crate) fn movement_insert() -> String {
    format!("INSERT INTO movements ({MOVEMENT_COLUMNS}) VALUES ")
}

pub(crate) fn movement_from_row(row: &AnyRow) -> StoreResult<MovementRecord> {
    let mut ids = [None; 8];
    for (level, column) in LEVEL_COLUMNS.iter().enumerate() {
        ids[level] = Some(NodeId::from_uuid(uuid_text(row, column)?));
    }
    ids[7] = Some(NodeId::from_uuid(uuid_text(row, "household_id")?));
    let direction: String = get(row, "direction")?;
    let on: String = get(row, "on_date")?;
    Ok(MovementRecord {
        id: uuid_text(row, "id")?,
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        resident: ResidentId::from_uuid(uuid_text(row, "resident_id")?),
        resident_name: get(row, "resident_name")?,
        seq: get(row, "seq")?,
        household: NodePath::from_levels(NodeKind::Household, ids).map_err(corrupt)?,
        direction: Direction::parse(&direction).map_err(corrupt)?,
        on: NaiveDate::parse_from_str(&on, "%Y-%m-%d").map_err(corrupt)?,
        reason: get(row, "reason")?,
        recorded_by: UserId::from_uuid(uuid_text(row, "recorded_by")?),
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// The arguments of one row of [`movement_insert`].
pub(crate) fn movement_args(movement: &MovementRecord) -> Vec<Arg> {
    let mut args = vec![
        id_text(movement.district),
        id_text(movement.id),
        id_text(movement.resident),
        Arg::from(movement.seq),
        id_text(movement.household.id()),
    ];
    args.extend(
        movement.household.levels()[1..7]
            .iter()
            .map(|id| Arg::Text(id.map(|id| id.to_string()))),
    );
    args.extend([
        Arg::from(movement.direction.as_str()),
        Arg::from(movement.on.format("%Y-%m-%d").to_string()),
        Arg::from(movement.reason.clone()),
        id_text(movement.recorded_by),
        Arg::from(millis(movement.recorded_at)),
    ]);
    args
}

/// `SELECT m.…, r.name` from moves joined to the registry for the name.
pub(crate) fn movement_select() -> Sql {
    let columns: Vec<String> = MOVEMENT_COLUMNS
        .split(", ")
        .map(|column| format!("m.{column}"))
        .collect();
    Sql::new(&format!(
        "SELECT {}, r.name AS resident_name FROM movements m JOIN residents r ON \
         r.district_id = m.district_id AND r.id = m.resident_id WHERE m.district_id = ",
        columns.join(", ")
    ))
}

#[async_trait]
impl FloatingStore for SqlStore {
    #[instrument(skip_all, fields(resident = %movement.resident))]
    async fn insert_movement(
        &self,
        movement: &MovementRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let mut sql = Sql::new(&movement_insert());
        sql.bind_row(movement_args(movement));
        execute_in(&mut tx, &sql).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn movements(
        &self,
        district: DistrictId,
        resident: ResidentId,
    ) -> StoreResult<Vec<MovementRecord>> {
        let mut sql = movement_select();
        sql.bind(district.to_string())
            .push(" AND m.resident_id = ")
            .bind(resident.to_string())
            .push(" ORDER BY m.seq");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(movement_from_row)
            .collect()
    }

    #[instrument(skip_all)]
    async fn movements_under(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        until: NaiveDate,
    ) -> StoreResult<Vec<MovementRecord>> {
        let mut sql = movement_select();
        sql.bind(district.to_string());
        if !push_grid_scopes(&mut sql, "m.", scopes) {
            return Ok(Vec::new());
        }
        sql.push(" AND m.on_date <= ")
            .bind(until.format("%Y-%m-%d").to_string())
            .push(" ORDER BY m.resident_id, m.seq");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(movement_from_row)
            .collect()
    }
}
