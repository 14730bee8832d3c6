//! The HTML pages: server-rendered with askama, enhanced with htmx, usable on a phone.
//! One askama struct per template; a page embeds its partial's rendered markup, so each
//! fragment exists once and htmx requests get just the partial.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::{Cookie, SameSite};
use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::policy::Action;
use mulin_domain::tree::NodeKind;
use mulin_storage::{NodeRecord, ResidentQuery, SessionKind};
use serde::Deserialize;

use crate::access;
use crate::auth::{self, ClientIp, PageLang, PageUser, LANG_COOKIE, SESSION_COOKIE};
use crate::error::{PageError, WebError};
use crate::i18n::{Lang, Tr};
use crate::views::{CountsView, Disclosure, ResidentView};
use crate::AppState;

mod audit;
mod dashboard;
mod imports;
mod map;
mod redivision;
mod reps;
mod requests;
mod resident_care;
mod schedule;
mod settings;
mod visits;

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(view_home_get))
        .route("/login", get(view_login_get).post(view_login_post))
        .route("/logout", post(view_logout_post))
        .route("/lang/{tag}", get(view_lang_get))
        .route("/nodes/{id}", get(view_node_get))
        .route("/households/{id}", get(view_household_get))
        .route("/residents/{id}", get(view_resident_get))
        .route("/residents/{id}/reveal", post(view_reveal_post))
        .route("/search", get(view_search_get))
        .merge(audit::routes())
        .merge(imports::routes())
        .merge(requests::routes())
        .merge(schedule::routes())
        .merge(visits::routes())
        .merge(map::routes())
        .merge(redivision::routes())
        .merge(reps::routes())
        .merge(resident_care::routes())
        .merge(settings::routes())
}

/// What every page's frame needs.
pub struct Layout {
    t: Tr,
    lang_tag: &'static str,
    csrf: String,
    is_demo: bool,
    logged_in: bool,
    display_name: String,
    can_search: bool,
    can_audit: bool,
    /// Whether to show the work calendar (staff).
    can_calendar: bool,
    can_visit: bool,
    can_import: bool,
    can_map: bool,
    /// The current path, for the language switch to return to.
    path: String,
}

impl Layout {
    fn anonymous(lang: Lang, is_demo: bool, path: &str) -> Layout {
        Layout {
            t: Tr::new(lang),
            lang_tag: lang.tag(),
            csrf: String::new(),
            is_demo,
            logged_in: false,
            display_name: String::new(),
            can_search: false,
            can_audit: false,
            can_calendar: false,
            can_visit: false,
            can_import: false,
            can_map: false,
            path: encode_path(path),
        }
    }

    fn for_user(state: &AppState, user: &PageUser, uri: &Uri) -> Layout {
        let principal = &user.auth.principal;
        Layout {
            csrf: user.auth.session.csrf_token.clone(),
            logged_in: true,
            display_name: user.auth.user.display_name.clone(),
            can_search: principal.allows_anywhere(Action::ViewResidents),
            can_audit: principal.allows_anywhere(Action::ViewAudit),
            can_calendar: principal.allows_anywhere(Action::ViewRequests),
            can_visit: principal.allows_anywhere(Action::ViewVisits),
            can_import: principal.allows_anywhere(Action::ImportRegistry),
            can_map: principal.allows_anywhere(Action::ViewMap),
            ..Layout::anonymous(user.lang, state.is_demo, uri.path())
        }
    }
}

fn encode_path(path: &str) -> String {
    serde_urlencoded::to_string([("", path)])
        .map(|encoded| encoded.trim_start_matches('=').to_owned())
        .unwrap_or_else(|_| "%2F".into())
}

fn render(template: &impl Template) -> Result<String, WebError> {
    template
        .render()
        .map_err(|err| WebError::Internal(Box::new(err)))
}

fn page(template: &impl Template) -> Result<Html<String>, WebError> {
    render(template).map(Html)
}

fn with_lang(lang: Lang) -> impl Fn(WebError) -> PageError {
    move |error| PageError { error, lang }
}

fn parse_id<T: std::str::FromStr>(text: &str, lang: Lang) -> Result<T, PageError> {
    text.parse().map_err(|_| PageError {
        error: WebError::NotFound,
        lang,
    })
}

fn node_href(node: &NodeRecord) -> String {
    match node.path.kind() {
        NodeKind::Household => format!("/households/{}", node.path.id()),
        _ => format!("/nodes/{}", node.path.id()),
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    l: Layout,
    message: String,
    op_id: Option<String>,
}

impl ErrorPage {
    /// An error page in `lang`; 5xx pages show the operation id.
    pub fn new(lang: Lang, status: StatusCode, message: String) -> ErrorPage {
        ErrorPage {
            l: Layout::anonymous(lang, false, "/"),
            message,
            op_id: status
                .is_server_error()
                .then(crate::middleware::current_op_id)
                .flatten(),
        }
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        match self.render() {
            Ok(body) => Html(body).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    error: Option<String>,
    username: String,
}

async fn view_login_get(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
) -> Result<Html<String>, PageError> {
    page(&LoginPage {
        l: Layout::anonymous(lang, state.is_demo, "/login"),
        error: None,
        username: String::new(),
    })
    .map_err(with_lang(lang))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

fn session_cookie(
    state: &AppState,
    value: String,
    max_age_hours: i64,
) -> Result<HeaderValue, WebError> {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::hours(max_age_hours))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(|err| WebError::Internal(Box::new(err)))
}

async fn view_login_post(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    ClientIp(ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    match auth::check_credentials(&state, ip.as_deref(), &form.username, &form.password).await {
        Ok(user) => {
            let (token, _) = auth::start_session(&state, &user, SessionKind::Web, ip)
                .await
                .map_err(with_lang(lang))?;
            let cookie =
                session_cookie(&state, token, auth::SESSION_HOURS).map_err(with_lang(lang))?;
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().insert(SET_COOKIE, cookie);
            Ok(response)
        }
        Err(error @ (WebError::Unauthorized | WebError::RateLimited)) => {
            let tr = Tr::new(lang);
            let (status, message) = match error {
                WebError::RateLimited => {
                    (StatusCode::TOO_MANY_REQUESTS, tr.get("error.rate_limited"))
                }
                _ => (StatusCode::UNAUTHORIZED, tr.get("login.failed")),
            };
            let body = page(&LoginPage {
                l: Layout::anonymous(lang, state.is_demo, "/login"),
                error: Some(message.to_owned()),
                username: form.username,
            })
            .map_err(with_lang(lang))?;
            Ok((status, body).into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

/// The CSRF token of a post: the `X-CSRF-Token` header (htmx), else the form's `csrf` field.
/// The body is read leniently so a post with no form at all reaches the check (and fails
/// it) instead of failing on its content type.
/// Refuses a form post that lacks the session's CSRF token (header or `csrf` field).
fn check_form(user: &PageUser, headers: &HeaderMap, body: &[u8]) -> Result<(), PageError> {
    auth::check_csrf(&user.auth, csrf_token(headers, body).as_deref()).map_err(with_lang(user.lang))
}

fn csrf_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            serde_urlencoded::from_bytes::<CsrfForm>(body)
                .ok()
                .and_then(|form| form.csrf)
        })
}

async fn view_logout_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    state
        .store
        .delete_session(&user.auth.session.token_hash)
        .await
        .map_err(|e| with_lang(lang)(e.into()))?;
    state
        .audit(
            &user.auth,
            "logout",
            ("session", user.auth.session.kind.as_str()),
            "",
        )
        .await
        .map_err(with_lang(lang))?;
    let cookie = session_cookie(&state, String::new(), 0).map_err(with_lang(lang))?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

async fn view_lang_get(Path(tag): Path<String>, Query(query): Query<BackQuery>) -> Response {
    let lang = Lang::from_tag(&tag);
    // Only a local path: never an open redirect.
    let back = query
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let cookie = Cookie::build((LANG_COOKIE, lang.tag()))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

struct ScopeLink {
    href: String,
    name: String,
    kind_label: String,
    role_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    scopes: Vec<ScopeLink>,
}

async fn view_home_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let t = Tr::new(lang);
    let mut scopes = Vec::new();
    for grant in user.auth.principal.grants() {
        let node = state
            .store
            .node(user.auth.user.district, grant.at.id())
            .await
            .map_err(|e| with_lang(lang)(e.into()))?;
        scopes.push(ScopeLink {
            href: node_href(&node),
            name: node.address.clone().unwrap_or(node.name),
            kind_label: t.code("kind", grant.at.kind().as_str()),
            role_label: t.code("role", grant.role.as_str()),
        });
    }
    page(&HomePage {
        l: Layout::for_user(&state, &user, &uri),
        scopes,
    })
    .map_err(with_lang(lang))
}

struct Step {
    href: String,
    name: String,
}

#[derive(Template)]
#[template(path = "trail_partial.html")]
struct TrailPartial {
    trail: Vec<Step>,
}

async fn trail_for(
    state: &AppState,
    user: &PageUser,
    levels: &[Option<NodeId>],
) -> Result<String, WebError> {
    let mut trail = Vec::new();
    for id in levels.iter().flatten() {
        if let Ok(node) = access::node(state, &user.auth, *id).await {
            trail.push(Step {
                href: node_href(&node),
                name: node.name,
            });
        }
    }
    render(&TrailPartial { trail })
}

struct ChildRow {
    href: String,
    kind: &'static str,
    name: String,
    counts: CountsView,
}

struct PostRow {
    label: String,
    holder: String,
    extra: Option<String>,
}

struct BodyRow {
    label: String,
    name: String,
}

#[derive(Template)]
#[template(path = "node.html")]
struct NodePage {
    l: Layout,
    id: String,
    trail: String,
    name: String,
    kind_label: String,
    code: Option<String>,
    counts: CountsView,
    children: Vec<ChildRow>,
    posts: Vec<PostRow>,
    bodies: Vec<BodyRow>,
    representatives: usize,
    /// A community whose duty list (准入) the caller may set.
    duty_list: bool,
    /// A community whose grids the caller may re-divide.
    redivision: bool,
    /// A community whose representatives the caller may assign.
    assign_reps: bool,
}

async fn view_node_get(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let t = Tr::new(lang);
    let id: NodeId = parse_id(&id, lang)?;
    let detail = access::node_detail(&state, &user.auth, id)
        .await
        .map_err(with_lang(lang))?;
    if detail.node.path.kind() == NodeKind::Household {
        return Ok(Redirect::to(&node_href(&detail.node)).into_response());
    }
    let levels = detail.node.path.levels();
    let trail = trail_for(&state, &user, &levels[..detail.node.path.kind().level()])
        .await
        .map_err(with_lang(lang))?;
    let attached = access::attached(&state, &user.auth, &detail.node)
        .await
        .map_err(with_lang(lang))?;
    let posts = attached
        .posts
        .iter()
        .filter(|post| post.kind != mulin_domain::org::PostKind::ResidentRepresentative)
        .map(|post| PostRow {
            label: t.code("post", post.kind.as_str()),
            holder: post.holder_name.as_ref().to_owned(),
            extra: post
                .employment
                .map(|e| t.code("employment", e.as_str()))
                .or(post.department.map(|d| t.code("department", d.as_str()))),
        })
        .collect();
    let bodies = attached
        .party_orgs
        .iter()
        .map(|org| BodyRow {
            label: t.code("party_org", org.kind.as_str()),
            name: org.name.clone(),
        })
        .chain(attached.units.iter().map(|unit| BodyRow {
            label: t.code("unit", unit.kind.as_str()),
            name: unit.name.clone(),
        }))
        .collect();
    let representatives = attached
        .posts
        .iter()
        .filter(|post| post.kind == mulin_domain::org::PostKind::ResidentRepresentative)
        .count();
    let body = page(&NodePage {
        l: Layout::for_user(&state, &user, &uri),
        id: id.to_string(),
        trail,
        name: detail.node.name.clone(),
        kind_label: t.code("kind", detail.node.path.kind().as_str()),
        duty_list: detail.node.path.kind() == NodeKind::Community
            && user
                .auth
                .principal
                .allows(Action::ManageRequests, &detail.node.path),
        redivision: detail.node.path.kind() == NodeKind::Community
            && user
                .auth
                .principal
                .allows(Action::EditGrids, &detail.node.path),
        assign_reps: detail.node.path.kind() == NodeKind::Community
            && user
                .auth
                .principal
                .allows(Action::AssignRepresentatives, &detail.node.path),
        code: detail.node.code.clone(),
        counts: detail.counts.into(),
        children: detail
            .children
            .iter()
            .map(|(child, counts)| ChildRow {
                href: node_href(child),
                kind: child.path.kind().as_str(),
                name: child.name.clone(),
                counts: (*counts).into(),
            })
            .collect(),
        posts,
        bodies,
        representatives,
    })
    .map_err(with_lang(lang))?;
    Ok(body.into_response())
}

/// A resident's codes in the reader's language.
struct ResidentLabels {
    gender: String,
    relation: String,
    status: String,
    groups: Vec<String>,
}

impl ResidentLabels {
    fn new(t: &Tr, view: &ResidentView) -> ResidentLabels {
        ResidentLabels {
            gender: t.code("gender", &view.gender),
            relation: t.code("relation", &view.relation),
            status: t.code("status", &view.status),
            groups: view
                .special_groups
                .iter()
                .map(|g| t.code("group", g))
                .collect(),
        }
    }
}

struct MemberRow {
    view: ResidentView,
    labels: ResidentLabels,
}

fn member_row(t: &Tr, view: ResidentView) -> MemberRow {
    MemberRow {
        labels: ResidentLabels::new(t, &view),
        view,
    }
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    l: Layout,
    trail: String,
    address: String,
    members: Vec<MemberRow>,
}

async fn view_household_get(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let t = Tr::new(lang);
    let id: NodeId = parse_id(&id, lang)?;
    let (household, members) = access::household(&state, &user.auth, id)
        .await
        .map_err(with_lang(lang))?;
    let levels = household.path.levels();
    let trail = trail_for(&state, &user, &levels[..NodeKind::Household.level()])
        .await
        .map_err(with_lang(lang))?;
    let today = state.clock.today();
    page(&HouseholdPage {
        l: Layout::for_user(&state, &user, &uri),
        trail,
        address: household.address.clone().unwrap_or(household.name),
        members: members
            .iter()
            .map(|m| member_row(&t, ResidentView::new(m, today, Disclosure::Masked)))
            .collect(),
    })
    .map_err(with_lang(lang))
}

#[derive(Template)]
#[template(path = "resident_fields_partial.html")]
struct ResidentFields {
    t: Tr,
    view: ResidentView,
    labels: ResidentLabels,
}

impl ResidentFields {
    fn new(t: Tr, view: ResidentView) -> ResidentFields {
        ResidentFields {
            labels: ResidentLabels::new(&t, &view),
            t,
            view,
        }
    }
}

#[derive(Template)]
#[template(path = "resident.html")]
struct ResidentPage {
    l: Layout,
    trail: String,
    id: String,
    name: String,
    fields: String,
    can_reveal: bool,
}

async fn resident_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: ResidentId,
    want_full: bool,
) -> Result<(ResidentPage, String), WebError> {
    let t = Tr::new(user.lang);
    let (resident, disclosure) = access::resident(state, &user.auth, id, want_full).await?;
    let view = ResidentView::new(&resident, state.clock.today(), disclosure);
    let fields = render(&ResidentFields::new(t, view.clone()))?;
    let levels = resident.household.levels();
    let trail = trail_for(state, user, &levels).await?;
    let page = ResidentPage {
        l: Layout::for_user(state, user, uri),
        trail,
        id: view.id.clone(),
        name: view.name.clone(),
        fields: fields.clone(),
        can_reveal: disclosure == Disclosure::Masked
            && user
                .auth
                .principal
                .allows(Action::RevealPersonalData, &resident.household),
    };
    Ok((page, fields))
}

async fn view_resident_get(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    let (resident, _) = resident_page(&state, &user, &uri, id, false)
        .await
        .map_err(with_lang(lang))?;
    page(&resident).map_err(with_lang(lang))
}

/// Reveals a resident's full ID number and phone (audited). htmx gets the fields partial;
/// a plain form post gets the whole page.
async fn view_reveal_post(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let id = parse_id(&id, lang)?;
    let (resident, fields) = resident_page(&state, &user, &uri, id, true)
        .await
        .map_err(with_lang(lang))?;
    if headers.contains_key("hx-request") {
        Ok(Html(fields))
    } else {
        page(&resident).map_err(with_lang(lang))
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    under: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "search_partial.html")]
struct SearchPartial {
    t: Tr,
    rows: Vec<ResidentView>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    l: Layout,
    q: String,
    under: Option<String>,
    results: String,
}

const SEARCH_PAGE_SIZE: u32 = 30;

async fn view_search_get(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let under: Option<NodeId> = match query.under.as_deref().filter(|u| !u.is_empty()) {
        Some(text) => Some(parse_id(text, lang)?),
        None => None,
    };
    let q = query.q.unwrap_or_default();
    let page_no = query.page.unwrap_or(1).max(1);
    let found = access::search_residents(
        &state,
        &user.auth,
        under,
        &ResidentQuery {
            q: q.clone(),
            page: page_no,
            per_page: SEARCH_PAGE_SIZE,
        },
    )
    .await
    .map_err(with_lang(lang))?;
    let href = |page_no: u32| {
        let mut pairs = vec![("q", q.clone()), ("page", page_no.to_string())];
        if let Some(under) = under {
            pairs.push(("under", under.to_string()));
        }
        format!(
            "/search?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let today = state.clock.today();
    let partial = SearchPartial {
        t: Tr::new(lang),
        rows: found
            .items
            .iter()
            .map(|r| ResidentView::new(r, today, Disclosure::Masked))
            .collect(),
        prev_href: (page_no > 1).then(|| href(page_no - 1)),
        next_href: found.has_more.then(|| href(page_no + 1)),
    };
    let results = render(&partial).map_err(with_lang(lang))?;
    // One URL, two shapes: htmx gets the results, a browser (or a history restore) the page.
    let is_htmx =
        headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request");
    let mut response = if is_htmx {
        Html(results).into_response()
    } else {
        page(&SearchPage {
            l: Layout::for_user(&state, &user, &uri),
            q,
            under: under.map(|u| u.to_string()),
            results,
        })
        .map_err(with_lang(lang))?
        .into_response()
    };
    response
        .headers_mut()
        .insert("vary", HeaderValue::from_static("HX-Request"));
    Ok(response)
}
