//! PostgreSQL backend, for real deployments. Checks the server version, applies the
//! migrations and hands back the shared [`SqlStore`]. Backups use the server's own tools
//! (`pg_dump -Fc`, `pg_restore`); see README.md.
#![deny(missing_docs)]

use mulin_storage::StoreError;
use mulin_storage_sql::{map_err, pool_options, Dialect, IdKeys, SqlStore};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The oldest server we run on (for `COLLATE "C"`, `ON CONFLICT` and `VACUUM` behaviour).
pub const MIN_SERVER_VERSION: i64 = 130_000;

/// Connections in the pool.
const N_CONNECTIONS: u32 = 16;

/// Whether `url` names a PostgreSQL database.
pub fn handles(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects, checks the server version, migrates and opens the store with the keyring that
/// seals ID numbers.
pub async fn connect(url: &str, id_keys: IdKeys) -> Result<SqlStore, StoreError> {
    let pool = pool_options(N_CONNECTIONS)
        .connect(url)
        .await
        .map_err(map_err)?;
    let (version,): (String,) = sqlx::query_as("SHOW server_version_num")
        .fetch_one(&pool)
        .await
        .map_err(map_err)?;
    let version: i64 = version.trim().parse().unwrap_or(0);
    if version < MIN_SERVER_VERSION {
        return Err(StoreError::Unavailable(format!(
            "PostgreSQL {version} is too old; Mulin needs {MIN_SERVER_VERSION} or newer"
        )));
    }
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|err| StoreError::Other(Box::new(err)))?;
    SqlStore::open(Dialect::Postgres, pool.clone(), pool, id_keys).await
}

/// Creates database `name` on the server `admin_url` points at (for tests and set-up).
pub async fn create_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    run_admin(
        admin_url,
        &format!("CREATE DATABASE \"{}\"", quote_ident(name)),
    )
    .await
}

/// Drops database `name`, ending its sessions first.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    run_admin(
        admin_url,
        &format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            quote_ident(name)
        ),
    )
    .await
}

/// `admin_url` with its database name replaced by `name`.
pub fn url_with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let authority_end = base.find("://").map(|idx| idx + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

fn quote_ident(name: &str) -> String {
    name.replace('"', "\"\"")
}

async fn run_admin(admin_url: &str, statement: &str) -> Result<(), StoreError> {
    let pool = pool_options(1).connect(admin_url).await.map_err(map_err)?;
    let res = sqlx::query(statement).execute(&pool).await.map_err(map_err);
    pool.close().await;
    res.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            url_with_database("postgres://u@127.0.0.1:5432/postgres?sslmode=disable", "t1"),
            "postgres://u@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            url_with_database("postgres://u@localhost", "t2"),
            "postgres://u@localhost/t2"
        );
    }
}
