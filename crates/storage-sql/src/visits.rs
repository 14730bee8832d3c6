//! `impl VisitStore for SqlStore`: visits with their households, the record updates they
//! bring back, and coverage per grid.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, NodeId, RequestId, UserId};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_domain::visit::VisitKind;
use mulin_storage::{
    AuditEntry, GridCoverage, LonLat, NodeRecord, Page, ResidentUpdate, StoreError, StoreResult,
    VisitFilter, VisitRecord, VisitStore,
};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::rows::{
    corrupt, instant, millis, node_from_row, uuid_text, LEVEL_COLUMNS, NODE_COLUMNS,
};
use crate::sql::{get, Arg, Sql};
use crate::store::{audit_insert, execute_in, id_text, push_page};
use crate::{map_err, SqlStore};

const VISIT_COLUMNS: &str = "district_id, id, street_id, community_id, grid_id, kind, \
     visited_at, minutes, visitor_id, visitor_name, findings, lon, lat, request_id";

/// The column of a grid-keyed table (district, street, community, grid) that holds the id
/// of a node of `kind`; none below the grid, where such a table cannot narrow.
pub(crate) fn grid_level_column(kind: NodeKind) -> Option<&'static str> {
    (kind <= NodeKind::Grid)
        .then(|| LEVEL_COLUMNS.get(kind.level()).copied())
        .flatten()
}

/// `AND (col = $a OR col = $b …)` over the scopes a grid-keyed table can narrow to; false
/// when none can.
pub(crate) fn push_grid_scopes(sql: &mut Sql, prefix: &str, scopes: &[NodePath]) -> bool {
    let usable: Vec<(&str, NodeId)> = scopes
        .iter()
        .filter_map(|scope| grid_level_column(scope.kind()).map(|col| (col, scope.id())))
        .collect();
    if usable.is_empty() {
        return false;
    }
    sql.push(" AND (");
    for (idx, (column, id)) in usable.into_iter().enumerate() {
        if idx > 0 {
            sql.push(" OR ");
        }
        sql.push(prefix)
            .push(column)
            .push(" = ")
            .bind(id.to_string());
    }
    sql.push(")");
    true
}

/// A grid's path from the district, street, community and grid columns.
pub(crate) fn grid_path_from_row(row: &AnyRow) -> StoreResult<NodePath> {
    let mut ids = [None; 8];
    for (level, column) in LEVEL_COLUMNS.iter().take(4).enumerate() {
        ids[level] = Some(NodeId::from_uuid(uuid_text(row, column)?));
    }
    NodePath::from_levels(NodeKind::Grid, ids).map_err(corrupt)
}

fn visit_from_row(row: &AnyRow) -> StoreResult<VisitRecord> {
    let kind: String = get(row, "kind")?;
    let minutes: i64 = get(row, "minutes")?;
    let lon: Option<f64> = get(row, "lon")?;
    let lat: Option<f64> = get(row, "lat")?;
    let request: Option<String> = get(row, "request_id")?;
    Ok(VisitRecord {
        id: uuid_text(row, "id")?,
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        grid: grid_path_from_row(row)?,
        kind: VisitKind::parse(&kind).map_err(corrupt)?,
        visited_at: instant(row, "visited_at")?,
        minutes: u32::try_from(minutes).map_err(corrupt)?,
        visitor: UserId::from_uuid(uuid_text(row, "visitor_id")?),
        visitor_name: get(row, "visitor_name")?,
        findings: get(row, "findings")?,
        position: lon.zip(lat).map(|(lon, lat)| LonLat { lon, lat }),
        request: request
            .map(|text| text.parse::<RequestId>().map_err(corrupt))
            .transpose()?,
        households: Vec::new(),
    })
}

fn visit_args(visit: &VisitRecord) -> Vec<Arg> {
    let mut args: Vec<Arg> = visit.grid.levels()[..4]
        .iter()
        .map(|id| Arg::Text(id.map(|id| id.to_string())))
        .collect();
    args.insert(1, id_text(visit.id));
    args.extend([
        Arg::from(visit.kind.as_str()),
        Arg::from(millis(visit.visited_at)),
        Arg::from(i64::from(visit.minutes)),
        id_text(visit.visitor),
        Arg::from(visit.visitor_name.clone()),
        Arg::from(visit.findings.clone()),
        Arg::from(visit.position.map(|p| p.lon)),
        Arg::from(visit.position.map(|p| p.lat)),
        Arg::from(visit.request.map(|id| id.to_string())),
    ]);
    args
}

impl SqlStore {
    /// Fills in the households of `visits`.
    async fn with_households(
        &self,
        district: DistrictId,
        mut visits: Vec<VisitRecord>,
    ) -> StoreResult<Vec<VisitRecord>> {
        if visits.is_empty() {
            return Ok(visits);
        }
        let mut sql =
            Sql::new("SELECT visit_id, household_id FROM visit_households WHERE district_id = ");
        sql.bind(district.to_string()).push(" AND visit_id IN (");
        for (idx, visit) in visits.iter().enumerate() {
            if idx > 0 {
                sql.push(", ");
            }
            sql.bind(visit.id.to_string());
        }
        sql.push(") ORDER BY visit_id, household_id");
        let mut by_visit: HashMap<uuid::Uuid, Vec<NodeId>> = HashMap::new();
        for row in self.fetch_all(&sql).await? {
            by_visit
                .entry(uuid_text(&row, "visit_id")?)
                .or_default()
                .push(NodeId::from_uuid(uuid_text(&row, "household_id")?));
        }
        for visit in &mut visits {
            visit.households = by_visit.remove(&visit.id).unwrap_or_default();
        }
        Ok(visits)
    }
}

#[async_trait]
impl VisitStore for SqlStore {
    #[instrument(skip_all, fields(visit = %visit.id))]
    async fn insert_visit(
        &self,
        visit: &VisitRecord,
        updates: &[ResidentUpdate],
        audit: &[AuditEntry],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let mut sql = Sql::new(&format!("INSERT INTO visits ({VISIT_COLUMNS}) VALUES "));
        sql.bind_row(visit_args(visit));
        execute_in(&mut tx, &sql).await?;
        for household in &visit.households {
            let mut sql = Sql::new(
                "INSERT INTO visit_households (district_id, visit_id, household_id, visited_at) \
                 VALUES ",
            );
            sql.bind_row(vec![
                id_text(visit.district),
                id_text(visit.id),
                id_text(*household),
                Arg::from(millis(visit.visited_at)),
            ]);
            execute_in(&mut tx, &sql).await?;
        }
        for update in updates {
            let mut sql = Sql::new("UPDATE residents SET district_id = district_id");
            if let Some(phone) = &update.phone {
                sql.push(", phone = ").bind(phone.expose());
            }
            if let Some(status) = update.status {
                sql.push(", status = ").bind(status.as_str());
            }
            if let Some(groups) = update.groups {
                sql.push(", group_bits = ").bind(groups.bits());
            }
            sql.push(" WHERE district_id = ")
                .bind(visit.district.to_string())
                .push(" AND id = ")
                .bind(update.resident.to_string())
                .push(" AND household_id = ")
                .bind(update.household.to_string());
            let done = sql
                .query()
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
            if done != 1 {
                // Dropping the transaction rolls the visit back too.
                return Err(StoreError::NotFound);
            }
        }
        for entry in audit {
            execute_in(&mut tx, &audit_insert(entry)).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn visit(&self, district: DistrictId, id: uuid::Uuid) -> StoreResult<VisitRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string());
        let visit = visit_from_row(&self.fetch_one(&sql).await?)?;
        let mut visits = self.with_households(district, vec![visit]).await?;
        visits.pop().ok_or(StoreError::NotFound)
    }

    #[instrument(skip_all)]
    async fn search_visits(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        filter: &VisitFilter,
    ) -> StoreResult<Page<VisitRecord>> {
        let per_page = filter.per_page.clamp(1, 200);
        let page = filter.page.max(1);
        let mut sql = Sql::new(&format!(
            "SELECT {VISIT_COLUMNS} FROM visits WHERE district_id = "
        ));
        sql.bind(district.to_string());
        if !push_grid_scopes(&mut sql, "", scopes) {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                has_more: false,
            });
        }
        if let Some(visitor) = filter.visitor {
            sql.push(" AND visitor_id = ").bind(visitor.to_string());
        }
        sql.push(" ORDER BY visited_at DESC, id DESC");
        push_page(&mut sql, page, per_page);
        let found = self
            .fetch_page(&sql, page, per_page, visit_from_row)
            .await?;
        Ok(Page {
            items: self.with_households(district, found.items).await?,
            ..found
        })
    }

    async fn link_visit_request(
        &self,
        district: DistrictId,
        visit: uuid::Uuid,
        request: RequestId,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let mut sql = Sql::new("UPDATE visits SET request_id = ");
        sql.bind(request.to_string())
            .push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(" AND id = ")
            .bind(visit.to_string())
            .push(" AND request_id IS NULL");
        let done = sql
            .query()
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        if done != 1 {
            return Err(StoreError::Conflict("visit already has a request".into()));
        }
        execute_in(&mut tx, &audit_insert(audit)).await?;
        tx.commit().await.map_err(map_err)
    }

    #[instrument(skip_all)]
    async fn visit_coverage(
        &self,
        district: DistrictId,
        scope: &NodePath,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<GridCoverage>> {
        let Some(column) = grid_level_column(scope.kind()) else {
            return Ok(Vec::new());
        };
        let mut sql = Sql::new(
            "SELECT n.grid_id, COUNT(*) AS households, COUNT(CASE WHEN NOT EXISTS (SELECT 1 \
             FROM visit_households v WHERE v.district_id = n.district_id AND v.household_id = \
             n.id AND v.visited_at >= ",
        );
        sql.bind(millis(since))
            .push(") THEN 1 END) AS not_visited FROM nodes n WHERE n.district_id = ")
            .bind(district.to_string())
            .push(" AND n.kind = 'household' AND n.")
            .push(column)
            .push(" = ")
            .bind(scope.id().to_string())
            .push(" GROUP BY n.grid_id ORDER BY n.grid_id");
        let mut grids: Vec<GridCoverage> = Vec::new();
        for row in self.fetch_all(&sql).await? {
            grids.push(GridCoverage {
                grid: NodeId::from_uuid(uuid_text(&row, "grid_id")?),
                households: get(&row, "households")?,
                not_visited: get(&row, "not_visited")?,
                visits: 0,
                visit_minutes: 0,
            });
        }
        let mut sql = Sql::new(
            "SELECT grid_id, COUNT(*) AS visits, CAST(SUM(minutes) AS BIGINT) AS minutes FROM visits WHERE \
             district_id = ",
        );
        sql.bind(district.to_string())
            .push(" AND ")
            .push(column)
            .push(" = ")
            .bind(scope.id().to_string())
            .push(" AND visited_at >= ")
            .bind(millis(since))
            .push(" GROUP BY grid_id");
        for row in self.fetch_all(&sql).await? {
            let grid = NodeId::from_uuid(uuid_text(&row, "grid_id")?);
            let visits: i64 = get(&row, "visits")?;
            let minutes: i64 = get(&row, "minutes")?;
            match grids.iter_mut().find(|g| g.grid == grid) {
                Some(found) => {
                    found.visits = visits;
                    found.visit_minutes = minutes;
                }
                None => grids.push(GridCoverage {
                    grid,
                    households: 0,
                    not_visited: 0,
                    visits,
                    visit_minutes: minutes,
                }),
            }
        }
        Ok(grids)
    }

    async fn unvisited_households(
        &self,
        district: DistrictId,
        grid: &NodePath,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<NodeRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes n WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND kind = 'household' AND grid_id = ")
            .bind(grid.id().to_string())
            .push(
                " AND NOT EXISTS (SELECT 1 FROM visit_households v WHERE v.district_id = \
                 n.district_id AND v.household_id = n.id AND v.visited_at >= ",
            )
            .bind(millis(since))
            .push(") ORDER BY compound_id, building_id, entrance_id, sort_key, id LIMIT ")
            .bind(i64::from(limit.clamp(1, 1_000)));
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(node_from_row)
            .collect()
    }
}
