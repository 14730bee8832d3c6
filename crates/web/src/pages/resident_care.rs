//! Where the care and floating-population APIs meet a phone: a resident's care page (moves
//! in and out with their history and a form for the next one, the health record of a
//! resident aged 65+ to read and edit, setting up a family sickbed), and logging a sickbed
//! visit from the care page. Every rule is the services' (`floating`, `care`); these
//! handlers carry forms (CSRF-checked) and show the services' refusals in the caller's
//! language.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use mulin_domain::movement::Direction;
use mulin_domain::policy::Action;
use serde::Deserialize;

use super::{check_form, page, with_lang, Layout};
use crate::api::parse_day;
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::{care, floating, AppState};

/// The resident care routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/residents/{id}/care", get(view_resident_care_get))
        .route("/residents/{id}/moves", post(view_moves_post))
        .route("/residents/{id}/health", post(view_health_post))
        .route("/residents/{id}/sickbeds", post(view_sickbed_post))
        .route("/care/sickbeds/{id}/visits", post(view_sickbed_visit_post))
}

/// A move of the history, as listed.
struct MoveLine {
    direction: String,
    on: String,
    reason: String,
}

/// A sickbed of this resident, as listed.
struct SickbedLine {
    team: String,
    every_days: u32,
    next_due: String,
    days_overdue: i64,
}

#[derive(Template)]
#[template(path = "resident_care.html")]
struct ResidentCarePage {
    l: Layout,
    id: String,
    name: String,
    today: String,
    /// May record moves, the health record and sickbeds.
    can_edit: bool,
    moves: Vec<MoveLine>,
    /// The direction the next move must take, and its label.
    next_direction: (&'static str, String),
    /// Aged 65+ on the clock's day.
    elderly: bool,
    /// May read the health record (a read that is audited).
    can_read_health: bool,
    /// Conditions, care team and notes, blank when none is kept.
    health: (String, String, String),
    sickbeds: Vec<SickbedLine>,
    error: Option<String>,
}

async fn care_page(
    state: &AppState,
    user: &PageUser,
    uri: &Uri,
    id: &str,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let auth = &user.auth;
    // The history's access check decides "not found" for a resident outside the scope.
    let history = floating::history(state, auth, id).await?;
    let resident_id = id.parse().map_err(|_| WebError::NotFound)?;
    let person = state
        .store
        .resident(auth.user.district, resident_id)
        .await?;
    let l = Layout::for_user(state, user, uri);
    let today = state.clock.today();
    let elderly = mulin_domain::care::is_elderly(person.birth_date, today);
    let can_read_health = elderly
        && auth
            .principal
            .allows(Action::RevealPersonalData, &person.household);
    let health = if can_read_health {
        match care::health(state, auth, id).await {
            Ok(record) => (record.conditions, record.care_team, record.notes),
            Err(WebError::NotFound) => Default::default(),
            Err(other) => return Err(other),
        }
    } else {
        Default::default()
    };
    let sickbeds = if auth.principal.allows_anywhere(Action::ViewVisits) {
        care::sickbeds(state, auth, None)
            .await?
            .into_iter()
            .filter(|(s, _)| s.resident == person.id)
            .map(|(s, late)| SickbedLine {
                team: s.care_team,
                every_days: s.schedule.every_days(),
                next_due: s.schedule.next_due(s.last_visit_on).to_string(),
                days_overdue: late,
            })
            .collect()
    } else {
        Vec::new()
    };
    let label = |direction: Direction| match direction {
        Direction::In => l.t.get("floating.moved_in").to_owned(),
        Direction::Out => l.t.get("floating.moved_out").to_owned(),
    };
    let next = match history.last() {
        Some(last) if last.direction == Direction::In => Direction::Out,
        _ => Direction::In,
    };
    page(&ResidentCarePage {
        id: person.id.to_string(),
        name: person.name.as_ref().to_owned(),
        today: today.to_string(),
        can_edit: auth
            .principal
            .allows(Action::EditRegistry, &person.household),
        moves: history
            .iter()
            .map(|m| MoveLine {
                direction: label(m.direction),
                on: m.on.to_string(),
                reason: m.reason.clone(),
            })
            .collect(),
        next_direction: (next.as_str(), label(next)),
        elderly,
        can_read_health,
        health,
        sickbeds,
        error,
        l,
    })
}

async fn view_resident_care_get(
    State(state): State<AppState>,
    user: PageUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    care_page(&state, &user, &uri, &id, None)
        .await
        .map_err(with_lang(user.lang))
}

/// Reads a form, CSRF-checked, and runs `act`: done, it redirects to `done`; refused for a
/// reason the caller can fix, it shows the resident's care page again with the reason.
async fn handle_form<F, Fut>(
    state: &AppState,
    user: &PageUser,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    resident: &str,
    act: F,
) -> Result<Response, PageError>
where
    F: FnOnce(Vec<(String, String)>) -> Fut,
    Fut: std::future::Future<Output = Result<String, WebError>>,
{
    let lang = user.lang;
    check_form(user, headers, body)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("visit.error.input")))?;
    match act(pairs).await {
        Ok(done) => Ok(Redirect::to(&done).into_response()),
        Err(err @ WebError::Invalid(_)) => {
            let message = err.message(lang);
            Ok(care_page(state, user, uri, resident, Some(message))
                .await
                .map_err(with_lang(lang))?
                .into_response())
        }
        Err(other) => Err(with_lang(lang)(other)),
    }
}

fn field(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn view_moves_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (state, user, id) = (&state, &user, id.as_str());
    handle_form(
        state,
        user,
        &headers,
        &uri,
        &body,
        id,
        move |form| async move {
            let on = parse_day(&field(&form, "on"), "floating.error.date")?;
            floating::record(
                state,
                &user.auth,
                id,
                &field(&form, "direction"),
                on,
                &field(&form, "reason"),
            )
            .await?;
            Ok(format!("/residents/{id}/care"))
        },
    )
    .await
}

async fn view_health_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (state, user, id) = (&state, &user, id.as_str());
    handle_form(
        state,
        user,
        &headers,
        &uri,
        &body,
        id,
        move |form| async move {
            care::put_health(
                state,
                &user.auth,
                id,
                &field(&form, "conditions"),
                &field(&form, "care_team"),
                &field(&form, "notes"),
            )
            .await?;
            Ok(format!("/residents/{id}/care"))
        },
    )
    .await
}

async fn view_sickbed_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (state, user, id) = (&state, &user, id.as_str());
    handle_form(
        state,
        user,
        &headers,
        &uri,
        &body,
        id,
        move |form| async move {
            let starts_on = parse_day(&field(&form, "starts_on"), "care.error.date")?;
            // An unreadable number reaches the domain as 0 and is refused there.
            let every_days = field(&form, "every_days").trim().parse().unwrap_or(0);
            care::create_sickbed(
                state,
                &user.auth,
                id,
                &field(&form, "care_team"),
                every_days,
                starts_on,
            )
            .await?;
            Ok(format!("/residents/{id}/care"))
        },
    )
    .await
}

#[derive(Deserialize)]
struct SickbedVisitForm {
    on: String,
    note: Option<String>,
}

/// Logs a sickbed visit from the care page, which it returns to; a refusal is an error page
/// in the caller's language.
async fn view_sickbed_visit_post(
    State(state): State<AppState>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = user.lang;
    check_form(&user, &headers, &body)?;
    let form: SickbedVisitForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| with_lang(lang)(WebError::Invalid("care.error.date")))?;
    let on = parse_day(&form.on, "care.error.date").map_err(with_lang(lang))?;
    care::log_sickbed_visit(
        &state,
        &user.auth,
        &id,
        on,
        form.note.as_deref().unwrap_or(""),
    )
    .await
    .map_err(with_lang(lang))?;
    Ok(Redirect::to("/care").into_response())
}
