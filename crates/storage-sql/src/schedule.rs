//! `impl ScheduleStore for SqlStore`: communities' duty lists and districts' calendars.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mulin_domain::ids::{DistrictId, NodeId};
use mulin_storage::{CalendarYearRecord, ScheduleStore, StoreResult};

use crate::rows::{corrupt, instant, millis};
use crate::sql::{get, Arg, Sql};
use crate::store::id_text;
use crate::SqlStore;

fn dates_to_text(dates: &[NaiveDate]) -> String {
    serde_json::Value::from(
        dates
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn texts_from_json(text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(corrupt)
}

fn dates_from_text(text: &str) -> StoreResult<Vec<NaiveDate>> {
    texts_from_json(text)?
        .iter()
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(corrupt))
        .collect()
}

#[async_trait]
impl ScheduleStore for SqlStore {
    async fn duty_list(
        &self,
        district: DistrictId,
        community: NodeId,
    ) -> StoreResult<Option<Vec<String>>> {
        let mut sql = Sql::new("SELECT service_codes FROM duty_lists WHERE district_id = ");
        sql.bind(district.to_string())
            .push(" AND community_id = ")
            .bind(community.to_string());
        let Some(row) = self.fetch_all(&sql).await?.into_iter().next() else {
            return Ok(None);
        };
        let codes: String = get(&row, "service_codes")?;
        texts_from_json(&codes).map(Some)
    }

    async fn set_duty_list(
        &self,
        district: DistrictId,
        community: NodeId,
        service_codes: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO duty_lists (district_id, community_id, service_codes, updated_at) \
             VALUES ",
        );
        sql.bind_row(vec![
            id_text(district),
            id_text(community),
            Arg::from(serde_json::Value::from(service_codes.to_vec()).to_string()),
            Arg::from(millis(at)),
        ]);
        sql.push(
            " ON CONFLICT (district_id, community_id) DO UPDATE SET \
             service_codes = excluded.service_codes, updated_at = excluded.updated_at",
        );
        self.execute(&sql).await?;
        Ok(())
    }

    async fn calendar_years(&self, district: DistrictId) -> StoreResult<Vec<CalendarYearRecord>> {
        let mut sql = Sql::new(
            "SELECT year, holidays, make_up_days, updated_at FROM work_calendar_years \
             WHERE district_id = ",
        );
        sql.bind(district.to_string()).push(" ORDER BY year");
        self.fetch_all(&sql)
            .await?
            .iter()
            .map(|row| {
                let year: i64 = get(row, "year")?;
                let holidays: String = get(row, "holidays")?;
                let make_up_days: String = get(row, "make_up_days")?;
                Ok(CalendarYearRecord {
                    year: i32::try_from(year).map_err(corrupt)?,
                    holidays: dates_from_text(&holidays)?,
                    make_up_days: dates_from_text(&make_up_days)?,
                    updated_at: instant(row, "updated_at")?,
                })
            })
            .collect()
    }

    async fn set_calendar_year(
        &self,
        district: DistrictId,
        year: &CalendarYearRecord,
    ) -> StoreResult<()> {
        let mut sql = Sql::new(
            "INSERT INTO work_calendar_years (district_id, year, holidays, make_up_days, \
             updated_at) VALUES ",
        );
        sql.bind_row(vec![
            id_text(district),
            Arg::from(i64::from(year.year)),
            Arg::from(dates_to_text(&year.holidays)),
            Arg::from(dates_to_text(&year.make_up_days)),
            Arg::from(millis(year.updated_at)),
        ]);
        sql.push(
            " ON CONFLICT (district_id, year) DO UPDATE SET holidays = excluded.holidays, \
             make_up_days = excluded.make_up_days, updated_at = excluded.updated_at",
        );
        self.execute(&sql).await?;
        Ok(())
    }
}
