//! `impl FloatingImportStore for SqlStore`: many residents' histories and records at once
//! (one statement per chunk of ids), and a floating-ledger import (residents and their moves)
//! in one transaction.

use async_trait::async_trait;
use mulin_domain::ids::{DistrictId, ResidentId};
use mulin_storage::{
    FloatingImportStore, ImportBatch, ImportProgress, MovementRecord, ResidentRecord, StoreResult,
};
use tracing::instrument;

use crate::floating::{movement_args, movement_from_row, movement_insert, movement_select};
use crate::rows::{resident_from_row, resident_rows};
use crate::sql::Sql;
use crate::store::{insert_rows, resident_select};
use crate::{map_err, SqlStore};

/// Residents asked for per statement.
const LOOKUP_CHUNK: usize = 400;

/// Appends ` IN (…)` over `ids` to `sql`, one bound parameter each.
fn push_in_list(sql: &mut Sql, ids: &[ResidentId]) {
    sql.push(" IN (");
    for (idx, id) in ids.iter().enumerate() {
        if idx > 0 {
            sql.push(", ");
        }
        sql.bind(id.to_string());
    }
    sql.push(")");
}

#[async_trait]
impl FloatingImportStore for SqlStore {
    #[instrument(skip_all, fields(n = residents.len()))]
    async fn movements_of(
        &self,
        district: DistrictId,
        residents: &[ResidentId],
    ) -> StoreResult<Vec<MovementRecord>> {
        let mut found = Vec::new();
        for chunk in residents.chunks(LOOKUP_CHUNK) {
            let mut sql = movement_select();
            sql.bind(district.to_string()).push(" AND m.resident_id");
            push_in_list(&mut sql, chunk);
            sql.push(" ORDER BY m.resident_id, m.seq");
            for row in self.fetch_all(&sql).await? {
                found.push(movement_from_row(&row)?);
            }
        }
        Ok(found)
    }

    #[instrument(skip_all, fields(n = residents.len()))]
    async fn residents_by_ids(
        &self,
        district: DistrictId,
        residents: &[ResidentId],
    ) -> StoreResult<Vec<ResidentRecord>> {
        let mut found = Vec::with_capacity(residents.len());
        for chunk in residents.chunks(LOOKUP_CHUNK) {
            let mut sql = resident_select();
            sql.push(" WHERE r.district_id = ")
                .bind(district.to_string())
                .push(" AND r.id");
            push_in_list(&mut sql, chunk);
            for row in self.fetch_all(&sql).await? {
                found.push(resident_from_row(&self.id_keys, &row)?);
            }
        }
        Ok(found)
    }

    #[instrument(skip_all, fields(n_residents = batch.residents.len(), n_moves = movements.len()))]
    async fn apply_floating_import(
        &self,
        batch: &ImportBatch,
        movements: &[MovementRecord],
        progress: &ImportProgress<'_>,
    ) -> StoreResult<()> {
        let resident_rows = resident_rows(&self.id_keys, &batch.residents)?;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        self.write_import_in(&mut tx, batch, resident_rows, progress)
            .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            &movement_insert(),
            movements.iter().map(movement_args),
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        self.after_import(batch).await
    }
}
