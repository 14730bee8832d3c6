//! Excel in and out of the floating-population ledger (流动人口信息登记台账): import (with a
//! dry run) that registers the residents and their moves in one transaction, the blank
//! template, and an export of the floating list in the same columns (xlsx or CSV), masked
//! for the caller's role. The upload, the target check and the report are the resident
//! ledger's ([`super::ledger`]).

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::movement::Direction;
use mulin_domain::policy::Action;
use mulin_domain::tree::NodePath;
use mulin_ledger::floating::{parse_floating_workbook, plan_floating, FloatingExportRow, Recorder};
use mulin_storage::{MovementRecord, NodeRecord, ResidentRecord, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::export::{deliver, node_target, Export, ExportFormat};
use super::ledger::{
    attachment, import_batch, import_target, plan_export, read_file_field, rejected, ExportPlan,
    ImportParams, ImportProblem, ImportReport, ImportUpload, LedgerUpload, MAX_IMPORT_BYTES, XLSX,
};
use crate::auth::{ApiLang, AuthUser};
use crate::error::{ErrorBody, WebError};
use crate::i18n::Tr;
use crate::import_jobs::{ImportTracker, Phase};
use crate::views::ledger_row;
use crate::{floating, AppState};

/// The floating ledger's routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/imports/floating",
            post(import_floating).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/imports/floating/template.xlsx", get(template))
        .route("/floating.xlsx", get(export_xlsx))
        .route("/floating.csv", get(export_csv))
}

/// The floating ledger part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(import_floating, template, export_xlsx, export_csv),
    components(schemas(FloatingImportReport)),
    tags((name = "floating-ledger", description = "Excel in and out of the floating-population ledger (流动人口信息登记台账)"))
)]
pub struct FloatingLedgerApi;

/// What a floating import found and did: the resident ledger's report, and the moves.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct FloatingImportReport {
    /// The residents' part (`ok`, `rows`, `errors` …).
    #[serde(flatten)]
    pub report: ImportReport,
    /// Moves in and out added to the residents' histories (0 when `ok` is false).
    pub moves: usize,
}

/// Imports a floating-population ledger under a node: all rows or none. Each row registers
/// the resident (status 流动) and adds the stay's moves to their history; rows are keyed by
/// ID number and moves by direction and day, so importing the same file twice changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/imports/floating", tag = "floating-ledger", params(ImportParams),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses((status = 200, body = FloatingImportReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ImportReport), (status = 422, body = FloatingImportReport)))]
async fn import_floating(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiLang(lang): ApiLang,
    Query(params): Query<ImportParams>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let tr = Tr::new(lang);
    let dry_run = params.dry_run.unwrap_or(false);
    let under = import_target(&state, &auth, &params.under).await?;
    let upload = match read_file_field(&tr, multipart, dry_run).await {
        Ok(upload) => upload,
        Err(response) => return Ok(response),
    };
    let (status, report) = import_floating_file(
        &state,
        &auth,
        &under,
        upload,
        &ImportTracker::default(),
        &tr,
    )
    .await?;
    Ok(rejected(status, report))
}

/// Checks a floating ledger file and, unless `upload.dry_run`, writes it (all rows or none),
/// for the API and the import page alike, telling `tracker` how far it is and wording
/// problems by `tr`. The status is 200 or, with the problems listed, 422.
pub async fn import_floating_file(
    state: &AppState,
    auth: &AuthUser,
    under: &NodeRecord,
    upload: LedgerUpload,
    tracker: &ImportTracker,
    tr: &Tr,
) -> Result<(StatusCode, FloatingImportReport), WebError> {
    let LedgerUpload {
        file_name,
        bytes,
        dry_run,
    } = upload;
    let today = state.clock.today();
    tracker.enter(Phase::Checking, 0);
    let parsed = tokio::task::spawn_blocking(move || parse_floating_workbook(&bytes, today))
        .await
        .map_err(|err| WebError::Internal(Box::new(err)))?;
    let failed = |report| FloatingImportReport { report, moves: 0 };
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                failed(ImportReport::failed_with(
                    dry_run,
                    ImportProblem::unreadable(tr, &err),
                )),
            ))
        }
    };
    let principal = auth.principal.clone();
    let allowed = move |path: &NodePath| principal.allows(Action::ImportRegistry, path);
    let recorder = Recorder {
        by: auth.user.id,
        at: state.clock.now(),
    };
    tracker.enter(Phase::Resolving, 0);
    let planned = plan_floating(state.store.as_ref(), under, parsed, &allowed, recorder).await?;
    let plan = planned.plan;
    if !plan.problems.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            failed(ImportReport::with_problems(
                tr,
                plan.n_rows,
                dry_run,
                &plan.problems,
            )),
        ));
    }
    if !dry_run {
        let detail = format!(
            "{file_name}：{} 行，新增 {}，更新 {}，未变 {}，新建地址 {}，迁入迁出 {}",
            plan.n_rows,
            plan.created,
            plan.updated,
            plan.unchanged,
            plan.nodes.len(),
            planned.movements.len()
        );
        let mut batch = import_batch(state, auth, &under.path, &plan, detail);
        batch.audit.action = "floating.import".to_owned();
        tracker.enter(Phase::Writing, plan.residents.len());
        state
            .store
            .apply_floating_import(&batch, &planned.movements, &|n_written| {
                tracker.advance(n_written)
            })
            .await
            .map_err(|err| match err {
                // A move of one of these residents landed after the plan read the history.
                StoreError::Conflict(_) => {
                    WebError::Conflict(tr.get("ledger.error.moves_changed").to_owned())
                }
                other => other.into(),
            })?;
    }
    Ok((
        StatusCode::OK,
        FloatingImportReport {
            report: ImportReport {
                ok: true,
                rows: plan.n_rows,
                errors: Vec::new(),
                dry_run,
                created: plan.created,
                updated: plan.updated,
                unchanged: plan.unchanged,
                new_places: plan.nodes.len(),
            },
            moves: planned.movements.len(),
        },
    ))
}

/// The blank floating-population template: the columns an import reads, under a title row.
#[utoipa::path(get, path = "/api/v1/imports/floating/template.xlsx", tag = "floating-ledger", security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody)))]
async fn template(_auth: AuthUser) -> Result<Response, WebError> {
    let bytes = mulin_ledger::floating::floating_template_xlsx()
        .map_err(|err| WebError::Internal(Box::new(err)))?;
    Ok(attachment(XLSX, "floating-ledger-template.xlsx", bytes))
}

/// Export options.
#[derive(Deserialize, IntoParams)]
pub struct FloatingExportParams {
    /// Only below this node (default: everywhere the caller may see the floating
    /// population).
    pub under: Option<String>,
    /// `false` for those who have left (default `true`: those here today).
    pub current: Option<bool>,
    /// `true` for full ID numbers and phones: only for roles that may reveal them, for every
    /// resident exported; audited.
    pub reveal: Option<bool>,
}

/// The floating list as an xlsx ledger (the import's columns): each resident's latest stay,
/// masked unless `reveal`.
#[utoipa::path(get, path = "/api/v1/floating.xlsx", tag = "floating-ledger", params(FloatingExportParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_xlsx(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<FloatingExportParams>,
) -> Result<Response, WebError> {
    let export = floating_export(&state, &auth, &params).await?;
    deliver(&state, &auth, ExportFormat::Xlsx, export).await
}

/// The floating list as CSV (UTF-8 with BOM, the import's columns): each resident's latest
/// stay, masked unless `reveal`.
#[utoipa::path(get, path = "/api/v1/floating.csv", tag = "floating-ledger", params(FloatingExportParams), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_csv(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<FloatingExportParams>,
) -> Result<Response, WebError> {
    let export = floating_export(&state, &auth, &params).await?;
    deliver(&state, &auth, ExportFormat::Csv, export).await
}

/// The latest stay of one history (oldest first): the last move in, and the move out after
/// it if any.
fn last_stay(history: &[MovementRecord]) -> (Option<&MovementRecord>, Option<&MovementRecord>) {
    match history.last() {
        Some(last) if last.direction == Direction::In => (Some(last), None),
        Some(last) => {
            let moved_in = history
                .len()
                .checked_sub(2)
                .and_then(|idx| history.get(idx))
                .filter(|m| m.direction == Direction::In);
            (moved_in, Some(last))
        }
        None => (None, None),
    }
}

/// The floating export: each listed resident's latest stay under the policy, as a ledger
/// table.
async fn floating_export(
    state: &AppState,
    auth: &AuthUser,
    params: &FloatingExportParams,
) -> Result<Export, WebError> {
    let under: Option<NodeId> = params
        .under
        .as_deref()
        .map(|text| text.trim().parse().map_err(|_| WebError::NotFound))
        .transpose()?;
    let district = auth.user.district;
    let latest = floating::list(state, auth, under, params.current.unwrap_or(true)).await?;
    let ids: Vec<ResidentId> = latest.iter().map(|m| m.resident).collect();
    let mut histories: HashMap<ResidentId, Vec<MovementRecord>> = HashMap::new();
    for m in state.store.movements_of(district, &ids).await? {
        histories.entry(m.resident).or_default().push(m);
    }
    let mut by_id: HashMap<ResidentId, ResidentRecord> = state
        .store
        .residents_by_ids(district, &ids)
        .await?
        .into_iter()
        .map(|resident| (resident.id, resident))
        .collect();
    // In the list's order (most recent move first). The list reads the moves' places; the
    // record says where the person lives now, which decides whether the caller sees them.
    let residents: Vec<ResidentRecord> = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .filter(|resident| {
            auth.principal
                .allows(Action::ViewResidents, &resident.household)
        })
        .collect();
    let ExportPlan {
        names,
        action,
        disclosure,
    } = plan_export(
        state,
        auth,
        under,
        &residents,
        params.reveal.unwrap_or(false),
        "floating",
    )
    .await?;
    let today = state.clock.today();
    let rows: Vec<FloatingExportRow> = residents
        .iter()
        .map(|resident| {
            let history = histories
                .get(&resident.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let (moved_in, moved_out) = last_stay(history);
            FloatingExportRow {
                resident: ledger_row(resident, &names, today, disclosure),
                moved_in: moved_in.map(|m| m.on),
                in_reason: moved_in.map(|m| m.reason.clone()).unwrap_or_default(),
                moved_out: moved_out.map(|m| m.on),
                out_reason: moved_out.map(|m| m.reason.clone()).unwrap_or_default(),
                extra: resident.extra.clone(),
            }
        })
        .collect();
    Ok(Export {
        file_stem: "floating",
        action,
        target: node_target(under),
        detail: format!("{} 行", residents.len()),
        table: mulin_ledger::floating::floating_table(&rows),
    })
}
