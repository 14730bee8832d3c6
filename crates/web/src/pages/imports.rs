//! The import page: upload a resident ledger or a floating-population ledger, check it (a
//! dry run that lists every problem by Excel row and column, in the user's language), then
//! import it, all rows or none. The work is the API's (`api::ledger::import_file`,
//! `api::floating_ledger::import_floating_file`). With htmx an upload of either ledger starts
//! a job (`import_jobs`) and the page polls its progress (phase, residents written of the
//! total) until the report replaces it; an upload without JavaScript is answered with the
//! report.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mulin_domain::policy::Action;

use super::{page, parse_id, render, with_lang, Layout};
use crate::api::floating_ledger::import_floating_file;
use crate::api::ledger::{
    import_file, import_target, ImportProblem, ImportReport, LedgerUpload, MAX_IMPORT_BYTES,
};
use crate::auth::{self, AuthUser, PageUser};
use crate::error::{PageError, WebError};
use crate::i18n::Tr;
use crate::import_jobs::{Finished, ImportTracker, Outcome, Poll, Progress};
use crate::AppState;

/// The import page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/imports",
            get(view_imports_get)
                .post(view_imports_post)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/imports/jobs/{id}", get(view_import_job_get))
}

/// A place the caller may import under.
struct Target {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "import_report_partial.html")]
struct ReportPartial {
    t: Tr,
    report: ImportReport,
    /// Moves in and out added (floating-population ledger only).
    moves: Option<usize>,
}

/// A running import; it asks for itself again until the report comes back instead.
#[derive(Template)]
#[template(path = "import_progress_partial.html")]
struct ProgressPartial {
    t: Tr,
    job: String,
    phase: String,
    progress: Progress,
}

impl ProgressPartial {
    fn new(t: Tr, job: uuid::Uuid, progress: Progress) -> ProgressPartial {
        ProgressPartial {
            t,
            job: job.to_string(),
            phase: t.code("imports.phase", progress.phase.as_str()),
            progress,
        }
    }
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    l: Layout,
    targets: Vec<Target>,
    report: String,
}

async fn targets(state: &AppState, user: &PageUser) -> Result<Vec<Target>, WebError> {
    let mut targets = Vec::new();
    for grant in user.auth.principal.grants() {
        if grant.role.permits(Action::ImportRegistry) {
            let node = state
                .store
                .node(user.auth.user.district, grant.at.id())
                .await?;
            targets.push(Target {
                id: node.path.id().to_string(),
                name: node.name,
            });
        }
    }
    Ok(targets)
}

async fn imports_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    report: String,
) -> Result<Html<String>, WebError> {
    let targets = targets(state, user).await?;
    if targets.is_empty() {
        return Err(WebError::Forbidden);
    }
    page(&ImportsPage {
        l: Layout::for_user(state, user, uri),
        targets,
        report,
    })
}

async fn view_imports_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    imports_page(&state, &user, &uri, String::new())
        .await
        .map_err(with_lang(user.lang))
}

/// The form's fields; the file stays in memory (at most [`MAX_IMPORT_BYTES`]).
#[derive(Default)]
struct Upload {
    under: String,
    /// `floating` for the floating-population ledger; anything else is the resident ledger.
    kind: String,
    dry_run: bool,
    csrf: Option<String>,
    file: Option<(String, Vec<u8>)>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, WebError> {
    let mut upload = Upload::default();
    let bad = |_| {
        WebError::BadRequest(
            Tr::new(Default::default())
                .get("imports.unreadable")
                .to_owned(),
        )
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "under" => upload.under = field.text().await.map_err(bad)?,
            "kind" => upload.kind = field.text().await.map_err(bad)?,
            "dry_run" => upload.dry_run = field.text().await.map_err(bad)? != "false",
            "csrf" => upload.csrf = Some(field.text().await.map_err(bad)?),
            "file" => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(bad)?;
                if !bytes.is_empty() {
                    upload.file = Some((name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}

async fn view_imports_post(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let upload = read_upload(multipart).await.map_err(with_lang(lang))?;
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(upload.csrf.clone());
    auth::check_csrf(&user.auth, presented.as_deref()).map_err(with_lang(lang))?;
    let under = import_target(&state, &user.auth, &upload.under)
        .await
        .map_err(with_lang(lang))?;
    let t = Tr::new(lang);
    let is_htmx = headers.contains_key("hx-request");
    let ledger = if upload.kind == "floating" {
        Ledger::Floating
    } else {
        Ledger::Residents
    };
    let Some((file_name, bytes)) = upload.file else {
        let report =
            ImportReport::failed_with(upload.dry_run, ImportProblem::whole_file(&t, "no_file"));
        return report_response(
            &state,
            &user,
            &uri,
            is_htmx,
            Finished {
                report,
                moves: None,
            },
        )
        .await;
    };
    let run = Run {
        state: state.clone(),
        auth: user.auth.clone(),
        under,
        upload: LedgerUpload {
            file_name,
            bytes,
            dry_run: upload.dry_run,
        },
        ledger,
        t,
    };
    if is_htmx {
        let job = state
            .import_jobs
            .start(user.auth.user.id, state.clock.now(), move |tracker| {
                run.go(tracker)
            });
        let progress = ImportTracker::default().get();
        let partial = render(&ProgressPartial::new(t, job, progress)).map_err(with_lang(lang))?;
        return Ok((StatusCode::OK, Html(partial)).into_response());
    }
    let finished = run
        .go(std::sync::Arc::new(ImportTracker::default()))
        .await
        .map_err(with_lang(lang))?;
    report_response(&state, &user, &uri, is_htmx, finished).await
}

/// Which ledger an upload is.
#[derive(Clone, Copy)]
enum Ledger {
    Residents,
    Floating,
}

/// One upload to check or import, owned so it can run as a job.
struct Run {
    state: AppState,
    auth: AuthUser,
    under: mulin_storage::NodeRecord,
    upload: LedgerUpload,
    ledger: Ledger,
    /// The language of the user who uploaded it: the report is worded in it.
    t: Tr,
}

impl Run {
    async fn go(self, tracker: std::sync::Arc<ImportTracker>) -> Outcome {
        let Run {
            state,
            auth,
            under,
            upload,
            ledger,
            t,
        } = self;
        Ok(match ledger {
            Ledger::Residents => {
                let (_, report) = import_file(&state, &auth, &under, upload, &tracker, &t).await?;
                Finished {
                    report,
                    moves: None,
                }
            }
            Ledger::Floating => {
                let (_, report) =
                    import_floating_file(&state, &auth, &under, upload, &tracker, &t).await?;
                Finished {
                    report: report.report,
                    moves: Some(report.moves),
                }
            }
        })
    }
}

/// The report (with the moves added, for a floating-population ledger), alone for htmx or
/// in the page.
async fn report_response(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    is_htmx: bool,
    Finished { report, moves }: Finished,
) -> Result<Response, PageError> {
    let partial = render(&ReportPartial {
        t: Tr::new(user.lang),
        report,
        moves,
    })
    .map_err(with_lang(user.lang))?;
    fragment_response(state, user, uri, is_htmx, partial).await
}

/// A fragment alone for htmx, or inside the page.
async fn fragment_response(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    is_htmx: bool,
    partial: String,
) -> Result<Response, PageError> {
    Ok(if is_htmx {
        (StatusCode::OK, Html(partial)).into_response()
    } else {
        imports_page(state, user, uri, partial)
            .await
            .map_err(with_lang(user.lang))?
            .into_response()
    })
}

/// A job's progress, or its report once it has ended. Only the account that started the job
/// sees it; anyone else gets "not found".
async fn view_import_job_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let job: uuid::Uuid = parse_id(&id, lang)?;
    let is_htmx = headers.contains_key("hx-request");
    match state.import_jobs.poll(job, user.auth.user.id) {
        None => Err(with_lang(lang)(WebError::NotFound)),
        Some(Poll::Done(outcome)) => {
            let finished = outcome.map_err(with_lang(lang))?;
            report_response(&state, &user, &uri, is_htmx, finished).await
        }
        Some(Poll::Running(progress)) => {
            let partial = render(&ProgressPartial::new(Tr::new(lang), job, progress))
                .map_err(with_lang(lang))?;
            fragment_response(&state, &user, &uri, is_htmx, partial).await
        }
    }
}
