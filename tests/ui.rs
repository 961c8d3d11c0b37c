//! The web page (`streak-import ui`), served by the binary and driven in headless Chromium
//! through chromedriver (WebDriver, with fantoccini): upload, the invalid cells, a fix in the
//! grid, an import seen row by row in the grid and on the sandbox, a reload mid-import, and the
//! server stopped mid-import then the command line resuming the same run. The security checks
//! need no browser. Without chromium and chromedriver the browser tests are built as ignored
//! (see build.rs); under `CI=true` they run, and fail without them.
//!
//! `UPDATE_SCREENSHOTS=1 cargo test --test ui` refreshes the README's screenshots
//! (`docs/screenshots/`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use streak_import::sandbox::SandboxConfig;

mod support;

use support::*;

/// The page's server as a child process, and its URL (the first line it prints).
struct Page {
    child: Child,
    url: String,
}

impl Page {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Page {
        let mut cmd = bin();
        cmd.current_dir(dir)
            .args(["ui", "--no-open", "--port", "0", "--state-dir"])
            .arg(dir.join("state"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
            "{url}"
        );
        Page { child, url }
    }

    fn base(&self) -> String {
        self.url.split("/?").next().unwrap().to_string()
    }

    /// Uploads a sheet as the page does (without a browser).
    async fn upload(&self, file: &Path) {
        let name = file.file_name().unwrap().to_str().unwrap();
        let answer = reqwest::Client::new()
            .post(format!("{}/api/upload?name={name}", self.base()))
            .header("x-token", self.token())
            .body(std::fs::read(file).unwrap())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{:?}", answer.text().await);
    }

    fn token(&self) -> String {
        self.url.split("token=").nth(1).unwrap().to_string()
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, and a headless Chromium session through it.
struct Browser {
    driver: Child,
    client: Client,
}

impl Browser {
    async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian: apt install chromium-driver)");
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            // A page with an open event stream never "finishes loading" for WebDriver's normal
            // strategy; the tests wait for what they need themselves.
            "pageLoadStrategy": "eager",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,950"]
            }
        }))
        .unwrap();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Browser { driver, client }
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until `css`'s text contains `wanted`.
    async fn wait_text(&self, css: &str, wanted: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let t = self.text(css).await;
            if t.contains(wanted) {
                return t;
            }
            assert!(
                started.elapsed() < limit,
                "{css} never said {wanted:?}; it says {t:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every invalid cell in the grid: (row number, column).
    async fn invalid_cells(&self) -> Vec<(u64, String)> {
        let got = self
            .client
            .execute(
                "return [...document.querySelectorAll('#body td[aria-invalid=\"true\"]')].map(td => [Number(td.parentElement.firstChild.textContent), td.dataset.column]);",
                vec![],
            )
            .await
            .unwrap();
        let mut cells: Vec<(u64, String)> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_str().unwrap().to_string()))
            .collect();
        cells.sort();
        cells
    }

    /// Each grid row's (row number, status, id), as drawn.
    async fn statuses(&self) -> Vec<(u64, String, String)> {
        let got = self
            .client
            .execute(
                "return [...document.querySelectorAll('#body tr[data-index]')].map(tr => [Number(tr.children[0].textContent), tr.children[1].textContent, tr.children[2].textContent]);",
                vec![],
            )
            .await
            .unwrap();
        got.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap(),
                    p[1].as_str().unwrap().into(),
                    p[2].as_str().unwrap().into(),
                )
            })
            .collect()
    }

    /// Clicks the element with this id.
    async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click #{id}: {e}"));
    }

    /// Edits one grid cell the way a user does: click it, Enter, Control+A, the value, Enter.
    /// The grid redraws as events come, so a cell found a moment ago may be gone: look again.
    async fn edit(&self, row: u32, column: &str, value: &str) {
        let xpath = format!("//tr[td[1]='{row}']/td[@data-column='{column}']");
        for attempt in 0.. {
            let tried = async {
                self.client
                    .find(Locator::XPath(&xpath))
                    .await?
                    .click()
                    .await?;
                self.client
                    .active_element()
                    .await?
                    .send_keys("\u{E007}")
                    .await?;
                let editor = self.client.find(Locator::Css("#body td input")).await?;
                editor
                    .send_keys(&format!("\u{E009}a\u{E000}{value}\u{E007}"))
                    .await
            };
            match tried.await {
                Ok(()) => return,
                Err(e) if attempt < 5 => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot edit row {row} {column}: {e}"),
            }
        }
    }

    async fn screenshot(&self, name: &str) {
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let png = self.client.screenshot().await.unwrap();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), png).unwrap();
        }
    }
}

fn sample(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
        &to,
    )
    .unwrap();
    to
}

/// The (row, column) of every error the CLI reports for `file`, on template columns.
fn cli_errors(file: &Path, dir: &Path) -> Vec<(u64, String)> {
    let out = bin()
        .current_dir(dir)
        .arg("validate")
        .arg(file)
        .args(["--report", "cli.json", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("cli.json")).unwrap()).unwrap();
    let keys: Vec<&str> = streak_import::columns::COLUMNS
        .iter()
        .map(|c| c.key)
        .collect();
    let mut cells: Vec<(u64, String)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let row = r["row"].as_u64().unwrap();
            r["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |e| (row, e["column"].as_str().unwrap().to_string()))
        })
        .filter(|(_, c)| keys.contains(&c.as_str()))
        .collect();
    cells.sort();
    cells.dedup();
    cells
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_shows_the_invalid_cells_a_fix_turns_its_row_valid_and_import_lands_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample("with-errors.csv", dir.path());
    let expected = cli_errors(&file, dir.path());
    let page = Page::start(dir.path(), &["--sandbox"], &[]);
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    b.wait_text("#empty", "No sheet yet", Duration::from_secs(10))
        .await;
    b.screenshot("1-empty.png").await;

    // Upload through the file input labelled "Sheet".
    let label = b.text("label[for=sheet]").await;
    assert_eq!(label, "Sheet");
    let input = b.client.find(Locator::Id("sheet")).await.unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    let counts = b
        .wait_text("#counts", "25 rows", Duration::from_secs(10))
        .await;
    assert_eq!(counts, "25 rows · 6 valid · 19 invalid · 3 with warnings");
    assert!(b.text("#sheet-name").await.contains("with-errors.csv"));
    assert_eq!(
        b.invalid_cells().await,
        expected,
        "the grid marks exactly the CLI's errors"
    );
    // A problem's message is the cell's accessible description (and its tooltip).
    let cell = b
        .client
        .find(Locator::XPath(
            "//tr[td[1]='5']/td[@data-column='frequency_type']",
        ))
        .await
        .unwrap();
    let described = cell
        .attr("aria-description")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(described.starts_with("invalid_enum: "), "{described}");
    assert_eq!(
        cell.attr("title").await.unwrap().unwrap_or_default(),
        described
    );
    b.screenshot("2-grid-with-errors.png").await;

    // "Only problems" keeps the rows with something to fix.
    b.click("only-problems").await;
    let shown = b.statuses().await;
    assert!((19..25).contains(&shown.len()), "{shown:?}");
    assert_eq!(shown.iter().filter(|r| r.1 == "invalid").count(), 19);
    b.click("only-problems").await;
    assert_eq!(b.statuses().await.len(), 25);

    // Fix row 5's frequency_type in the grid: Enter edits, Enter commits; the row turns valid.
    b.edit(5, "frequency_type", "WEEKLY").await;
    b.wait_text("#counts", "7 valid", Duration::from_secs(10))
        .await;
    let row5 = b.statuses().await.into_iter().find(|r| r.0 == 5).unwrap();
    assert_eq!(row5.1, "valid");
    let still: Vec<_> = expected.iter().filter(|c| c.0 != 5).cloned().collect();
    assert_eq!(b.invalid_cells().await, still);
    b.screenshot("3-row-fixed.png").await;

    // "Download fixed sheet": the user's own CSV, its extra column and every other cell kept,
    // with the one edit.
    let fixed = reqwest::get(format!("{}/api/fixed?token={}", page.base(), page.token()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let records = |bytes: &[u8]| -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let mut original = records(&std::fs::read(&file).unwrap());
    let at = original[0]
        .iter()
        .position(|h| h == "frequency_type")
        .unwrap();
    assert_eq!(original[4][at], "Weekley");
    original[4][at] = "WEEKLY".into();
    assert_eq!(records(&fixed), original);

    // Import: every valid row is created, in the grid with its id and on the sandbox.
    b.click("import").await;
    b.wait_text("#run-summary", "created", Duration::from_secs(30))
        .await;
    let bar = b.client.find(Locator::Id("progress")).await.unwrap();
    assert_eq!(
        bar.attr("role").await.unwrap().as_deref(),
        Some("progressbar")
    );
    assert_eq!(
        bar.attr("aria-valuenow").await.unwrap().as_deref(),
        Some("100")
    );
    b.screenshot("4-imported.png").await;
    let state: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("state/sandbox-state.json")).unwrap(),
    )
    .unwrap();
    let on_sandbox: std::collections::HashMap<String, i64> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                g["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(on_sandbox.len(), 7, "{on_sandbox:?}");
    let grid = b.statuses().await;
    let created: Vec<_> = grid.iter().filter(|r| r.1 == "created").collect();
    assert_eq!(created.len(), 7, "{grid:?}");
    for (_, _, id) in &created {
        assert!(
            on_sandbox.values().any(|v| v.to_string() == *id),
            "id {id} not on the sandbox"
        );
    }
    // The reports of that run come back from the page.
    let report: Value = reqwest::get(format!(
        "{}/api/report/json?token={}",
        page.base(),
        page.token()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(report["summary"]["created"], json!(7));
    b.close().await;
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_mid_import_picks_the_run_up_and_a_stopped_server_resumes_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 600);
    let sb = sandbox(SandboxConfig {
        latency_ms: 40,
        ..Default::default()
    })
    .await;
    let env = [
        ("CAPILLARY_USERNAME", "till"),
        ("CAPILLARY_PASSWORD", PASSWORD),
    ];
    let args = ["--base-url", &sb.base_url(), "--concurrency", "2"];
    let page = Page::start(dir.path(), &args, &env);
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    let upload = b
        .client
        .wait()
        .for_element(Locator::Id("sheet"))
        .await
        .unwrap();
    upload.send_keys(input.to_str().unwrap()).await.unwrap();
    b.wait_text("#counts", "600 rows", Duration::from_secs(10))
        .await;
    b.click("import").await;
    assert!(wait_until(Duration::from_secs(20), || sb.groups().len() >= 30).await);
    // Reload: the page finds the run still going, and follows it to its end.
    b.client.refresh().await.unwrap();
    let label = b
        .wait_text("#run-label", "import: posting", Duration::from_secs(10))
        .await;
    let done: u64 = label.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(done < 600, "{label}");
    b.wait_text("#run-summary", "600 created", Duration::from_secs(90))
        .await;
    let grid = b.statuses().await;
    assert!(
        grid.iter().all(|r| r.1 == "created" && !r.2.is_empty()),
        "{grid:?}"
    );
    assert_exactly_once_on(&sb, 600);
    b.close().await;
    drop(page);

    // A second file: the server is killed mid-import; the CLI, on the same file and state dir,
    // resumes the same run (the page imported the upload, byte for byte the file).
    let second = dir.path().join("more.csv");
    let text = std::fs::read_to_string(&input)
        .unwrap()
        .replace("Streak ", "More ");
    std::fs::write(&second, text).unwrap();
    let page = Page::start(dir.path(), &args, &env);
    let http = reqwest::Client::new();
    let token = page.token();
    page.upload(&second).await;
    let answer = http
        .post(format!("{}/api/import", page.base()))
        .header("x-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    assert!(wait_until(Duration::from_secs(20), || sb.groups().len() >= 600 + 40).await);
    let mut page = page;
    page.child.kill().unwrap(); // SIGKILL mid-import
    page.child.wait().unwrap();
    let before = sb.groups().len();
    assert!(before < 1200, "the kill came mid-import ({before})");
    let (cmd, out) = run(import(&sb.base_url(), &second, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert_exactly_once_on(&sb, 1200);
    let _ = summary;
    let rows = report_rows(dir.path());
    let earlier = rows
        .iter()
        .filter(|r| r["done_earlier"] == json!(true))
        .count();
    assert!(
        earlier >= 40,
        "the CLI took the page's journal up: {earlier} rows done earlier"
    );

    // And the other way round: the CLI is killed mid-import; the page resumes its run.
    let third = dir.path().join("third.csv");
    let text = std::fs::read_to_string(&input)
        .unwrap()
        .replace("Streak ", "Third ");
    std::fs::write(&third, text).unwrap();
    let mut cli = import(&sb.base_url(), &third, dir.path(), &["--concurrency", "2"]);
    cli.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cli.spawn().unwrap();
    assert!(wait_until(Duration::from_secs(20), || sb.groups().len() >= 1200 + 40).await);
    child.kill().unwrap();
    child.wait().unwrap();
    let page = Page::start(dir.path(), &args, &env);
    page.upload(&third).await;
    let http = reqwest::Client::new();
    let started = http
        .post(format!("{}/api/import", page.base()))
        .header("x-token", page.token())
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let began = Instant::now();
    loop {
        let state: Value = http
            .get(format!("{}/api/state", page.base()))
            .header("x-token", page.token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["run"]["running"] == json!(false) && state["run"]["summary"].is_string() {
            let summary = state["run"]["summary"].as_str().unwrap();
            assert!(summary.contains("already done earlier"), "{summary}");
            let done_before: u64 = summary
                .split(", ")
                .find(|p| p.ends_with("already done earlier"))
                .and_then(|p| p.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            assert!(done_before >= 40, "{summary}");
            break;
        }
        assert!(began.elapsed() < Duration::from_secs(60), "{state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_exactly_once_on(&sb, 1800);
    sb.shutdown().await;
}

fn assert_exactly_once_on(sb: &streak_import::sandbox::Sandbox, n: usize) {
    let names = names_on(sb);
    assert_eq!(names.len(), n);
    assert!(names.values().all(|ids| ids.len() == 1));
}

/// Loopback only, the token on every request, Host and Origin checked; typed credentials are
/// never sent back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_refuses_requests_without_its_token_or_from_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let page = Page::start(
        dir.path(),
        &["--base-url", "https://eu.api.capillarytech.com"],
        &[],
    );
    let http = reqwest::Client::new();
    let base = page.base();
    let token = page.token();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(http.get(format!("{base}/")).send().await.unwrap()),
        401
    );
    assert_eq!(
        status(
            http.get(format!("{base}/api/state?token=wrong"))
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(status(http.get(&page.url).send().await.unwrap()), 200);
    // DNS rebinding: a page on another name that resolves here.
    let rebound = http
        .get(&page.url)
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(status(rebound), 403);
    // Another web page driving it from the user's browser.
    let foreign = http
        .post(format!("{base}/api/import"))
        .header("x-token", &token)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(status(foreign), 403);
    // Credentials typed into the page: accepted, never repeated.
    let secret = "s3cr3t-Pa55word";
    let set = http
        .post(format!("{base}/api/credentials"))
        .header("x-token", &token)
        .json(&json!({"username": "till", "password": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200);
    let state = http
        .get(format!("{base}/api/state"))
        .header("x-token", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        state.contains("\"typed\":true") && !state.contains(secret),
        "{state}"
    );
    // An upload lands in the state dir only, under its own plain name.
    let up = http
        .post(format!("{base}/api/upload?name=..%2F..%2Fescape.csv"))
        .header("x-token", &token)
        .body("name,frequency_type\nx,WEEKLY\n")
        .send()
        .await
        .unwrap();
    let _ = up.text().await; // the sheet lacks required columns: refused, but kept where it belongs
    assert!(!dir.path().join("escape.csv").exists());
    assert!(dir.path().join("state/ui/uploads/escape.csv").exists());
    // Too big is refused.
    let big = http
        .post(format!("{base}/api/upload?name=big.csv"))
        .header("x-token", &token)
        .body(vec![b'a'; streak_import::ui::MAX_UPLOAD + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(status(big), 413);
    let logs = std::fs::read_dir(dir.path().join("state")).unwrap().count();
    assert!(logs > 0);
    for f in walk(dir.path()) {
        let text = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(secret),
            "{} holds the password",
            f.display()
        );
    }
    // Ctrl-C stops it cleanly.
    let mut page = page;
    unsafe { libc::kill(page.child.id() as i32, libc::SIGINT) };
    let began = Instant::now();
    let status = loop {
        if let Some(status) = page.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "still serving after Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_fixed_in_the_grid_keeps_its_sheets_and_plan_shows_each_row() {
    use calamine::Reader;
    use streak_import::sheet::Value as Cell;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let good = streak_import::template::example_row(today);
    let mut bad = good.clone();
    bad[0] = Cell::Text("Second Streak".into());
    let type_col = streak_import::columns::COLUMNS
        .iter()
        .position(|c| c.key == "target_type")
        .unwrap();
    bad[type_col] = Cell::Text("SALEZ".into());
    let book = dir.path().join("campaign.xlsx");
    streak_import::template::write_xlsx(&book, &[good, bad], &[]).unwrap();
    let sheets_before = calamine::open_workbook_auto(&book).unwrap().sheet_names();

    let page = Page::start(dir.path(), &["--sandbox"], &[]);
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    let input = b
        .client
        .wait()
        .for_element(Locator::Id("sheet"))
        .await
        .unwrap();
    input.send_keys(book.to_str().unwrap()).await.unwrap();
    b.wait_text(
        "#counts",
        "2 rows · 1 valid · 1 invalid",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        b.invalid_cells().await,
        vec![(3, "target_type".to_string())]
    );
    b.edit(3, "target_type", "SALES").await;
    b.wait_text("#counts", "2 valid", Duration::from_secs(10))
        .await;

    let fixed = reqwest::get(format!("{}/api/fixed?token={}", page.base(), page.token()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let path = dir.path().join("fixed.xlsx");
    std::fs::write(&path, &fixed).unwrap();
    let mut wb = calamine::open_workbook_auto(&path).unwrap();
    assert_eq!(wb.sheet_names(), sheets_before, "every sheet kept");
    let range = wb.worksheet_range("streaks").unwrap();
    assert_eq!(
        range.get_value((2, type_col as u32)).unwrap().to_string(),
        "SALES"
    );
    assert_eq!(
        range.get_value((1, type_col as u32)).unwrap().to_string(),
        "SALES"
    );

    // Plan: what the sandbox would do, per row, in the grid.
    b.click("plan").await;
    b.wait_text("#run-summary", "plan: create 2", Duration::from_secs(20))
        .await;
    let grid = b.statuses().await;
    assert!(
        grid.iter().all(|r| r.1 == "valid · plan create"),
        "{grid:?}"
    );
    b.close().await;
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_rows_draw_only_what_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 20_000);
    let page = Page::start(dir.path(), &["--sandbox"], &[]);
    page.upload(&input).await;
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    b.wait_text("#counts", "20000 rows", Duration::from_secs(20))
        .await;
    let drawn = |js: &'static str| {
        let client = b.client.clone();
        async move { client.execute(js, vec![]).await.unwrap() }
    };
    let rows = drawn("return document.querySelectorAll('#body tr[data-index]').length").await;
    assert!(rows.as_u64().unwrap() < 150, "{rows} rows in the document");
    // To the end and back: each jump is drawn within a frame or two.
    let started = Instant::now();
    drawn("const w = document.getElementById('grid-wrap'); w.scrollTop = w.scrollHeight;").await;
    loop {
        let last = drawn("const r = [...document.querySelectorAll('#body tr[data-index]')]; return r.length ? r[r.length - 1].children[0].textContent : '';").await;
        if last == json!("20001") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the last row is not drawn: {last}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rows = drawn("return document.querySelectorAll('#body tr[data-index]').length").await;
    assert!(rows.as_u64().unwrap() < 150, "{rows} rows in the document");
    b.close().await;
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_with_its_periods_file_validates_as_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = sample("campaign.csv", dir.path());
    let periods = sample("campaign-periods.csv", dir.path());
    let page = Page::start(dir.path(), &["--sandbox"], &[]);
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    // Without its periods file, the CUSTOM streaks have no periods.
    let input = b
        .client
        .wait()
        .for_element(Locator::Id("sheet"))
        .await
        .unwrap();
    let alone = dir.path().join("alone");
    std::fs::create_dir(&alone).unwrap();
    let lone = alone.join("campaign.csv");
    std::fs::copy(&sheet, &lone).unwrap();
    input.send_keys(lone.to_str().unwrap()).await.unwrap();
    let without = b
        .wait_text("#counts", "24 rows", Duration::from_secs(10))
        .await;
    assert!(!without.contains("24 valid"), "{without}");
    // With it, chosen in "Periods file": every row valid, as `validate` says.
    let label = b.text("label[for=periods]").await;
    assert!(label.starts_with("Periods file"), "{label}");
    b.client
        .find(Locator::Id("periods"))
        .await
        .unwrap()
        .send_keys(periods.to_str().unwrap())
        .await
        .unwrap();
    let input = b.client.find(Locator::Id("sheet")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(sheet.to_str().unwrap()).await.unwrap();
    b.wait_text(
        "#counts",
        "24 rows · 24 valid · 0 invalid",
        Duration::from_secs(10),
    )
    .await;
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "campaign.csv", "--report", "v.json", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    b.close().await;
}

#[cfg_attr(
    chromium_missing,
    ignore = "needs chromium and chromedriver on the PATH (apt install chromium chromium-driver); CI=true never skips"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_dropped_on_the_page_imports_with_credentials_typed_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    // No credentials in the server's environment: the page asks for them.
    let page = Page::start(dir.path(), &["--base-url", &sb.base_url()], &[]);
    let b = Browser::start().await;
    b.client.goto(&page.url).await.unwrap();
    b.wait_text(
        "#credentials-why",
        "CAPILLARY_USERNAME",
        Duration::from_secs(10),
    )
    .await;
    // A file dropped on the page (the browser's own drop event, with the file in its DataTransfer).
    b.client
        .execute(
            "const csv = arguments[0];\
             const dt = new DataTransfer();\
             dt.items.add(new File([csv], 'dropped.csv', {type: 'text/csv'}));\
             document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
            vec![json!("name,frequency_type,total_periods,start_date,target_entity,target_type,default_value\nDropped One,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100\nDropped Two,WEEKLY,4,2026-08-03,TRANSACTION,SALES,200\n")],
        )
        .await
        .unwrap();
    b.wait_text("#counts", "2 rows · 2 valid", Duration::from_secs(10))
        .await;
    assert!(b.text("#sheet-name").await.starts_with("dropped.csv"));
    // Import before the credentials: a clear message, nothing sent.
    b.click("import").await;
    b.wait_text(
        "#error",
        "type the till's username and password",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(sb.request_count(), 0);
    // Typed into the password field: kept by the server, the field emptied, never shown again.
    b.client
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("till")
        .await
        .unwrap();
    let password = b.client.find(Locator::Id("password")).await.unwrap();
    assert_eq!(
        password.attr("type").await.unwrap().as_deref(),
        Some("password")
    );
    password.send_keys(PASSWORD).await.unwrap();
    b.click("save-credentials").await;
    b.wait_text(
        "#credentials-state",
        "credentials set",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(password.prop("value").await.unwrap().as_deref(), Some(""));
    b.click("import").await;
    b.wait_text("#run-summary", "2 created", Duration::from_secs(20))
        .await;
    assert_exactly_once_on(&sb, 2);
    let html = b.client.source().await.unwrap();
    assert!(!html.contains(PASSWORD), "the page holds the password");
    b.close().await;
}
