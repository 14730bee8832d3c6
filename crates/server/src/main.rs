//! The `mulin` binary: parses settings, picks the database backend from the URL, and runs
//! a subcommand. Behaviour lives in the library crates; this is glue.

mod bench;
mod bench_circle;
mod bench_geo;
mod bench_import;
mod bench_partition;
mod bench_requests;
mod import;
mod keys;
mod settings;
mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use mulin_domain::code::DivisionCode;
use mulin_domain::ids::{NodeId, UserId};
use mulin_domain::policy::Role;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{Dataset, NodeRecord, Storage, UserRecord};
use mulin_web::clock::{Clock, SystemClock};
use mulin_web::{AppState, Application, WebSettings};
use rand::Rng;

use crate::settings::{Database, FileSettings};

#[derive(Parser)]
#[command(
    name = "mulin",
    version,
    about = "睦邻 Mulin: community grid governance"
)]
struct Cli {
    /// Data folder: the SQLite database, backups, the demo password.
    #[arg(
        long,
        env = "MULIN_DATA_DIR",
        default_value = "./mulin-data",
        global = true
    )]
    data_dir: PathBuf,
    /// Database URL: `sqlite://…` or `postgres://…` (default: SQLite in the data folder).
    #[arg(long, env = "MULIN_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Configuration file (default: <data dir>/mulin.toml if present).
    #[arg(long, env = "MULIN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Key file sealing ID numbers at rest (default: <data dir>/id-keys.toml, generated on
    /// first start). Back it up with the database.
    #[arg(long, env = "MULIN_ID_KEYS", global = true)]
    id_keys: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// How big a generated demo district is, and how much request work it has behind it.
#[derive(Args, Clone, Copy)]
struct DemoSize {
    /// Households to generate (11,000 ≈ 28,000 residents; 390,000 ≈ 1,000,000).
    #[arg(long, default_value_t = mulin_demo::DEFAULT_HOUSEHOLDS)]
    households: usize,
    /// Days of request work replayed before now (0: none).
    #[arg(long, default_value_t = DEMO_ACTIVITY_DAYS)]
    activity_days: u32,
}

/// Enough history that "the last 30 days" and the 30 before them both have figures.
const DEMO_ACTIVITY_DAYS: u32 = 60;

#[derive(Subcommand)]
enum Command {
    /// Start the web UI and API (applies migrations first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "MULIN_LISTEN")]
        listen: Option<String>,
        /// On an empty database, generate the demo district first.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        size: DemoSize,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Generate the demo district into an empty database.
    Demo {
        #[command(flatten)]
        size: DemoSize,
    },
    /// Create a district in an empty database (for a real, non-demo start).
    Init {
        /// The district's name, e.g. 新荣区.
        #[arg(long)]
        name: String,
        /// Its 12-digit division code, e.g. 140212000000.
        #[arg(long)]
        code: String,
    },
    /// The district's own extra fields on residents, households and units ("9+X").
    Field {
        #[command(subcommand)]
        command: FieldCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys of Open311 GeoReport v2 clients (needed to post requests).
    #[command(name = "open311-key")]
    Open311Key {
        #[command(subcommand)]
        command: Open311KeyCommand,
    },
    /// Webhook subscriptions: receivers of every notification of a district.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// Copy the live SQLite database to a file (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the SQLite database with a backup. Stop the server first.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Import a ledger from Excel (all rows or none; the same file twice changes nothing).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// The keys sealing ID numbers at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The request KPI rollup.
    Kpi {
        #[command(subcommand)]
        command: KpiCommand,
    },
    /// Print an example configuration file.
    Config,
    /// Measure demo generation and resident search at a size (needs an empty database).
    Bench {
        /// Households to generate (390,000 ≈ 1,000,000 residents).
        #[arg(long, default_value_t = mulin_demo::DEFAULT_HOUSEHOLDS)]
        households: usize,
        /// Search queries of each kind and scope.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Another benchmark instead of resident search.
        #[command(subcommand)]
        what: Option<BenchCommand>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new sealing key, re-seal every ID number with it, then drop the old keys.
    /// Restart running servers afterwards: they only know the keys they started with.
    Rotate {
        /// Residents re-sealed per transaction.
        #[arg(long, default_value_t = 1_000)]
        batch: u32,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Point → grid lookups per second: the routing index against an R-tree + exact
    /// `Contains` baseline, on synthetic irregular grids (no database needed).
    Geo {
        /// Grids to generate (a jittered lattice of 40-vertex polygons).
        #[arg(long, default_value_t = 10_000)]
        grids: usize,
        /// Random points per run.
        #[arg(long, default_value_t = 2_000_000)]
        points: usize,
        /// Runs; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Raster cells per grid in the index (finer: fewer polygon tests, more memory).
        #[arg(long, default_value_t = mulin_geo::index::CELLS_PER_GRID)]
        cells_per_grid: f64,
    },
    /// Dividing a synthetic city into grids of 300–500 households and re-balancing 31
    /// grids to 27, against METIS and GerryChain run by a Python script (no database).
    Partition {
        /// Buildings of the synthetic city.
        #[arg(long, default_value_t = 20_000)]
        buildings: usize,
        /// Runs of our partitioner; the median time is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// A Python with pymetis and gerrychain installed.
        #[arg(long, default_value = "python3")]
        python: std::path::PathBuf,
        /// The reference script.
        #[arg(long, default_value = "scripts/bench_partition_ref.py")]
        script: std::path::PathBuf,
    },
    /// The 15-minute service circle: households classified per second with the station
    /// R-tree against a loop over every station (no database needed).
    Circle {
        /// Random homes per run.
        #[arg(long, default_value_t = 200_000)]
        households: usize,
        /// Random stations.
        #[arg(long, default_value_t = 500)]
        stations: usize,
        /// Runs; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The ledger import at a size against the bulk load (needs an empty database).
    Import {
        /// Ledger rows (residents).
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    /// Request intake through the JSON API and Open311 against raw inserts, breach
    /// detection delay among many open requests, and KPI time (needs an empty database).
    Requests {
        /// Households of the demo district.
        #[arg(long, default_value_t = 3_000)]
        households: usize,
        /// Requests per intake path in each round.
        #[arg(long, default_value_t = 2_000)]
        intakes: usize,
        /// Rounds of raw, JSON API and Open311 intake, one after the other; the ratios are
        /// the medians of the rounds' ratios.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Extra open requests waiting while deadlines fall due.
        #[arg(long, default_value_t = 20_000)]
        open: usize,
        /// Requests falling due during the breach measurement.
        #[arg(long, default_value_t = 200)]
        due: usize,
        /// Past requests (a year of them, every state) bulk-loaded before the KPI timing;
        /// several comma-separated cumulative sizes time the KPIs at each
        /// (e.g. `1000000,10000000`).
        #[arg(long, value_delimiter = ',', default_value = "100000")]
        kpi: Vec<usize>,
        /// Days before now the past requests are spread over: fewer than 365 give a busier
        /// year's daily density with fewer requests to load.
        #[arg(long, default_value_t = 365)]
        kpi_days: u32,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The resident ledger (居民底册), an .xlsx file.
    Residents {
        /// The workbook.
        file: PathBuf,
        /// The node to import under (district, street, community, grid or compound): its
        /// id or division code.
        #[arg(long)]
        under: String,
        /// Check the file and report every problem, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum FieldCommand {
    /// Define a field, e.g. `--entity household --key house_use --label 房屋用途
    /// --type choice --options 自住,出租,空置`.
    Add {
        /// The district: its id or division code (default: the only district).
        #[arg(long)]
        district: Option<String>,
        /// resident, household or unit.
        #[arg(long)]
        entity: String,
        /// snake_case key.
        #[arg(long)]
        key: String,
        /// The label shown.
        #[arg(long)]
        label: String,
        /// text, number, date or choice.
        #[arg(long = "type")]
        field_type: String,
        /// Comma-separated options of a choice field.
        #[arg(long, value_delimiter = ',')]
        options: Vec<String>,
    },
    /// List the fields of a district.
    List {
        #[arg(long)]
        district: Option<String>,
    },
}

#[derive(Subcommand)]
enum KpiCommand {
    /// Recompute a district's KPI rollup from its requests, in one transaction (requests
    /// stored before the rollup existed are otherwise missing from whole-day figures).
    /// Request writes wait while it runs.
    Rebuild {
        /// The district: its id or division code (default: the only district).
        #[arg(long)]
        district: Option<String>,
    },
}

#[derive(Subcommand)]
enum Open311KeyCommand {
    /// Issue a key to a client and print it (shown once: only its hash is kept).
    Create {
        /// Who the key is for (unique in the district; requests name it as `open311:NAME`).
        #[arg(long)]
        name: String,
        /// The district: its id or division code (default: the only district).
        #[arg(long)]
        district: Option<String>,
    },
    /// List a district's keys: names, dates, revoked or not (never the keys).
    List {
        #[arg(long)]
        district: Option<String>,
    },
    /// Revoke a key by its name; posts with it are refused from then on.
    Revoke {
        #[arg(long)]
        name: String,
        #[arg(long)]
        district: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account with a role at a node. The password is read from MULIN_PASSWORD
    /// or, if unset, from the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// admin, street_admin, community_staff, grid_worker, department_liaison,
        /// party_member, volunteer or resident.
        #[arg(long)]
        role: String,
        /// The node: its id or its division code.
        #[arg(long)]
        node: String,
    },
    /// Set an account's password (from MULIN_PASSWORD or standard input).
    SetPassword {
        #[arg(long)]
        username: String,
    },
    /// Grant a role at a node.
    Grant {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        node: String,
    },
}

#[tokio::main]
async fn main() {
    init_tracing();
    if let Err(err) = run(Cli::parse()).await {
        // The one place errors are reported: with their whole chain.
        eprintln!("错误 error: {err:#}");
        std::process::exit(1);
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var_os("MULIN_LOG_JSON").is_some() {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn connect(database: &Database) -> anyhow::Result<Arc<dyn Storage>> {
    let id_keys = keys::load_or_create(&database.id_keys)?;
    open(database, id_keys).await
}

async fn open(
    database: &Database,
    id_keys: mulin_storage_sql::IdKeys,
) -> anyhow::Result<Arc<dyn Storage>> {
    let url = &database.url;
    if mulin_storage_sqlite::handles(url) {
        let store = mulin_storage_sqlite::connect(url, id_keys)
            .await
            .context("cannot open the SQLite database")?;
        return Ok(Arc::new(store));
    }
    #[cfg(feature = "postgres")]
    if mulin_storage_postgres::handles(url) {
        let store = mulin_storage_postgres::connect(url, id_keys)
            .await
            .context("cannot open the PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    bail!(
        "unsupported database URL {}: use sqlite://… or postgres://…",
        settings::redact(url)
    )
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config = cli.command {
        print!("{}", settings::EXAMPLE);
        return Ok(());
    }
    let file = FileSettings::load(cli.config.as_deref(), &cli.data_dir)?;
    let database = settings::database(
        cli.database_url.clone(),
        cli.id_keys.clone(),
        &file,
        &cli.data_dir,
    )?;
    tracing::debug!(?database, "settings loaded");
    match cli.command {
        Command::Config => Ok(()),
        Command::Bench {
            what:
                Some(BenchCommand::Geo {
                    grids,
                    points,
                    runs,
                    cells_per_grid,
                }),
            ..
        } => bench_geo::run(grids, points, runs, cells_per_grid),
        Command::Bench {
            what:
                Some(BenchCommand::Partition {
                    buildings,
                    runs,
                    python,
                    script,
                }),
            ..
        } => bench_partition::run(&bench_partition::Options {
            buildings,
            runs,
            python,
            script,
        }),
        Command::Bench {
            what:
                Some(BenchCommand::Circle {
                    households,
                    stations,
                    runs,
                }),
            ..
        } => bench_circle::run(households, stations, runs),
        Command::Bench {
            households,
            queries,
            what: None,
        } => bench::run(connect(&database).await?, households, queries).await,
        Command::Bench {
            what: Some(BenchCommand::Import { rows }),
            ..
        } => bench_import::run(connect(&database).await?, rows).await,
        Command::Bench {
            what:
                Some(BenchCommand::Requests {
                    households,
                    intakes,
                    rounds,
                    clients,
                    open,
                    due,
                    kpi,
                    kpi_days,
                }),
            ..
        } => {
            let sizes = bench_requests::Sizes {
                households,
                intakes,
                rounds: rounds.max(1),
                clients: clients.max(1),
                open,
                due: due.max(1),
                kpi,
                kpi_days: kpi_days.max(1),
            };
            bench_requests::run(connect(&database).await?, sizes).await
        }
        Command::Migrate => {
            connect(&database).await?;
            println!("数据库已迁移到最新版本 / migrations applied");
            Ok(())
        }
        Command::Serve { listen, demo, size } => {
            let store = connect(&database).await?;
            if demo && store.is_empty().await? {
                generate_demo(&store, size, &cli.data_dir).await?;
            }
            let listen = listen
                .or(file.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8080".into());
            serve(store, &listen, &file, &cli.data_dir).await
        }
        Command::Demo { size } => {
            let store = connect(&database).await?;
            if !store.is_empty().await? {
                bail!(
                    "the database already holds a district; use an empty data folder for the demo"
                );
            }
            generate_demo(&store, size, &cli.data_dir).await
        }
        Command::Init { name, code } => {
            let store = connect(&database).await?;
            let code = DivisionCode::parse(NodeKind::District, &code, None)?;
            let root = NodePath::root(NodeId::new_v7());
            store
                .load(&Dataset {
                    nodes: vec![NodeRecord {
                        path: root,
                        name: name.clone(),
                        code: Some(code.to_string()),
                        sort_key: 0,
                        position: None,
                        geometry: None,
                        address: None,
                        extra: Vec::new(),
                    }],
                    ..Dataset::default()
                })
                .await?;
            audit_cli(
                &store,
                root.id().into(),
                "district.create",
                ("node", root.id().to_string()),
                name.clone(),
            )
            .await?;
            println!("已创建 {name}（{code}），节点编号 node id {}", root.id());
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Residents {
                    file,
                    under,
                    dry_run,
                },
        } => {
            let store = connect(&database).await?;
            let under = find_node(&store, &under).await?;
            import::residents(&store, &file, &under, dry_run).await
        }
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => {
            // The new key is in the file before anything is sealed with it, and the old ones
            // leave only after everything is re-sealed: a crash at any point leaves a
            // keyring that reads every value.
            let id_keys = keys::add_sealing_key(&database.id_keys)?;
            let store = open(&database, id_keys).await?;
            let n_resealed = store.reseal_id_numbers(batch).await?;
            let n_retired = keys::retire_older_keys(&database.id_keys)?;
            println!(
                "已用新密钥重新加密 {n_resealed} 个身份证号，停用旧密钥 {n_retired} 个 / \
                 re-sealed {n_resealed} ID numbers, retired {n_retired} old keys; restart running servers"
            );
            Ok(())
        }
        Command::Kpi {
            command: KpiCommand::Rebuild { district },
        } => {
            let store = connect(&database).await?;
            let district = find_district(&store, district.as_deref()).await?;
            let started = Instant::now();
            let n_requests = store
                .rebuild_request_kpis(district.path.id().into())
                .await?;
            audit_cli(
                &store,
                district.path.id().into(),
                "request_kpis.rebuild",
                ("node", district.path.id().to_string()),
                format!("{n_requests} requests"),
            )
            .await?;
            println!(
                "已从 {n_requests} 条诉求重算 {} 的统计 / KPI rollup rebuilt from {n_requests} requests in {:.1} s",
                district.name,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::User { command } => user_command(&connect(&database).await?, command).await,
        Command::Field { command } => field_command(&connect(&database).await?, command).await,
        Command::Open311Key { command } => {
            open311_key_command(&connect(&database).await?, command).await
        }
        Command::Webhook { command } => {
            webhook::webhook_command(&connect(&database).await?, command).await
        }
        Command::Backup { to } => {
            if !mulin_storage_sqlite::handles(&database.url) {
                bail!("for PostgreSQL use the server's tools: pg_dump -Fc DBNAME > FILE, and pg_restore to restore");
            }
            let id_keys = keys::load_or_create(&database.id_keys)?;
            let store = mulin_storage_sqlite::connect(&database.url, id_keys).await?;
            mulin_storage_sqlite::backup(&store, &to).await?;
            println!("备份完成 backup written: {}", to.display());
            Ok(())
        }
        Command::Restore { from } => {
            if cli.database_url.is_some() || file.database_url.is_some() {
                bail!("restore works on the SQLite file in the data folder; for PostgreSQL use pg_restore");
            }
            mulin_storage_sqlite::restore(&from, &cli.data_dir.join("mulin.db")).await?;
            println!("已恢复 restored from {}", from.display());
            Ok(())
        }
    }
}

const DEMO_PASSWORD_FILE: &str = "demo-password.txt";

async fn generate_demo(
    store: &Arc<dyn Storage>,
    size: DemoSize,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let households = size.households;
    let password = match std::env::var("MULIN_DEMO_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => {
            const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
            let mut rng = rand::thread_rng();
            (0..12)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        }
    };
    let started = Instant::now();
    let clock = SystemClock;
    let password_hash = mulin_web::auth::hash_password(password.clone()).await?;
    let demo = mulin_demo::generate(&mulin_demo::DemoParams {
        households,
        seed: 2026,
        today: clock.today(),
        now: clock.now(),
        password_hash,
    })?;
    let generated = started.elapsed();
    store
        .load(&demo.dataset)
        .await
        .context("cannot write the demo district")?;
    store.mark_demo().await?;
    for station in &demo.stations {
        let audit = cli_entry(
            station.district,
            "station.create",
            ("station", station.id.to_string()),
            station.name.clone(),
        );
        store.insert_station(station, &audit).await?;
    }
    let district = demo.dataset.nodes.first().map(|node| node.path.id());
    if let Some(district) = district {
        let detail = format!(
            "{households} households, {} residents",
            demo.dataset.residents.len()
        );
        audit_cli(
            store,
            district.into(),
            "demo.generate",
            ("node", district.to_string()),
            detail,
        )
        .await?;
    }
    let loaded = started.elapsed();
    let activity = mulin_web::demo_activity::replay(
        store.clone(),
        &demo.dataset,
        mulin_web::demo_activity::ActivityParams {
            days: size.activity_days,
            end: clock.now(),
            seed: 2026,
        },
    )
    .await
    .context("cannot replay the demo district's request work")?;
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join(DEMO_PASSWORD_FILE), &password)
        .context("cannot save the demo password")?;
    println!(
        "演示区已生成 demo district: {} households, {} residents on {} in {:.1} s (generate {:.1} s, load {:.1} s); \
         {} requests of the last {} days replayed ({} steps, {} breaches) and {} visits in {:.1} s",
        households,
        demo.dataset.residents.len(),
        store.backend_name(),
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        (loaded - generated).as_secs_f64(),
        activity.requests,
        size.activity_days,
        activity.commands,
        activity.breaches,
        activity.visits,
        (started.elapsed() - loaded).as_secs_f64(),
    );
    Ok(())
}

async fn serve(
    store: Arc<dyn Storage>,
    listen: &str,
    file: &FileSettings,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let is_demo = store.is_demo().await?;
    let defaults = WebSettings::local();
    let web_settings = WebSettings {
        secure_cookies: file.secure_cookies.unwrap_or(defaults.secure_cookies),
        login_per_minute_per_ip: file
            .login_per_minute_per_ip
            .unwrap_or(defaults.login_per_minute_per_ip),
        login_per_minute_per_user: file
            .login_per_minute_per_user
            .unwrap_or(defaults.login_per_minute_per_user),
        map: file.map.clone(),
        outbox_retention_days: file
            .outbox_retention_days
            .unwrap_or(defaults.outbox_retention_days),
    };
    let state = AppState::new(store.clone(), Arc::new(SystemClock), web_settings, is_demo);
    // Deadlines fire while the server runs; a restart picks up whatever fell due meanwhile.
    let scheduler = mulin_web::requests::spawn_scheduler(
        state.clone(),
        mulin_web::requests::DEFAULT_SWEEP_EVERY,
    );
    // Webhook and hotline deliveries leave from the outbox; a restart resumes it.
    let dispatcher = mulin_web::notify::spawn_dispatcher(
        state.clone(),
        Arc::new(mulin_web::notify::WebhookNotifier::new()?),
        mulin_web::notify::DEFAULT_DISPATCH_EVERY,
    );
    let app = Application::build(listen, state)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = app.local_addr()?;
    println!();
    println!(
        "睦邻 Mulin 已启动 / running on {} at http://{addr}/",
        store.backend_name()
    );
    if is_demo {
        let password = std::env::var("MULIN_DEMO_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
            .or_else(|| std::fs::read_to_string(data_dir.join(DEMO_PASSWORD_FILE)).ok())
            .unwrap_or_else(|| "(see the password printed when the demo was generated)".into());
        println!("这是演示数据库 — THIS IS A DEMO DATABASE: the accounts below exist only here.");
        println!("  admin (区管理员)  jiedao (街道)  shequ1…shequ5 (社区)  wangge01…wangge27 (网格员)  jumin (居民)");
        println!(
            "  bumen1…bumen7 (社区1的部门片区联系人: 城管 消防 电力 自来水 环卫 公安 市场监管)"
        );
        println!("  password / 密码: {}", password.trim());
    }
    println!("  API: http://{addr}/api/v1/docs");
    println!();
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    scheduler.abort();
    dispatcher.abort();
    Ok(())
}

async fn find_node(store: &Arc<dyn Storage>, text: &str) -> anyhow::Result<NodeRecord> {
    if let Ok(id) = text.parse::<NodeId>() {
        for district in store.districts().await? {
            if let Ok(node) = store.node(district.path.id().into(), id).await {
                return Ok(node);
            }
        }
        bail!("no node with id {text}");
    }
    store
        .node_by_code(text)
        .await
        .with_context(|| format!("no node with code {text}"))
}

async fn find_district(
    store: &Arc<dyn Storage>,
    given: Option<&str>,
) -> anyhow::Result<NodeRecord> {
    match given {
        Some(text) => {
            let node = find_node(store, text).await?;
            if node.path.kind() != NodeKind::District {
                bail!("{text} is a {}, not a district", node.path.kind());
            }
            Ok(node)
        }
        None => {
            let mut districts = store.districts().await?;
            match districts.len() {
                1 => Ok(districts.remove(0)),
                0 => bail!("the database holds no district yet: run mulin init or mulin demo"),
                _ => bail!("several districts: name one with --district"),
            }
        }
    }
}

async fn field_command(store: &Arc<dyn Storage>, command: FieldCommand) -> anyhow::Result<()> {
    use mulin_domain::org::{FieldDef, FieldEntity, FieldType};
    match command {
        FieldCommand::Add {
            district,
            entity,
            key,
            label,
            field_type,
            options,
        } => {
            let district = find_district(store, district.as_deref()).await?;
            let field = FieldDef::new(
                FieldEntity::parse(&entity)?,
                &key,
                &label,
                FieldType::parse(&field_type)?,
                options,
            )?;
            store
                .insert_field_def(district.path.id().into(), &field)
                .await
                .context("cannot add the field (is the key taken?)")?;
            println!(
                "已添加字段 field added: {} {} ({})",
                field.entity(),
                field.key(),
                field.label()
            );
        }
        FieldCommand::List { district } => {
            let district = find_district(store, district.as_deref()).await?;
            for field in store.field_defs(district.path.id().into()).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    field.entity(),
                    field.key(),
                    field.label(),
                    field.field_type(),
                    field.options().join(",")
                );
            }
        }
    }
    Ok(())
}

async fn open311_key_command(
    store: &Arc<dyn Storage>,
    command: Open311KeyCommand,
) -> anyhow::Result<()> {
    match command {
        Open311KeyCommand::Create { name, district } => {
            let district = find_district(store, district.as_deref()).await?;
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 64 {
                bail!("a key's name has 1 to 64 characters");
            }
            let (key, key_hash) = mulin_web::auth::new_token();
            let record = mulin_storage::Open311KeyRecord {
                district: district.path.id().into(),
                id: uuid::Uuid::now_v7(),
                name: name.clone(),
                key_hash,
                created_at: SystemClock.now(),
                revoked_at: None,
            };
            store
                .insert_open311_key(&record)
                .await
                .context("cannot issue the key (is the name taken?)")?;
            audit_cli(
                store,
                record.district,
                "open311_key.create",
                ("open311_key", record.id.to_string()),
                name.clone(),
            )
            .await?;
            eprintln!("已签发 Open311 key issued to {name} (shown once, keep it secret):");
            println!("{key}");
        }
        Open311KeyCommand::List { district } => {
            let district = find_district(store, district.as_deref()).await?;
            for key in store.open311_keys(district.path.id().into()).await? {
                println!(
                    "{}\t{}\t{}",
                    key.name,
                    key.created_at.to_rfc3339(),
                    key.revoked_at.map_or_else(
                        || "active".to_owned(),
                        |at| format!("revoked {}", at.to_rfc3339())
                    )
                );
            }
        }
        Open311KeyCommand::Revoke { name, district } => {
            let district = find_district(store, district.as_deref()).await?;
            let district_id = district.path.id().into();
            store
                .revoke_open311_key(district_id, name.trim(), SystemClock.now())
                .await
                .context("no key of that name in the district")?;
            audit_cli(
                store,
                district_id,
                "open311_key.revoke",
                ("open311_key", name.trim().to_owned()),
                name.trim().to_owned(),
            )
            .await?;
            println!("已吊销 revoked the Open311 key of {}", name.trim());
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("MULIN_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 8 {
        bail!("a password has at least 8 characters");
    }
    Ok(password)
}

async fn user_command(store: &Arc<dyn Storage>, command: UserCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        UserCommand::Create {
            username,
            display_name,
            role,
            node,
        } => {
            let role = Role::parse(&role)?;
            let node = find_node(store, &node).await?;
            let district = node.path.district().into();
            let user = UserRecord {
                id: UserId::new_v7(),
                district,
                username: username.clone(),
                display_name,
                password_hash: mulin_web::auth::hash_password(read_password()?).await?,
                is_demo: false,
                created_at: now,
            };
            store
                .insert_user(&user)
                .await
                .context("cannot create the account")?;
            store.grant(user.id, district, role, node.path.id()).await?;
            audit_cli(
                store,
                user.district,
                "user.create",
                ("user", user.id.to_string()),
                format!("{username} {role} @ {}", node.name),
            )
            .await?;
            println!("已创建账号 created {username} as {role} at {}", node.name);
        }
        UserCommand::SetPassword { username } => {
            let user = store
                .user_by_username(&username)
                .await
                .context("no such account")?;
            let hash = mulin_web::auth::hash_password(read_password()?).await?;
            store.set_password_hash(user.id, &hash).await?;
            audit_cli(
                store,
                user.district,
                "user.set_password",
                ("user", user.id.to_string()),
                username.clone(),
            )
            .await?;
            println!("已更新密码 password set for {username}");
        }
        UserCommand::Grant {
            username,
            role,
            node,
        } => {
            let role = Role::parse(&role)?;
            let user = store
                .user_by_username(&username)
                .await
                .context("no such account")?;
            let node = find_node(store, &node).await?;
            if node.path.district() != NodeId::from(user.district) {
                bail!("the node lies in another district than the account");
            }
            store
                .grant(user.id, user.district, role, node.path.id())
                .await?;
            audit_cli(
                store,
                user.district,
                "user.grant",
                ("user", user.id.to_string()),
                format!("{username} {role} @ {}", node.name),
            )
            .await?;
            println!("已授权 granted {role} at {} to {username}", node.name);
        }
    }
    Ok(())
}

/// Records a change made from the command line (no account is logged in there).
async fn audit_cli(
    store: &Arc<dyn Storage>,
    district: mulin_domain::ids::DistrictId,
    action: &str,
    target: (&str, String),
    detail: String,
) -> anyhow::Result<()> {
    store
        .append_audit(&cli_entry(district, action, target, detail))
        .await?;
    Ok(())
}

/// An audit record of something done from the command line.
fn cli_entry(
    district: mulin_domain::ids::DistrictId,
    action: &str,
    target: (&str, String),
    detail: String,
) -> mulin_storage::AuditEntry {
    mulin_storage::AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: SystemClock.now(),
        user_id: None,
        username: "mulin-cli".into(),
        action: action.into(),
        target_kind: target.0.into(),
        target_id: target.1,
        ip: None,
        detail,
    }
}
