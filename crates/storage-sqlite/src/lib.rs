//! SQLite backend: the embedded default. Opens (or creates) the database file, sets each
//! connection up for concurrent readers and one writer (WAL, a busy timeout, foreign keys),
//! applies the migrations and hands back the shared [`SqlStore`]. Also takes online
//! backups (`VACUUM INTO`) and restores them.
#![deny(missing_docs)]

use std::path::Path;

use mulin_storage::StoreError;
use mulin_storage_sql::{map_err, pool_options, Dialect, IdKeys, SqlStore};
use sqlx::Executor;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Readers served at once; SQLite in WAL mode lets them run beside the single writer.
const N_READERS: u32 = 4;

/// Whether `url` names a SQLite database.
pub fn handles(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The URL of a database file at `path`, created if missing.
pub fn url_for_path(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Connects to a `sqlite:` URL, creating the file if the URL allows, migrates it and opens
/// the store with the keyring that seals ID numbers.
pub async fn connect(url: &str, id_keys: IdKeys) -> Result<SqlStore, StoreError> {
    // sqlx pings a pooled connection before handing it out, to find one a server has hung
    // up on. An embedded connection cannot be hung up on, and on SQLite the ping is a
    // round trip to the connection's worker thread: for the writer, time no write can use.
    let reader = pool_options(N_READERS)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA cache_size = -32768").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(map_err)?;
    // One writer: SQLite serialises writes anyway, and a single connection means a write
    // never waits on a lock held by another of our own connections.
    let writer = pool_options(1)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                // Every commit is on disk before it returns (the WAL is synced), so a request
                // a resident was told we have survives a power cut; NORMAL would sync only at
                // checkpoints and could lose the last commits. About 0.2 ms a commit here.
                conn.execute("PRAGMA synchronous = FULL").await?;
                // 64 MiB of page cache: bulk loads touch a dozen indexes per resident.
                conn.execute("PRAGMA cache_size = -65536").await?;
                // A multi-row insert keeps a statement journal to undo itself if a later row
                // fails; on disk it was millions of small writes per 100,000 residents.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(map_err)?;
    MIGRATOR
        .run(&writer)
        .await
        .map_err(|err| StoreError::Other(Box::new(err)))?;
    SqlStore::open(Dialect::Sqlite, reader, writer, id_keys).await
}

/// Writes a consistent copy of the live database to `target` while it keeps serving.
pub async fn backup(store: &SqlStore, target: &Path) -> Result<(), StoreError> {
    if target.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists; choose a new file",
            target.display()
        )));
    }
    let path = target.display().to_string().replace('\'', "''");
    store
        .writer()
        .execute(format!("VACUUM INTO '{path}'").as_str())
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Checks that `source` is a healthy Mulin database, then copies it over `target`.
/// The server must be stopped: the live file and its WAL are replaced.
pub async fn restore(source: &Path, target: &Path) -> Result<(), StoreError> {
    let url = format!("sqlite://{}?mode=ro", source.display());
    let pool = pool_options(1).connect(&url).await.map_err(map_err)?;
    let row: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .map_err(map_err)?;
    let has_schema: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'nodes'",
    )
    .fetch_one(&pool)
    .await
    .map_err(map_err)?;
    pool.close().await;
    if row.0 != "ok" || has_schema.0 != 1 {
        return Err(StoreError::Corrupt(format!(
            "{} is not a healthy Mulin database ({})",
            source.display(),
            row.0
        )));
    }
    for suffix in ["-wal", "-shm"] {
        let side = format!("{}{suffix}", target.display());
        match std::fs::remove_file(&side) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::Other(Box::new(err)))
            }
            _ => {}
        }
    }
    std::fs::copy(source, target).map_err(|err| StoreError::Other(Box::new(err)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use mulin_domain::ids::NodeId;
    use mulin_domain::tree::NodePath;
    use mulin_storage::{Dataset, NodeRecord, Storage};
    use mulin_storage_sql::IdKey;

    use super::*;

    fn id_keys() -> IdKeys {
        IdKeys::new(
            &[IdKey::from_hex(&"1".repeat(64)).unwrap()],
            &IdKey::from_hex(&"2".repeat(64)).unwrap(),
        )
        .unwrap()
    }

    fn district(name: &str) -> Dataset {
        Dataset {
            nodes: vec![NodeRecord {
                path: NodePath::root(NodeId::new_v7()),
                name: name.into(),
                code: None,
                sort_key: 0,
                position: None,
                geometry: None,
                address: None,
                extra: Vec::new(),
            }],
            ..Dataset::default()
        }
    }

    #[tokio::test]
    async fn a_live_backup_restores_to_the_state_it_was_taken_in() {
        let dir = tempfile::tempdir().unwrap();
        let live_path = dir.path().join("live.db");
        let store = connect(&url_for_path(&live_path), id_keys()).await.unwrap();
        store.load(&district("备份前")).await.unwrap();
        let backup_path = dir.path().join("backup.db");
        backup(&store, &backup_path).await.unwrap();
        assert!(matches!(
            backup(&store, &backup_path).await,
            Err(StoreError::Conflict(_))
        ));
        // Changes after the backup are not in it.
        store.load(&district("备份后")).await.unwrap();
        store.close().await;

        restore(&backup_path, &live_path).await.unwrap();
        let restored = connect(&url_for_path(&live_path), id_keys()).await.unwrap();
        let names: Vec<String> = restored
            .districts()
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["备份前"]);

        // A file that is not a Mulin database is refused and the live one kept.
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not sqlite").unwrap();
        assert!(restore(&junk, &live_path).await.is_err());
        assert_eq!(restored.districts().await.unwrap().len(), 1);
    }
}
