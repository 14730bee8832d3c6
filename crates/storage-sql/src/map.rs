//! [`MapStore`] for the SQL store: service stations and grid rules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::station::StationKind;
use mulin_geo::walk::WalkRules;
use mulin_geo::{GridRules, ScoreRules};
use mulin_storage::{AuditEntry, LonLat, MapStore, StationRecord, StoreError, StoreResult};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::rows::{corrupt, instant, millis, uuid_text};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, execute_in, id_text};
use crate::{map_err, SqlStore};

const STATION_COLUMNS: &str = "district_id, id, community_id, kind, name, lon, lat, created_at";

fn station_from_row(row: &AnyRow) -> StoreResult<StationRecord> {
    let kind: String = get(row, "kind")?;
    Ok(StationRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        id: uuid_text(row, "id")?,
        community: NodeId::from_uuid(uuid_text(row, "community_id")?),
        kind: StationKind::parse(&kind).map_err(corrupt)?,
        name: get(row, "name")?,
        position: LonLat {
            lon: get(row, "lon")?,
            lat: get(row, "lat")?,
        },
        created_at: instant(row, "created_at")?,
    })
}

fn float(v: f64) -> Arg {
    Arg::Float(Some(v))
}

#[async_trait]
impl MapStore for SqlStore {
    async fn stations(&self, district: DistrictId) -> StoreResult<Vec<StationRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATION_COLUMNS} FROM service_stations WHERE district_id = "
        ));
        sql.bind(district.to_string()).push(" ORDER BY id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(station_from_row)
            .collect()
    }

    async fn insert_station(&self, station: &StationRecord, audit: &AuditEntry) -> StoreResult<()> {
        let mut sql = Sql::new(&format!(
            "INSERT INTO service_stations ({STATION_COLUMNS}) VALUES "
        ));
        sql.bind_row(vec![
            id_text(station.district),
            id_text(station.id),
            id_text(station.community),
            Arg::from(station.kind.as_str()),
            Arg::from(station.name.clone()),
            float(station.position.lon),
            float(station.position.lat),
            Arg::from(millis(station.created_at)),
        ]);
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        execute_in(&mut tx, &sql).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_station(
        &self,
        district: DistrictId,
        id: Uuid,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut sql = Sql::new("DELETE FROM service_stations WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string());
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        let done = sql.query().execute(&mut *tx).await.map_err(map_err)?;
        if done.rows_affected() != 1 {
            // Dropping the transaction rolls it back.
            return Err(StoreError::NotFound);
        }
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn grid_rules(&self, district: DistrictId) -> StoreResult<Option<GridRules>> {
        let mut sql = Sql::new("SELECT * FROM grid_rules WHERE district_id = ");
        sql.bind(district.to_string());
        let Some(row) = self.fetch_all(&sql).await?.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(GridRules {
            score: ScoreRules {
                households_over: get(&row, "households_over")?,
                large_area_km2: get(&row, "large_area_km2")?,
                special_share_over: get(&row, "special_share_over")?,
                reference_area_km2: get(&row, "reference_area_km2")?,
                reference_density: get(&row, "reference_density")?,
                reference_special_share: get(&row, "reference_special_share")?,
                reference_places: get(&row, "reference_places")?,
            },
            walk: WalkRules {
                minutes: get(&row, "walk_minutes")?,
                speed_kmh: get(&row, "walk_speed_kmh")?,
                detour_factor: get(&row, "detour_factor")?,
            },
        }))
    }

    async fn set_grid_rules(
        &self,
        district: DistrictId,
        rules: &GridRules,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut delete = Sql::new("DELETE FROM grid_rules WHERE district_id = ");
        delete.bind(district.to_string());
        let (s, w) = (&rules.score, &rules.walk);
        let mut insert = Sql::new(
            "INSERT INTO grid_rules (district_id, households_over, large_area_km2, \
             special_share_over, reference_area_km2, reference_density, \
             reference_special_share, reference_places, walk_minutes, walk_speed_kmh, \
             detour_factor, updated_at) VALUES ",
        );
        insert.bind_row(vec![
            id_text(district),
            Arg::from(s.households_over),
            float(s.large_area_km2),
            float(s.special_share_over),
            float(s.reference_area_km2),
            float(s.reference_density),
            float(s.reference_special_share),
            float(s.reference_places),
            float(w.minutes),
            float(w.speed_kmh),
            float(w.detour_factor),
            Arg::from(millis(at)),
        ]);
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        execute_in(&mut tx, &delete).await?;
        execute_in(&mut tx, &insert).await?;
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }
}
