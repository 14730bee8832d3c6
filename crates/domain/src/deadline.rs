//! Deadlines of a resident's request, set by a per-community policy.
//!
//! The "1341" response of seed 000 promises to arrive on site within 10 minutes, to solve an
//! ordinary problem within 30 minutes, a complex one within 4 hours, and to give a major one a
//! plan within 1 day. Another community (seed 002) arrives within 15 minutes, and city 12345
//! hotline work orders count working days, so every step is a [`Limit`] that runs either on
//! the plain clock or on a [`WorkCalendar`], and a [`DeadlinePolicy`] is data a community can
//! edit, checked once at construction.
//!
//! When a problem is escalated ("小事不出网格、大事不出社区") it climbs the
//! [`EscalationLevel`] ladder: grid → compound → community → street.

use chrono::{DateTime, TimeDelta, Utc};

use crate::calendar::WorkCalendar;
use crate::codes::code_enum;
use crate::tree::NodeKind;

/// How long a step may take, and on which clock it is counted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Limit {
    /// Minutes on the plain clock, nights and holidays included (arriving on site).
    Clock(u32),
    /// Minutes inside working hours of working days.
    WorkingMinutes(u32),
    /// Working days, due at close of business of the last one (hotline work orders); see
    /// [`WorkCalendar::add_working_days`] for the exact rule.
    WorkingDays(u32),
}

code_enum!(
    /// The kind of a [`Limit`], for storage and forms.
    LimitKind, "limit kind" {
        /// [`Limit::Clock`].
        Clock = "clock",
        /// [`Limit::WorkingMinutes`].
        WorkingMinutes = "working_minutes",
        /// [`Limit::WorkingDays`].
        WorkingDays = "working_days",
    }
);

/// The longest clock or working-minute limit: a year of minutes. Anything longer is a typo.
pub const MAX_LIMIT_MINUTES: u32 = 366 * 24 * 60;

/// The longest working-day limit: a year of days.
pub const MAX_LIMIT_DAYS: u32 = 366;

/// Why a limit is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// A zero limit would make every request overdue on arrival.
    #[error("a time limit must be longer than zero")]
    Zero,
    /// Limits longer than a year are typos (minutes entered as seconds, days as minutes).
    #[error("a {kind} limit of {amount} is longer than the most allowed, {max}")]
    TooLong {
        /// The kind of limit.
        kind: LimitKind,
        /// The amount given.
        amount: u32,
        /// The most allowed for that kind.
        max: u32,
    },
}

impl Limit {
    /// Builds a checked limit from its stored parts.
    pub fn from_parts(kind: LimitKind, amount: u32) -> Result<Limit, LimitError> {
        let limit = match kind {
            LimitKind::Clock => Limit::Clock(amount),
            LimitKind::WorkingMinutes => Limit::WorkingMinutes(amount),
            LimitKind::WorkingDays => Limit::WorkingDays(amount),
        };
        limit.check()
    }

    /// Checks that the limit is neither zero nor longer than a year.
    pub fn check(self) -> Result<Limit, LimitError> {
        let amount = self.amount();
        let max = match self {
            Limit::Clock(_) | Limit::WorkingMinutes(_) => MAX_LIMIT_MINUTES,
            Limit::WorkingDays(_) => MAX_LIMIT_DAYS,
        };
        if amount == 0 {
            Err(LimitError::Zero)
        } else if amount > max {
            Err(LimitError::TooLong {
                kind: self.kind(),
                amount,
                max,
            })
        } else {
            Ok(self)
        }
    }

    /// The kind, for storage.
    pub const fn kind(self) -> LimitKind {
        match self {
            Limit::Clock(_) => LimitKind::Clock,
            Limit::WorkingMinutes(_) => LimitKind::WorkingMinutes,
            Limit::WorkingDays(_) => LimitKind::WorkingDays,
        }
    }

    /// The number of minutes or days, for storage.
    pub const fn amount(self) -> u32 {
        match self {
            Limit::Clock(amount) | Limit::WorkingMinutes(amount) | Limit::WorkingDays(amount) => {
                amount
            }
        }
    }

    /// When a step started at `from` is due. Clock limits are exact; the others count on
    /// `cal`. Saturates at chrono's largest instant instead of overflowing.
    pub fn due(&self, from: DateTime<Utc>, cal: &WorkCalendar) -> DateTime<Utc> {
        match *self {
            Limit::Clock(minutes) => from
                .checked_add_signed(TimeDelta::minutes(i64::from(minutes)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Limit::WorkingMinutes(minutes) => cal.add_working_minutes(from, minutes),
            Limit::WorkingDays(days) => cal.add_working_days(from, days),
        }
    }
}

code_enum!(
    /// How hard a problem is, decided when the request is classified; it picks the resolve
    /// limit.
    Severity, "severity" {
        /// 一般: solved on the spot (30 minutes in "1341").
        Ordinary = "ordinary",
        /// 复杂: needs several hands (4 hours in "1341").
        Complex = "complex",
        /// 重大: needs a plan, usually the community committee's (1 day in "1341").
        Major = "major",
    }
);

code_enum!(
    /// A step of a request that a policy limits; names which limit a [`PolicyError`] is about.
    PolicyStep, "policy step" {
        /// Arriving on site (or first contact).
        Arrive = "arrive",
        /// Solving an ordinary problem.
        ResolveOrdinary = "resolve_ordinary",
        /// Solving a complex problem.
        ResolveComplex = "resolve_complex",
        /// Giving a major problem a plan.
        ResolveMajor = "resolve_major",
        /// A department liaison reporting back after a whistle (网格吹哨、部门报到).
        WhistleAcknowledge = "whistle_acknowledge",
        /// Verifying the result and revisiting the resident (核查, 回访).
        Verify = "verify",
    }
);

impl PolicyStep {
    /// The resolve step of a severity.
    pub const fn resolve(severity: Severity) -> PolicyStep {
        match severity {
            Severity::Ordinary => PolicyStep::ResolveOrdinary,
            Severity::Complex => PolicyStep::ResolveComplex,
            Severity::Major => PolicyStep::ResolveMajor,
        }
    }
}

/// The most extensions (延期) a policy may allow on one request.
pub const MAX_EXTENSIONS: u32 = 10;

/// Why a policy is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// One of the limits is zero or absurdly long.
    #[error("the {step} limit is invalid: {source}")]
    Limit {
        /// Which limit.
        step: PolicyStep,
        /// What is wrong with it.
        source: LimitError,
    },
    /// A harder problem must not get less time than an easier one (compared only when both
    /// limits are of the same kind): that is almost surely a typo.
    #[error("a {harder} problem gets less time than a {easier} one")]
    SeverityOrder {
        /// The easier severity.
        easier: Severity,
        /// The harder severity, given the shorter limit.
        harder: Severity,
    },
    /// More extensions than [`MAX_EXTENSIONS`] would make the deadline meaningless.
    #[error("at most {max} extensions may be allowed, not {given}")]
    TooManyExtensions {
        /// The number given.
        given: u32,
        /// The most allowed.
        max: u32,
    },
}

/// Why an extension cannot be granted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtensionError {
    /// The policy's cap on extensions is reached.
    #[error("no more extensions: the policy allows {max}")]
    CapReached {
        /// The policy's cap.
        max: u32,
    },
    /// The extension's own limit is zero or absurdly long.
    #[error("the extension is invalid: {0}")]
    Limit(#[from] LimitError),
}

/// The parts of a [`DeadlinePolicy`], unchecked: what an edit form or a stored row holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DeadlinePolicyParts {
    /// Arriving on site (or first contact), from receipt.
    pub arrive: Limit,
    /// Solving an ordinary problem, from receipt.
    pub resolve_ordinary: Limit,
    /// Solving a complex problem, from receipt.
    pub resolve_complex: Limit,
    /// Giving a major problem a plan, from receipt.
    pub resolve_major: Limit,
    /// A department liaison reporting back, from the whistle.
    pub whistle_acknowledge: Limit,
    /// Verifying the result and revisiting the resident, from resolution.
    pub verify: Limit,
    /// How many extensions one request may get.
    pub max_extensions: u32,
}

/// A community's checked deadline policy.
///
/// Invariant: every limit passes [`Limit::check`]; resolve limits of the same kind grow (or
/// stay equal) with severity; `max_extensions <= MAX_EXTENSIONS`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DeadlinePolicy {
    parts: DeadlinePolicyParts,
}

/// When a request must be reached and solved. Built by [`DeadlinePolicy::deadlines`], which
/// puts both at or after receipt; the fields are public so stored deadlines can be loaded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Deadlines {
    /// Arrive on site (or first contact) by then.
    pub arrive_by: DateTime<Utc>,
    /// Solve the problem (or, if major, give it a plan) by then.
    pub resolve_by: DateTime<Utc>,
}

impl Deadlines {
    /// The deadlines with `by` added to the current resolve deadline (an extension, 延期).
    /// The cap on extensions is the policy's business: see [`DeadlinePolicy::extend`].
    pub fn extended(self, by: &Limit, cal: &WorkCalendar) -> Deadlines {
        Deadlines {
            arrive_by: self.arrive_by,
            resolve_by: by.due(self.resolve_by, cal),
        }
    }
}

impl DeadlinePolicy {
    /// Checks a policy.
    pub fn new(parts: DeadlinePolicyParts) -> Result<DeadlinePolicy, PolicyError> {
        let steps = [
            (PolicyStep::Arrive, parts.arrive),
            (PolicyStep::ResolveOrdinary, parts.resolve_ordinary),
            (PolicyStep::ResolveComplex, parts.resolve_complex),
            (PolicyStep::ResolveMajor, parts.resolve_major),
            (PolicyStep::WhistleAcknowledge, parts.whistle_acknowledge),
            (PolicyStep::Verify, parts.verify),
        ];
        for (step, limit) in steps {
            limit
                .check()
                .map_err(|source| PolicyError::Limit { step, source })?;
        }
        let by_severity = [
            (Severity::Ordinary, parts.resolve_ordinary),
            (Severity::Complex, parts.resolve_complex),
            (Severity::Major, parts.resolve_major),
        ];
        for (i, &(easier, easier_limit)) in by_severity.iter().enumerate() {
            for &(harder, harder_limit) in &by_severity[i + 1..] {
                if easier_limit.kind() == harder_limit.kind()
                    && harder_limit.amount() < easier_limit.amount()
                {
                    return Err(PolicyError::SeverityOrder { easier, harder });
                }
            }
        }
        if parts.max_extensions > MAX_EXTENSIONS {
            return Err(PolicyError::TooManyExtensions {
                given: parts.max_extensions,
                max: MAX_EXTENSIONS,
            });
        }
        Ok(DeadlinePolicy { parts })
    }

    /// The "1341" response of seed 000, all on the clock: arrive within 10 minutes; solve an
    /// ordinary problem within 30 minutes, a complex one within 4 hours, and give a major one
    /// a plan within 1 day. A department liaison reports back within 30 minutes of a whistle.
    ///
    /// Two choices the seeds leave open: verification and revisit (核查, 回访) are due within
    /// 1 working day of resolution, since they are office work done the next working day at
    /// the latest; and one extension is allowed, as on hotline work orders.
    pub fn default_1341() -> DeadlinePolicy {
        DeadlinePolicy {
            parts: DeadlinePolicyParts {
                arrive: Limit::Clock(10),
                resolve_ordinary: Limit::Clock(30),
                resolve_complex: Limit::Clock(4 * 60),
                resolve_major: Limit::Clock(24 * 60),
                whistle_acknowledge: Limit::Clock(30),
                verify: Limit::WorkingDays(1),
                max_extensions: 1,
            },
        }
    }

    /// A city 12345 hotline work order: solved within `days` working days at every severity.
    ///
    /// The hotline sets no arrival limit of its own; first contact is due within 1 working
    /// day (close of business of the next working day). Whistles, verification and the
    /// extension cap are as in [`Self::default_1341`]. Rejects `days` of zero or over
    /// [`MAX_LIMIT_DAYS`].
    pub fn hotline(days: u32) -> Result<DeadlinePolicy, PolicyError> {
        let resolve = Limit::WorkingDays(days);
        DeadlinePolicy::new(DeadlinePolicyParts {
            arrive: Limit::WorkingDays(1),
            resolve_ordinary: resolve,
            resolve_complex: resolve,
            resolve_major: resolve,
            ..DeadlinePolicy::default_1341().parts
        })
    }

    /// The parts, to edit and check again through [`Self::new`], or to store.
    pub fn parts(&self) -> DeadlinePolicyParts {
        self.parts
    }

    /// The arrival limit.
    pub fn arrive(&self) -> Limit {
        self.parts.arrive
    }

    /// The resolve limit of a severity.
    pub fn resolve(&self, severity: Severity) -> Limit {
        match severity {
            Severity::Ordinary => self.parts.resolve_ordinary,
            Severity::Complex => self.parts.resolve_complex,
            Severity::Major => self.parts.resolve_major,
        }
    }

    /// The limit for a department liaison to report back after a whistle.
    pub fn whistle_acknowledge(&self) -> Limit {
        self.parts.whistle_acknowledge
    }

    /// The limit to verify the result and revisit the resident after resolution.
    pub fn verify(&self) -> Limit {
        self.parts.verify
    }

    /// How many extensions one request may get.
    pub fn max_extensions(&self) -> u32 {
        self.parts.max_extensions
    }

    /// The deadlines of a request of `severity` received at `received_at`.
    ///
    /// Both count from receipt. When classification changes the severity, call this again
    /// with the original `received_at` (not the time of classification): the resident has
    /// been waiting since receipt. Extensions granted before are then applied again by the
    /// caller.
    pub fn deadlines(
        &self,
        severity: Severity,
        received_at: DateTime<Utc>,
        cal: &WorkCalendar,
    ) -> Deadlines {
        Deadlines {
            arrive_by: self.parts.arrive.due(received_at, cal),
            resolve_by: self.resolve(severity).due(received_at, cal),
        }
    }

    /// When a department liaison must report back after a whistle at `whistled_at`.
    pub fn whistle_acknowledge_by(
        &self,
        whistled_at: DateTime<Utc>,
        cal: &WorkCalendar,
    ) -> DateTime<Utc> {
        self.parts.whistle_acknowledge.due(whistled_at, cal)
    }

    /// When verification and revisit are due after resolution at `resolved_at`.
    pub fn verify_by(&self, resolved_at: DateTime<Utc>, cal: &WorkCalendar) -> DateTime<Utc> {
        self.parts.verify.due(resolved_at, cal)
    }

    /// Grants an extension of `by`, added to the current resolve deadline, when fewer than
    /// the policy's cap have been granted so far.
    pub fn extend(
        &self,
        current: Deadlines,
        granted_so_far: u32,
        by: Limit,
        cal: &WorkCalendar,
    ) -> Result<Deadlines, ExtensionError> {
        if granted_so_far >= self.parts.max_extensions {
            return Err(ExtensionError::CapReached {
                max: self.parts.max_extensions,
            });
        }
        let by = by.check()?;
        Ok(current.extended(&by, cal))
    }
}

code_enum!(
    /// A rung of the escalation ladder, "小事不出网格、大事不出社区": the grid worker finds
    /// and handles, the compound's party branch proposes, the community committee decides
    /// major issues, and the street is the last resort.
    ///
    /// The ladder's order is not the tree's: the compound lies under the grid in the address
    /// tree, but its branch stands above the grid worker when a problem escalates.
    EscalationLevel, "escalation level" {
        /// 网格.
        Grid = "grid",
        /// 小区 (its party branch).
        Compound = "compound",
        /// 社区.
        Community = "community",
        /// 街道.
        Street = "street",
    }
);

impl EscalationLevel {
    /// The rung above; `None` at the street, the top.
    pub const fn next(self) -> Option<EscalationLevel> {
        match self {
            EscalationLevel::Grid => Some(EscalationLevel::Compound),
            EscalationLevel::Compound => Some(EscalationLevel::Community),
            EscalationLevel::Community => Some(EscalationLevel::Street),
            EscalationLevel::Street => None,
        }
    }

    /// The kind of node that handles the request at this rung (the node of that kind on the
    /// request's path).
    pub const fn node_kind(self) -> NodeKind {
        match self {
            EscalationLevel::Grid => NodeKind::Grid,
            EscalationLevel::Compound => NodeKind::Compound,
            EscalationLevel::Community => NodeKind::Community,
            EscalationLevel::Street => NodeKind::Street,
        }
    }

    /// The rung of a node kind, if it is on the ladder.
    pub const fn from_node_kind(kind: NodeKind) -> Option<EscalationLevel> {
        match kind {
            NodeKind::Grid => Some(EscalationLevel::Grid),
            NodeKind::Compound => Some(EscalationLevel::Compound),
            NodeKind::Community => Some(EscalationLevel::Community),
            NodeKind::Street => Some(EscalationLevel::Street),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_1341_deadlines_run_on_the_clock() {
        let cal = WorkCalendar::china_official();
        let policy = DeadlinePolicy::default_1341();
        // Received at 23:55 on National Day: the clock does not stop for the holiday.
        let received = cst(2025, 10, 1, 23, 55);
        let ordinary = policy.deadlines(Severity::Ordinary, received, &cal);
        assert_eq!(ordinary.arrive_by, cst(2025, 10, 2, 0, 5));
        assert_eq!(ordinary.resolve_by, cst(2025, 10, 2, 0, 25));
        assert_eq!(
            policy
                .deadlines(Severity::Complex, received, &cal)
                .resolve_by,
            cst(2025, 10, 2, 3, 55)
        );
        assert_eq!(
            policy.deadlines(Severity::Major, received, &cal).resolve_by,
            cst(2025, 10, 2, 23, 55)
        );
        assert_eq!(
            policy.whistle_acknowledge_by(received, &cal),
            cst(2025, 10, 2, 0, 25)
        );
        // Verification is due at close of the first working day after resolution.
        assert_eq!(
            policy.verify_by(cst(2025, 10, 2, 9, 0), &cal),
            cst(2025, 10, 9, 17, 30)
        );
    }

    #[test]
    fn reclassifying_counts_from_receipt() {
        let cal = WorkCalendar::china_official();
        let policy = DeadlinePolicy::default_1341();
        let received = cst(2025, 3, 3, 10, 0);
        let first = policy.deadlines(Severity::Ordinary, received, &cal);
        let reclassified = policy.deadlines(Severity::Complex, received, &cal);
        assert_eq!(first.arrive_by, reclassified.arrive_by);
        assert_eq!(reclassified.resolve_by, cst(2025, 3, 3, 14, 0));
    }

    #[test]
    fn a_community_may_arrive_within_15_minutes() {
        let parts = DeadlinePolicyParts {
            arrive: Limit::Clock(15),
            ..DeadlinePolicy::default_1341().parts()
        };
        let policy = DeadlinePolicy::new(parts).unwrap();
        let cal = WorkCalendar::china_official();
        let received = cst(2025, 3, 3, 10, 0);
        assert_eq!(
            policy
                .deadlines(Severity::Ordinary, received, &cal)
                .arrive_by,
            cst(2025, 3, 3, 10, 15)
        );
    }

    #[test]
    fn hotline_orders_count_working_days() {
        let cal = WorkCalendar::china_official();
        let policy = DeadlinePolicy::hotline(7).unwrap();
        // Received the evening before National Day 2025.
        let deadlines = policy.deadlines(Severity::Major, cst(2025, 9, 30, 20, 0), &cal);
        assert_eq!(deadlines.arrive_by, cst(2025, 10, 9, 17, 30));
        assert_eq!(deadlines.resolve_by, cst(2025, 10, 16, 17, 30));
        assert_eq!(
            DeadlinePolicy::hotline(0),
            Err(PolicyError::Limit {
                step: PolicyStep::ResolveOrdinary,
                source: LimitError::Zero
            })
        );
        assert!(DeadlinePolicy::hotline(MAX_LIMIT_DAYS).is_ok());
        assert!(DeadlinePolicy::hotline(MAX_LIMIT_DAYS + 1).is_err());
    }

    #[test]
    fn policies_reject_zero_absurd_and_inverted_limits() {
        let base = DeadlinePolicy::default_1341().parts();
        assert_eq!(
            DeadlinePolicy::new(DeadlinePolicyParts {
                arrive: Limit::Clock(0),
                ..base
            }),
            Err(PolicyError::Limit {
                step: PolicyStep::Arrive,
                source: LimitError::Zero
            })
        );
        assert!(DeadlinePolicy::new(DeadlinePolicyParts {
            whistle_acknowledge: Limit::Clock(MAX_LIMIT_MINUTES),
            ..base
        })
        .is_ok());
        assert_eq!(
            DeadlinePolicy::new(DeadlinePolicyParts {
                whistle_acknowledge: Limit::Clock(MAX_LIMIT_MINUTES + 1),
                ..base
            }),
            Err(PolicyError::Limit {
                step: PolicyStep::WhistleAcknowledge,
                source: LimitError::TooLong {
                    kind: LimitKind::Clock,
                    amount: MAX_LIMIT_MINUTES + 1,
                    max: MAX_LIMIT_MINUTES
                }
            })
        );
        assert_eq!(
            DeadlinePolicy::new(DeadlinePolicyParts {
                resolve_major: Limit::Clock(20),
                ..base
            }),
            Err(PolicyError::SeverityOrder {
                easier: Severity::Ordinary,
                harder: Severity::Major
            })
        );
        // Different kinds are not compared.
        assert!(DeadlinePolicy::new(DeadlinePolicyParts {
            resolve_major: Limit::WorkingDays(1),
            ..base
        })
        .is_ok());
        assert!(DeadlinePolicy::new(DeadlinePolicyParts {
            max_extensions: MAX_EXTENSIONS,
            ..base
        })
        .is_ok());
        assert_eq!(
            DeadlinePolicy::new(DeadlinePolicyParts {
                max_extensions: MAX_EXTENSIONS + 1,
                ..base
            }),
            Err(PolicyError::TooManyExtensions {
                given: MAX_EXTENSIONS + 1,
                max: MAX_EXTENSIONS
            })
        );
        assert_eq!(
            DeadlinePolicy::new(base),
            Ok(DeadlinePolicy::default_1341())
        );
    }

    #[test]
    fn extensions_add_to_the_current_deadline_up_to_the_cap() {
        let cal = WorkCalendar::china_official();
        let policy = DeadlinePolicy::default_1341();
        let current = policy.deadlines(Severity::Complex, cst(2025, 3, 3, 10, 0), &cal);
        let extended = policy
            .extend(current, 0, Limit::WorkingDays(2), &cal)
            .unwrap();
        assert_eq!(extended.arrive_by, current.arrive_by);
        assert_eq!(extended.resolve_by, cst(2025, 3, 5, 17, 30));
        assert_eq!(
            policy.extend(extended, 1, Limit::Clock(60), &cal),
            Err(ExtensionError::CapReached { max: 1 })
        );
        assert_eq!(
            policy.extend(current, 0, Limit::Clock(0), &cal),
            Err(ExtensionError::Limit(LimitError::Zero))
        );
    }

    #[test]
    fn limits_round_trip_through_their_parts() {
        for limit in [
            Limit::Clock(10),
            Limit::WorkingMinutes(120),
            Limit::WorkingDays(7),
        ] {
            let kind = LimitKind::parse(limit.kind().as_str()).unwrap();
            assert_eq!(Limit::from_parts(kind, limit.amount()), Ok(limit));
        }
        assert_eq!(
            Limit::from_parts(LimitKind::WorkingDays, MAX_LIMIT_DAYS + 1),
            Err(LimitError::TooLong {
                kind: LimitKind::WorkingDays,
                amount: MAX_LIMIT_DAYS + 1,
                max: MAX_LIMIT_DAYS
            })
        );
        assert_eq!(Severity::parse("complex"), Ok(Severity::Complex));
        assert!(Severity::parse("urgent").is_err());
    }

    #[test]
    fn the_escalation_ladder_climbs_to_the_street() {
        let mut level = EscalationLevel::Grid;
        let mut climbed = vec![level];
        while let Some(next) = level.next() {
            level = next;
            climbed.push(level);
        }
        assert_eq!(climbed, EscalationLevel::ALL);
        let kinds: Vec<NodeKind> = climbed.iter().map(|level| level.node_kind()).collect();
        assert_eq!(
            kinds,
            [
                NodeKind::Grid,
                NodeKind::Compound,
                NodeKind::Community,
                NodeKind::Street
            ]
        );
        for level in EscalationLevel::ALL {
            assert_eq!(
                EscalationLevel::from_node_kind(level.node_kind()),
                Some(*level)
            );
            assert_eq!(EscalationLevel::parse(level.as_str()), Ok(*level));
        }
        assert_eq!(EscalationLevel::from_node_kind(NodeKind::Household), None);
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let start = cst(2023, 6, 1, 0, 0).timestamp();
        let end = cst(2027, 12, 31, 0, 0).timestamp();
        (start..end).prop_map(|secs| DateTime::from_timestamp(secs, 0).unwrap())
    }

    fn limit() -> impl Strategy<Value = Limit> {
        prop_oneof![
            (1..=MAX_LIMIT_MINUTES).prop_map(Limit::Clock),
            (1u32..50_000).prop_map(Limit::WorkingMinutes),
            (1u32..=60).prop_map(Limit::WorkingDays),
        ]
    }

    proptest! {
        #[test]
        fn clock_limits_are_exact(from in instant(), minutes in 0u32..=MAX_LIMIT_MINUTES) {
            let cal = WorkCalendar::china_official();
            prop_assert_eq!(
                Limit::Clock(minutes).due(from, &cal),
                from + TimeDelta::minutes(i64::from(minutes))
            );
        }

        #[test]
        fn every_deadline_is_after_its_start(from in instant(), limit in limit()) {
            let cal = WorkCalendar::china_official();
            prop_assert!(limit.due(from, &cal) > from);
        }

        #[test]
        fn a_holiday_never_brings_a_deadline_forward(
            from in instant(),
            holiday in instant(),
            limit in limit(),
        ) {
            let cal = WorkCalendar::china_official();
            let day = holiday.with_timezone(&cal.hours().offset()).date_naive();
            let more = cal.to_builder().add_holiday(day).build().unwrap();
            prop_assert!(limit.due(from, &more) >= limit.due(from, &cal));
        }
    }
}
