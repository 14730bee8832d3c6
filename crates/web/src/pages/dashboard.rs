//! The KPI dashboard's charts on the request stats page: the pickers (the node, its parent
//! and children the caller may see; the period) and the chart data, handed to
//! `assets/dashboard.js` in a data attribute with every label already translated, so the
//! script holds no UI text and the figures table still works without it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mulin_domain::policy::Action;
use mulin_storage::NodeRecord;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::dashboard::{self, MAX_DAYS};
use crate::error::WebError;
use crate::i18n::Tr;
use crate::requests::RequestStats;
use crate::AppState;

/// The periods offered, in days.
pub(super) const PERIODS: [i64; 4] = [7, 30, 90, 365];

/// One choice of a picker.
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// The nodes the scope picker offers: the parent (when the caller may see it), the node and
/// its children.
pub(super) async fn scope_choices(
    state: &AppState,
    auth: &AuthUser,
    node: &NodeRecord,
) -> Result<Vec<Choice>, WebError> {
    let district = auth.user.district;
    let mut nodes = Vec::new();
    if let Some(parent) = node.path.parent() {
        let parent = state.store.node(district, parent).await?;
        if auth
            .principal
            .allows(Action::ViewRequestStats, &parent.path)
        {
            nodes.push(parent);
        }
    }
    nodes.push(node.clone());
    nodes.extend(state.store.children(district, node.path.id()).await?);
    let current = node.path.id();
    Ok(nodes
        .into_iter()
        .map(|n| Choice {
            value: n.path.id().to_string(),
            label: if n.path.parent() == Some(current) {
                format!("— {}", n.name)
            } else {
                n.name
            },
            selected: n.path.id() == current,
        })
        .collect())
}

/// The period picker's choices, `days` selected (and offered, when a link asked for a
/// length the picker does not list).
pub(super) fn period_choices(t: &Tr, days: i64) -> Vec<Choice> {
    let mut lengths = PERIODS.to_vec();
    if !lengths.contains(&days) {
        lengths.push(days);
        lengths.sort_unstable();
    }
    lengths
        .iter()
        .map(|n| Choice {
            value: n.to_string(),
            label: t.get("dashboard.days").replace("{n}", &n.to_string()),
            selected: *n == days,
        })
        .collect()
}

#[derive(Serialize)]
struct Rate {
    label: String,
    now: Option<f64>,
    before: Option<f64>,
}

#[derive(Serialize)]
struct Day {
    date: String,
    total: i64,
    on_time_rate: Option<f64>,
}

#[derive(Serialize)]
struct Chart {
    labels: BTreeMap<&'static str, String>,
    rates: Vec<Rate>,
    composite: Option<f64>,
    composite_before: Option<f64>,
    daily: Vec<Day>,
}

/// The charts' data as JSON: the four rates against the previous period, the "三率"
/// composite, and the last (at most 92) days of the period day by day.
pub(super) async fn chart_json(
    state: &AppState,
    auth: &AuthUser,
    node: &NodeRecord,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    (now, before): (&RequestStats, &RequestStats),
    t: &Tr,
) -> Result<String, WebError> {
    let trend_from = from.max(to - chrono::Duration::days(MAX_DAYS));
    let daily = dashboard::daily(state, auth, node.path.id(), trend_from, to).await?;
    let labels = [
        ("this_period", "stats.this_period"),
        ("previous_period", "stats.previous_period"),
        ("compare", "dashboard.compare"),
        ("composite", "dashboard.composite"),
        ("trend", "dashboard.trend"),
        ("intake", "dashboard.intake"),
        ("on_time", "stats.on_time_rate"),
    ]
    .into_iter()
    .map(|(name, key)| (name, t.get(key).to_owned()))
    .collect();
    let rate = |key: &'static str, of: fn(&RequestStats) -> Option<f64>| Rate {
        label: t.get(key).to_owned(),
        now: of(now),
        before: of(before),
    };
    let chart = Chart {
        labels,
        rates: vec![
            rate("stats.response_rate", |s| s.response_rate),
            rate("stats.on_time_rate", |s| s.on_time_rate),
            rate("stats.resolution_rate", |s| s.resolution_rate),
            rate("stats.satisfaction_rate", |s| s.satisfaction_rate),
        ],
        composite: now.composite,
        composite_before: before.composite,
        daily: daily
            .iter()
            .map(|day| Day {
                date: day.date.format("%m-%d").to_string(),
                total: day.stats.tallies.total,
                on_time_rate: day.stats.on_time_rate,
            })
            .collect(),
    };
    serde_json::to_string(&chart).map_err(|err| WebError::Internal(Box::new(err)))
}
