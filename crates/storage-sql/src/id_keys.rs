//! `impl IdKeyStore for SqlStore`, and what the store checks about its keyring when it
//! opens: that it is the keyring this database was sealed with, and that no plaintext ID
//! number from before migration 0012 is left.
//!
//! The `meta` table remembers the lookup key's fingerprint and the ids of the sealing keys
//! values may be under, so a wrong or incomplete keyring stops the start with a clear error
//! instead of failing (or silently finding nothing) on every read.

use async_trait::async_trait;
use mulin_storage::{IdKeyStore, StoreError, StoreResult};
use tracing::instrument;

use crate::rows::sealing_context;
use crate::sql::{get, Sql};
use crate::store::execute_in;
use crate::{map_err, Dialect, SqlStore};

const LOOKUP_KEY: &str = "id_lookup_key";
const KEYS_IN_USE: &str = "id_keys_in_use";
const PLAINTEXT_SEALED: &str = "id_plaintext_sealed";

/// Residents sealed per transaction when plaintext left by an older version is sealed.
const SEAL_BATCH: i64 = 1_000;

impl SqlStore {
    /// Checks the keyring against the database and seals any plaintext ID numbers.
    #[instrument(skip_all)]
    pub(crate) async fn open_id_keys(&self) -> StoreResult<()> {
        match self.meta(LOOKUP_KEY).await? {
            Some(known) if known != self.id_keys.lookup_key_id() => {
                return Err(StoreError::Unavailable(format!(
                    "this database's ID numbers are found with lookup key {known}, \
                     the keyring holds {}",
                    self.id_keys.lookup_key_id()
                )))
            }
            Some(_) => {}
            None => {
                self.set_meta(LOOKUP_KEY, self.id_keys.lookup_key_id())
                    .await?
            }
        }
        let mut in_use = self.id_keys_in_use().await?;
        if let Some(missing) = in_use.iter().find(|id| !self.id_keys.knows(id)) {
            return Err(StoreError::Unavailable(format!(
                "ID numbers sealed with key {missing} cannot be read: it is not in the keyring"
            )));
        }
        let current = self.id_keys.sealing_key_id().to_owned();
        if !in_use.contains(&current) {
            in_use.push(current);
            self.set_meta(KEYS_IN_USE, &in_use.join(",")).await?;
        }
        if self.meta(PLAINTEXT_SEALED).await?.is_none() {
            let n_sealed = self.seal_plaintext().await?;
            self.set_meta(PLAINTEXT_SEALED, "1").await?;
            if n_sealed > 0 {
                tracing::info!(n_sealed, "sealed plaintext ID numbers");
                for statement in self.dialect.purge_freed_pages() {
                    self.execute(&Sql::new(statement)).await?;
                }
            }
        }
        Ok(())
    }

    /// Seals the ID numbers an older version stored in the clear, and clears them.
    async fn seal_plaintext(&self) -> StoreResult<u64> {
        let mut n_sealed = 0;
        loop {
            let mut select = Sql::new(
                "SELECT district_id, id, id_number FROM residents \
                 WHERE id_number IS NOT NULL LIMIT ",
            );
            select.bind(SEAL_BATCH);
            let rows = self.fetch_all(&select).await?;
            if rows.is_empty() {
                return Ok(n_sealed);
            }
            let mut tx = self.writer.begin().await.map_err(map_err)?;
            for row in &rows {
                let district: String = get(row, "district_id")?;
                let id: String = get(row, "id")?;
                let number: String = get(row, "id_number")?;
                let sealed = self
                    .id_keys
                    .seal(&sealing_context(&district, &id), &number)?;
                let mut update = Sql::new("UPDATE residents SET id_key = ");
                update
                    .bind(sealed.key_id)
                    .push(", id_sealed = ")
                    .bind(sealed.sealed)
                    .push(", id_hash = ")
                    .bind(sealed.hash)
                    .push(", id_tail4 = ")
                    .bind(sealed.tail4)
                    .push(", id_tail6 = ")
                    .bind(sealed.tail6)
                    .push(", id_number = NULL, id_rev = NULL WHERE district_id = ")
                    .bind(district)
                    .push(" AND id = ")
                    .bind(id);
                execute_in(&mut tx, &update).await?;
                n_sealed += 1;
            }
            tx.commit().await.map_err(map_err)?;
        }
    }

    pub(crate) async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let mut sql = Sql::new("SELECT value FROM meta WHERE key = ");
        sql.bind(key);
        self.fetch_all(&sql)
            .await?
            .first()
            .map(|row| get::<String>(row, "value"))
            .transpose()
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let mut sql = Sql::new("INSERT INTO meta (key, value) VALUES (");
        sql.bind(key)
            .push(", ")
            .bind(value)
            .push(") ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        self.execute(&sql).await?;
        Ok(())
    }
}

impl Dialect {
    /// What makes space freed by overwritten rows unreadable: the plaintext an older version
    /// stored would otherwise survive in free pages (and SQLite's write-ahead log) until
    /// they are reused.
    const fn purge_freed_pages(self) -> &'static [&'static str] {
        match self {
            Dialect::Sqlite => &[
                "PRAGMA wal_checkpoint(TRUNCATE)",
                "VACUUM",
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ],
            Dialect::Postgres => &["VACUUM FULL residents"],
        }
    }
}

#[async_trait]
impl IdKeyStore for SqlStore {
    #[instrument(skip_all, fields(batch_size))]
    async fn reseal_id_numbers(&self, batch_size: u32) -> StoreResult<u64> {
        let current = self.id_keys.sealing_key_id().to_owned();
        let mut after = (String::new(), String::new());
        let mut n_resealed = 0;
        loop {
            // Keyset pages over the primary key: one pass, no index on the key id needed.
            let mut select = Sql::new(
                "SELECT district_id, id, id_key, id_sealed FROM residents \
                 WHERE (district_id, id) > (",
            );
            select
                .bind(after.0.clone())
                .push(", ")
                .bind(after.1.clone())
                .push(") ORDER BY district_id, id LIMIT ")
                .bind(i64::from(batch_size.max(1)));
            let rows = self.fetch_all(&select).await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = (get(last, "district_id")?, get(last, "id")?);
            let mut tx = self.writer.begin().await.map_err(map_err)?;
            for row in &rows {
                let key_id: Option<String> = get(row, "id_key")?;
                let sealed: Option<String> = get(row, "id_sealed")?;
                let Some((key_id, sealed)) = key_id.zip(sealed) else {
                    continue;
                };
                if key_id == current {
                    continue;
                }
                let district: String = get(row, "district_id")?;
                let id: String = get(row, "id")?;
                let context = sealing_context(&district, &id);
                let number = self.id_keys.open(&key_id, &sealed, &context)?;
                let resealed = self.id_keys.seal(&context, &number)?;
                // Only if nobody re-sealed it meanwhile.
                let mut update = Sql::new("UPDATE residents SET id_key = ");
                update
                    .bind(resealed.key_id)
                    .push(", id_sealed = ")
                    .bind(resealed.sealed)
                    .push(" WHERE district_id = ")
                    .bind(district)
                    .push(" AND id = ")
                    .bind(id)
                    .push(" AND id_key = ")
                    .bind(key_id);
                execute_in(&mut tx, &update).await?;
                n_resealed += 1;
            }
            tx.commit().await.map_err(map_err)?;
        }
        self.set_meta(KEYS_IN_USE, &current).await?;
        Ok(n_resealed)
    }

    async fn id_keys_in_use(&self) -> StoreResult<Vec<String>> {
        Ok(self
            .meta(KEYS_IN_USE)
            .await?
            .map(|list| {
                list.split(',')
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }
}
