//! `impl CareStore for SqlStore`: health records, family sickbeds and their visits.

use async_trait::async_trait;
use chrono::NaiveDate;
use mulin_domain::care::Schedule;
use mulin_domain::ids::{DistrictId, NodeId, ResidentId, UserId};
use mulin_domain::person::{born_on_or_before, SpecialGroup, ELDERLY_AGE};
use mulin_domain::tree::NodePath;
use mulin_storage::{
    AuditEntry, CareStore, HealthRecord, Page, ResidentRecord, SickbedRecord, SickbedVisit,
    StoreResult,
};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::rows::{corrupt, instant, millis, resident_from_row, resident_level_column, uuid_text};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, execute_in, id_text, push_page, resident_select};
use crate::visits::{grid_path_from_row, push_grid_scopes};
use crate::{map_err, SqlStore};

const HEALTH_COLUMNS: &str = "district_id, resident_id, household_id, street_id, community_id, \
     grid_id, conditions, care_team, notes, updated_at, updated_by";

const SICKBED_COLUMNS: &str = "district_id, id, resident_id, household_id, street_id, \
     community_id, grid_id, care_team, every_days, starts_on, last_visit_on, created_at";

fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn date(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(corrupt)
}

/// The district, street, community and grid ids of a grid path, for an insert.
fn grid_args(grid: &NodePath) -> Vec<Arg> {
    grid.levels()[1..4]
        .iter()
        .map(|id| Arg::Text(id.map(|id| id.to_string())))
        .collect()
}

fn health_from_row(row: &AnyRow) -> StoreResult<HealthRecord> {
    Ok(HealthRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        resident: ResidentId::from_uuid(uuid_text(row, "resident_id")?),
        household: NodeId::from_uuid(uuid_text(row, "household_id")?),
        grid: grid_path_from_row(row)?,
        conditions: get(row, "conditions")?,
        care_team: get(row, "care_team")?,
        notes: get(row, "notes")?,
        updated_at: instant(row, "updated_at")?,
        updated_by: UserId::from_uuid(uuid_text(row, "updated_by")?),
    })
}

fn sickbed_from_row(row: &AnyRow) -> StoreResult<SickbedRecord> {
    let every: i64 = get(row, "every_days")?;
    let starts: String = get(row, "starts_on")?;
    let last: Option<String> = get(row, "last_visit_on")?;
    Ok(SickbedRecord {
        id: uuid_text(row, "id")?,
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        resident: ResidentId::from_uuid(uuid_text(row, "resident_id")?),
        resident_name: get(row, "resident_name")?,
        household: NodeId::from_uuid(uuid_text(row, "household_id")?),
        grid: grid_path_from_row(row)?,
        care_team: get(row, "care_team")?,
        schedule: Schedule::new(u32::try_from(every).map_err(corrupt)?, date(&starts)?)
            .map_err(corrupt)?,
        last_visit_on: last.as_deref().map(date).transpose()?,
        created_at: instant(row, "created_at")?,
    })
}

/// `SELECT s.…, r.name` from sickbeds joined to the registry for the patient's name.
fn sickbed_select() -> Sql {
    let columns: Vec<String> = SICKBED_COLUMNS
        .split(", ")
        .map(|column| format!("s.{column}"))
        .collect();
    Sql::new(&format!(
        "SELECT {}, r.name AS resident_name FROM sickbeds s JOIN residents r ON \
         r.district_id = s.district_id AND r.id = s.resident_id WHERE s.district_id = ",
        columns.join(", ")
    ))
}

#[async_trait]
impl CareStore for SqlStore {
    #[instrument(skip_all, fields(resident = %record.resident))]
    async fn put_health_record(
        &self,
        record: &HealthRecord,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut args = vec![
            id_text(record.district),
            id_text(record.resident),
            id_text(record.household),
        ];
        args.extend(grid_args(&record.grid));
        args.extend([
            Arg::from(record.conditions.clone()),
            Arg::from(record.care_team.clone()),
            Arg::from(record.notes.clone()),
            Arg::from(millis(record.updated_at)),
            id_text(record.updated_by),
        ]);
        let mut sql = Sql::new(&format!(
            "INSERT INTO health_records ({HEALTH_COLUMNS}) VALUES "
        ));
        sql.bind_row(args).push(
            " ON CONFLICT (district_id, resident_id) DO UPDATE SET household_id = \
             excluded.household_id, street_id = excluded.street_id, community_id = \
             excluded.community_id, grid_id = excluded.grid_id, conditions = \
             excluded.conditions, care_team = excluded.care_team, notes = excluded.notes, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        );
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        execute_in(&mut tx, &sql).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn health_record(
        &self,
        district: DistrictId,
        resident: ResidentId,
    ) -> StoreResult<HealthRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {HEALTH_COLUMNS} FROM health_records WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND resident_id = ")
            .bind(resident.to_string());
        health_from_row(&self.fetch_one(&sql).await?)
    }

    #[instrument(skip_all, fields(sickbed = %sickbed.id))]
    async fn insert_sickbed(&self, sickbed: &SickbedRecord, audit: &AuditEntry) -> StoreResult<()> {
        let mut args = vec![
            id_text(sickbed.district),
            id_text(sickbed.id),
            id_text(sickbed.resident),
            id_text(sickbed.household),
        ];
        args.extend(grid_args(&sickbed.grid));
        args.extend([
            Arg::from(sickbed.care_team.clone()),
            Arg::from(i64::from(sickbed.schedule.every_days())),
            Arg::from(date_text(sickbed.schedule.starts_on())),
            Arg::from(sickbed.last_visit_on.map(date_text)),
            Arg::from(millis(sickbed.created_at)),
        ]);
        let mut sql = Sql::new(&format!("INSERT INTO sickbeds ({SICKBED_COLUMNS}) VALUES "));
        sql.bind_row(args);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        execute_in(&mut tx, &sql).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn sickbed(&self, district: DistrictId, id: uuid::Uuid) -> StoreResult<SickbedRecord> {
        let mut sql = sickbed_select();
        sql.bind(district.to_string())
            .push(" AND s.id = ")
            .bind(id.to_string());
        sickbed_from_row(&self.fetch_one(&sql).await?)
    }

    #[instrument(skip_all)]
    async fn sickbeds_under(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
    ) -> StoreResult<Vec<SickbedRecord>> {
        let mut sql = sickbed_select();
        sql.bind(district.to_string());
        if !push_grid_scopes(&mut sql, "s.", scopes) {
            return Ok(Vec::new());
        }
        sql.push(" ORDER BY r.name, s.id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(sickbed_from_row)
            .collect()
    }

    #[instrument(skip_all, fields(sickbed = %visit.sickbed))]
    async fn insert_sickbed_visit(
        &self,
        visit: &SickbedVisit,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO sickbed_visits (district_id, id, sickbed_id, visited_on, note, \
             recorded_by, recorded_at) VALUES ",
        );
        sql.bind_row(vec![
            id_text(visit.district),
            id_text(visit.id),
            id_text(visit.sickbed),
            Arg::from(date_text(visit.on)),
            Arg::from(visit.note.clone()),
            id_text(visit.recorded_by),
            Arg::from(millis(visit.recorded_at)),
        ]);
        let on = date_text(visit.on);
        // ISO dates order as text, so the later day wins on both databases.
        let mut update = Sql::new("UPDATE sickbeds SET last_visit_on = ");
        update
            .bind(on.clone())
            .push(" WHERE district_id = ")
            .bind(visit.district.to_string())
            .push(" AND id = ")
            .bind(visit.sickbed.to_string())
            .push(" AND (last_visit_on IS NULL OR last_visit_on < ")
            .bind(on)
            .push(")");
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        execute_in(&mut tx, &sql).await?;
        execute_in(&mut tx, &update).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    #[instrument(skip_all, fields(group = group.as_str()))]
    async fn special_group_members(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        group: SpecialGroup,
        today: NaiveDate,
        page: u32,
        per_page: u32,
    ) -> StoreResult<Page<ResidentRecord>> {
        let per_page = per_page.clamp(1, 200);
        let page = page.max(1);
        if scopes.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                has_more: false,
            });
        }
        let mut sql = resident_select();
        sql.push(" WHERE r.district_id = ")
            .bind(district.to_string())
            .push(" AND (");
        for (idx, scope) in scopes.iter().enumerate() {
            if idx > 0 {
                sql.push(" OR ");
            }
            sql.push("r.")
                .push(resident_level_column(scope.kind()))
                .push(" = ")
                .bind(scope.id().to_string());
        }
        sql.push(")");
        match group {
            SpecialGroup::Elderly => {
                sql.push(" AND r.birth_date <= ")
                    .bind(date_text(born_on_or_before(ELDERLY_AGE, today)));
            }
            tag => {
                sql.push(" AND (r.group_bits & ")
                    .bind(tag.bit())
                    .push(") <> 0");
            }
        }
        sql.push(" ORDER BY r.name, r.id");
        push_page(&mut sql, page, per_page);
        self.fetch_page(&sql, page, per_page, |row| {
            resident_from_row(&self.id_keys, row)
        })
        .await
    }
}
