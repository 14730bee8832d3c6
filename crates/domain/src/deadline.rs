//! SHIM (replaced by the calendar branch at merge).
use crate::calendar::WorkCalendar;
use crate::codes::code_enum;
use chrono::{DateTime, Utc};
code_enum!(
    /// Severity.
    Severity, "severity" {
        /// o
        Ordinary = "ordinary",
        /// c
        Complex = "complex",
        /// m
        Major = "major",
    }
);
/// Limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// c
    Clock(u32),
    /// w
    WorkingMinutes(u32),
    /// d
    WorkingDays(u32),
}
impl Limit {
    /// due
    pub fn due(&self, from: DateTime<Utc>, cal: &WorkCalendar) -> DateTime<Utc> {
        match *self {
            Limit::Clock(m) | Limit::WorkingMinutes(m) => from + chrono::Duration::minutes(i64::from(m)),
            Limit::WorkingDays(d) => cal.add_working_days(from, d),
        }
    }
}
/// Deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// a
    pub arrive_by: DateTime<Utc>,
    /// r
    pub resolve_by: DateTime<Utc>,
}
/// Policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlinePolicy;
impl DeadlinePolicy {
    /// d
    pub fn default_1341() -> DeadlinePolicy {
        DeadlinePolicy
    }
    /// d
    pub fn deadlines(&self, severity: Severity, received_at: DateTime<Utc>, cal: &WorkCalendar) -> Deadlines {
        let r = match severity { Severity::Ordinary => 30, Severity::Complex => 240, Severity::Major => 1440 };
        Deadlines { arrive_by: Limit::Clock(10).due(received_at, cal), resolve_by: Limit::Clock(r).due(received_at, cal) }
    }
}
code_enum!(
    /// Level.
    EscalationLevel, "escalation level" {
        /// g
        Grid = "grid",
        /// c
        Compound = "compound",
        /// c
        Community = "community",
        /// s
        Street = "street",
    }
);
impl EscalationLevel {
    /// n
    pub fn next(self) -> Option<EscalationLevel> {
        match self {
            EscalationLevel::Grid => Some(EscalationLevel::Compound),
            EscalationLevel::Compound => Some(EscalationLevel::Community),
            EscalationLevel::Community => Some(EscalationLevel::Street),
            EscalationLevel::Street => None,
        }
    }
}
