//! `mulin bench requests`: how fast requests come in and how soon a missed deadline is
//! seen, on a demo district in an empty database.
//!
//! - Intake: durable intakes per second and p50/p99 latency through the JSON API and through
//!   Open311 `POST requests` (HTTP on loopback, several clients), beside the baseline of raw
//!   single-row durable inserts of the same records into the same database, in the same run.
//! - Breach detection: with many open requests whose deadlines lie ahead, a batch of
//!   requests falls due during the run; the delay from each deadline to its recorded breach
//!   (the scheduler as `mulin serve` runs it).
//! - KPIs: the time of the request figures for the whole district and for one grid, over
//!   whole days and over periods ending now, and of the dashboard's daily series, after each
//!   of several bulk-loaded sizes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use mulin_domain::deadline::{EscalationLevel, Severity};
use mulin_domain::ids::{DistrictId, RequestId};
use mulin_domain::request::{Channel, EventKind, RequestState, RequestStatus};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{Open311KeyRecord, RequestEvent, RequestRecord, Storage};
use mulin_web::clock::{Clock, SystemClock};
use mulin_web::{AppState, Application, WebSettings};

const PASSWORD: &str = "bench-password";

/// What to measure.
pub struct Sizes {
    /// Households of the demo district.
    pub households: usize,
    /// Requests per intake path in each round.
    pub intakes: usize,
    /// Rounds of the three intake paths.
    pub rounds: usize,
    /// Concurrent HTTP clients.
    pub clients: usize,
    /// Open requests waiting while deadlines fall due.
    pub open: usize,
    /// Requests that fall due during the breach measurement.
    pub due: usize,
    /// Requests of the past year, in every state, bulk-loaded before the KPI timing: the
    /// cumulative sizes KPIs are timed at.
    pub kpi: Vec<usize>,
    /// Days before now the `kpi` requests are spread over (365: a year).
    pub kpi_days: u32,
}

/// Requests per bulk-load transaction. The rollup of a batch is summed before it is
/// written, and a batch of a year's requests in time order covers a few days, so bigger
/// batches write fewer rollup rows per request: 5,000 a batch wrote about as many rollup
/// upserts as requests at 1,000,000 a year.
const BULK_CHUNK: usize = 50_000;

/// Times each KPI query is run; the median and the 99th percentile are reported.
const KPI_RUNS: usize = 20;

/// Bulk-loads `n` requests made by `make(i)`, `BULK_CHUNK` per transaction; the wall time.
async fn bulk_load(
    store: &Arc<dyn Storage>,
    n: usize,
    make: impl Fn(usize) -> RequestRecord,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + BULK_CHUNK).min(n);
        let chunk: Vec<(RequestRecord, Vec<RequestEvent>)> = (i..end)
            .map(|i| {
                let r = make(i);
                let first = first_event(r.received_at);
                (r, vec![first])
            })
            .collect();
        store.insert_requests(&chunk).await?;
        i = end;
    }
    Ok(started.elapsed())
}

/// A deterministic spread of values from an index (SplitMix64).
fn mix(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A handling time in minutes as the "1341" rule and hotline work spread them, from a random
/// `h`: 60 % of problems solved within the hour, 25 % within 4 hours, 10 % within the day,
/// 5 % hotline-style orders taking one to fifteen days.
fn handling_minutes(h: u64) -> i64 {
    let within = |from: u64, to: u64| (from + (h >> 8) % (to - from)) as i64;
    match h % 20 {
        0..=11 => within(5, 60),
        12..=16 => within(60, 240),
        17..=18 => within(240, 1_440),
        _ => within(1_440, 15 * 1_440),
    }
}

/// Request `i` of `n` spread evenly over the `days` before `now`, in time order, in the
/// states a year of work leaves: most solved (see [`handling_minutes`]) and rated, some
/// late with their breaches recorded and escalated, a few whistled departments late.
/// `seed` picks its place and fate.
fn past_request(
    buildings: &[NodePath],
    (now, days): (DateTime<Utc>, u32),
    seed: usize,
    i: usize,
    n: usize,
) -> RequestRecord {
    let span_ms = chrono::Duration::days(i64::from(days)).num_milliseconds();
    let at = now - chrono::Duration::milliseconds(span_ms - span_ms * i as i64 / n.max(1) as i64);
    let h = mix(seed);
    let mut r = record(
        buildings[(h % buildings.len() as u64) as usize],
        at,
        chrono::Duration::minutes(10),
    );
    let arrive_after = chrono::Duration::minutes((h >> 8) as i64 % 15);
    let handling = chrono::Duration::minutes(handling_minutes(mix(!seed)));
    if (h >> 32) % 10 < 9 {
        r.arrived_at = Some(at + arrive_after);
        r.resolved_at = Some(at + handling);
        r.state.status = RequestStatus::Closed;
        r.closed_at = r.resolved_at;
        r.rating = mulin_domain::request::Rating::new(1 + ((h >> 40) % 5) as u8).ok();
    }
    r.arrive_breached = r.arrived_at.is_none_or(|a| a > r.arrive_due);
    r.resolve_breached = r.resolved_at.is_none_or(|s| s > r.resolve_due);
    for _ in 0..(u8::from(r.arrive_breached) + u8::from(r.resolve_breached)) {
        r.state.level = r.state.level.next().unwrap_or(r.state.level);
    }
    if (h >> 48).is_multiple_of(50) {
        let departments = mulin_domain::org::Department::ALL;
        r.whistle_department = Some(departments[(h >> 52) as usize % departments.len()]);
        r.whistle_breached = true;
    }
    r
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn record(place: NodePath, now: DateTime<Utc>, arrive_in: chrono::Duration) -> RequestRecord {
    RequestRecord {
        id: RequestId::new_v7(),
        district: place.district().into(),
        place,
        address: Some("bench".into()),
        position: None,
        service_code: "sanitation".into(),
        severity: Severity::Ordinary,
        channel: Channel::Api,
        state: RequestState {
            status: RequestStatus::Dispatched,
            level: EscalationLevel::Grid,
            whistle_open: false,
            whistle_acknowledged: false,
            extension_pending: None,
            major: None,
            admission_pending: false,
        },
        title: "楼道堆放杂物".into(),
        description: "三单元楼道堆满杂物，影响通行".into(),
        reporter_name: None,
        reporter_phone: None,
        submitted_by: None,
        received_at: now,
        arrive_due: now + arrive_in,
        resolve_due: now + arrive_in + chrono::Duration::minutes(20),
        arrived_at: None,
        resolved_at: None,
        closed_at: None,
        rating: None,
        arrive_breached: false,
        resolve_breached: false,
        whistle_department: None,
        whistle_liaison: None,
        whistle_due: None,
        whistle_breached: false,
        external_ref: None,
        merged_into: None,
        seq: 1,
        updated_at: now,
    }
}

fn first_event(at: DateTime<Utc>) -> RequestEvent {
    RequestEvent {
        seq: 1,
        at,
        kind: EventKind::Received,
        actor: None,
        actor_name: "bench".into(),
        note: String::new(),
        data: Vec::new(),
    }
}

/// Runs `n` requests over `clients` concurrent tasks; returns the wall time and each
/// request's latency.
async fn hammer<F, Fut>(
    n: usize,
    clients: usize,
    one: F,
) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c;
            while i < n {
                let t = Instant::now();
                one(i).await?;
                lat.push(t.elapsed());
                i += clients;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort();
    Ok((started.elapsed(), all))
}

/// What the intake rounds send with: the storage for the baselines, and one HTTP
/// client (its connection pool shared by the concurrent tasks) for the two channels.
struct Clients {
    store: Arc<dyn Storage>,
    buildings: Arc<Vec<NodePath>>,
    http: reqwest::Client,
    api_url: Arc<str>,
    open311_url: Arc<str>,
    bearer: Arc<str>,
    key: Arc<str>,
    clients: usize,
}

/// The two baselines and the two intake paths, in the order each round runs them.
#[derive(Clone, Copy)]
enum IntakePath {
    /// The barest durable write of the storage layer: one audit entry (one row, two
    /// indexes) in its own transaction, through the same pool.
    Bare,
    /// The request record with its first event and its rollup counters, one transaction
    /// each, straight into storage: what an intake writes, without HTTP or the handlers.
    Raw,
    Api,
    Open311,
}

/// Where the baselines sit in [`IntakePath::ALL`].
const BARE: usize = 0;
const RAW: usize = 1;

impl IntakePath {
    const ALL: [IntakePath; 4] = [
        IntakePath::Bare,
        IntakePath::Raw,
        IntakePath::Api,
        IntakePath::Open311,
    ];

    fn name(self) -> &'static str {
        match self {
            IntakePath::Bare => "bare single-row insert (an audit entry)",
            IntakePath::Raw => "raw single-row insert (storage)",
            IntakePath::Api => "JSON API `POST /api/v1/requests`",
            IntakePath::Open311 => "Open311 `POST requests.json`",
        }
    }
}

impl Clients {
    /// `n` intakes through `path` from the concurrent clients: the wall time and each
    /// intake's latency.
    async fn run(&self, path: IntakePath, n: usize) -> anyhow::Result<(Duration, Vec<Duration>)> {
        match path {
            IntakePath::Bare => {
                let store = self.store.clone();
                let district: DistrictId = self.buildings[0].district().into();
                hammer(n, self.clients, move |i| {
                    let store = store.clone();
                    async move {
                        let entry = mulin_storage::AuditEntry {
                            id: uuid::Uuid::now_v7(),
                            district,
                            at: SystemClock.now(),
                            user_id: None,
                            username: "bench".into(),
                            action: "bench.insert".into(),
                            target_kind: "bench".into(),
                            target_id: i.to_string(),
                            ip: None,
                            detail: String::new(),
                        };
                        store.append_audit(&entry).await?;
                        Ok(())
                    }
                })
                .await
            }
            IntakePath::Raw => {
                // Deadlines a day ahead, so none falls due during the run.
                let (store, buildings) = (self.store.clone(), self.buildings.clone());
                hammer(n, self.clients, move |i| {
                    let (store, buildings) = (store.clone(), buildings.clone());
                    async move {
                        let now = SystemClock.now();
                        let place = buildings[i % buildings.len()];
                        let r = record(place, now, chrono::Duration::days(1));
                        store.insert_request(&r, &[first_event(now)], &[]).await?;
                        Ok(())
                    }
                })
                .await
            }
            IntakePath::Api => {
                // The bodies differ only in the address; they are made before the clock
                // starts, so the client's own JSON work is not counted against the server.
                let bodies = self.bodies(n, |address| {
                    serde_json::json!({
                        "service_code": "sanitation",
                        "description": "三单元楼道堆满杂物，影响通行",
                        "address_node_id": address,
                    })
                    .to_string()
                });
                let (http, url, bearer) =
                    (self.http.clone(), self.api_url.clone(), self.bearer.clone());
                hammer(n, self.clients, move |i| {
                    let request = http
                        .post(&*url)
                        .header(reqwest::header::AUTHORIZATION, &*bearer)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(bodies[i].clone());
                    send(request, "JSON API")
                })
                .await
            }
            IntakePath::Open311 => {
                let key = self.key.clone();
                let bodies = self.bodies(n, |address| {
                    serde_urlencoded::to_string([
                        ("api_key", &*key),
                        ("service_code", "sanitation"),
                        ("address_id", &address),
                        ("description", "三单元楼道堆满杂物，影响通行"),
                    ])
                    .unwrap_or_default()
                });
                let (http, url) = (self.http.clone(), self.open311_url.clone());
                hammer(n, self.clients, move |i| {
                    let request = http
                        .post(&*url)
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        )
                        .body(bodies[i].clone());
                    send(request, "Open311")
                })
                .await
            }
        }
    }

    /// One request body per intake, addressed to the buildings in turn.
    fn bodies(&self, n: usize, body: impl Fn(String) -> String) -> Arc<Vec<String>> {
        Arc::new(
            (0..n)
                .map(|i| {
                    let address = self.buildings[i % self.buildings.len()].id().to_string();
                    body(address)
                })
                .collect(),
        )
    }
}

async fn send(request: reqwest::RequestBuilder, channel: &str) -> anyhow::Result<()> {
    let res = request.send().await?;
    if res.status() != reqwest::StatusCode::CREATED {
        bail!("{channel} intake answered {}", res.status());
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Requests per path sent before the rounds and not counted: the first ones fill the
/// caches, open the connections and prepare the statements.
const WARM_UP: usize = 200;

/// The CPU time this process has used (user + system), from `/proc/self/stat`; none where
/// that file does not exist. The ticks are 1/100 s on Linux, fine for phases of seconds.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// `rounds` rounds of the two baselines, JSON API and Open311 intake, `n` requests per path
/// each, one path after the other, so a busy moment of a shared machine weighs on one round
/// of each path rather than deciding a whole path's figure. Prints each round's rates and
/// ratios (against that round's raw rate), then per path the median rate, the medians of
/// the rounds' ratios to the raw and to the bare rate, the latency percentiles over every
/// round, and the CPU time the whole process (client, server, database) spent per intake:
/// on a machine shared with other work, that moves far less than the wall time does.
async fn intake_rounds(clients: &Clients, n: usize, rounds: usize) -> anyhow::Result<()> {
    for path in IntakePath::ALL {
        clients.run(path, WARM_UP.min(n)).await?;
    }
    let mut rates: [Vec<f64>; 4] = Default::default();
    let mut cpu_per_intake: [Vec<f64>; 4] = Default::default();
    let mut latencies: [Vec<Duration>; 4] = Default::default();
    println!();
    println!("| round | bare inserts/s | raw inserts/s | JSON API/s | ratio | Open311/s | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for round in 1..=rounds {
        let mut this = [0.0; 4];
        for (idx, path) in IntakePath::ALL.into_iter().enumerate() {
            let cpu_before = cpu_time();
            let (wall, lat) = clients.run(path, n).await?;
            if let Some((after, before)) = cpu_time().zip(cpu_before) {
                cpu_per_intake[idx].push(ms(after - before) / n as f64);
            }
            this[idx] = n as f64 / wall.as_secs_f64();
            latencies[idx].extend(lat);
        }
        println!(
            "| {round} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} |",
            this[BARE],
            this[RAW],
            this[2],
            this[2] / this[RAW],
            this[3],
            this[3] / this[RAW]
        );
        for (idx, rate) in this.into_iter().enumerate() {
            rates[idx].push(rate);
        }
    }
    println!();
    println!(
        "| intake path | requests ({rounds} rounds) | median per second | p50 ms | p99 ms | median of round ratios to raw | to bare | CPU ms per intake (median) | raw CPU ÷ this CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let raw_cpu = median(&cpu_per_intake[RAW]);
    let median_ratio = |idx: usize, base: usize| {
        let ratios: Vec<f64> = rates[idx]
            .iter()
            .zip(&rates[base])
            .map(|(rate, base)| rate / base)
            .collect();
        median(&ratios)
    };
    for (idx, path) in IntakePath::ALL.into_iter().enumerate() {
        latencies[idx].sort();
        let cpu = median(&cpu_per_intake[idx]);
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.2} |",
            path.name(),
            n * rounds,
            median(&rates[idx]),
            ms(percentile(&latencies[idx], 0.5)),
            ms(percentile(&latencies[idx], 0.99)),
            median_ratio(idx, RAW),
            median_ratio(idx, BARE),
            cpu,
            raw_cpu / cpu
        );
    }
    Ok(())
}

/// Runs the benchmark and prints Markdown tables.
pub async fn run(store: Arc<dyn Storage>, sizes: Sizes) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        bail!(
            "bench requests needs an empty database (a fresh data folder or PostgreSQL database)"
        );
    }
    let clock = SystemClock;
    let hash = mulin_web::auth::hash_password(PASSWORD.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let demo = mulin_demo::generate(&mulin_demo::DemoParams {
        households: sizes.households,
        seed: 2026,
        today: clock.today(),
        now: clock.now(),
        password_hash: hash,
    })?;
    store.load(&demo.dataset).await?;
    store.mark_demo().await?;
    let buildings: Vec<NodePath> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Building)
        .map(|n| n.path)
        .collect();
    let district = demo.dataset.nodes[0].path;
    println!(
        "backend {}, {} households, {} buildings, {} clients",
        store.backend_name(),
        sizes.households,
        buildings.len(),
        sizes.clients
    );
    println!();
    let state = AppState::new(
        store.clone(),
        Arc::new(SystemClock),
        WebSettings::local(),
        true,
    );
    // Breach detection first, so no request of the intake runs below falls due meanwhile:
    // many open requests owe nothing soon; a batch falls due in 2–4 s.
    let now = clock.now();
    let filler = bulk_load(&store, sizes.open, |i| {
        record(
            buildings[i % buildings.len()],
            now,
            chrono::Duration::days(1),
        )
    })
    .await?;
    let start = clock.now() + chrono::Duration::seconds(2);
    let mut due = Vec::with_capacity(sizes.due);
    for i in 0..sizes.due {
        let now = clock.now();
        let mut r = record(
            buildings[i % buildings.len()],
            now,
            chrono::Duration::zero(),
        );
        r.arrive_due =
            start + chrono::Duration::milliseconds(i as i64 * 2000 / sizes.due.max(1) as i64);
        r.resolve_due = r.arrive_due + chrono::Duration::days(1);
        store.insert_request(&r, &[first_event(now)], &[]).await?;
        due.push(r);
    }
    let scheduler = mulin_web::requests::spawn_scheduler(
        state.clone(),
        mulin_web::requests::DEFAULT_SWEEP_EVERY,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut delays = Vec::with_capacity(due.len());
    for r in &due {
        loop {
            let events = store.request_events(r.district, r.id).await?;
            if let Some(breach) = events.iter().find(|e| e.kind == EventKind::Breached) {
                let late = (breach.at - r.arrive_due)
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                delays.push(late);
                break;
            }
            if Instant::now() > deadline {
                bail!("a breach was not recorded within a minute");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    scheduler.abort();
    delays.sort();
    println!();
    println!(
        "| open requests waiting | falling due | breach delay p50 | p99 | max | (filler inserted in) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} s |",
        sizes.open,
        sizes.due,
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(delays.last().copied().unwrap_or_default()),
        filler.as_secs_f64()
    );

    let app = Application::build("127.0.0.1:0", state.clone()).await?;
    let base = format!("http://{}", app.local_addr()?);
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("the bench could not log in")?
        .to_owned();
    let key = hex_key();
    store
        .insert_open311_key(&Open311KeyRecord {
            district: district.id().into(),
            id: uuid::Uuid::now_v7(),
            name: "bench".into(),
            key_hash: mulin_web::auth::token_hash(&key),
            created_at: clock.now(),
            revoked_at: None,
        })
        .await?;
    let clients = Clients {
        store: store.clone(),
        buildings: Arc::new(buildings.clone()),
        http,
        api_url: Arc::from(format!("{base}/api/v1/requests")),
        open311_url: Arc::from(format!("{base}/open311/v2/requests.json")),
        bearer: Arc::from(format!("Bearer {token}")),
        key: Arc::from(key),
        clients: sizes.clients,
    };
    intake_rounds(&clients, sizes.intakes, sizes.rounds).await?;
    server.abort();

    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .map(|n| n.path)
        .context("no grid")?;
    kpi_steps(
        &store,
        &buildings,
        [("district", district), ("one grid", grid)],
        (&sizes.kpi, sizes.kpi_days),
    )
    .await
}

/// KPI figures over a year of requests in every state (and everything above), after
/// each step of `kpi` (cumulative sizes): the steps load their requests spread over the
/// same year, so the rows per day grow from step to step.
async fn kpi_steps(
    store: &Arc<dyn Storage>,
    buildings: &[NodePath],
    scopes: [(&str, NodePath); 2],
    (kpi, days): (&[usize], u32),
) -> anyhow::Result<()> {
    let clock = SystemClock;
    let district: DistrictId = scopes[0].1.district().into();
    let mut loaded = 0;
    for &size in kpi {
        let n = size.saturating_sub(loaded);
        let now = clock.now();
        let salt = loaded;
        let took = bulk_load(store, n, |i| {
            past_request(buildings, (now, days), salt + i, i, n)
        })
        .await?;
        loaded += n;
        println!();
        println!(
            "{n} past requests over {days} days bulk-loaded in {:.1} s ({:.0}/s, {BULK_CHUNK} per transaction), {loaded} in all",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64().max(1e-9)
        );
        // Whole days come from the rollup alone. A period ending now also has two partial
        // days: today so far (in this run every intake, breach and filler request above was
        // received today) and the same time of day at its start.
        let now = clock.now() + chrono::Duration::milliseconds(1);
        let midnight = mulin_storage::kpi::intake_day(now);
        let mut rows = Vec::new();
        let periods = [
            ("30 whole days", midnight, 30),
            ("365 whole days", midnight, 365),
            ("30 days up to now", now, 30),
            ("365 days up to now", now, 365),
        ];
        for (name, scope) in scopes {
            for (period, to, days) in periods {
                let from = to - chrono::Duration::days(days);
                let (times, total) = repeat(|| async move {
                    // As the API asks: the period and the one before it.
                    let bounds = [from - (to - from), from, to];
                    let tallies = store
                        .request_tallies_of_periods(district, &scope, &bounds)
                        .await?;
                    Ok(tallies.last().map_or(0, |t| t.total))
                })
                .await?;
                rows.push((name, period, total, times));
            }
            // The dashboard's daily series (`GET /api/v1/stats/requests/daily`).
            let from = now - chrono::Duration::days(30);
            let (times, total) = repeat(|| async move {
                let days = store
                    .request_tallies_by_day(district, &scope, from, now)
                    .await?;
                Ok(days.iter().map(|(_, t)| t.total).sum::<i64>())
            })
            .await?;
            rows.push((name, "daily series, 30 days up to now", total, times));
        }
        println!();
        println!("| requests loaded | KPI scope | period | requests counted | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|");
        for (name, period, total, times) in rows {
            println!(
                "| {loaded} | {name} | {period} | {total} | {:.1} | {:.1} |",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99))
            );
        }
    }
    Ok(())
}

/// Runs `query` `KPI_RUNS` times: the sorted times and the last answer.
async fn repeat<T, F, Fut>(mut query: F) -> anyhow::Result<(Vec<Duration>, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut times = Vec::with_capacity(KPI_RUNS);
    let mut answer = None;
    for _ in 0..KPI_RUNS {
        let t = Instant::now();
        answer = Some(query().await?);
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times, answer.context("no KPI run")?))
}

fn hex_key() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
