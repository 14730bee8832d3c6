//! `impl RequestStore for SqlStore`: requests, their timelines and notifications.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mulin_domain::deadline::{
    DeadlinePolicy, DeadlinePolicyParts, EscalationLevel, Limit, LimitKind, Severity,
};
use mulin_domain::ids::{DistrictId, NodeId, NotificationId, RequestId, UserId};
use mulin_domain::org::Department;
use mulin_domain::person::Phone;
use mulin_domain::policy::Role;
use mulin_domain::request::{Channel, EventKind, MajorStage, Rating, RequestState, RequestStatus};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    Intake, IntakeStore, LonLat, NotificationRecord, Page, RequestEvent, RequestFilter,
    RequestOrder, RequestRecord, RequestStore, RequestTallies, StoreError, StoreResult,
};
use sqlx::any::AnyRow;
use tracing::instrument;

use crate::kpi::apply_rollup;
use crate::rows::{
    corrupt, extra_from_text, extra_to_text, instant, millis, uuid_text, LEVEL_COLUMNS,
};
use crate::sql::{get, Arg, Batch, Sql};
use crate::store::{id_text, insert_statements, parse_optional, push_page};
use crate::{map_err, Dialect, SqlStore};
use mulin_storage::kpi::rollup_deltas;

pub(crate) const REQUEST_COLUMNS: &str =
    "district_id, id, place_kind, street_id, community_id, grid_id, \
     compound_id, building_id, entrance_id, household_id, address, lon, lat, service_code, \
     severity, channel, status, level, whistle_open, whistle_acknowledged, extension_pending, \
     major_stage, admission_pending, title, description, reporter_name, reporter_phone, submitted_by, received_at, arrive_due, \
     resolve_due, arrived_at, resolved_at, closed_at, handling_ms, rating, arrive_breached, \
     resolve_breached, whistle_department, whistle_liaison, whistle_due, whistle_breached, \
     external_ref, merged_into, next_due_at, seq, updated_at";

/// The column holding the id of a node of `kind` in the `requests` table.
pub(crate) fn request_level_column(kind: NodeKind) -> &'static str {
    LEVEL_COLUMNS
        .get(kind.level())
        .copied()
        .unwrap_or("household_id")
}

fn opt_millis(at: Option<DateTime<Utc>>) -> Arg {
    Arg::from(at.map(millis))
}

fn flag(value: bool) -> Arg {
    Arg::from(i64::from(value))
}

pub(crate) fn request_args(r: &RequestRecord) -> Vec<Arg> {
    let levels = r.place.levels();
    let mut args = vec![
        id_text(r.district),
        id_text(r.id),
        Arg::from(r.place.kind().as_str()),
    ];
    args.extend(
        levels[1..]
            .iter()
            .map(|id| Arg::Text(id.map(|id| id.to_string()))),
    );
    let handling = r.resolved_at.map(|at| millis(at) - millis(r.received_at));
    args.extend([
        Arg::from(r.address.clone()),
        Arg::from(r.position.map(|p| p.lon)),
        Arg::from(r.position.map(|p| p.lat)),
        Arg::from(r.service_code.clone()),
        Arg::from(r.severity.as_str()),
        Arg::from(r.channel.as_str()),
        Arg::from(r.state.status.as_str()),
        Arg::from(r.state.level.as_str()),
        flag(r.state.whistle_open),
        flag(r.state.whistle_acknowledged),
        Arg::from(r.state.extension_pending.map(i64::from)),
        Arg::from(r.state.major.map(|stage| stage.as_str().to_owned())),
        flag(r.state.admission_pending),
        Arg::from(r.title.clone()),
        Arg::from(r.description.clone()),
        Arg::from(r.reporter_name.clone()),
        Arg::from(r.reporter_phone.as_ref().map(|p| p.expose().to_owned())),
        Arg::from(r.submitted_by.map(|id| id.to_string())),
        Arg::from(millis(r.received_at)),
        Arg::from(millis(r.arrive_due)),
        Arg::from(millis(r.resolve_due)),
        opt_millis(r.arrived_at),
        opt_millis(r.resolved_at),
        opt_millis(r.closed_at),
        Arg::from(handling),
        Arg::from(r.rating.map(|rating| i64::from(rating.stars()))),
        flag(r.arrive_breached),
        flag(r.resolve_breached),
        Arg::from(r.whistle_department.map(|d| d.as_str().to_owned())),
        Arg::from(r.whistle_liaison.map(|id| id.to_string())),
        opt_millis(r.whistle_due),
        flag(r.whistle_breached),
        Arg::from(r.external_ref.clone()),
        Arg::from(r.merged_into.map(|id| id.to_string())),
        opt_millis(r.next_due_at()),
        Arg::from(r.seq),
        Arg::from(millis(r.updated_at)),
    ]);
    args
}

pub(crate) fn opt_instant(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let ms: Option<i64> = get(row, column)?;
    ms.map(|ms| {
        DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("{column}: {ms}")))
    })
    .transpose()
}

fn opt_id(row: &AnyRow, column: &str) -> StoreResult<Option<uuid::Uuid>> {
    let text: Option<String> = get(row, column)?;
    text.map(|t| uuid::Uuid::parse_str(&t).map_err(|e| corrupt(format!("{column}: {e}"))))
        .transpose()
}

fn is_set(row: &AnyRow, column: &str) -> StoreResult<bool> {
    let value: i64 = get(row, column)?;
    Ok(value != 0)
}

pub(crate) fn request_from_row(row: &AnyRow) -> StoreResult<RequestRecord> {
    let kind_text: String = get(row, "place_kind")?;
    let kind = NodeKind::parse(&kind_text).map_err(corrupt)?;
    let mut ids = [None; 8];
    ids[0] = Some(NodeId::from_uuid(uuid_text(row, "district_id")?));
    for (level, id) in ids.iter_mut().enumerate().skip(1) {
        *id = opt_id(row, request_level_column(NodeKind::ALL[level]))?.map(NodeId::from_uuid);
    }
    let place = NodePath::from_levels(kind, ids).map_err(corrupt)?;
    let lon: Option<f64> = get(row, "lon")?;
    let lat: Option<f64> = get(row, "lat")?;
    let text = |column: &str| -> StoreResult<String> { get(row, column) };
    let extension: Option<i64> = get(row, "extension_pending")?;
    let rating: Option<i64> = get(row, "rating")?;
    Ok(RequestRecord {
        id: RequestId::from_uuid(uuid_text(row, "id")?),
        district: place.district().into(),
        place,
        address: get(row, "address")?,
        position: lon.zip(lat).map(|(lon, lat)| LonLat { lon, lat }),
        service_code: text("service_code")?,
        severity: Severity::parse(&text("severity")?).map_err(corrupt)?,
        channel: Channel::parse(&text("channel")?).map_err(corrupt)?,
        state: RequestState {
            status: RequestStatus::parse(&text("status")?).map_err(corrupt)?,
            level: EscalationLevel::parse(&text("level")?).map_err(corrupt)?,
            whistle_open: is_set(row, "whistle_open")?,
            whistle_acknowledged: is_set(row, "whistle_acknowledged")?,
            extension_pending: extension
                .map(|m| u32::try_from(m).map_err(corrupt))
                .transpose()?,
            major: parse_optional(MajorStage::parse, get(row, "major_stage")?)?,
            admission_pending: is_set(row, "admission_pending")?,
        },
        title: text("title")?,
        description: text("description")?,
        reporter_name: get(row, "reporter_name")?,
        reporter_phone: parse_optional(Phone::parse, get(row, "reporter_phone")?)?,
        submitted_by: opt_id(row, "submitted_by")?.map(UserId::from_uuid),
        received_at: instant(row, "received_at")?,
        arrive_due: instant(row, "arrive_due")?,
        resolve_due: instant(row, "resolve_due")?,
        arrived_at: opt_instant(row, "arrived_at")?,
        resolved_at: opt_instant(row, "resolved_at")?,
        closed_at: opt_instant(row, "closed_at")?,
        rating: rating
            .map(|stars| {
                u8::try_from(stars)
                    .map_err(corrupt)
                    .and_then(|s| Rating::new(s).map_err(corrupt))
            })
            .transpose()?,
        arrive_breached: is_set(row, "arrive_breached")?,
        resolve_breached: is_set(row, "resolve_breached")?,
        whistle_department: parse_optional(Department::parse, get(row, "whistle_department")?)?,
        whistle_liaison: opt_id(row, "whistle_liaison")?.map(UserId::from_uuid),
        whistle_due: opt_instant(row, "whistle_due")?,
        whistle_breached: is_set(row, "whistle_breached")?,
        external_ref: get(row, "external_ref")?,
        merged_into: opt_id(row, "merged_into")?.map(RequestId::from_uuid),
        seq: get(row, "seq")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn event_from_row(row: &AnyRow) -> StoreResult<RequestEvent> {
    let kind: String = get(row, "kind")?;
    let data: String = get(row, "data")?;
    Ok(RequestEvent {
        seq: get(row, "seq")?,
        at: instant(row, "at")?,
        kind: EventKind::parse(&kind).map_err(corrupt)?,
        actor: opt_id(row, "actor_id")?.map(UserId::from_uuid),
        actor_name: get(row, "actor_name")?,
        note: get(row, "note")?,
        data: extra_from_text(&data)?,
    })
}

fn notification_from_row(row: &AnyRow) -> StoreResult<NotificationRecord> {
    Ok(NotificationRecord {
        id: NotificationId::from_uuid(uuid_text(row, "id")?),
        district: NodeId::from_uuid(uuid_text(row, "district_id")?).into(),
        user: UserId::from_uuid(uuid_text(row, "user_id")?),
        at: instant(row, "at")?,
        kind: get(row, "kind")?,
        request: RequestId::from_uuid(uuid_text(row, "request_id")?),
        text: get(row, "body")?,
        read: is_set(row, "is_read")?,
    })
}

const EVENTS_HEAD: &str = "INSERT INTO request_events (district_id, request_id, seq, at, kind, \
     actor_id, actor_name, note, data) VALUES ";

const NOTIFICATIONS_HEAD: &str = "INSERT INTO notifications (district_id, id, user_id, at, kind, \
     request_id, body, is_read) VALUES ";

fn event_row(request: &RequestRecord, event: &RequestEvent) -> Vec<Arg> {
    vec![
        id_text(request.district),
        id_text(request.id),
        Arg::from(event.seq),
        Arg::from(millis(event.at)),
        Arg::from(event.kind.as_str()),
        Arg::from(event.actor.map(|id| id.to_string())),
        Arg::from(event.actor_name.clone()),
        Arg::from(event.note.clone()),
        Arg::from(extra_to_text(&event.data)),
    ]
}

fn notification_row(n: &NotificationRecord) -> Vec<Arg> {
    vec![
        id_text(n.district),
        id_text(n.id),
        id_text(n.user),
        Arg::from(millis(n.at)),
        Arg::from(n.kind.clone()),
        id_text(n.request),
        Arg::from(n.text.clone()),
        flag(n.read),
    ]
}

/// The event and notification rows of several request writes.
pub(crate) struct TimelineRows {
    events: Vec<Vec<Arg>>,
    notifications: Vec<Vec<Arg>>,
}

impl TimelineRows {
    pub(crate) fn of<'a>(
        changes: impl IntoIterator<
            Item = (
                &'a RequestRecord,
                &'a [RequestEvent],
                &'a [NotificationRecord],
            ),
        >,
    ) -> TimelineRows {
        let mut rows = TimelineRows {
            events: Vec::new(),
            notifications: Vec::new(),
        };
        for (request, events, notifications) in changes {
            rows.events
                .extend(events.iter().map(|e| event_row(request, e)));
            rows.notifications
                .extend(notifications.iter().map(notification_row));
        }
        rows
    }

    /// Their inserts, in as few multi-row statements as the argument limit allows.
    pub(crate) fn statements(self, dialect: Dialect, max_args: usize) -> Vec<Sql> {
        let mut statements =
            insert_statements(dialect, max_args, EVENTS_HEAD, self.events.into_iter());
        statements.extend(insert_statements(
            dialect,
            max_args,
            NOTIFICATIONS_HEAD,
            self.notifications.into_iter(),
        ));
        statements
    }

    /// Adds their inserts to `batch`.
    pub(crate) fn push_to(self, batch: &mut Batch, max_args: usize) {
        for sql in self.statements(batch.dialect(), max_args) {
            batch.push(sql);
        }
    }
}

/// `UPDATE requests SET <every column> WHERE … AND seq = <previous seq>`: the record is the
/// whole state, so every column is rewritten from it.
pub(crate) fn update_statement(previous: &RequestRecord, request: &RequestRecord) -> Sql {
    let columns = REQUEST_COLUMNS.split(", ").map(str::trim);
    let args = request_args(request);
    let mut sql = Sql::new("UPDATE requests SET ");
    for (idx, (column, arg)) in columns.zip(args).enumerate().skip(2) {
        if idx > 2 {
            sql.push(", ");
        }
        sql.push(column).push(" = ").bind(arg);
    }
    sql.push(" WHERE district_id = ")
        .bind(request.district.to_string())
        .push(" AND id = ")
        .bind(request.id.to_string())
        .push(" AND seq = ")
        .bind(previous.seq);
    sql
}

fn limit_text(limit: Limit) -> Arg {
    Arg::from(format!("{}:{}", limit.kind().as_str(), limit.amount()))
}

fn limit_from_row(row: &AnyRow, column: &str) -> StoreResult<Limit> {
    let text: String = get(row, column)?;
    let (kind, amount) = text
        .split_once(':')
        .ok_or_else(|| corrupt(format!("{column}: {text}")))?;
    let kind = LimitKind::parse(kind).map_err(corrupt)?;
    let amount: u32 = amount.parse().map_err(corrupt)?;
    Limit::from_parts(kind, amount).map_err(corrupt)
}

const POLICY_COLUMNS: [&str; 6] = [
    "arrive",
    "resolve_ordinary",
    "resolve_complex",
    "resolve_major",
    "whistle_acknowledge",
    "verify",
];

#[async_trait]
impl RequestStore for SqlStore {
    #[instrument(skip_all, fields(id = %request.id))]
    async fn insert_request(
        &self,
        request: &RequestRecord,
        events: &[RequestEvent],
        notifications: &[NotificationRecord],
    ) -> StoreResult<()> {
        self.insert_intake(&Intake {
            request,
            events,
            notifications,
            audit: None,
            callback: None,
        })
        .await
    }

    async fn request(&self, district: DistrictId, id: RequestId) -> StoreResult<RequestRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND id = ")
            .bind(id.to_string());
        request_from_row(&self.fetch_one(&sql).await?)
    }

    async fn request_by_external_ref(
        &self,
        district: DistrictId,
        external_ref: &str,
    ) -> StoreResult<RequestRecord> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND external_ref = ")
            .bind(external_ref);
        request_from_row(&self.fetch_one(&sql).await?)
    }

    async fn request_events(
        &self,
        district: DistrictId,
        id: RequestId,
    ) -> StoreResult<Vec<RequestEvent>> {
        let mut sql = Sql::new(
            "SELECT seq, at, kind, actor_id, actor_name, note, data FROM request_events \
             WHERE district_id = ",
        );
        sql.bind(district.to_string())
            .push(" AND request_id = ")
            .bind(id.to_string())
            .push(" ORDER BY seq");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    #[instrument(skip_all, fields(id = %request.id, expected_seq = previous.seq))]
    async fn update_request(
        &self,
        previous: &RequestRecord,
        request: &RequestRecord,
        events: &[RequestEvent],
        notifications: &[NotificationRecord],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let sql = update_statement(previous, request);
        let done = sql
            .query()
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        if done != 1 {
            // Someone else changed it first (or it is gone): write nothing.
            return Err(StoreError::Conflict(format!(
                "request {} changed concurrently",
                request.id
            )));
        }
        let max_args = self.dialect().max_insert_args();
        let mut batch = Batch::new(self.dialect());
        TimelineRows::of([(request, events, notifications)]).push_to(&mut batch, max_args);
        crate::outbox::enqueue(&mut batch, max_args, [(request, events, notifications)]);
        batch.execute(&mut tx).await?;
        apply_rollup(
            &mut tx,
            max_args,
            rollup_deltas([(Some(previous), request)]),
        )
        .await?;
        tx.commit().await.map_err(map_err)
    }

    #[instrument(skip_all, fields(n_scopes = scopes.len(), page = filter.page))]
    async fn search_requests(
        &self,
        district: DistrictId,
        scopes: &[NodePath],
        filter: &RequestFilter,
    ) -> StoreResult<Page<RequestRecord>> {
        let per_page = filter.per_page.clamp(1, 200);
        let page = filter.page.max(1);
        let personal = filter.submitted_by.is_some() || filter.whistle_liaison.is_some();
        if scopes.is_empty() && !personal {
            return Ok(Page {
                items: Vec::new(),
                page,
                per_page,
                has_more: false,
            });
        }
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string());
        if !scopes.is_empty() {
            sql.push(" AND (");
            for (idx, scope) in scopes.iter().enumerate() {
                if idx > 0 {
                    sql.push(" OR ");
                }
                sql.push(request_level_column(scope.kind()))
                    .push(" = ")
                    .bind(scope.id().to_string());
            }
            sql.push(")");
        }
        if let Some(user) = filter.submitted_by {
            sql.push(" AND submitted_by = ").bind(user.to_string());
        }
        if let Some(user) = filter.whistle_liaison {
            sql.push(" AND whistle_open = 1 AND whistle_liaison = ")
                .bind(user.to_string());
        }
        if let Some(status) = filter.status {
            sql.push(" AND status = ").bind(status.as_str());
        } else if filter.open_only {
            sql.push(" AND status NOT IN ('solved', 'verified', 'closed')");
        }
        sql.push(match filter.order {
            RequestOrder::Deadline => " ORDER BY resolve_due, id",
            RequestOrder::Newest => " ORDER BY received_at DESC, id DESC",
        });
        push_page(&mut sql, page, per_page);
        self.fetch_page(&sql, page, per_page, request_from_row)
            .await
    }

    async fn similar_requests(
        &self,
        district: DistrictId,
        community: NodeId,
        service_code: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<RequestRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE district_id = "
        ));
        sql.bind(district.to_string())
            .push(" AND community_id = ")
            .bind(community.to_string())
            .push(" AND received_at >= ")
            .bind(millis(since))
            .push(" AND service_code = ")
            .bind(service_code)
            .push(
                " AND status NOT IN ('solved', 'verified', 'closed') \
                 ORDER BY received_at DESC LIMIT 20",
            );
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

    async fn due_requests(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RequestRecord>> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE next_due_at <= "
        ));
        sql.bind(millis(now))
            .push(" ORDER BY next_due_at LIMIT ")
            .bind(i64::from(limit));
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

    #[instrument(skip_all, fields(scope = %scope.id()))]
    async fn request_tallies(
        &self,
        district: DistrictId,
        scope: &NodePath,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<RequestTallies> {
        self.kpi_tallies(district, scope, from, to).await
    }

    async fn users_granted_at(
        &self,
        district: DistrictId,
        node: NodeId,
    ) -> StoreResult<Vec<(UserId, Role)>> {
        let mut sql = Sql::new("SELECT user_id, role FROM grants WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND node_id = ")
            .bind(node.to_string())
            .push(" ORDER BY user_id, role");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let role: String = get(row, "role")?;
                Ok((
                    UserId::from_uuid(uuid_text(row, "user_id")?),
                    Role::parse(&role).map_err(corrupt)?,
                ))
            })
            .collect()
    }

    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let mut sql = Sql::new(
            "SELECT district_id, id, user_id, at, kind, request_id, body, is_read \
             FROM notifications WHERE user_id = ",
        );
        sql.bind(user.to_string());
        if unread_only {
            sql.push(" AND is_read = 0");
        }
        sql.push(" ORDER BY at DESC, id DESC LIMIT ")
            .bind(i64::from(limit.clamp(1, 500)));
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(notification_from_row)
            .collect()
    }

    async fn mark_notifications_read(&self, user: UserId) -> StoreResult<()> {
        let mut sql = Sql::new("UPDATE notifications SET is_read = 1 WHERE user_id = ");
        sql.bind(user.to_string()).push(" AND is_read = 0");
        self.execute(&sql).await?;
        Ok(())
    }

    async fn deadline_policy(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> StoreResult<Option<DeadlinePolicy>> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, max_extensions FROM deadline_policies WHERE district_id = ",
            POLICY_COLUMNS.join(", ")
        ));
        sql.bind(district.to_string())
            .push(" AND community_id = ")
            .bind(community.to_string());
        let Some(row) = self.fetch_all(&sql).await?.into_iter().next() else {
            return Ok(None);
        };
        let max_extensions: i64 = get(&row, "max_extensions")?;
        let parts = DeadlinePolicyParts {
            arrive: limit_from_row(&row, "arrive")?,
            resolve_ordinary: limit_from_row(&row, "resolve_ordinary")?,
            resolve_complex: limit_from_row(&row, "resolve_complex")?,
            resolve_major: limit_from_row(&row, "resolve_major")?,
            whistle_acknowledge: limit_from_row(&row, "whistle_acknowledge")?,
            verify: limit_from_row(&row, "verify")?,
            max_extensions: u32::try_from(max_extensions).map_err(corrupt)?,
        };
        DeadlinePolicy::new(parts).map(Some).map_err(corrupt)
    }

    async fn set_deadline_policy(
        &self,
        district: DistrictId,
        community: NodeId,
        policy: &DeadlinePolicy,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let p = policy.parts();
        let mut sql = Sql::new(&format!(
            "INSERT INTO deadline_policies (district_id, community_id, {}, max_extensions, \
             updated_at) VALUES ",
            POLICY_COLUMNS.join(", ")
        ));
        sql.bind_row(vec![
            id_text(district),
            id_text(community),
            limit_text(p.arrive),
            limit_text(p.resolve_ordinary),
            limit_text(p.resolve_complex),
            limit_text(p.resolve_major),
            limit_text(p.whistle_acknowledge),
            limit_text(p.verify),
            Arg::from(i64::from(p.max_extensions)),
            Arg::from(millis(at)),
        ]);
        sql.push(" ON CONFLICT (district_id, community_id) DO UPDATE SET ");
        for column in POLICY_COLUMNS {
            sql.push(column)
                .push(" = excluded.")
                .push(column)
                .push(", ");
        }
        sql.push("max_extensions = excluded.max_extensions, updated_at = excluded.updated_at");
        self.execute(&sql).await?;
        Ok(())
    }
}
