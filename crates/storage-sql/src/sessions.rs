//! `impl SessionStore for SqlStore`: session, account and grants in one statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::policy::{Grant, Role};
use mulin_storage::{SessionRecord, SessionStore, StoreError, StoreResult, UserRecord};

use crate::rows::{
    corrupt, millis, node_from_row, session_from_prefixed, user_from_prefixed, NODE_COLUMNS,
};
use crate::sql::{get, Sql};
use crate::store::{prefixed, SESSION_COLUMNS, USER_COLUMNS};
use crate::SqlStore;

/// `a.x AS p_x, …`: a table's columns renamed apart from the nodes' own, which the grants'
/// node keeps (so `node_from_row` reads it as it reads a node).
fn renamed(alias: &str, prefix: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{alias}.{column} AS {prefix}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn session_caller(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, UserRecord, Vec<Grant>)> {
        // One row per grant (one with no grant columns for an account without any), in the
        // order `grants` gives them.
        let mut sql = Sql::new(&format!(
            "SELECT {}, {}, g.role AS g_role, {} FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             LEFT JOIN grants g ON g.district_id = u.district_id AND g.user_id = u.id \
             LEFT JOIN nodes n ON n.district_id = g.district_id AND n.id = g.node_id \
             WHERE s.token_hash = ",
            renamed("s", "s_", SESSION_COLUMNS),
            renamed("u", "u_", USER_COLUMNS),
            prefixed("n.", NODE_COLUMNS),
        ));
        sql.bind(token_hash)
            .push(" AND s.expires_at > ")
            .bind(millis(now))
            .push(" ORDER BY n.kind, g.role");
        let rows = self.fetch_all(&sql).await?;
        let first = rows.first().ok_or(StoreError::NotFound)?;
        let session = session_from_prefixed(first, "s_")?;
        let user = user_from_prefixed(first, "u_")?;
        let mut grants = Vec::with_capacity(rows.len());
        for row in &rows {
            let role: Option<String> = get(row, "g_role")?;
            let node: Option<String> = get(row, "id")?;
            if let (Some(role), Some(_)) = (role, node) {
                grants.push(Grant {
                    role: Role::parse(&role).map_err(corrupt)?,
                    at: node_from_row(row)?.path,
                });
            }
        }
        Ok((session, user, grants))
    }
}
