//! Test support shared by the storage suite and the web's black-box tests.
//!
//! [`TestDb`] gives each test a fresh, uniquely named database on the backend named by
//! `TEST_DATABASE_URL`: unset means a SQLite file in a temporary folder; a `postgres://`
//! URL means a new database on that server, dropped when the `TestDb` is (unless
//! `MULIN_KEEP_TEST_DB` is set, for debugging).
#![deny(missing_docs)]
// Test support: a failure here should stop the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use mulin_demo::{Demo, DemoParams};
use mulin_domain::ids::DistrictId;
use mulin_domain::tree::NodePath;
use mulin_storage::{AuditEntry, AuditQuery, Page, Storage, StoreError, StoreResult};
use mulin_storage_sql::{IdKey, IdKeys};

/// A district's whole audit log, newest first, a page at a time: the audit viewer's read
/// with the district itself as the scope, which covers every entry.
pub async fn audit_page(
    store: &dyn Storage,
    district: DistrictId,
    page: u32,
    per_page: u32,
) -> StoreResult<Page<AuditEntry>> {
    let query = AuditQuery {
        page,
        per_page,
        ..AuditQuery::default()
    };
    store
        .search_audit(district, &[NodePath::root(district.into())], &query)
        .await
}

/// The keyring every test database is sealed with: the sealing keys `sealing` (the last
/// one seals) and a fixed lookup key.
pub fn test_id_keys(sealing: &[u8]) -> IdKeys {
    let keys: Vec<IdKey> = sealing
        .iter()
        .map(|byte| IdKey::from_hex(&format!("{byte:02x}").repeat(32)).unwrap())
        .collect();
    IdKeys::new(&keys, &IdKey::from_hex(&"ee".repeat(32)).unwrap()).unwrap()
}

/// A fresh database for one test.
pub struct TestDb {
    store: Arc<dyn Storage>,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates and migrates a new database on the configured backend.
    pub async fn new() -> Result<TestDb, StoreError> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if mulin_storage_postgres::handles(&admin_url) => {
                let name = format!("mulin_test_{}", uuid::Uuid::now_v7().simple());
                mulin_storage_postgres::create_database(&admin_url, &name).await?;
                let url = mulin_storage_postgres::url_with_database(&admin_url, &name);
                let store = mulin_storage_postgres::connect(&url, test_id_keys(&[1])).await?;
                Ok(TestDb {
                    store: Arc::new(store),
                    url,
                    cleanup: Cleanup::Postgres { admin_url, name },
                })
            }
            _ => {
                let dir = tempfile::tempdir().map_err(|err| StoreError::Other(Box::new(err)))?;
                let url = mulin_storage_sqlite::url_for_path(&dir.path().join("mulin.db"));
                let store = mulin_storage_sqlite::connect(&url, test_id_keys(&[1])).await?;
                Ok(TestDb {
                    store: Arc::new(store),
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                })
            }
        }
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Storage> {
        self.store.clone()
    }

    /// The database URL (for a server process under test).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another store on the same database, opened with `id_keys` (key rotation, raw reads).
    pub async fn reopen(&self, id_keys: IdKeys) -> Result<Arc<dyn Storage>, StoreError> {
        Ok(match &self.cleanup {
            Cleanup::Postgres { .. } => {
                Arc::new(mulin_storage_postgres::connect(&self.url, id_keys).await?)
            }
            Cleanup::Sqlite(_) => {
                Arc::new(mulin_storage_sqlite::connect(&self.url, id_keys).await?)
            }
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        if std::env::var_os("MULIN_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {name}");
            return;
        }
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread
        // with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(mulin_storage_postgres::drop_database(&admin_url, &name))
                .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database");
        }
    }
}

/// The day every test's ages are computed on.
pub fn test_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// The instant tests start at.
pub fn test_now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_795_435_200_000).unwrap()
}

/// Generates the demo district with `households` households and every account's password
/// hash set to `password_hash`.
pub fn small_demo(households: usize, password_hash: &str) -> Demo {
    let params = DemoParams {
        households,
        seed: 2026,
        today: test_today(),
        now: test_now(),
        password_hash: password_hash.to_owned(),
    };
    mulin_demo::generate(&params).expect("test demo parameters are valid")
}
