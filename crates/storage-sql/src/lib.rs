//! The one SQL implementation of [`mulin_storage::Storage`], shared by SQLite and PostgreSQL.
//!
//! Both backends run the same statements through sqlx's `Any` driver. That works because
//! the schema only uses types both share the same way: ids are UUID text, instants are
//! UTC milliseconds in a 64-bit integer, dates are ISO text, flags are integers, and JSON is
//! text. Placeholders are written `$1`, `$2` …, which both drivers accept. Where the two
//! dialects really differ (connection set-up, migrations, backups) the backend crates do
//! the work; the few differences in statements are named in [`Dialect`].
//!
//! SQLite allows one writer at a time, so the store keeps a writer pool of one connection
//! beside the reader pool; on PostgreSQL both are the same pool.
#![deny(missing_docs)]

mod audit;
mod care;
mod floating;
mod floating_import;
mod geo;
mod id_crypt;
mod id_keys;
mod intake;
mod kpi;
mod ledger;
mod map;
mod open311;
mod outbox;
mod redivision;
mod reps;
mod request_batch;
mod requests;
mod rows;
mod schedule;
mod sessions;
mod sql;
mod store;
mod visits;

use std::sync::{Arc, Once};

use mulin_storage::StoreError;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

pub use id_crypt::{IdKey, IdKeyError, IdKeys};

/// What differs between the databases the store runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    /// Embedded SQLite (one writer connection).
    Sqlite,
    /// PostgreSQL 13 or newer.
    Postgres,
}

impl Dialect {
    /// Bind parameters per multi-row insert. Measured (`mulin demo --households 3000`,
    /// 2026-11-23): SQLite loads fastest near 500 (its per-statement cost grows faster than
    /// linearly with the parameter count: 2,000 took twice as long), PostgreSQL near 8,000
    /// (fewer round trips; 2,000 took twice as long). Both stay far under the drivers' limits
    /// (32,766 and 65,535).
    pub const fn max_insert_args(self) -> usize {
        match self {
            Dialect::Sqlite => 500,
            Dialect::Postgres => 8_000,
        }
    }

    /// The dialect of a connection.
    pub(crate) fn of(connection: &sqlx::AnyConnection) -> Dialect {
        if connection.backend_name() == "SQLite" {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }

    /// The columns a resident search pages through its covering `(scope, name, id,
    /// search_text)` index. PostgreSQL tests a filter inside an index only in an
    /// index-only scan, so it pages ids and fetches the page's rows after (a million
    /// residents, district-wide: 2,056 ms fetching every scanned row, 222 ms ids first).
    /// SQLite filters inside a covering index either way and was three to five times
    /// slower with the extra join (28,000 residents: 8.6 ms → 26 ms; a million: 260 ms →
    /// 1,447 ms), so it reads whole rows directly.
    pub const fn search_page_columns(self) -> &'static str {
        match self {
            Dialect::Sqlite => rows::RESIDENT_COLUMNS,
            Dialect::Postgres => "id, name",
        }
    }

    /// What to run after a bulk load. The planner's statistics otherwise describe the old,
    /// smaller tables, and on PostgreSQL index-only scans stay heap-bound until VACUUM sets
    /// the visibility map: measured on a million residents, a district-wide search took
    /// 2,056 ms before `VACUUM (ANALYZE)` and 275 ms after (the vacuum itself took 0.9 s).
    /// SQLite's VACUUM rewrites the file, so there it moves the load out of the write-ahead
    /// log (gigabytes after a million residents, which every read would otherwise search)
    /// and gathers statistics.
    pub const fn after_bulk_load(self) -> &'static [&'static str] {
        match self {
            Dialect::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)", "ANALYZE"],
            Dialect::Postgres => &["VACUUM (ANALYZE)"],
        }
    }
}

/// The SQL store. Cheap to clone: it holds two pool handles.
#[derive(Clone, Debug)]
pub struct SqlStore {
    dialect: Dialect,
    reader: AnyPool,
    writer: AnyPool,
    id_keys: Arc<IdKeys>,
}

impl SqlStore {
    /// Wraps pools a backend crate has connected and migrated, checks the keyring against
    /// the database (see [`SqlStore::open_id_keys`]) and rebuilds a KPI rollup a migration
    /// marked as behind this version (see [`SqlStore::open_request_kpis`]).
    pub async fn open(
        dialect: Dialect,
        reader: AnyPool,
        writer: AnyPool,
        id_keys: IdKeys,
    ) -> Result<SqlStore, StoreError> {
        let store = SqlStore {
            dialect,
            reader,
            writer,
            id_keys: Arc::new(id_keys),
        };
        store.open_id_keys().await?;
        store.open_request_kpis().await?;
        Ok(store)
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The pool that writes (for backend-specific maintenance such as backups).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Closes both pools, waiting for connections to return.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Makes the compiled-in sqlx drivers available to `Any` (once per process).
pub fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// Pool options with the given size; backends add their per-connection set-up.
pub fn pool_options(max_connections: u32) -> AnyPoolOptions {
    install_drivers();
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(std::time::Duration::from_secs(30))
}

/// Maps a driver error to what a caller can act on.
pub fn map_err(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db_err) if db_err.is_unique_violation() => {
            StoreError::Conflict(db_err.message().to_owned())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(err.to_string())
        }
        other => StoreError::Other(Box::new(other)),
    }
}
