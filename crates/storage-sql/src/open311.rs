//! `impl Open311Store for SqlStore`: Open311 clients' keys and the public request query.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::ids::{DistrictId, RequestId};
use mulin_domain::request::RequestStatus;
use mulin_storage::{Open311KeyRecord, Open311Query, Open311Store, RequestRecord, StoreResult};
use sqlx::any::AnyRow;

use crate::requests::{opt_instant, request_from_row, REQUEST_COLUMNS};
use crate::rows::{instant, millis, uuid_text};
use crate::sql::{get, Arg, Sql};
use crate::store::id_text;
use crate::SqlStore;

const KEY_COLUMNS: &str = "district_id, id, name, key_hash, created_at, revoked_at";

/// The most ids one `IN (…)` list binds (SQLite allows 32,766 parameters).
const MAX_IDS: usize = 1_000;

fn key_from_row(row: &AnyRow) -> StoreResult<Open311KeyRecord> {
    Ok(Open311KeyRecord {
        district: DistrictId::from_uuid(uuid_text(row, "district_id")?),
        id: uuid_text(row, "id")?,
        name: get(row, "name")?,
        key_hash: get(row, "key_hash")?,
        created_at: instant(row, "created_at")?,
        revoked_at: opt_instant(row, "revoked_at")?,
    })
}

/// `(… , …)` binding each item.
fn push_list<T>(sql: &mut Sql, items: &[T], arg: impl Fn(&T) -> Arg) {
    sql.push("(");
    for (idx, item) in items.iter().enumerate() {
        if idx > 0 {
            sql.push(", ");
        }
        sql.bind(arg(item));
    }
    sql.push(")");
}

#[async_trait]
impl Open311Store for SqlStore {
    async fn insert_open311_key(&self, key: &Open311KeyRecord) -> StoreResult<()> {
        let mut sql = Sql::new(&format!("INSERT INTO open311_keys ({KEY_COLUMNS}) VALUES "));
        sql.bind_row(vec![
            id_text(key.district),
            id_text(key.id),
            Arg::from(key.name.clone()),
            Arg::from(key.key_hash.clone()),
            Arg::from(millis(key.created_at)),
            Arg::from(key.revoked_at.map(millis)),
        ]);
        self.execute(&sql).await?;
        Ok(())
    }

    async fn open311_key_by_hash(&self, key_hash: &str) -> StoreResult<Open311KeyRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {KEY_COLUMNS} FROM open311_keys WHERE key_hash = "
        ));
        sql.bind(key_hash.to_owned());
        key_from_row(&self.fetch_one(&sql).await?)
    }

    async fn open311_keys(&self, district: DistrictId) -> StoreResult<Vec<Open311KeyRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {KEY_COLUMNS} FROM open311_keys WHERE district_id = "
        ));
        sql.bind(district.to_string()).push(" ORDER BY id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn revoke_open311_key(
        &self,
        district: DistrictId,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut sql = Sql::new("SELECT id FROM open311_keys WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND name = ")
            .bind(name.to_owned());
        self.fetch_one(&sql).await?;
        let mut sql = Sql::new("UPDATE open311_keys SET revoked_at = ");
        sql.bind(millis(at))
            .push(" WHERE district_id = ")
            .bind(district.to_string())
            .push(" AND name = ")
            .bind(name.to_owned())
            .push(" AND revoked_at IS NULL");
        self.execute(&sql).await?;
        Ok(())
    }

    async fn open311_requests(
        &self,
        district: DistrictId,
        query: &Open311Query,
    ) -> StoreResult<Vec<RequestRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string());
        if !query.ids.is_empty() {
            let ids = &query.ids[..query.ids.len().min(MAX_IDS)];
            sql.push(" AND id IN ");
            push_list(&mut sql, ids, |id| id_text(*id));
        } else {
            if !query.service_codes.is_empty() {
                let codes = &query.service_codes[..query.service_codes.len().min(MAX_IDS)];
                sql.push(" AND service_code IN ");
                push_list(&mut sql, codes, |code| Arg::from(code.clone()));
            }
            if let Some(from) = query.from {
                sql.push(" AND received_at >= ").bind(millis(from));
            }
            if let Some(to) = query.to {
                sql.push(" AND received_at <= ").bind(millis(to));
            }
            if let Some(open) = query.open {
                let statuses: Vec<&str> = RequestStatus::ALL
                    .iter()
                    .filter(|s| s.is_open() == open)
                    .map(|s| s.as_str())
                    .collect();
                sql.push(" AND status IN ");
                push_list(&mut sql, &statuses, |s| Arg::from(*s));
            }
        }
        sql.push(" ORDER BY received_at DESC, id DESC LIMIT ")
            .bind(i64::from(query.limit.clamp(1, 10_000)));
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

    async fn open311_status_notes(
        &self,
        district: DistrictId,
        ids: &[RequestId],
    ) -> StoreResult<Vec<(RequestId, String)>> {
        let mut notes: Vec<(RequestId, i64, String)> = Vec::new();
        for chunk in ids.chunks(MAX_IDS) {
            let mut sql =
                Sql::new("SELECT request_id, seq, note FROM request_events WHERE district_id = ");
            sql.bind(district.to_string()).push(" AND request_id IN ");
            push_list(&mut sql, chunk, |id| id_text(*id));
            sql.push(
                " AND kind IN ('solved', 'verified', 'verification_failed', \
                 'whistle_reported', 'closed') AND note <> ''",
            );
            for row in self.fetch_all(&sql).await? {
                notes.push((
                    RequestId::from_uuid(uuid_text(&row, "request_id")?),
                    get(&row, "seq")?,
                    get(&row, "note")?,
                ));
            }
        }
        // The latest note of each request.
        notes.sort_by(|a, b| (a.0, b.1).cmp(&(b.0, a.1)));
        notes.dedup_by(|later, first| later.0 == first.0);
        Ok(notes.into_iter().map(|(id, _, note)| (id, note)).collect())
    }
}
