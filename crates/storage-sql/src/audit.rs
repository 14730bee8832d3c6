//! `impl AuditStore for SqlStore`: the audit log filtered, newest first.
//!
//! Entries name an account, not a place, so a street's view of the log is the accounts
//! working there: those whose every grant lies in the street. That is decided with one
//! grouped sub-select over `grants` and the granted nodes' path columns.

use async_trait::async_trait;
use mulin_domain::ids::DistrictId;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    AuditEntry, AuditQuery, AuditStore, Page, StoreResult, PERSONAL_DATA_READ_SUFFIX,
};
use tracing::instrument;

use crate::rows::{audit_from_row, millis, node_level_column};
use crate::sql::Sql;
use crate::store::push_page;
use crate::SqlStore;

#[async_trait]
impl AuditStore for SqlStore {
    #[instrument(skip_all, fields(n_scopes = scopes.len(), page = query.page))]
    async fn search_audit(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        query: &AuditQuery,
    ) -> StoreResult<Page<AuditEntry>> {
        let per_page = query.per_page.clamp(1, 500);
        let page = query.page.max(1);
        if scopes.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                has_more: false,
            });
        }
        let mut sql = Sql::new(
            "SELECT district_id, id, at, user_id, username, action, target_kind, target_id, ip, \
             detail FROM audit_log WHERE district_id = ",
        );
        sql.bind(district.to_string());
        if !scopes
            .iter()
            .any(|scope| scope.kind() == NodeKind::District)
        {
            sql.push(
                " AND user_id IN (SELECT g.user_id FROM grants g JOIN nodes n \
                 ON n.district_id = g.district_id AND n.id = g.node_id WHERE g.district_id = ",
            )
            .bind(district.to_string())
            .push(" GROUP BY g.user_id HAVING MIN(CASE WHEN ");
            for (idx, scope) in scopes.iter().enumerate() {
                if idx > 0 {
                    sql.push(" OR ");
                }
                sql.push("n.")
                    .push(node_level_column(scope.kind()))
                    .push(" = ")
                    .bind(scope.id().to_string());
            }
            sql.push(" THEN 1 ELSE 0 END) = 1)");
        }
        let exact = [
            ("username", &query.actor),
            ("action", &query.action),
            ("target_id", &query.target),
        ];
        for (column, value) in exact {
            if let Some(value) = value {
                sql.push(" AND ")
                    .push(column)
                    .push(" = ")
                    .bind(value.clone());
            }
        }
        if let Some(from) = query.from {
            sql.push(" AND at >= ").bind(millis(from));
        }
        if let Some(until) = query.until {
            sql.push(" AND at < ").bind(millis(until));
        }
        if query.personal_data_reads {
            // Action names are lower-case ASCII written by us, so LIKE's case rules (which
            // differ between the databases) do not matter here.
            sql.push(" AND action LIKE ")
                .bind(format!("%{PERSONAL_DATA_READ_SUFFIX}"));
        }
        sql.push(" ORDER BY at DESC, id DESC");
        push_page(&mut sql, page, per_page);
        self.fetch_page(&sql, page, per_page, audit_from_row).await
    }
}
