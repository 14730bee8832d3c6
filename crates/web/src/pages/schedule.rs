//! Settings pages: a community's duty list (准入, 一村一策) and the district's work calendar
//! (holidays and 调休 make-up days). Both go through [`crate::schedule`].

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use mulin_domain::ids::NodeId;
use mulin_domain::request::SERVICE_CATALOGUE;

use super::{check_form, page, parse_id, with_lang, Layout};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::schedule;
use crate::AppState;

/// The settings page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/communities/{id}/duty-list",
            get(view_duty_list_get).post(view_duty_list_post),
        )
        .route("/calendar", get(view_calendar_now_get))
        .route(
            "/calendar/{year}",
            get(view_calendar_get).post(view_calendar_post),
        )
}

/// The form fields as sent, in order (a checkbox list repeats its name).
fn fields(body: &[u8]) -> Result<Vec<(String, String)>, WebError> {
    serde_urlencoded::from_bytes(body).map_err(|_| WebError::Invalid("request.error.action"))
}

struct DutyItem {
    code: String,
    label: String,
    admitted: bool,
}

#[derive(Template)]
#[template(path = "duty_list.html")]
struct DutyListPage {
    l: Layout,
    community: String,
    community_id: String,
    is_default: bool,
    items: Vec<DutyItem>,
    error: Option<String>,
}

async fn duty_list_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: NodeId,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let list = schedule::duty_list(state, &user.auth, id).await?;
    let community = state.store.node(user.auth.user.district, id).await?;
    let l = Layout::for_user(state, user, uri);
    let items = SERVICE_CATALOGUE
        .iter()
        .map(|s| DutyItem {
            code: s.code.to_owned(),
            label: l.t.code("service", s.code),
            admitted: list.admitted.iter().any(|c| c == s.code),
        })
        .collect();
    page(&DutyListPage {
        community: community.name,
        community_id: id.to_string(),
        is_default: list.is_default,
        items,
        error,
        l,
    })
}

async fn view_duty_list_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let id = parse_id(&id, lang)?;
    duty_list_page(&state, &user, &uri, id, None)
        .await
        .map_err(with_lang(lang))
}

async fn view_duty_list_post(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let id: NodeId = parse_id(&id, lang)?;
    let codes: Vec<String> = fields(&body)
        .map_err(with_lang(lang))?
        .into_iter()
        .filter(|(name, _)| name == "service_code")
        .map(|(_, code)| code)
        .collect();
    match schedule::set_duty_list(&state, &user.auth, id, &codes).await {
        Ok(_) => Ok(Redirect::to(&format!("/communities/{id}/duty-list")).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(duty_list_page(&state, &user, &uri, id, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    l: Layout,
    year: i32,
    holidays: String,
    make_up_days: String,
    is_default: bool,
    known: bool,
    can_edit: bool,
    error: Option<String>,
}

fn lines(dates: &[NaiveDate]) -> String {
    dates
        .iter()
        .map(NaiveDate::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn calendar_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    year: i32,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let y = schedule::calendar_year(state, &user.auth, year).await?;
    page(&CalendarPage {
        l: Layout::for_user(state, user, uri),
        year,
        holidays: lines(&y.holidays),
        make_up_days: lines(&y.make_up_days),
        is_default: y.is_default,
        known: y.known,
        can_edit: schedule::may_edit_calendar(state, &user.auth).await?,
        error,
    })
}

async fn view_calendar_now_get(State(state): State<AppState>) -> Redirect {
    let year = state.clock.today().year();
    Redirect::to(&format!("/calendar/{year}"))
}

async fn view_calendar_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(year): Path<String>,
) -> Result<Html<String>, PageError> {
    let lang = user.lang;
    let year = parse_id(&year, lang)?;
    calendar_page(&state, &user, &uri, year, None)
        .await
        .map_err(with_lang(lang))
}

/// The dates of a text area: one per line (or separated by commas or spaces).
fn parse_dates(text: &str) -> Result<Vec<NaiveDate>, WebError> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|t| !t.is_empty())
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| WebError::Invalid("calendar.error.date"))
        })
        .collect()
}

async fn view_calendar_post(
    State(state): State<AppState>,
    user: PageUser,
    Path(year): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let year: i32 = parse_id(&year, lang)?;
    let form = fields(&body).map_err(with_lang(lang))?;
    let field = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let result = match (
        parse_dates(field("holidays")),
        parse_dates(field("make_up_days")),
    ) {
        (Ok(holidays), Ok(make_up_days)) => {
            schedule::set_calendar_year(&state, &user.auth, year, holidays, make_up_days).await
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/calendar/{year}")).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(calendar_page(&state, &user, &uri, year, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}
