//! Weeks of work in the demo district (requests, home visits, patrols), replayed through the
//! commands people use.
//!
//! A newcomer who starts the demo should see a running office, not empty pages: inboxes with
//! live countdowns, a timeline on every request, breaches and escalations the scheduler
//! recorded, whistles departments answered, ratings, and a dashboard computed from all of
//! it. Every step goes through [`requests::submit`], [`requests::command`] and
//! [`requests::sweep`] on an app state whose clock the replay moves, so the history obeys
//! every rule a live district does (deadline policy, ladder, rollup, audit) and cannot show a
//! state the product could not reach.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use mulin_domain::ids::{NodeId, RequestId, UserId};
use mulin_domain::org::Department;
use mulin_domain::policy::Role;
use mulin_domain::request::{service_type, Channel, Command, Rating};
use mulin_domain::tree::NodeKind;
use mulin_storage::{Dataset, SessionKind, Storage, UserRecord};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::auth::{self, AuthUser};
use crate::clock::{china, ManualClock};
use crate::error::WebError;
use crate::requests::{self, NewRequest};
use crate::visits::{self, NewVisit};
use crate::{AppState, WebSettings};

/// How much history to replay.
#[derive(Clone, Copy, Debug)]
pub struct ActivityParams {
    /// Days before `end` whose working hours receive requests.
    pub days: u32,
    /// The instant the replay stops at: steps due later are left undone, so work is in
    /// progress when the server starts.
    pub end: DateTime<Utc>,
    /// Seed of the choices (same seed and district, same history).
    pub seed: u64,
}

/// What the replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivitySummary {
    /// Requests taken in.
    pub requests: usize,
    /// Lifecycle commands applied.
    pub commands: usize,
    /// Breaches the scheduler recorded.
    pub breaches: usize,
    /// Home visits and patrols logged.
    pub visits: usize,
    /// Commands the rules refused (a script out of step with the state machine: zero in a
    /// correct replay).
    pub refused: usize,
}

/// Who takes a step of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// The grid's worker.
    Worker,
    /// The community's staff.
    Staff,
    /// The department liaison the whistle went to.
    Liaison,
    /// The resident account (requests it raised itself).
    Resident,
}

/// One step: how long after the previous one, who, and what.
struct Step {
    after: Duration,
    who: Who,
    command: Command,
}

/// One request to replay: where and when it comes in, how, and what happens to it.
struct Script {
    at: DateTime<Utc>,
    grid: NodeId,
    community: NodeId,
    /// The address it is raised at: a building, or the resident's own household.
    address: NodeId,
    submitter: Who,
    channel: Channel,
    service: &'static str,
    title: &'static str,
    description: &'static str,
    reporter: Option<String>,
    steps: Vec<Step>,
}

/// What the replay knows of the district: who works where, and where people live.
struct Cast {
    /// Households by grid.
    households: HashMap<NodeId, Vec<NodeId>>,
    buildings: Vec<(NodeId, NodeId, NodeId)>,
    worker: HashMap<NodeId, UserRecord>,
    staff: HashMap<NodeId, UserRecord>,
    liaison_communities: Vec<NodeId>,
    /// The resident account, its household and that household's building.
    resident: Option<(UserRecord, NodeId, NodeId)>,
    users: HashMap<UserId, UserRecord>,
}

impl Cast {
    fn of(dataset: &Dataset) -> Cast {
        let mut cast = Cast {
            households: HashMap::new(),
            buildings: Vec::new(),
            worker: HashMap::new(),
            staff: HashMap::new(),
            liaison_communities: Vec::new(),
            resident: None,
            users: HashMap::new(),
        };
        let paths: HashMap<NodeId, _> = dataset
            .nodes
            .iter()
            .map(|node| (node.path.id(), node.path))
            .collect();
        for node in &dataset.nodes {
            let path = node.path;
            if let (NodeKind::Household, Some(grid)) = (path.kind(), path.at(NodeKind::Grid)) {
                cast.households.entry(grid).or_default().push(path.id());
            }
            if let (NodeKind::Building, Some(grid), Some(community)) = (
                path.kind(),
                path.at(NodeKind::Grid),
                path.at(NodeKind::Community),
            ) {
                cast.buildings.push((path.id(), grid, community));
            }
        }
        for (user, grants) in &dataset.users {
            cast.users.insert(user.id, user.clone());
            for (role, node) in grants {
                match role {
                    // The first worker of a grid is its full-time one.
                    Role::GridWorker => {
                        cast.worker.entry(*node).or_insert_with(|| user.clone());
                    }
                    Role::CommunityStaff => {
                        cast.staff.entry(*node).or_insert_with(|| user.clone());
                    }
                    Role::DepartmentLiaison if !cast.liaison_communities.contains(node) => {
                        cast.liaison_communities.push(*node);
                    }
                    Role::Resident => {
                        let building = paths.get(node).and_then(|p| p.at(NodeKind::Building));
                        if let (None, Some(building)) = (&cast.resident, building) {
                            cast.resident = Some((user.clone(), *node, building));
                        }
                    }
                    _ => {}
                }
            }
        }
        cast.buildings.retain(|(_, grid, community)| {
            cast.worker.contains_key(grid) && cast.staff.contains_key(community)
        });
        cast
    }
}

/// Texts a request of a service may carry: title, description and the worker's note when
/// solved. Demo content, not interface text.
fn texts(service: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match service {
        "sanitation" => &[
            (
                "楼道堆放杂物",
                "单元楼道堆满纸箱和旧家具，影响通行，存在消防隐患。",
                "已联系住户清理，楼道已畅通。",
            ),
            (
                "垃圾桶满溢",
                "小区东门垃圾桶满溢两天无人清运，气味很大。",
                "已通知环卫加清运一次，并调整清运时间。",
            ),
        ],
        "noise" => &[(
            "夜间装修噪音",
            "楼上住户晚上十点后还在装修，影响休息。",
            "已上门沟通，装修时间改为早八点至晚六点。",
        )],
        "property_repair" => &[
            (
                "单元门禁损坏",
                "单元门禁坏了一周，外来人员随意进出。",
                "物业已更换门禁主板，门禁恢复正常。",
            ),
            (
                "楼道灯不亮",
                "三楼到五楼楼道灯不亮，老人晚上上下楼不方便。",
                "物业已更换声控灯。",
            ),
        ],
        "heating" => &[(
            "暖气不热",
            "家里暖气温度只有十几度，老人受不了。",
            "热力公司已排气调压，室温恢复到二十度。",
        )],
        "drainage" => &[(
            "下水道堵塞",
            "楼前下水井堵塞返水，地面积水。",
            "已疏通下水井，清理淤泥。",
        )],
        "parking" => &[(
            "车辆堵塞消防通道",
            "有车辆长期停在消防通道上。",
            "已联系车主挪车，并设置禁停标识。",
        )],
        "neighbour_dispute" => &[(
            "邻里漏水纠纷",
            "楼上漏水到我家，协商不成。",
            "调解达成一致，楼上住户负责维修并赔偿。",
        )],
        "safety_hazard" => &[(
            "外墙瓷砖脱落",
            "楼体外墙瓷砖松动脱落，楼下是小孩玩耍的地方。",
            "已拉警戒线，专业队伍完成外墙加固。",
        )],
        _ => &[(
            "其他诉求",
            "希望小区增加几处休息座椅。",
            "已协调物业增设座椅。",
        )],
    }
}

/// Services most requests are about, weighted roughly as offices see them.
const COMMON_SERVICES: &[&str] = &[
    "sanitation",
    "sanitation",
    "property_repair",
    "property_repair",
    "noise",
    "parking",
    "heating",
    "drainage",
    "neighbour_dispute",
    "other",
];

const REPORTERS: &[&str] = &[
    "王女士",
    "李先生",
    "张阿姨",
    "刘大爷",
    "陈女士",
    "赵先生",
    "杨女士",
    "周大爷",
];

fn minutes(rng: &mut StdRng, low: i64, high: i64) -> Duration {
    Duration::minutes(rng.gen_range(low..=high))
}

fn stars(rng: &mut StdRng, good: bool) -> Command {
    let stars = if !good {
        2
    } else {
        match rng.gen_range(0..10) {
            0 => 3,
            1..=3 => 4,
            _ => 5,
        }
    };
    Command::Rate {
        rating: Rating::new(stars).unwrap_or(Rating::BEST),
        comment: String::new(),
    }
}

/// Verification by staff and the rating that follows (by the resident who raised it, else
/// staff on the phone revisit, 回访); a satisfied rating is sometimes followed by a revisit.
fn verify_and_rate(rng: &mut StdRng, steps: &mut Vec<Step>, rater: Who, good: bool) {
    steps.push(Step {
        after: minutes(rng, 40, 300),
        who: Who::Staff,
        command: Command::Verify {
            passed: true,
            note: "现场核查，问题已解决。".into(),
        },
    });
    steps.push(Step {
        after: minutes(rng, 60, 1200),
        who: rater,
        command: stars(rng, good),
    });
}

/// A whistle by `who` to `department`, the liaison's acknowledgement and report, each after
/// a number of minutes drawn from its range.
fn whistle(
    rng: &mut StdRng,
    steps: &mut Vec<Step>,
    (who, department, note): (Who, Department, &str),
    [blow, acknowledge, report]: [(i64, i64); 3],
    report_note: &str,
) {
    steps.push(step(
        minutes(rng, blow.0, blow.1),
        who,
        Command::Whistle {
            department,
            note: note.into(),
        },
    ));
    steps.push(step(
        minutes(rng, acknowledge.0, acknowledge.1),
        Who::Liaison,
        Command::AcknowledgeWhistle,
    ));
    steps.push(step(
        minutes(rng, report.0, report.1),
        Who::Liaison,
        Command::ReportWhistle {
            note: report_note.into(),
        },
    ));
}

fn step(after: Duration, who: Who, command: Command) -> Step {
    Step {
        after,
        who,
        command,
    }
}

/// The script of a request received at `at`: one of the paths real requests take.
fn script(
    rng: &mut StdRng,
    cast: &Cast,
    at: DateTime<Utc>,
    (address, grid, community): (NodeId, NodeId, NodeId),
    resident: bool,
) -> Script {
    let has_liaisons = cast.liaison_communities.contains(&community);
    let major = has_liaisons && rng.gen_range(0..60) == 0;
    let service = if major {
        "safety_hazard"
    } else {
        COMMON_SERVICES[rng.gen_range(0..COMMON_SERVICES.len())]
    };
    let choices = texts(service);
    let (title, description, solved) = choices[rng.gen_range(0..choices.len())];
    let (submitter, channel) = if resident {
        (Who::Resident, Channel::Web)
    } else {
        match rng.gen_range(0..20) {
            0..=7 => (Who::Worker, Channel::Patrol),
            8..=14 => (Who::Staff, Channel::WalkIn),
            _ => (Who::Staff, Channel::Phone),
        }
    };
    let rater = if resident { Who::Resident } else { Who::Staff };
    let complex = service_type(service)
        .is_some_and(|s| s.severity != mulin_domain::deadline::Severity::Ordinary);
    let solve = |rng: &mut StdRng| {
        if complex {
            minutes(rng, 40, 200)
        } else {
            minutes(rng, 8, 18)
        }
    };
    let solve_step = |after| {
        step(
            after,
            Who::Worker,
            Command::Solve {
                note: solved.into(),
            },
        )
    };
    let department = service_type(service)
        .and_then(|s| s.department)
        .unwrap_or(Department::UrbanManagement);
    let mut steps = vec![step(minutes(rng, 1, 4), Who::Worker, Command::SignFor)];
    let fate = rng.gen_range(0..100);
    if major {
        steps.push(step(minutes(rng, 4, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(step(
            minutes(rng, 10, 30),
            Who::Worker,
            Command::CollectIssue {
                note: "走访楼内住户，收集到外墙多处空鼓脱落的情况。".into(),
            },
        ));
        steps.push(step(
            minutes(rng, 120, 360),
            Who::Staff,
            Command::ProposePlan {
                plan: "拉设警戒线，申请维修资金，请专业队伍加固外墙。".into(),
            },
        ));
        whistle(
            rng,
            &mut steps,
            (Who::Staff, department, "请派员到场评估安全隐患。"),
            [(20, 60), (5, 25), (600, 1400)],
            "已到场评估，出具加固意见。",
        );
        let held = at + Duration::days(2);
        steps.push(step(
            minutes(rng, 1440, 2400),
            Who::Staff,
            Command::HoldMeeting {
                held_on: held.with_timezone(&china()).date_naive(),
                attendees: "社区两委、小区党支部、物业、业委会、居民代表".into(),
                minutes: "议定由维修资金列支，物业组织施工，业委会监督。".into(),
            },
        ));
        steps.push(step(
            minutes(rng, 600, 1440),
            Who::Staff,
            Command::RecordResolution {
                resolution: "外墙加固工程立项实施。".into(),
                follow_up: "网格员每日巡查施工进度，完工后组织验收。".into(),
            },
        ));
        steps.push(solve_step(minutes(rng, 1440, 2880)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else if fate < 55 {
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(solve_step(solve(rng)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else if fate < 70 {
        // Late on site: the scheduler records the breach and escalates.
        steps.push(step(
            minutes(rng, 12, 40),
            Who::Worker,
            Command::ArriveOnSite,
        ));
        steps.push(solve_step(solve(rng)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else if fate < 80 && has_liaisons {
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        // Mostly acknowledged within the half hour the policy gives a department, sometimes not.
        whistle(
            rng,
            &mut steps,
            (Who::Worker, department, "超出网格处置能力，请部门到场。"),
            [(5, 15), (5, 45), (40, 180)],
            "部门已到场处置完毕。",
        );
        steps.push(solve_step(minutes(rng, 5, 20)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else if fate < 88 {
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(step(
            minutes(rng, 5, 15),
            Who::Worker,
            Command::RequestExtension {
                minutes: 240,
                reason: "需等待配件到货。".into(),
            },
        ));
        steps.push(step(
            minutes(rng, 5, 30),
            Who::Staff,
            Command::ApproveExtension,
        ));
        steps.push(solve_step(minutes(rng, 120, 230)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else if fate < 95 {
        // A poor rating reopens the request; the second visit satisfies.
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(solve_step(solve(rng)));
        verify_and_rate(rng, &mut steps, rater, false);
        steps.push(step(minutes(rng, 2, 6), Who::Worker, Command::SignFor));
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(solve_step(solve(rng)));
        verify_and_rate(rng, &mut steps, rater, true);
    } else {
        // Verification finds the problem back; solved again.
        steps.push(step(minutes(rng, 3, 8), Who::Worker, Command::ArriveOnSite));
        steps.push(solve_step(solve(rng)));
        steps.push(step(
            minutes(rng, 60, 240),
            Who::Staff,
            Command::Verify {
                passed: false,
                note: "核查发现问题反复，请重新处理。".into(),
            },
        ));
        steps.push(solve_step(solve(rng)));
        verify_and_rate(rng, &mut steps, rater, true);
    }
    if rng.gen_range(0..4) == 0 {
        steps.push(step(
            minutes(rng, 1440, 4320),
            Who::Staff,
            Command::Revisit {
                note: "电话回访，居民对处理结果满意。".into(),
            },
        ));
    }
    Script {
        at,
        grid,
        community,
        address,
        submitter,
        channel,
        service,
        title,
        description,
        reporter: (!resident).then(|| REPORTERS[rng.gen_range(0..REPORTERS.len())].to_owned()),
        steps,
    }
}

/// The days replayed, oldest first: each one's date in China and the instant of its midnight
/// there.
fn replayed_days(params: &ActivityParams) -> impl Iterator<Item = (NaiveDate, DateTime<Utc>)> {
    let end_day = params.end.with_timezone(&china()).date_naive();
    (1..=i64::from(params.days)).rev().filter_map(move |back| {
        let day = end_day - Duration::days(back);
        let midnight = china()
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single()?;
        Some((day, midnight.with_timezone(&Utc)))
    })
}

/// The scripts of `params.days` days before `params.end`: about one request per grid every
/// two days in working hours (8:00–20:00 China time), a few each week from the resident
/// account, and a handful received in the last minutes so inboxes have deadlines running.
fn scripts(cast: &Cast, params: &ActivityParams, rng: &mut StdRng) -> Vec<Script> {
    let mut out = Vec::new();
    // Buildings by grid, grids in id order (the order the choices are drawn in).
    let mut buildings: BTreeMap<NodeId, Vec<(NodeId, NodeId, NodeId)>> = BTreeMap::new();
    for place in &cast.buildings {
        buildings.entry(place.1).or_default().push(*place);
    }
    for (_, midnight) in replayed_days(params) {
        let morning = midnight + Duration::hours(8);
        for place in buildings.values() {
            let count = match rng.gen_range(0..20) {
                0..=9 => 0,
                10..=17 => 1,
                _ => 2,
            };
            for _ in 0..count {
                let building = place[rng.gen_range(0..place.len())];
                let at = morning + Duration::minutes(rng.gen_range(0..12 * 60));
                out.push(script(rng, cast, at, building, false));
            }
        }
        if let Some((_, household, building)) = &cast.resident {
            if rng.gen_range(0..4) == 0 {
                if let Some((_, grid, community)) =
                    cast.buildings.iter().find(|(b, _, _)| b == building)
                {
                    // A resident may raise requests about their own household only.
                    let at = morning + Duration::minutes(rng.gen_range(0..12 * 60));
                    out.push(script(rng, cast, at, (*household, *grid, *community), true));
                }
            }
        }
    }
    // Fresh work: received minutes ago in a few grids, the first grid always among them.
    for (i, place) in buildings.values().enumerate().filter(|(i, _)| i % 5 == 0) {
        let building = place[rng.gen_range(0..place.len())];
        let at = params.end - Duration::minutes(2 + 3 * i as i64 % 9);
        out.push(script(rng, cast, at, building, false));
    }
    out.sort_by_key(|s| s.at);
    out
}

/// What happens next in the replay, in time order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    /// The scheduler's pass at a deadline.
    Sweep,
    /// Script `.0`'s step `.1` (0 = the intake).
    Step(usize, usize),
    /// The grid worker's visit or patrol `.0`.
    Visit(usize),
}

/// A home visit or patrol by a grid's worker.
struct VisitPlan {
    at: DateTime<Utc>,
    grid: NodeId,
    patrol: bool,
    minutes: u32,
    households: Vec<NodeId>,
    findings: &'static str,
}

const VISIT_FINDINGS: &[&str] = &[
    "入户了解家庭情况，宣传养老服务政策。",
    "独居老人身体状况良好，已留联系电话。",
    "住户反映楼道灯不亮，已转物业。",
    "核对家庭人口信息，无变化。",
];

const PATROL_FINDINGS: &[&str] = &[
    "巡查小区消防通道，畅通。",
    "巡查垃圾分类点，清运及时。",
    "巡查楼道，发现杂物已提醒住户清理。",
];

/// On each weekday of the replay, every grid's worker calls on a few households in the
/// morning and walks the grid every other afternoon (seed 002: visiting is most of the job).
fn visit_plans(cast: &Cast, params: &ActivityParams, rng: &mut StdRng) -> Vec<VisitPlan> {
    let mut out = Vec::new();
    let mut grids: Vec<&NodeId> = cast.worker.keys().collect();
    grids.sort();
    for (day, midnight) in replayed_days(params) {
        if day.weekday().number_from_monday() > 5 {
            continue;
        }
        for grid in &grids {
            let Some(homes) = cast.households.get(grid).filter(|h| !h.is_empty()) else {
                continue;
            };
            let calls = rng.gen_range(2..=5).min(homes.len());
            let first = rng.gen_range(0..homes.len());
            out.push(VisitPlan {
                at: midnight + Duration::minutes(rng.gen_range(9 * 60..11 * 60 + 30)),
                grid: **grid,
                patrol: false,
                minutes: rng.gen_range(150..=240),
                households: (0..calls)
                    .map(|k| homes[(first + k) % homes.len()])
                    .collect(),
                findings: VISIT_FINDINGS[rng.gen_range(0..VISIT_FINDINGS.len())],
            });
            if rng.gen_bool(0.5) {
                out.push(VisitPlan {
                    at: midnight + Duration::minutes(rng.gen_range(14 * 60..16 * 60 + 30)),
                    grid: **grid,
                    patrol: true,
                    minutes: rng.gen_range(45..=90),
                    households: Vec::new(),
                    findings: PATROL_FINDINGS[rng.gen_range(0..PATROL_FINDINGS.len())],
                });
            }
        }
    }
    out
}

/// Replays `params.days` days of request work in the district of `dataset`, already stored
/// in `store`, ending at `params.end`. Accounts act through sessions opened at the moment
/// they first act (audited as logins, as they would be).
pub async fn replay(
    store: Arc<dyn Storage>,
    dataset: &Dataset,
    params: ActivityParams,
) -> Result<ActivitySummary, WebError> {
    let cast = Cast::of(dataset);
    let mut rng = StdRng::seed_from_u64(params.seed);
    let scripts = scripts(&cast, &params, &mut rng);
    let start = scripts.first().map_or(params.end, |s| s.at);
    let clock = Arc::new(ManualClock::new(start));
    let state = AppState::new(store, clock.clone(), WebSettings::local(), true);
    let mut callers: HashMap<UserId, AuthUser> = HashMap::new();
    let mut ids: Vec<Option<RequestId>> = vec![None; scripts.len()];
    // The liaison each request's whistle went to, as its last step left it (the scheduler's
    // sweeps never change it), so a liaison's step needs no read.
    let mut liaisons: Vec<Option<UserId>> = vec![None; scripts.len()];
    let mut summary = ActivitySummary::default();
    let visits = visit_plans(&cast, &params, &mut rng);
    let mut queue: BinaryHeap<Reverse<(DateTime<Utc>, Next)>> = scripts
        .iter()
        .enumerate()
        .map(|(i, s)| Reverse((s.at, Next::Step(i, 0))))
        .chain(
            visits
                .iter()
                .enumerate()
                .map(|(i, v)| Reverse((v.at, Next::Visit(i)))),
        )
        .collect();
    while let Some(Reverse((at, next))) = queue.pop() {
        if at > params.end {
            break;
        }
        clock.set(at);
        let (i, n) = match next {
            Next::Step(i, n) => (i, n),
            Next::Sweep => {
                summary.breaches += requests::sweep(&state, at).await?;
                continue;
            }
            Next::Visit(v) => {
                let plan = &visits[v];
                let worker = cast.worker.get(&plan.grid).ok_or(WebError::NotFound)?;
                let auth = caller(&state, &mut callers, worker).await?;
                let input = NewVisit {
                    kind: if plan.patrol { "patrol" } else { "home_visit" }.into(),
                    minutes: plan.minutes,
                    grid: Some(plan.grid),
                    households: plan.households.clone(),
                    findings: plan.findings.into(),
                    ..NewVisit::default()
                };
                visits::log(&state, &auth, input).await?;
                summary.visits += 1;
                continue;
            }
        };
        let script = &scripts[i];
        let record = if n == 0 {
            let who = actor(&cast, script, script.submitter, None)?;
            let auth = caller(&state, &mut callers, who).await?;
            let input = NewRequest {
                service_code: script.service.into(),
                title: Some(script.title.into()),
                description: script.description.into(),
                channel: Some(script.channel),
                address_node: Some(script.address),
                reporter_name: script.reporter.clone(),
                ..NewRequest::default()
            };
            let record = requests::submit(&state, &auth, input).await?;
            ids[i] = Some(record.id);
            summary.requests += 1;
            record
        } else {
            let (Some(id), Some(step)) = (ids[i], script.steps.get(n - 1)) else {
                continue;
            };
            let who = actor(&cast, script, step.who, liaisons[i])?;
            let auth = caller(&state, &mut callers, who).await?;
            match requests::command(&state, &auth, id, step.command.clone()).await {
                Ok(record) => {
                    summary.commands += 1;
                    record
                }
                Err(err) => {
                    tracing::warn!(error = %err, step = n, "demo activity: a step was refused");
                    summary.refused += 1;
                    continue;
                }
            }
        };
        liaisons[i] = record.whistle_liaison;
        // The scheduler's pass at each deadline still pending, so a breach is recorded at
        // its moment and before any later step.
        let pending = record.pending();
        for due in [pending.arrive, pending.resolve, pending.whistle]
            .into_iter()
            .flatten()
        {
            queue.push(Reverse((due.max(at), Next::Sweep)));
        }
        if let Some(step) = script.steps.get(n) {
            queue.push(Reverse((at + step.after, Next::Step(i, n + 1))));
        }
    }
    Ok(summary)
}

/// The account that takes a step of `script`.
fn actor<'a>(
    cast: &'a Cast,
    script: &Script,
    who: Who,
    liaison: Option<UserId>,
) -> Result<&'a UserRecord, WebError> {
    let found = match who {
        Who::Worker => cast.worker.get(&script.grid),
        Who::Staff => cast.staff.get(&script.community),
        Who::Liaison => liaison.and_then(|id| cast.users.get(&id)),
        Who::Resident => cast.resident.as_ref().map(|(user, _, _)| user),
    };
    found.ok_or(WebError::NotFound)
}

/// The caller an account acts as: a session opened the first time it acts, read back as a
/// request's caller is.
async fn caller(
    state: &AppState,
    callers: &mut HashMap<UserId, AuthUser>,
    user: &UserRecord,
) -> Result<AuthUser, WebError> {
    if let Some(auth) = callers.get(&user.id) {
        return Ok(auth.clone());
    }
    let (token, _) = auth::start_session(state, user, SessionKind::Api, None).await?;
    let auth = auth::caller(state, &token, None).await?;
    callers.insert(user.id, auth.clone());
    Ok(auth)
}
