//! Excel in and out of the resident ledger: import (with a dry run), the blank template, and
//! exports of the residents list as xlsx or CSV, masked for the caller's role.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mulin_domain::ids::NodeId;
use mulin_domain::policy::Action;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_ledger::{parse_workbook, plan_import, ImportPlan, LedgerError, Problem};
use mulin_storage::{AuditEntry, ImportBatch, NodeRecord, ResidentQuery, ResidentRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::export::{deliver, node_target, Export, ExportFormat, MAX_EXPORT_ROWS};
use crate::auth::{ApiLang, AuthUser};
use crate::error::{ErrorBody, WebError};
use crate::i18n::Tr;
use crate::import_jobs::{ImportTracker, Phase};
use crate::ledger_text::{ledger_error_message, problem_message};
use crate::views::{ledger_row, Disclosure};
use crate::AppState;
use crate::{access, care};

/// The largest ledger file accepted (a 100,000-row ledger is about 6 MB).
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

/// The ledger's routes (mounted at `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/imports/residents",
            post(import_residents).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/imports/residents/template.xlsx", get(template))
        .route("/residents.xlsx", get(export_xlsx))
        .route("/residents.csv", get(export_csv))
}

/// The ledger part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(import_residents, template, export_xlsx, export_csv),
    components(schemas(ImportReport, ImportProblem, ImportUpload)),
    tags((name = "ledger", description = "Excel in and out of the resident ledger"))
)]
pub struct LedgerApi;

/// Where to import and whether to write.
#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// The node to import under: a district, street, community, grid or compound.
    pub under: String,
    /// `true` checks the file and writes nothing (default `false`).
    pub dry_run: Option<bool>,
}

/// The upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// The ledger workbook (.xlsx).
    #[schema(format = Binary, value_type = String)]
    pub file: Vec<u8>,
}

/// One problem of an import.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct ImportProblem {
    /// The row as Excel numbers it (0: the file as a whole).
    pub row: u32,
    /// The column's header as the file writes it.
    pub column: String,
    /// Why, in Chinese (English when the request's language is English).
    pub message: String,
    /// A stable code for the kind of problem (`id_number_stored_as_number`, `bad_date`,
    /// `unknown_compound`, `no_header` …).
    pub code: String,
}

impl ImportProblem {
    /// A problem of a row, worded by `tr`.
    pub fn of(tr: &Tr, problem: &Problem) -> ImportProblem {
        ImportProblem {
            row: problem.row,
            column: problem.column.clone(),
            message: problem_message(tr, problem),
            code: problem.kind.code().to_owned(),
        }
    }

    /// A problem of the file as a whole: `code` and its text in `tr`'s language
    /// (`ledger.error.<code>`).
    pub fn whole_file(tr: &Tr, code: &str) -> ImportProblem {
        ImportProblem::file(code, tr.code("ledger.error", code))
    }

    /// A workbook that cannot be read at all, worded by `tr`.
    pub fn unreadable(tr: &Tr, err: &LedgerError) -> ImportProblem {
        ImportProblem::file(err.code(), ledger_error_message(tr, err))
    }

    fn file(code: &str, message: String) -> ImportProblem {
        ImportProblem {
            row: 0,
            column: String::new(),
            message,
            code: code.to_owned(),
        }
    }
}

/// An uploaded ledger file, and whether only to check it.
pub struct LedgerUpload {
    /// The file's name (for the audit record).
    pub file_name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// `true` checks the file and writes nothing.
    pub dry_run: bool,
}

/// What an import found and did.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ImportReport {
    /// Whether the file is (dry run) or was (otherwise) imported: no errors.
    pub ok: bool,
    /// Data rows read.
    pub rows: usize,
    /// Every problem; an import with any writes nothing.
    pub errors: Vec<ImportProblem>,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// Residents new to the district.
    pub created: usize,
    /// Residents whose record changed.
    pub updated: usize,
    /// Residents already registered exactly as the file says.
    pub unchanged: usize,
    /// Buildings, entrances and households created inside existing compounds.
    pub new_places: usize,
}

impl ImportReport {
    /// A report of a file that could not be imported for one reason.
    pub fn failed_with(dry_run: bool, problem: ImportProblem) -> ImportReport {
        ImportReport::failed(0, dry_run, vec![problem])
    }

    /// A report of `rows` data rows with these problems, worded by `tr`.
    pub(crate) fn with_problems(
        tr: &Tr,
        rows: usize,
        dry_run: bool,
        problems: &[Problem],
    ) -> ImportReport {
        let errors = problems.iter().map(|p| ImportProblem::of(tr, p)).collect();
        ImportReport::failed(rows, dry_run, errors)
    }

    fn failed(rows: usize, dry_run: bool, errors: Vec<ImportProblem>) -> ImportReport {
        ImportReport {
            ok: false,
            rows,
            errors,
            dry_run,
            created: 0,
            updated: 0,
            unchanged: 0,
            new_places: 0,
        }
    }
}

pub(crate) fn rejected(status: StatusCode, report: impl Serialize) -> Response {
    (status, Json(report)).into_response()
}

/// Imports a resident ledger under a node: all rows or none. Rows are keyed by ID number,
/// so importing the same file twice changes nothing; a changed row updates the resident.
#[utoipa::path(post, path = "/api/v1/imports/residents", tag = "ledger", params(ImportParams),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ImportReport), (status = 422, body = ImportReport)))]
async fn import_residents(
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
    let (status, report) = import_file(
        &state,
        &auth,
        &under,
        upload,
        &ImportTracker::default(),
        &tr,
    )
    .await?;
    Ok(if status == StatusCode::OK {
        Json(report).into_response()
    } else {
        rejected(status, report)
    })
}

/// The multipart field `file` (its name and bytes), or the answer that says why there is
/// none (in `tr`'s language).
pub(crate) async fn read_file_field(
    tr: &Tr,
    mut multipart: Multipart,
    dry_run: bool,
) -> Result<LedgerUpload, Response> {
    let mut upload: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(upload_error(tr, err.status(), dry_run)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().unwrap_or("").to_owned();
        match field.bytes().await {
            Ok(bytes) => upload = Some((file_name, bytes.to_vec())),
            Err(err) => return Err(upload_error(tr, err.status(), dry_run)),
        }
    }
    let (file_name, bytes) = upload.ok_or_else(|| {
        rejected(
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportReport::failed_with(dry_run, ImportProblem::whole_file(tr, "no_file")),
        )
    })?;
    Ok(LedgerUpload {
        file_name,
        bytes,
        dry_run,
    })
}

/// The node an import goes under, if the caller may import there. A grid worker may import
/// under their community: rows outside their grid are then reported as outside the scope.
/// A node the caller can neither see nor import under is "not found".
pub async fn import_target(
    state: &AppState,
    auth: &AuthUser,
    under: &str,
) -> Result<NodeRecord, WebError> {
    let under_id: NodeId = under.trim().parse().map_err(|_| WebError::NotFound)?;
    let under = state.store.node(auth.user.district, under_id).await?;
    if auth
        .principal
        .scopes_under(Action::ImportRegistry, &under.path)
        .is_empty()
    {
        return Err(if auth.principal.allows(Action::ViewTree, &under.path) {
            WebError::Forbidden
        } else {
            WebError::NotFound
        });
    }
    Ok(under)
}

/// Checks a ledger file and, unless `upload.dry_run`, writes it (all rows or none), for the
/// API and the import page alike, telling `tracker` how far it is and wording problems by
/// `tr`. The status is 200 or, with the problems listed, 422.
pub async fn import_file(
    state: &AppState,
    auth: &AuthUser,
    under: &NodeRecord,
    upload: LedgerUpload,
    tracker: &ImportTracker,
    tr: &Tr,
) -> Result<(StatusCode, ImportReport), WebError> {
    let LedgerUpload {
        file_name,
        bytes,
        dry_run,
    } = upload;
    tracker.enter(Phase::Checking, 0);
    let parsed = tokio::task::spawn_blocking(move || parse_workbook(&bytes))
        .await
        .map_err(|err| WebError::Internal(Box::new(err)))?;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ImportReport::failed_with(dry_run, ImportProblem::unreadable(tr, &err)),
            ))
        }
    };
    let principal = auth.principal.clone();
    let allowed = move |path: &NodePath| principal.allows(Action::ImportRegistry, path);
    tracker.enter(Phase::Resolving, 0);
    let plan = plan_import(state.store.as_ref(), under, parsed, &allowed).await?;
    if !plan.problems.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportReport::with_problems(tr, plan.n_rows, dry_run, &plan.problems),
        ));
    }
    if !dry_run {
        let detail = format!(
            "{file_name}：{} 行，新增 {}，更新 {}，未变 {}，新建地址 {}",
            plan.n_rows,
            plan.created,
            plan.updated,
            plan.unchanged,
            plan.nodes.len()
        );
        tracker.enter(Phase::Writing, plan.residents.len());
        state
            .store
            .apply_import(
                &import_batch(state, auth, &under.path, &plan, detail),
                &|n_written| tracker.advance(n_written),
            )
            .await?;
    }
    Ok((
        StatusCode::OK,
        ImportReport {
            ok: true,
            rows: plan.n_rows,
            errors: Vec::new(),
            dry_run,
            created: plan.created,
            updated: plan.updated,
            unchanged: plan.unchanged,
            new_places: plan.nodes.len(),
        },
    ))
}

fn upload_error(tr: &Tr, status: StatusCode, dry_run: bool) -> Response {
    let (status, problem) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        let mut problem = ImportProblem::whole_file(tr, "too_large");
        let mb = (MAX_IMPORT_BYTES / 1024 / 1024).to_string();
        problem.message = tr.fill(&problem.message, &[("mb", &mb)]);
        (status, problem)
    } else {
        (
            StatusCode::BAD_REQUEST,
            ImportProblem::whole_file(tr, "unreadable_form"),
        )
    };
    rejected(status, ImportReport::failed_with(dry_run, problem))
}

/// The batch an import writes, with its audit record.
pub fn import_batch(
    state: &AppState,
    auth: &AuthUser,
    under: &NodePath,
    plan: &ImportPlan,
    detail: String,
) -> ImportBatch {
    ImportBatch {
        district: auth.user.district,
        nodes: plan.nodes.clone(),
        residents: plan.residents.clone(),
        audit: AuditEntry {
            id: uuid::Uuid::now_v7(),
            district: auth.user.district,
            at: state.clock.now(),
            user_id: Some(auth.user.id),
            username: auth.user.username.clone(),
            action: "resident.import".to_owned(),
            target_kind: "node".to_owned(),
            target_id: under.id().to_string(),
            ip: auth.ip.clone(),
            detail,
        },
    }
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(crate) fn attachment(content_type: &str, file_name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The blank ledger template: the columns an import reads, under a title row.
#[utoipa::path(get, path = "/api/v1/imports/residents/template.xlsx", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody)))]
async fn template(_auth: AuthUser) -> Result<Response, WebError> {
    let bytes = mulin_ledger::template_xlsx().map_err(|err| WebError::Internal(Box::new(err)))?;
    Ok(attachment(XLSX, "resident-ledger-template.xlsx", bytes))
}

/// Export options.
#[derive(Deserialize, IntoParams)]
pub struct ExportParams {
    /// Only below this node (default: everywhere the caller may see residents).
    pub under: Option<String>,
    /// Name, part of an address, or the last 4+ digits of an ID number.
    pub q: Option<String>,
    /// Only the members of this special group (`elderly` — 65 or over today, derived from
    /// the birth date —, `empty_nest`, `living_alone`, `dibao`, `shidu`, `disabled`,
    /// `left_behind_child`): the group's list as a ledger. `q` is not applied then.
    pub group: Option<String>,
    /// `true` for full ID numbers and phones: only for roles that may reveal them, for every
    /// resident exported; audited.
    pub reveal: Option<bool>,
}

/// How an export of `residents` is written: the household names the caller sees under
/// `under`, the audit action (`{kind}.export`, or `{kind}.export.reveal`) and the disclosure.
pub(crate) struct ExportPlan {
    pub names: HashMap<NodeId, String>,
    pub action: String,
    pub disclosure: Disclosure,
}

/// The [`ExportPlan`] of an export of `residents`; with `reveal`, refused unless the caller
/// may see every one of them unmasked.
pub(crate) async fn plan_export(
    state: &AppState,
    auth: &AuthUser,
    under: Option<NodeId>,
    residents: &[ResidentRecord],
    reveal: bool,
    kind: &str,
) -> Result<ExportPlan, WebError> {
    if reveal
        && !residents.iter().all(|resident| {
            auth.principal
                .allows(Action::RevealPersonalData, &resident.household)
        })
    {
        return Err(WebError::Forbidden);
    }
    let names = access::tree(state, auth, under, NodeKind::Household)
        .await?
        .into_iter()
        .map(|node| (node.path.id(), node.name))
        .collect();
    let (action, disclosure) = if reveal {
        (format!("{kind}.export.reveal"), Disclosure::Full)
    } else {
        (format!("{kind}.export"), Disclosure::Masked)
    };
    Ok(ExportPlan {
        names,
        action,
        disclosure,
    })
}

/// The residents export: the list's rows under the policy, as a ledger table.
async fn resident_export(
    state: &AppState,
    auth: &AuthUser,
    params: &ExportParams,
) -> Result<Export, WebError> {
    let under: Option<NodeId> = params
        .under
        .as_deref()
        .map(|text| text.parse().map_err(|_| WebError::NotFound))
        .transpose()?;
    let mut residents: Vec<ResidentRecord> = Vec::new();
    let mut query = ResidentQuery {
        q: params.q.clone().unwrap_or_default(),
        page: 1,
        per_page: 200,
    };
    loop {
        let page = match params.group.as_deref() {
            Some(group) => care::group_members(state, auth, under, group, query.page).await?,
            None => access::search_residents(state, auth, under, &query).await?,
        };
        residents.extend(page.items);
        if !page.has_more || residents.len() >= MAX_EXPORT_ROWS {
            break;
        }
        query.page += 1;
    }
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
        "resident",
    )
    .await?;
    let detail = match params.group.as_deref() {
        Some(group) => format!("{} 行；group={group}", residents.len()),
        None => format!(
            "{} 行；q={}",
            residents.len(),
            params.q.as_deref().unwrap_or("")
        ),
    };
    let today = state.clock.today();
    let rows: Vec<mulin_ledger::ExportRow> = residents
        .iter()
        .map(|resident| ledger_row(resident, &names, today, disclosure))
        .collect();
    Ok(Export {
        file_stem: "residents",
        action,
        target: node_target(under),
        detail,
        table: mulin_ledger::resident_table(&rows),
    })
}

/// The residents list as an xlsx ledger (the import's columns), masked unless `reveal`.
#[utoipa::path(get, path = "/api/v1/residents.xlsx", tag = "ledger", params(ExportParams), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_xlsx(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ExportParams>,
) -> Result<Response, WebError> {
    let export = resident_export(&state, &auth, &params).await?;
    deliver(&state, &auth, ExportFormat::Xlsx, export).await
}

/// The residents list as CSV (UTF-8 with BOM), masked unless `reveal`.
#[utoipa::path(get, path = "/api/v1/residents.csv", tag = "ledger", params(ExportParams), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_csv(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<ExportParams>,
) -> Result<Response, WebError> {
    let export = resident_export(&state, &auth, &params).await?;
    deliver(&state, &auth, ExportFormat::Csv, export).await
}
