//! The `mulin` binary end to end: subcommands against a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` says so).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};

use mulin_storage_tests::{test_id_keys, TestDb};

struct Cli {
    data_dir: tempfile::TempDir,
    db: TestDb,
}

impl Cli {
    async fn new() -> Cli {
        let data_dir = tempfile::tempdir().unwrap();
        // The keyring the test database was opened with (`test_id_keys(&[1])`).
        std::fs::write(
            data_dir.path().join("id-keys.toml"),
            format!(
                "lookup = \"{}\"\nsealing = [\"{}\"]\n",
                "ee".repeat(32),
                "01".repeat(32)
            ),
        )
        .unwrap();
        Cli {
            data_dir,
            db: TestDb::new().await.unwrap(),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mulin"))
            .args(args)
            .env("MULIN_DATA_DIR", self.data_dir.path())
            .env("MULIN_DATABASE_URL", self.db.url())
            .env("MULIN_DEMO_PASSWORD", "cli-demo-pass")
            .env_remove("MULIN_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

#[tokio::test]
async fn demo_accounts_fields_and_refusals() {
    let cli = Cli::new().await;
    let out = cli.ok(&["demo", "--households", "300"], None);
    assert!(out.contains("300 households"), "{out}");
    let err = cli.fails(&["demo", "--households", "300"], None);
    assert!(err.contains("already holds a district"), "{err}");

    // A grid worker account by division code, its password from stdin.
    let out = cli.ok(
        &[
            "user",
            "create",
            "--username",
            "li",
            "--display-name",
            "李网格员",
            "--role",
            "grid_worker",
            "--node",
            "140212001001001",
        ],
        Some("a-long-password\n"),
    );
    assert!(out.contains("li"));
    let err = cli.fails(
        &[
            "user",
            "create",
            "--username",
            "li",
            "--display-name",
            "x",
            "--role",
            "grid_worker",
            "--node",
            "140212001001001",
        ],
        Some("a-long-password\n"),
    );
    assert!(err.contains("cannot create the account"), "{err}");
    let err = cli.fails(
        &[
            "user",
            "create",
            "--username",
            "wang",
            "--display-name",
            "x",
            "--role",
            "grid_worker",
            "--node",
            "140212001001001",
        ],
        Some("short\n"),
    );
    assert!(err.contains("at least 8"), "{err}");
    let err = cli.fails(
        &[
            "user",
            "grant",
            "--username",
            "li",
            "--role",
            "king",
            "--node",
            "140212001001001",
        ],
        None,
    );
    assert!(err.contains("unknown role"), "{err}");
    cli.ok(
        &[
            "user",
            "grant",
            "--username",
            "li",
            "--role",
            "volunteer",
            "--node",
            "140212001001",
        ],
        None,
    );
    cli.ok(
        &["user", "set-password", "--username", "li"],
        Some("another-long-one\n"),
    );

    cli.ok(
        &[
            "field",
            "add",
            "--entity",
            "household",
            "--key",
            "house_use",
            "--label",
            "房屋用途",
            "--type",
            "choice",
            "--options",
            "自住,出租",
        ],
        None,
    );
    let list = cli.ok(&["field", "list"], None);
    assert!(
        list.contains("house_use") && list.contains("自住,出租"),
        "{list}"
    );
    let err = cli.fails(
        &[
            "field",
            "add",
            "--entity",
            "household",
            "--key",
            "x",
            "--label",
            "x",
            "--type",
            "choice",
        ],
        None,
    );
    assert!(err.contains("options"), "{err}");

    let example = cli.ok(&["config"], None);
    assert!(example.contains("listen = \"127.0.0.1:8080\""));
    cli.ok(&["migrate"], None);
}

#[tokio::test]
async fn backups_restore_on_sqlite_and_point_to_pg_dump_on_postgres() {
    let cli = Cli::new().await;
    cli.ok(
        &["init", "--name", "新荣区", "--code", "140212000000"],
        None,
    );
    let err = cli.fails(&["init", "--name", "x", "--code", "14021"], None);
    assert!(err.contains("digits"), "{err}");
    let backup = cli.data_dir.path().join("backup.db");
    let backup = backup.to_str().unwrap();
    if cli.db.url().starts_with("sqlite:") {
        cli.ok(&["backup", "--to", backup], None);
        assert!(std::path::Path::new(backup).exists());
    } else {
        let err = cli.fails(&["backup", "--to", backup], None);
        assert!(err.contains("pg_dump"), "{err}");
    }
}

#[tokio::test]
async fn open311_keys_are_issued_once_listed_and_revoked() {
    let cli = Cli::new().await;
    cli.ok(
        &["init", "--name", "新荣区", "--code", "140212000000"],
        None,
    );
    let key = cli
        .ok(&["open311-key", "create", "--name", "city-app"], None)
        .trim()
        .to_owned();
    assert_eq!(key.len(), 64, "256 random bits in hex: {key}");
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));

    // Only the hash is stored, and it is the hash of what was printed.
    let store = cli.db.store();
    let district = store.districts().await.unwrap()[0].path.id().into();
    let keys = store.open311_keys(district).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "city-app");
    assert_ne!(keys[0].key_hash, key);
    assert_eq!(keys[0].key_hash, mulin_web::auth::token_hash(&key));

    // A second key gets a different value; a taken name is refused.
    let other = cli.ok(
        &[
            "open311-key",
            "create",
            "--name",
            "wechat",
            "--district",
            "140212000000",
        ],
        None,
    );
    assert_ne!(other.trim(), key);
    let err = cli.fails(&["open311-key", "create", "--name", "city-app"], None);
    assert!(err.contains("name taken"), "{err}");

    let list = cli.ok(&["open311-key", "list"], None);
    assert!(
        list.contains("city-app\t") && list.contains("wechat\t"),
        "{list}"
    );
    assert!(!list.contains(&key), "the list never shows a key");
    assert_eq!(list.matches("active").count(), 2, "{list}");

    cli.ok(&["open311-key", "revoke", "--name", "city-app"], None);
    let list = cli.ok(&["open311-key", "list"], None);
    assert!(list.contains("revoked"), "{list}");
    assert_eq!(list.matches("active").count(), 1, "{list}");
    let revoked = store
        .open311_key_by_hash(&mulin_web::auth::token_hash(&key))
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let err = cli.fails(&["open311-key", "revoke", "--name", "nobody"], None);
    assert!(err.contains("no key of that name"), "{err}");
}

#[tokio::test]
async fn webhooks_are_added_with_a_secret_shown_once_listed_and_removed() {
    let cli = Cli::new().await;
    cli.ok(
        &["init", "--name", "新荣区", "--code", "140212000000"],
        None,
    );
    let add = [
        "webhook",
        "add",
        "--name",
        "ops",
        "--url",
        "http://127.0.0.1:9/hook",
    ];
    let secret = cli.ok(&add, None).trim().to_owned();
    assert_eq!(secret.len(), 64, "256 random bits in hex: {secret}");
    let store = cli.db.store();
    let district = store.districts().await.unwrap()[0].path.id().into();
    let webhooks = store.webhooks(district).await.unwrap();
    assert_eq!(webhooks.len(), 1);
    assert_eq!(webhooks[0].secret, secret, "kept as given: it signs");
    let err = cli.fails(&add, None);
    assert!(err.contains("name taken"), "{err}");
    cli.ok(
        &[
            "webhook",
            "add",
            "--name",
            "tls",
            "--url",
            "https://example.org/x",
        ],
        None,
    );
    let err = cli.fails(
        &[
            "webhook",
            "add",
            "--name",
            "ftp",
            "--url",
            "ftp://example.org/x",
        ],
        None,
    );
    assert!(err.contains("http:// or https://"), "{err}");

    let list = cli.ok(&["webhook", "list"], None);
    assert!(list.contains("ops\thttp://127.0.0.1:9/hook"), "{list}");
    assert!(!list.contains(&secret), "the list never shows a secret");

    cli.ok(&["webhook", "remove", "--name", "ops"], None);
    cli.ok(&["webhook", "remove", "--name", "tls"], None);
    assert!(store.webhooks(district).await.unwrap().is_empty());
    let err = cli.fails(&["webhook", "remove", "--name", "ops"], None);
    assert!(err.contains("no subscription of that name"), "{err}");
}

#[tokio::test]
async fn a_ledger_imports_from_the_command_line_all_or_nothing() {
    use mulin_domain::person::id_check_char;
    use mulin_domain::tree::NodeKind;

    let cli = Cli::new().await;
    cli.ok(&["demo", "--households", "300"], None);
    let store = cli.db.store();
    let district = store.districts().await.unwrap()[0].path;
    let nodes = store
        .subtree(district.id().into(), &district, NodeKind::Household)
        .await
        .unwrap();
    let household = nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Household)
        .unwrap();
    let name_of = |kind: NodeKind| {
        let id = household.path.at(kind).unwrap();
        nodes
            .iter()
            .find(|n| n.path.id() == id)
            .unwrap()
            .name
            .clone()
    };
    let grid = household.path.at(NodeKind::Grid).unwrap().to_string();
    let first17 = "14021219560314231";
    let number = format!("{first17}{}", id_check_char(first17).unwrap());
    let write = |file: &str, number: &str| {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        let header = ["姓名", "身份证号", "小区", "楼栋", "单元", "房号"];
        let row = [
            "张导入".to_owned(),
            number.to_owned(),
            name_of(NodeKind::Compound),
            name_of(NodeKind::Building),
            name_of(NodeKind::Entrance),
            household.name.clone(),
        ];
        for (col, (head, cell)) in header.iter().zip(row.iter()).enumerate() {
            sheet.write_string(0, col as u16, *head).unwrap();
            sheet.write_string(1, col as u16, cell).unwrap();
        }
        let path = cli.data_dir.path().join(file);
        workbook.save(&path).unwrap();
        path.to_string_lossy().into_owned()
    };
    let good = write("good.xlsx", &number);
    let out = cli.ok(
        &["import", "residents", &good, "--under", &grid, "--dry-run"],
        None,
    );
    assert!(
        out.contains("dry run ok") && out.contains("新增 1"),
        "{out}"
    );
    let out = cli.ok(&["import", "residents", &good, "--under", &grid], None);
    assert!(out.contains("imported") && out.contains("新增 1"), "{out}");
    let out = cli.ok(&["import", "residents", &good, "--under", &grid], None);
    assert!(
        out.contains("未变 1"),
        "the same file again changes nothing: {out}"
    );

    let bad = write("bad.xlsx", &number[..17]);
    let err = cli.fails(&["import", "residents", &bad, "--under", &grid], None);
    assert!(
        err.contains("第 2 行") && err.contains("nothing imported"),
        "{err}"
    );
    assert!(
        err.contains("应为 18 位：17 位数字加 1 位数字或 X（现为 17 位）"),
        "problems are printed in Chinese: {err}"
    );
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet().write_string(0, 0, "序号").unwrap();
    let headless = cli.data_dir.path().join("headless.xlsx");
    workbook.save(&headless).unwrap();
    let err = cli.fails(
        &[
            "import",
            "residents",
            &headless.to_string_lossy(),
            "--under",
            &grid,
        ],
        None,
    );
    assert!(err.contains("找不到表头行"), "{err}");
}

#[tokio::test]
async fn keys_rotate_reseals_with_a_new_key_and_retires_the_old_one() {
    let cli = Cli::new().await;
    cli.ok(&["demo", "--households", "50"], None);
    let out = cli.ok(&["keys", "rotate", "--batch", "40"], None);
    assert!(
        out.contains("re-sealed") && out.contains("retired 1 old keys"),
        "{out}"
    );
    let file = std::fs::read_to_string(cli.data_dir.path().join("id-keys.toml")).unwrap();
    assert!(
        !file.contains(&"01".repeat(32)),
        "the old key is still in the file"
    );
    // The binary opens the database with the rotated file; the old keyring no longer can.
    cli.ok(&["migrate"], None);
    assert!(cli.db.reopen(test_id_keys(&[1])).await.is_err());
}
