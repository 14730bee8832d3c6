//! `impl Storage for SqlStore`: every statement Mulin runs, written once for both dialects.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, NodeId, PartyOrgId, PostId, ResidentId, UnitId, UserId};
use mulin_domain::org::{
    Department, Employment, FieldDef, FieldEntity, FieldType, Origin, PartyOrgKind, PostKind,
    UnitKind,
};
use mulin_domain::person::{born_on_or_before, PersonName, Phone, ELDERLY_AGE};
use mulin_domain::policy::{Grant, Role};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    AuditEntry, Dataset, NodeCounts, NodeRecord, Page, PartyOrgRecord, Place, PostRecord,
    ResidentQuery, ResidentRecord, SessionRecord, Storage, StoreError, StoreResult, UnitRecord,
    UserRecord,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use tracing::instrument;

use crate::id_crypt::IdKeys;
use crate::rows::{
    corrupt, extra_from_text, extra_to_text, millis, node_args, node_from_row, node_level_column,
    resident_args, resident_from_row, resident_level_column, resident_rows, session_from_row,
    user_from_row, uuid_text, NODE_COLUMNS, RESIDENT_COLUMNS,
};
use crate::sql::{get, Arg, Sql};
use crate::{map_err, Dialect, SqlStore};

/// Loads at least this big refresh the planner's statistics.
pub(crate) const ANALYZE_AFTER_ROWS: usize = 10_000;

impl SqlStore {
    pub(crate) async fn fetch_all(&self, sql: &Sql) -> StoreResult<Vec<AnyRow>> {
        sql.query().fetch_all(&self.reader).await.map_err(map_err)
    }

    pub(crate) async fn fetch_one(&self, sql: &Sql) -> StoreResult<AnyRow> {
        sql.query().fetch_one(&self.reader).await.map_err(map_err)
    }

    /// Runs a statement that ends with [`push_page`] and returns that page.
    pub(crate) async fn fetch_page<T>(
        &self,
        sql: &Sql,
        page: u32,
        per_page: u32,
        convert: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let mut items: Vec<T> = self
            .fetch_all(sql)
            .await?
            .iter()
            .map(convert)
            .collect::<StoreResult<_>>()?;
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    pub(crate) async fn execute(&self, sql: &Sql) -> StoreResult<u64> {
        sql.query()
            .execute(&self.writer)
            .await
            .map(|res| res.rows_affected())
            .map_err(map_err)
    }
}

pub(crate) async fn execute_in(tx: &mut Transaction<'_, Any>, sql: &Sql) -> StoreResult<()> {
    sql.query().execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}

/// Inserts rows in statements of as many rows as the argument limit allows.
pub(crate) async fn insert_rows(
    tx: &mut Transaction<'_, Any>,
    max_args: usize,
    head: &str,
    rows: impl Iterator<Item = Vec<Arg>>,
) -> StoreResult<()> {
    for sql in insert_statements(Dialect::of(tx), max_args, head, rows) {
        execute_in(tx, &sql).await?;
    }
    Ok(())
}

/// The statements [`insert_rows`] runs.
pub(crate) fn insert_statements(
    dialect: Dialect,
    max_args: usize,
    head: &str,
    rows: impl Iterator<Item = Vec<Arg>>,
) -> Vec<Sql> {
    let mut statements = Vec::new();
    let mut sql = Sql::in_order(head, dialect);
    let mut n_rows = 0;
    for row in rows {
        if n_rows > 0 && sql.n_args() + row.len() > max_args {
            statements.push(std::mem::replace(&mut sql, Sql::in_order(head, dialect)));
            n_rows = 0;
        }
        if n_rows > 0 {
            sql.push(", ");
        }
        sql.bind_row(row);
        n_rows += 1;
    }
    if n_rows > 0 {
        statements.push(sql);
    }
    statements
}

pub(crate) fn id_text(id: impl ToString) -> Arg {
    Arg::from(id.to_string())
}

/// `AND <column for scope's level> = $n` for a table whose level columns are named by
/// `column_of`.
pub(crate) fn push_scope(sql: &mut Sql, prefix: &str, column: &str, scope: &NodePath) {
    sql.push(" AND ")
        .push(prefix)
        .push(column)
        .push(" = ")
        .bind(scope.id().to_string());
}

/// `AND …` restricting the joined node `n` to `place`.
fn push_place(sql: &mut Sql, place: Place<'_>) {
    match place {
        Place::Within(scope) => push_scope(sql, "n.", node_level_column(scope.kind()), scope),
        Place::At(node) => {
            sql.push(" AND n.id = ").bind(node.id().to_string());
        }
    }
}

/// The statement that appends `entry` to the audit log (alone, or inside a change's
/// transaction so the change and its record land together).
pub(crate) fn audit_insert(entry: &AuditEntry) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO audit_log (district_id, id, at, user_id, username, action, target_kind, \
         target_id, ip, detail) VALUES ",
    );
    sql.bind_row(vec![
        id_text(entry.district),
        id_text(entry.id),
        Arg::from(millis(entry.at)),
        Arg::from(entry.user_id.map(|id| id.to_string())),
        Arg::from(entry.username.clone()),
        Arg::from(entry.action.clone()),
        Arg::from(entry.target_kind.clone()),
        Arg::from(entry.target_id.clone()),
        Arg::from(entry.ip.clone()),
        Arg::from(entry.detail.clone()),
    ]);
    sql
}

/// `LIMIT`/`OFFSET` for 1-based `page`, one row more than the page so the caller learns
/// whether another page follows without counting.
pub(crate) fn push_page(sql: &mut Sql, page: u32, per_page: u32) {
    sql.push(" LIMIT ")
        .bind(i64::from(per_page) + 1)
        .push(" OFFSET ")
        .bind(i64::from(page - 1) * i64::from(per_page));
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// True for queries that are the last digits of an ID number.
/// The hash column and value that find `q` when it is an ID number or its last 4 or 6
/// characters (digits, the last possibly X); other lengths cannot be looked up by hash.
fn id_lookup(id_keys: &IdKeys, q: &str) -> Option<(&'static str, String)> {
    let is_id_text = q
        .bytes()
        .enumerate()
        .all(|(idx, b)| b.is_ascii_digit() || (idx + 1 == q.len() && matches!(b, b'x' | b'X')));
    match q.len() {
        _ if !is_id_text => None,
        4 => Some(("id_tail4", id_keys.tail_hash(q, 4))),
        6 => Some(("id_tail6", id_keys.tail_hash(q, 6))),
        18 => Some(("id_hash", id_keys.full_hash(q))),
        _ => None,
    }
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn counts_select(elderly_cutoff: &str, sql: &mut Sql) {
    sql.push("COUNT(*) AS n_residents, COUNT(CASE WHEN group_bits <> 0 OR birth_date <= ")
        .bind(elderly_cutoff)
        .push(" THEN 1 END) AS n_special, COUNT(CASE WHEN birth_date <= ")
        .bind(elderly_cutoff)
        .push(" THEN 1 END) AS n_elderly");
}

fn counts_from_row(row: &AnyRow, households: i64) -> StoreResult<NodeCounts> {
    Ok(NodeCounts {
        households,
        residents: get(row, "n_residents")?,
        special_groups: get(row, "n_special")?,
        elderly: get(row, "n_elderly")?,
    })
}

pub(crate) fn parse_optional<T, E: std::fmt::Display>(
    parse: impl Fn(&str) -> Result<T, E>,
    text: Option<String>,
) -> StoreResult<Option<T>> {
    text.map(|text| parse(&text).map_err(corrupt)).transpose()
}

fn node_id(row: &AnyRow, column: &str) -> StoreResult<NodeId> {
    uuid_text(row, column).map(NodeId::from_uuid)
}

#[async_trait]
impl Storage for SqlStore {
    fn backend_name(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    #[instrument(skip_all, fields(n_nodes = dataset.nodes.len(), n_residents = dataset.residents.len()))]
    async fn load(&self, dataset: &Dataset) -> StoreResult<()> {
        let resident_rows = resident_rows(&self.id_keys, &dataset.residents)?;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            &format!("INSERT INTO nodes ({NODE_COLUMNS}) VALUES "),
            dataset.nodes.iter().map(node_args),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            &format!("INSERT INTO residents ({RESIDENT_COLUMNS}) VALUES "),
            resident_rows.into_iter(),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO party_orgs (district_id, id, parent_id, node_id, kind, name) VALUES ",
            dataset.party_orgs.iter().map(|org| {
                vec![
                    id_text(org.district),
                    id_text(org.id),
                    Arg::from(org.parent.map(|id| id.to_string())),
                    id_text(org.node),
                    Arg::from(org.kind.as_str()),
                    Arg::from(org.name.clone()),
                ]
            }),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO units (district_id, id, node_id, kind, name, credit_code, contact, phone, extra) VALUES ",
            dataset.units.iter().map(|unit| {
                vec![
                    id_text(unit.district),
                    id_text(unit.id),
                    id_text(unit.node),
                    Arg::from(unit.kind.as_str()),
                    Arg::from(unit.name.clone()),
                    Arg::from(unit.credit_code.clone()),
                    Arg::from(unit.contact.clone()),
                    Arg::from(unit.phone.as_ref().map(|p| p.expose().to_owned())),
                    Arg::from(extra_to_text(&unit.extra)),
                ]
            }),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO posts (district_id, id, kind, node_id, party_org_id, unit_id, holder_name, \
             resident_id, user_id, phone, employment, origin, department, categories) VALUES ",
            dataset.posts.iter().map(|post| {
                vec![
                    id_text(post.district),
                    id_text(post.id),
                    Arg::from(post.kind.as_str()),
                    id_text(post.node),
                    Arg::from(post.party_org.map(|id| id.to_string())),
                    Arg::from(post.unit.map(|id| id.to_string())),
                    Arg::from(post.holder_name.as_ref()),
                    Arg::from(post.resident.map(|id| id.to_string())),
                    Arg::from(post.user.map(|id| id.to_string())),
                    Arg::from(post.phone.as_ref().map(|p| p.expose().to_owned())),
                    Arg::from(post.employment.map(|e| e.as_str().to_owned())),
                    Arg::from(post.origin.map(|o| o.as_str().to_owned())),
                    Arg::from(post.department.map(|d| d.as_str().to_owned())),
                    Arg::from(serde_json::Value::from(post.categories.clone()).to_string()),
                ]
            }),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO post_households (district_id, post_id, household_id) VALUES ",
            // Collected first: a borrowing flat_map held across an await is not Send.
            dataset
                .posts
                .iter()
                .flat_map(|post| {
                    post.households.iter().map(|household| {
                        vec![id_text(post.district), id_text(post.id), id_text(household)]
                    })
                })
                .collect::<Vec<_>>()
                .into_iter(),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO users (id, district_id, username, display_name, password_hash, is_demo, created_at) VALUES ",
            dataset.users.iter().map(|(user, _)| user_args(user)),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO grants (district_id, user_id, role, node_id) VALUES ",
            dataset
                .users
                .iter()
                .flat_map(|(user, grants)| {
                    grants.iter().map(|(role, node)| {
                        vec![
                            id_text(user.district),
                            id_text(user.id),
                            Arg::from(role.as_str()),
                            id_text(node),
                        ]
                    })
                })
                .collect::<Vec<_>>()
                .into_iter(),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.dialect.max_insert_args(),
            "INSERT INTO field_defs (district_id, entity, field_key, label, field_type, options) VALUES ",
            dataset.field_defs.iter().map(|(district, field)| field_args(*district, field)),
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        if dataset.nodes.len() + dataset.residents.len() >= ANALYZE_AFTER_ROWS {
            for statement in self.dialect.after_bulk_load() {
                self.execute(&Sql::new(statement)).await?;
            }
        }
        Ok(())
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let row = self
            .fetch_one(&Sql::new(
                "SELECT COUNT(*) AS n FROM nodes WHERE kind = 'district'",
            ))
            .await?;
        Ok(get::<i64>(&row, "n")? == 0)
    }

    async fn is_demo(&self) -> StoreResult<bool> {
        let rows = self
            .fetch_all(&Sql::new("SELECT value FROM meta WHERE key = 'demo'"))
            .await?;
        Ok(rows
            .first()
            .map(|row| get::<String>(row, "value"))
            .transpose()?
            .is_some_and(|value| value == "1"))
    }

    async fn mark_demo(&self) -> StoreResult<()> {
        self.execute(&Sql::new(
            "INSERT INTO meta (key, value) VALUES ('demo', '1') \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        ))
        .await?;
        Ok(())
    }

    async fn districts(&self) -> StoreResult<Vec<NodeRecord>> {
        let sql = Sql::new(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE kind = 'district' ORDER BY sort_key, name"
        ));
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(node_from_row)
            .collect()
    }

    #[instrument(skip_all, fields(%id))]
    async fn node(&self, district: DistrictId, id: NodeId) -> StoreResult<NodeRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string());
        node_from_row(&self.fetch_one(&sql).await?)
    }

    async fn node_by_code(&self, code: &str) -> StoreResult<NodeRecord> {
        let mut sql = Sql::new(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE code = "));
        sql.bind(code).push(" ORDER BY kind LIMIT 1");
        node_from_row(&self.fetch_one(&sql).await?)
    }

    #[instrument(skip_all, fields(%parent))]
    async fn children(&self, district: DistrictId, parent: NodeId) -> StoreResult<Vec<NodeRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND parent_id = ")
            .bind(parent.to_string())
            .push(" ORDER BY sort_key, name");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(node_from_row)
            .collect()
    }

    #[instrument(skip_all, fields(scope = %scope.id(), deepest = %deepest))]
    async fn subtree(
        &self,
        district: DistrictId,
        scope: &NodePath,
        deepest: NodeKind,
    ) -> StoreResult<Vec<NodeRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE district_id = "
        ));
        sql.bind(district.to_string());
        push_scope(&mut sql, "", node_level_column(scope.kind()), scope);
        sql.push(" AND kind IN (");
        let kinds = NodeKind::ALL
            .into_iter()
            .filter(|kind| *kind >= scope.kind() && *kind <= deepest);
        for (idx, kind) in kinds.enumerate() {
            if idx > 0 {
                sql.push(", ");
            }
            sql.bind(kind.as_str());
        }
        sql.push(")");
        let mut nodes: Vec<NodeRecord> = self
            .fetch_all(&sql)
            .await?
            .iter()
            .map(node_from_row)
            .collect::<StoreResult<_>>()?;
        nodes.sort_by(|a, b| {
            (a.path.kind(), a.sort_key, &a.name).cmp(&(b.path.kind(), b.sort_key, &b.name))
        });
        Ok(nodes)
    }

    #[instrument(skip_all, fields(scope = %scope.id()))]
    async fn counts(
        &self,
        district: DistrictId,
        scope: &NodePath,
        today: NaiveDate,
    ) -> StoreResult<NodeCounts> {
        let cutoff = date_text(born_on_or_before(ELDERLY_AGE, today));
        let mut households = Sql::new("SELECT COUNT(*) AS n FROM nodes WHERE district_id = ");
        households.bind(district.to_string());
        push_scope(&mut households, "", node_level_column(scope.kind()), scope);
        households.push(" AND kind = 'household'");
        let n_households: i64 = get(&self.fetch_one(&households).await?, "n")?;

        let mut residents = Sql::new("SELECT ");
        counts_select(&cutoff, &mut residents);
        residents
            .push(" FROM residents WHERE district_id = ")
            .bind(district.to_string());
        push_scope(
            &mut residents,
            "",
            resident_level_column(scope.kind()),
            scope,
        );
        counts_from_row(&self.fetch_one(&residents).await?, n_households)
    }

    #[instrument(skip_all, fields(parent = %parent.id()))]
    async fn child_counts(
        &self,
        district: DistrictId,
        parent: &NodePath,
        today: NaiveDate,
    ) -> StoreResult<Vec<(NodeId, NodeCounts)>> {
        let Some(child_kind) = parent.kind().child() else {
            return Ok(Vec::new());
        };
        let cutoff = date_text(born_on_or_before(ELDERLY_AGE, today));
        let node_child = node_level_column(child_kind);
        let mut households = Sql::new(&format!(
            "SELECT {node_child} AS child_id, COUNT(*) AS n FROM nodes WHERE district_id = "
        ));
        households.bind(district.to_string());
        push_scope(
            &mut households,
            "",
            node_level_column(parent.kind()),
            parent,
        );
        households.push(&format!(" AND kind = 'household' GROUP BY {node_child}"));
        let mut n_households = std::collections::HashMap::new();
        for row in self.fetch_all(&households).await? {
            n_households.insert(node_id(&row, "child_id")?, get::<i64>(&row, "n")?);
        }

        let resident_child = resident_level_column(child_kind);
        let mut residents = Sql::new(&format!("SELECT {resident_child} AS child_id, "));
        counts_select(&cutoff, &mut residents);
        residents
            .push(" FROM residents WHERE district_id = ")
            .bind(district.to_string());
        push_scope(
            &mut residents,
            "",
            resident_level_column(parent.kind()),
            parent,
        );
        residents.push(&format!(" GROUP BY {resident_child}"));
        let mut counts = Vec::new();
        for row in self.fetch_all(&residents).await? {
            let child = node_id(&row, "child_id")?;
            let households = n_households.remove(&child).unwrap_or(0);
            counts.push((child, counts_from_row(&row, households)?));
        }
        // Children with households but nobody registered yet still get their count.
        counts.extend(n_households.into_iter().map(|(child, households)| {
            (
                child,
                NodeCounts {
                    households,
                    ..NodeCounts::default()
                },
            )
        }));
        Ok(counts)
    }

    #[instrument(skip_all, fields(%id))]
    async fn resident(&self, district: DistrictId, id: ResidentId) -> StoreResult<ResidentRecord> {
        let mut sql = resident_select();
        sql.push(" WHERE r.district_id = ")
            .bind(district.to_string())
            .push(" AND r.id = ")
            .bind(id.to_string());
        resident_from_row(&self.id_keys, &self.fetch_one(&sql).await?)
    }

    #[instrument(skip_all, fields(%household))]
    async fn household_members(
        &self,
        district: DistrictId,
        household: NodeId,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let mut sql = resident_select();
        sql.push(" WHERE r.district_id = ")
            .bind(district.to_string())
            .push(" AND r.household_id = ")
            .bind(household.to_string())
            .push(" ORDER BY CASE WHEN r.relation = 'head' THEN 0 ELSE 1 END, r.birth_date, r.id");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| resident_from_row(&self.id_keys, row))
            .collect()
    }

    #[instrument(skip_all, fields(n_scopes = scopes.len(), page = query.page))]
    async fn search_residents(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        query: &ResidentQuery,
    ) -> StoreResult<Page<ResidentRecord>> {
        let per_page = query.per_page.clamp(1, 200);
        let page = query.page.max(1);
        if scopes.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                has_more: false,
            });
        }
        let mut inner = Sql::new(&format!(
            "SELECT {} FROM residents WHERE district_id = ",
            self.dialect.search_page_columns()
        ));
        inner.bind(district.to_string()).push(" AND (");
        for (idx, scope) in scopes.iter().enumerate() {
            if idx > 0 {
                inner.push(" OR ");
            }
            inner
                .push(resident_level_column(scope.kind()))
                .push(" = ")
                .bind(scope.id().to_string());
        }
        inner.push(")");
        let q = query.q.trim();
        if let Some((column, hash)) = id_lookup(&self.id_keys, q) {
            inner.push(" AND ").push(column).push(" = ").bind(hash);
        } else if !q.is_empty() {
            inner
                .push(" AND search_text LIKE ")
                .bind(format!("%{}%", like_escape(&q.to_lowercase())))
                .push(" ESCAPE '\\'");
        }
        inner.push(" ORDER BY name, id");
        push_page(&mut inner, page, per_page);
        // Then the page's rows (on PostgreSQL, where the page holds only ids) and their
        // households' addresses.
        let cols = prefixed("r.", RESIDENT_COLUMNS);
        let sql = match self.dialect {
            Dialect::Sqlite => inner.wrap(
                &format!("SELECT {cols}, h.address AS address FROM ("),
                ") r JOIN nodes h ON h.district_id = r.district_id AND h.id = r.household_id \
                 ORDER BY r.name, r.id",
            ),
            Dialect::Postgres => {
                let mut sql = inner.wrap(
                    &format!("SELECT {cols}, h.address AS address FROM ("),
                    ") p JOIN residents r ON r.district_id = ",
                );
                sql.bind(district.to_string()).push(
                    " AND r.id = p.id JOIN nodes h ON h.district_id = r.district_id \
                     AND h.id = r.household_id ORDER BY p.name, p.id",
                );
                sql
            }
        };
        self.fetch_page(&sql, page, per_page, |row| {
            resident_from_row(&self.id_keys, row)
        })
        .await
    }

    #[instrument(skip_all, fields(id = %resident.id))]
    async fn insert_resident(&self, resident: &ResidentRecord) -> StoreResult<()> {
        let mut sql = Sql::new(&format!(
            "INSERT INTO residents ({RESIDENT_COLUMNS}) VALUES "
        ));
        sql.bind_row(resident_args(&self.id_keys, resident)?);
        self.execute(&sql).await?;
        Ok(())
    }

    async fn party_orgs(
        &self,
        district: DistrictId,
        place: Place<'_>,
    ) -> StoreResult<Vec<PartyOrgRecord>> {
        let mut sql = Sql::new(
            "SELECT p.district_id, p.id, p.parent_id, p.node_id, p.kind, p.name FROM party_orgs p \
             JOIN nodes n ON n.district_id = p.district_id AND n.id = p.node_id WHERE p.district_id = ",
        );
        sql.bind(district.to_string());
        push_place(&mut sql, place);
        sql.push(" ORDER BY n.kind, p.name");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let kind: String = get(row, "kind")?;
                let parent: Option<String> = get(row, "parent_id")?;
                Ok(PartyOrgRecord {
                    id: PartyOrgId::from_uuid(uuid_text(row, "id")?),
                    district,
                    parent: parse_optional(|t| t.parse::<PartyOrgId>(), parent)?,
                    node: node_id(row, "node_id")?,
                    kind: PartyOrgKind::parse(&kind).map_err(corrupt)?,
                    name: get(row, "name")?,
                })
            })
            .collect()
    }

    async fn units(&self, district: DistrictId, place: Place<'_>) -> StoreResult<Vec<UnitRecord>> {
        let mut sql = Sql::new(
            "SELECT u.id, u.node_id, u.kind, u.name, u.credit_code, u.contact, u.phone, u.extra \
             FROM units u JOIN nodes n ON n.district_id = u.district_id AND n.id = u.node_id \
             WHERE u.district_id = ",
        );
        sql.bind(district.to_string());
        push_place(&mut sql, place);
        sql.push(" ORDER BY u.kind, u.name");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let kind: String = get(row, "kind")?;
                let extra: String = get(row, "extra")?;
                Ok(UnitRecord {
                    id: UnitId::from_uuid(uuid_text(row, "id")?),
                    district,
                    node: node_id(row, "node_id")?,
                    kind: UnitKind::parse(&kind).map_err(corrupt)?,
                    name: get(row, "name")?,
                    credit_code: get(row, "credit_code")?,
                    contact: get(row, "contact")?,
                    phone: parse_optional(Phone::parse, get(row, "phone")?)?,
                    extra: extra_from_text(&extra)?,
                })
            })
            .collect()
    }

    async fn posts(&self, district: DistrictId, place: Place<'_>) -> StoreResult<Vec<PostRecord>> {
        let mut links = Sql::new(
            "SELECT ph.post_id, ph.household_id FROM post_households ph \
             JOIN posts p ON p.district_id = ph.district_id AND p.id = ph.post_id \
             JOIN nodes n ON n.district_id = p.district_id AND n.id = p.node_id WHERE ph.district_id = ",
        );
        links.bind(district.to_string());
        push_place(&mut links, place);
        let mut households: std::collections::HashMap<String, Vec<NodeId>> =
            std::collections::HashMap::new();
        for row in self.fetch_all(&links).await? {
            households
                .entry(get(&row, "post_id")?)
                .or_default()
                .push(node_id(&row, "household_id")?);
        }

        let mut sql = Sql::new(
            "SELECT p.id, p.kind, p.node_id, p.party_org_id, p.unit_id, p.holder_name, p.resident_id, \
             p.user_id, p.phone, p.employment, p.origin, p.department, p.categories FROM posts p \
             JOIN nodes n ON n.district_id = p.district_id AND n.id = p.node_id WHERE p.district_id = ",
        );
        sql.bind(district.to_string());
        push_place(&mut sql, place);
        sql.push(" ORDER BY n.kind, n.sort_key, p.kind, p.holder_name");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                let kind: String = get(row, "kind")?;
                let holder: String = get(row, "holder_name")?;
                let categories: String = get(row, "categories")?;
                Ok(PostRecord {
                    id: id.parse::<PostId>().map_err(corrupt)?,
                    district,
                    kind: PostKind::parse(&kind).map_err(corrupt)?,
                    node: node_id(row, "node_id")?,
                    party_org: parse_optional(
                        |t| t.parse::<PartyOrgId>(),
                        get(row, "party_org_id")?,
                    )?,
                    unit: parse_optional(|t| t.parse::<UnitId>(), get(row, "unit_id")?)?,
                    holder_name: PersonName::parse(&holder).map_err(corrupt)?,
                    resident: parse_optional(
                        |t| t.parse::<ResidentId>(),
                        get(row, "resident_id")?,
                    )?,
                    user: parse_optional(|t| t.parse::<UserId>(), get(row, "user_id")?)?,
                    phone: parse_optional(Phone::parse, get(row, "phone")?)?,
                    employment: parse_optional(Employment::parse, get(row, "employment")?)?,
                    origin: parse_optional(Origin::parse, get(row, "origin")?)?,
                    department: parse_optional(Department::parse, get(row, "department")?)?,
                    categories: serde_json::from_str(&categories).map_err(corrupt)?,
                    households: households.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn field_defs(&self, district: DistrictId) -> StoreResult<Vec<FieldDef>> {
        let mut sql = Sql::new(
            "SELECT entity, field_key, label, field_type, options FROM field_defs WHERE district_id = ",
        );
        sql.bind(district.to_string())
            .push(" ORDER BY entity, field_key");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let entity: String = get(row, "entity")?;
                let key: String = get(row, "field_key")?;
                let label: String = get(row, "label")?;
                let field_type: String = get(row, "field_type")?;
                let options: String = get(row, "options")?;
                FieldDef::new(
                    FieldEntity::parse(&entity).map_err(corrupt)?,
                    &key,
                    &label,
                    FieldType::parse(&field_type).map_err(corrupt)?,
                    serde_json::from_str(&options).map_err(corrupt)?,
                )
                .map_err(corrupt)
            })
            .collect()
    }

    async fn insert_field_def(&self, district: DistrictId, field: &FieldDef) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO field_defs (district_id, entity, field_key, label, field_type, options) VALUES ",
        );
        sql.bind_row(field_args(district, field));
        self.execute(&sql).await?;
        Ok(())
    }

    #[instrument(skip_all, fields(username = %user.username))]
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO users (id, district_id, username, display_name, password_hash, is_demo, created_at) VALUES ",
        );
        sql.bind_row(user_args(user));
        self.execute(&sql).await?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<UserRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = "
        ));
        sql.bind(username);
        user_from_row(&self.fetch_one(&sql).await?)
    }

    async fn user(&self, id: UserId) -> StoreResult<UserRecord> {
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = "));
        sql.bind(id.to_string());
        user_from_row(&self.fetch_one(&sql).await?)
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        let mut sql = Sql::new("UPDATE users SET password_hash = ");
        sql.bind(password_hash)
            .push(" WHERE id = ")
            .bind(id.to_string());
        match self.execute(&sql).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn grant(
        &self,
        user: UserId,
        district: DistrictId,
        role: Role,
        node: NodeId,
    ) -> StoreResult<()> {
        // The node must exist in the account's district: no grant may cross tenants.
        self.node(district, node).await?;
        let mut sql = Sql::new("INSERT INTO grants (district_id, user_id, role, node_id) VALUES ");
        sql.bind_row(vec![
            id_text(district),
            id_text(user),
            Arg::from(role.as_str()),
            id_text(node),
        ])
        .push(" ON CONFLICT DO NOTHING");
        self.execute(&sql).await?;
        Ok(())
    }

    async fn grants(&self, user: UserId) -> StoreResult<Vec<Grant>> {
        let cols = prefixed("n.", NODE_COLUMNS);
        let mut sql = Sql::new(&format!(
            "SELECT g.role AS role, {cols} FROM grants g JOIN users u ON u.id = g.user_id \
             JOIN nodes n ON n.district_id = g.district_id AND n.id = g.node_id \
             WHERE g.district_id = u.district_id AND g.user_id = "
        ));
        sql.bind(user.to_string()).push(" ORDER BY n.kind, g.role");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let role: String = get(row, "role")?;
                Ok(Grant {
                    role: Role::parse(&role).map_err(corrupt)?,
                    at: node_from_row(row)?.path,
                })
            })
            .collect()
    }

    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO sessions (token_hash, user_id, district_id, kind, csrf_token, created_at, expires_at) VALUES ",
        );
        sql.bind_row(vec![
            Arg::from(session.token_hash.clone()),
            id_text(session.user_id),
            id_text(session.district),
            Arg::from(session.kind.as_str()),
            Arg::from(session.csrf_token.clone()),
            Arg::from(millis(session.created_at)),
            Arg::from(millis(session.expires_at)),
        ]);
        self.execute(&sql).await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<SessionRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = "
        ));
        sql.bind(token_hash)
            .push(" AND expires_at > ")
            .bind(millis(now));
        session_from_row(&self.fetch_one(&sql).await?)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let mut sql = Sql::new("DELETE FROM sessions WHERE token_hash = ");
        sql.bind(token_hash);
        self.execute(&sql).await?;
        Ok(())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.execute(&audit_insert(entry)).await?;
        Ok(())
    }
}

pub(crate) const SESSION_COLUMNS: &str =
    "token_hash, user_id, district_id, kind, csrf_token, created_at, expires_at";

pub(crate) const USER_COLUMNS: &str =
    "id, district_id, username, display_name, password_hash, is_demo, created_at";

fn user_args(user: &UserRecord) -> Vec<Arg> {
    vec![
        id_text(user.id),
        id_text(user.district),
        Arg::from(user.username.clone()),
        Arg::from(user.display_name.clone()),
        Arg::from(user.password_hash.clone()),
        Arg::from(i64::from(user.is_demo)),
        Arg::from(millis(user.created_at)),
    ]
}

fn field_args(district: DistrictId, field: &FieldDef) -> Vec<Arg> {
    vec![
        id_text(district),
        Arg::from(field.entity().as_str()),
        Arg::from(field.key()),
        Arg::from(field.label()),
        Arg::from(field.field_type().as_str()),
        Arg::from(serde_json::Value::from(field.options().to_vec()).to_string()),
    ]
}

/// `columns` with each name prefixed by a table alias.
pub(crate) fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{alias}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn resident_select() -> Sql {
    let cols = prefixed("r.", RESIDENT_COLUMNS);
    Sql::new(&format!(
        "SELECT {cols}, h.address AS address FROM residents r \
         JOIN nodes h ON h.district_id = r.district_id AND h.id = r.household_id"
    ))
}
