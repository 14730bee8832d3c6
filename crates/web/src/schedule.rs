//! What a district and its communities set about their own working: each community's duty
//! list (准入, 一村一策: which catalogue items may be pushed to its grids) and the district's
//! work calendar (holidays and 调休 make-up days, year by year), with the per-district
//! calendar cache every deadline is computed on.

use std::sync::Arc;

use chrono::NaiveDate;
use mulin_domain::calendar::{CalendarError, WorkCalendar};
use mulin_domain::ids::DistrictId;
use mulin_domain::policy::Action;
use mulin_domain::request::{service_type, SERVICE_CATALOGUE};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{CalendarYearRecord, Storage};

use crate::auth::AuthUser;
use crate::cache::{TtlCache, SETTINGS_TTL};
use crate::error::WebError;
use crate::AppState;

/// Each district's work calendar: the built-in China official schedule with the years the
/// district set itself laid over it. Built once per district and kept until an edit of that
/// district invalidates it (or [`crate::cache::SETTINGS_TTL`] passes, which bounds how long
/// another process serving the same database counts on the old one).
pub struct Calendars {
    store: Arc<dyn Storage>,
    built_in: WorkCalendar,
    cache: TtlCache<DistrictId, Arc<WorkCalendar>>,
}

impl Calendars {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Storage>) -> Calendars {
        Calendars {
            store,
            built_in: WorkCalendar::china_official(),
            cache: TtlCache::new(SETTINGS_TTL),
        }
    }

    /// The calendar deadlines of `district` are counted on.
    pub async fn of(&self, district: DistrictId) -> Result<Arc<WorkCalendar>, WebError> {
        self.cache
            .get_or_load(district, || async {
                let years = self.store.calendar_years(district).await?;
                // Every stored year passed the same checks when it was set.
                overlay(&self.built_in, &years)
                    .map(Arc::new)
                    .map_err(|err| WebError::Internal(Box::new(err)))
            })
            .await
    }

    fn invalidate(&self, district: DistrictId) {
        self.cache.invalidate(&district);
    }
}

fn overlay(
    built_in: &WorkCalendar,
    years: &[CalendarYearRecord],
) -> Result<WorkCalendar, CalendarError> {
    years
        .iter()
        .fold(built_in.to_builder(), |builder, y| {
            builder.replace_year(y.year, &y.holidays, &y.make_up_days)
        })
        .build()
}

/// The years a district may set: wide enough for planning, narrow enough to catch typos.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A district's calendar for one year.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CalendarYear {
    /// The year.
    pub year: i32,
    /// Days off that would be working days.
    pub holidays: Vec<NaiveDate>,
    /// Weekend days worked in their place (调休).
    pub make_up_days: Vec<NaiveDate>,
    /// Whether this is the built-in schedule (the district never set this year).
    pub is_default: bool,
    /// Whether any table covers the year (else only Monday–Friday counts).
    pub known: bool,
}

async fn district_root(state: &AppState, auth: &AuthUser) -> Result<NodePath, WebError> {
    Ok(state
        .store
        .node(auth.user.district, auth.user.district.into())
        .await?
        .path)
}

/// The caller's district calendar for `year` (any staff account may read it).
pub async fn calendar_year(
    state: &AppState,
    auth: &AuthUser,
    year: i32,
) -> Result<CalendarYear, WebError> {
    if !auth.principal.allows_anywhere(Action::ViewRequests) {
        return Err(WebError::Forbidden);
    }
    if !YEARS.contains(&year) {
        return Err(WebError::Invalid("calendar.error.year"));
    }
    let district = auth.user.district;
    let own = state
        .store
        .calendar_years(district)
        .await?
        .iter()
        .any(|y| y.year == year);
    let calendar = state.calendars.of(district).await?;
    Ok(CalendarYear {
        year,
        holidays: calendar.holidays_in(year),
        make_up_days: calendar.make_up_days_in(year),
        is_default: !own,
        known: calendar.is_known_year(year),
    })
}

/// The most dates one year's table may list.
const MAX_DATES: usize = 366;

/// Whether the caller may edit the district's calendar.
pub async fn may_edit_calendar(state: &AppState, auth: &AuthUser) -> Result<bool, WebError> {
    Ok(auth
        .principal
        .allows(Action::EditCalendar, &district_root(state, auth).await?))
}

/// Replaces the district's calendar for `year` (district admins; audited). Deadlines
/// computed from now on count on it; those already set stay.
pub async fn set_calendar_year(
    state: &AppState,
    auth: &AuthUser,
    year: i32,
    mut holidays: Vec<NaiveDate>,
    mut make_up_days: Vec<NaiveDate>,
) -> Result<CalendarYear, WebError> {
    if !may_edit_calendar(state, auth).await? {
        return Err(WebError::Forbidden);
    }
    if !YEARS.contains(&year) {
        return Err(WebError::Invalid("calendar.error.year"));
    }
    for dates in [&mut holidays, &mut make_up_days] {
        dates.sort_unstable();
        dates.dedup();
    }
    if holidays.len() + make_up_days.len() > MAX_DATES {
        return Err(WebError::Invalid("calendar.error.too_many"));
    }
    // The same checks the cache applies when it lays the year over the built-in schedule.
    WorkCalendar::builder()
        .replace_year(year, &holidays, &make_up_days)
        .build()
        .map_err(|err| {
            WebError::Invalid(match err {
                CalendarError::HolidayAndMakeUp(_) => "calendar.error.both",
                _ => "calendar.error.outside_year",
            })
        })?;
    let district = auth.user.district;
    let record = CalendarYearRecord {
        year,
        holidays,
        make_up_days,
        updated_at: state.clock.now(),
    };
    state.store.set_calendar_year(district, &record).await?;
    state.calendars.invalidate(district);
    let list = |dates: &[NaiveDate]| {
        dates
            .iter()
            .map(NaiveDate::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    state
        .audit(
            auth,
            "calendar.set",
            ("calendar_year", &year.to_string()),
            &format!(
                "holidays {}; make-up days {}",
                list(&record.holidays),
                list(&record.make_up_days)
            ),
        )
        .await?;
    calendar_year(state, auth, year).await
}

/// Whether `service_code` may be pushed to the grids of the community `place` lies in.
/// Places outside any community, and communities that never set a list, admit everything.
pub async fn admitted(
    state: &AppState,
    district: DistrictId,
    place: &NodePath,
    service_code: &str,
) -> Result<bool, WebError> {
    let Some(community) = place.at(NodeKind::Community) else {
        return Ok(true);
    };
    Ok(state
        .caches
        .duty_list(district, community)
        .await?
        .is_none_or(|codes| codes.iter().any(|c| c == service_code)))
}

/// A community's duty list: the admitted catalogue codes (in catalogue order) and whether it
/// is the default (everything).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DutyList {
    /// Admitted codes.
    pub admitted: Vec<String>,
    /// Whether the community never set its list.
    pub is_default: bool,
}

async fn community_path(
    state: &AppState,
    auth: &AuthUser,
    community: mulin_domain::ids::NodeId,
) -> Result<NodePath, WebError> {
    let node = state.store.node(auth.user.district, community).await?;
    if node.path.kind() != NodeKind::Community
        || !auth.principal.allows(Action::ManageRequests, &node.path)
    {
        return Err(WebError::NotFound);
    }
    Ok(node.path)
}

/// A community's duty list (community staff of that community and above).
pub async fn duty_list(
    state: &AppState,
    auth: &AuthUser,
    community: mulin_domain::ids::NodeId,
) -> Result<DutyList, WebError> {
    let path = community_path(state, auth, community).await?;
    let own = state.store.duty_list(auth.user.district, path.id()).await?;
    let is_default = own.is_none();
    let admitted = SERVICE_CATALOGUE
        .iter()
        .filter(|s| {
            own.as_ref()
                .is_none_or(|codes| codes.iter().any(|c| c == s.code))
        })
        .map(|s| s.code.to_owned())
        .collect();
    Ok(DutyList {
        admitted,
        is_default,
    })
}

/// Sets a community's duty list (community staff of that community and above; audited).
/// Requests already taken in keep their admission; new ones are checked against it.
pub async fn set_duty_list(
    state: &AppState,
    auth: &AuthUser,
    community: mulin_domain::ids::NodeId,
    codes: &[String],
) -> Result<DutyList, WebError> {
    let path = community_path(state, auth, community).await?;
    let mut admitted = Vec::with_capacity(codes.len());
    for code in codes {
        let service =
            service_type(code.trim()).ok_or(WebError::Invalid("duty_list.error.service"))?;
        admitted.push(service.code.to_owned());
    }
    admitted.sort_unstable();
    admitted.dedup();
    state
        .store
        .set_duty_list(auth.user.district, path.id(), &admitted, state.clock.now())
        .await?;
    state
        .caches
        .duty_list_changed(auth.user.district, path.id());
    state
        .audit(
            auth,
            "duty_list.set",
            ("node", &path.id().to_string()),
            &admitted.join(","),
        )
        .await?;
    duty_list(state, auth, community).await
}
