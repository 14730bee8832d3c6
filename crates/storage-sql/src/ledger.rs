//! `impl LedgerStore for SqlStore`: residents by ID number, and an import in one
//! transaction.

use async_trait::async_trait;
use mulin_domain::ids::DistrictId;
use mulin_domain::person::IdNumber;
use mulin_storage::{ImportBatch, ImportProgress, LedgerStore, ResidentRecord, StoreResult};
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::rows::{node_args, resident_from_row, resident_rows, NODE_COLUMNS, RESIDENT_COLUMNS};
use crate::sql::{Arg, Sql};
use crate::store::{audit_insert, execute_in, insert_rows, resident_select, ANALYZE_AFTER_ROWS};
use crate::{map_err, SqlStore};

/// ID numbers asked for per statement.
const LOOKUP_CHUNK: usize = 400;

/// What an import updates when the district already has the ID number: everything but the
/// tenant, the id and the number itself.
const UPSERT_TAIL: &str = " ON CONFLICT (district_id, id_hash) DO UPDATE SET \
     household_id = excluded.household_id, street_id = excluded.street_id, \
     community_id = excluded.community_id, grid_id = excluded.grid_id, \
     compound_id = excluded.compound_id, building_id = excluded.building_id, \
     entrance_id = excluded.entrance_id, name = excluded.name, gender = excluded.gender, \
     birth_date = excluded.birth_date, ethnicity = excluded.ethnicity, phone = excluded.phone, \
     relation = excluded.relation, status = excluded.status, group_bits = excluded.group_bits, \
     search_text = excluded.search_text, extra = excluded.extra";

#[async_trait]
impl LedgerStore for SqlStore {
    #[instrument(skip_all, fields(n = id_numbers.len()))]
    async fn residents_by_id_numbers(
        &self,
        district: DistrictId,
        id_numbers: &[IdNumber],
    ) -> StoreResult<Vec<ResidentRecord>> {
        let mut found = Vec::new();
        for chunk in id_numbers.chunks(LOOKUP_CHUNK) {
            let mut sql = resident_select();
            sql.push(" WHERE r.district_id = ")
                .bind(district.to_string())
                .push(" AND r.id_hash IN (");
            for (idx, id_number) in chunk.iter().enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind(self.id_keys.full_hash(id_number.expose()));
            }
            sql.push(")");
            for row in self.fetch_all(&sql).await? {
                found.push(resident_from_row(&self.id_keys, &row)?);
            }
        }
        Ok(found)
    }

    #[instrument(skip_all, fields(n_nodes = batch.nodes.len(), n_residents = batch.residents.len()))]
    async fn apply_import(
        &self,
        batch: &ImportBatch,
        progress: &ImportProgress<'_>,
    ) -> StoreResult<()> {
        let resident_rows = resident_rows(&self.id_keys, &batch.residents)?;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        self.write_import_in(&mut tx, batch, resident_rows, progress)
            .await?;
        tx.commit().await.map_err(map_err)?;
        self.after_import(batch).await
    }
}

impl SqlStore {
    /// Writes an import's nodes, residents (`resident_rows`: the batch's residents already
    /// sealed by [`resident_rows`], before the caller began `tx`) and audit record inside
    /// `tx`, reporting the residents written after each statement.
    pub(crate) async fn write_import_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        batch: &ImportBatch,
        resident_rows: Vec<Vec<Arg>>,
        progress: &ImportProgress<'_>,
    ) -> StoreResult<()> {
        let max_args = self.dialect.max_insert_args();
        insert_rows(
            tx,
            max_args,
            &format!("INSERT INTO nodes ({NODE_COLUMNS}) VALUES "),
            batch.nodes.iter().map(node_args),
        )
        .await?;
        let head = format!("INSERT INTO residents ({RESIDENT_COLUMNS}) VALUES ");
        let per_statement = (max_args / RESIDENT_COLUMNS.split(", ").count()).max(1);
        let mut n_written = 0;
        let mut resident_rows = resident_rows.into_iter().peekable();
        while resident_rows.peek().is_some() {
            let mut sql = Sql::in_order(&head, self.dialect);
            for (idx, row) in resident_rows.by_ref().take(per_statement).enumerate() {
                if idx > 0 {
                    sql.push(", ");
                }
                sql.bind_row(row);
                n_written += 1;
            }
            sql.push(UPSERT_TAIL);
            execute_in(tx, &sql).await?;
            progress(n_written);
        }
        execute_in(tx, &audit_insert(&batch.audit)).await
    }

    /// Refreshes the planner's statistics after a large import (once committed).
    pub(crate) async fn after_import(&self, batch: &ImportBatch) -> StoreResult<()> {
        if batch.nodes.len() + batch.residents.len() >= ANALYZE_AFTER_ROWS {
            for statement in self.dialect.after_bulk_load() {
                self.execute(&Sql::new(statement)).await?;
            }
        }
        Ok(())
    }
}
