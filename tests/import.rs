//! `import` against the sandbox on a free loopback port: faults, a kill mid-run, bad credentials,
//! OAuth renewal, secrets, and the bodies received versus the dry run (SPEC §6–7).
//!
//! The sandbox runs in the test process; the importer runs as the real binary.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use streak_import::sandbox::{RateLimit, SandboxConfig};

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_still_give_every_row_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 1000);
    let sb = sandbox(SandboxConfig {
        error_rate: 0.10,
        drop_rate: 0.03,
        rate_limit: Some(RateLimit::per_second(400)),
        seed: Some(7),
        ..Default::default()
    })
    .await;
    let cmd = import(
        &sb.base_url(),
        &input,
        dir.path(),
        &[
            "--concurrency",
            "16",
            "--max-attempts",
            "10",
            "--timeout",
            "5",
        ],
    );
    let (cmd, out) = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_exactly_once(dir.path(), &sb, 1000);
    // The faults really happened: some rows needed more than one attempt.
    let retried = report_rows(dir.path())
        .iter()
        .filter(|r| r["attempts"].as_u64().unwrap_or(0) > 1)
        .count();
    assert!(retried > 50, "only {retried} rows were retried");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_run_then_rerun_creates_each_row_once_and_resends_nothing_done() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 300);
    let sb = sandbox(SandboxConfig {
        latency_ms: 20,
        ..Default::default()
    })
    .await;
    let mut cmd = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "4"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while sb.groups().len() < 60 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let created_before: Vec<String> = sb
        .groups()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        created_before.len() >= 60 && created_before.len() < 300,
        "{} created before the kill",
        created_before.len()
    );
    let posts_before = sb.received().len();

    let (cmd, out) = run(import(
        &sb.base_url(),
        &input,
        dir.path(),
        &["--concurrency", "4"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_exactly_once(dir.path(), &sb, 300);
    // Nothing created by the first run was posted again by the second.
    let resent: Vec<String> = sb.received()[posts_before..]
        .iter()
        .filter_map(|b| b["name"].as_str())
        .filter(|n| created_before.iter().any(|c| c == n))
        .map(str::to_string)
        .collect();
    assert!(resent.is_empty(), "re-sent after the kill: {resent:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_stops_with_exit_3_after_at_most_concurrency_requests() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 200);
    let sb = sandbox(SandboxConfig::default()).await;
    let mut cmd = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "4"]);
    cmd.env("CAPILLARY_PASSWORD", "not-the-password");
    let (cmd, out) = run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));
    assert!(
        sb.request_count() <= 4,
        "{} requests were sent",
        sb.request_count()
    );
    assert!(sb.groups().is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(!stderr.contains("not-the-password"));
    // The rows that were never tried are reported as not sent.
    let not_sent = report_rows(dir.path())
        .iter()
        .filter(|r| r["status"] == "not_sent")
        .count();
    assert!(not_sent >= 196, "{not_sent} rows not sent");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_are_renewed_before_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 60);
    let sb = sandbox(SandboxConfig {
        token_ttl_secs: 1,
        latency_ms: 40,
        ..Default::default()
    })
    .await;
    let mut cmd = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "1"]);
    cmd.env_remove("CAPILLARY_USERNAME")
        .env_remove("CAPILLARY_PASSWORD")
        .env("CAPILLARY_OAUTH_KEY", "sandbox-key")
        .env("CAPILLARY_OAUTH_SECRET", "sandbox-secret");
    let started = Instant::now();
    let (cmd, out) = run(cmd).await;
    // 60 requests of at least 40 ms one at a time outlive several one-second tokens.
    assert!(started.elapsed() > Duration::from_secs(2));
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_exactly_once(dir.path(), &sb, 60);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_file_contains_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 20);
    let sb = sandbox(SandboxConfig {
        error_rate: 0.2,
        seed: Some(3),
        ..Default::default()
    })
    .await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let basic = streak_import::post::api::basic_header("till", PASSWORD);
    let token = basic.trim_start_matches("Basic ");
    let digest = {
        use md5::{Digest, Md5};
        Md5::digest(PASSWORD.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut files = vec![];
    for entry in walk(dir.path()) {
        files.push(entry);
    }
    assert!(
        files.iter().any(|f| f.ends_with("out.xlsx"))
            && files
                .iter()
                .any(|f| f.to_string_lossy().contains("journal"))
    );
    let mut texts: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    texts.push(("stdout".into(), out.stdout.clone()));
    texts.push(("stderr".into(), out.stderr.clone()));
    for (name, bytes) in texts {
        let text = String::from_utf8_lossy(&bytes);
        for secret in [PASSWORD, token, &digest] {
            assert!(!text.contains(secret), "{name} contains a secret");
        }
    }
    // The help text never shows an environment value either.
    let help = bin()
        .args(["import", "--help"])
        .env("CAPILLARY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains(PASSWORD));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_receives_exactly_the_dry_run_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/campaign.xlsx");
    let mut dry = bin();
    dry.current_dir(dir.path())
        .arg("import")
        .arg(&sample)
        .args(["--dry-run", "--report", "dry.json", "--quiet"]);
    let out = dry.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&dry, &out));
    let dry_bodies: Vec<Value> = std::fs::read_to_string(dir.path().join("dry.payloads.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["body"].clone())
        .collect();
    assert!(dry_bodies.len() >= 20);

    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &sample, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let mut received = sb.received();
    let mut expected = dry_bodies.clone();
    let key = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
    received.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(received, expected);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_posts_nothing_when_a_row_is_invalid_and_names_taken_are_existing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.csv");
    std::fs::write(
        &input,
        "name,frequency_type,total_periods,start_date,target_entity,target_type,default_value\n\
         Taken,WEEKLY,2,2026-08-03,TRANSACTION,SALES,100\n\
         Fresh,WEEKLY,2,2026-08-03,TRANSACTION,SALES,100\n\
         Broken,Weekley,2,2026-08-03,TRANSACTION,SALES,100\n",
    )
    .unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &["--strict"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    assert_eq!(sb.request_count(), 0);
    let statuses: Vec<String> = report_rows(dir.path())
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["not_sent", "not_sent", "invalid"]);

    // Someone created "taken" (other case) on the server before the import.
    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "name": "TAKEN", "active": true, "trackingType": "STREAKS", "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "WEEKLY", "frequency": 1, "recurringCycles": 1, "totalPeriods": 1, "userCreated": false,
        "periods": [{"refCode": "Cycle_1", "startDate": "2026-08-03T00:00:00.000", "endDate": "2026-08-09T23:59:59.999", "periodStatus": "NOT_STARTED", "active": true, "description": ""}],
        "targets": [{"name": "TAKEN", "active": true, "description": "", "targetEntity": "TRANSACTION", "targetType": "SALES", "enrolmentMethod": "TRANSACTION", "expression": "true", "expressionJson": "{}", "filters": [], "targetMilestoneTriggers": [], "defaultValues": [{"defaultValue": 1}]}]
    });
    let resp = client
        .post(format!("{}/v3/targetGroups", sb.base_url()))
        .header(
            "Authorization",
            streak_import::post::api::basic_header("till", PASSWORD),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    let rows = report_rows(dir.path());
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("Taken", "conflict"),
            ("Fresh", "created"),
            ("Broken", "invalid")
        ]
    );
    assert_eq!(rows[0]["api_errors"][0]["code"], 310069);
    // The streak someone else made under that name is not the row's: compared, not taken for it.
    let fixed: Vec<&str> = rows[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["editable"] == false)
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fixed, ["recurringCycles", "totalPeriods", "periods"]);
    assert_eq!(rows[0]["target_group_id"], sb.groups()[0]["id"]);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_in_flight_requests_writes_reports_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 300);
    let sb = sandbox(SandboxConfig {
        latency_ms: 20,
        ..Default::default()
    })
    .await;
    let mut cmd = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "4"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while sb.groups().len() < 40 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = interrupt(child).await;
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The report accounts for every row: what the sandbox holds is `created`, the rest `not_sent`.
    let rows = report_rows(dir.path());
    let on_server = names_on(&sb);
    assert!(on_server.len() < 300);
    for r in &rows {
        let name = r["name"].as_str().unwrap().to_lowercase();
        let expected = if on_server.contains_key(&name) {
            "created"
        } else {
            "not_sent"
        };
        assert_eq!(r["status"], expected, "{r}");
    }
    // The same command finishes the job.
    let (cmd, out) = run(import(
        &sb.base_url(),
        &input,
        dir.path(),
        &["--concurrency", "4"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_exactly_once(dir.path(), &sb, 300);
    sb.shutdown().await;
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 1);
    let mut cmd = import("http://api.example.com", &input, dir.path(), &[]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plain http") && stderr.contains("--allow-http"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out.json").exists(),
        "nothing is read or written before the API settings are checked"
    );
}

#[test]
fn missing_credentials_are_a_usage_error_that_points_to_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 1);
    let mut cmd = bin();
    cmd.current_dir(dir.path())
        .arg("import")
        .arg(&input)
        .args(["--cluster", "eu"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CAPILLARY_USERNAME") && stderr.contains("--sandbox"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_with_credentials_previews_the_plan_and_posts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 5);
    let sb = sandbox(SandboxConfig::default()).await;
    // Three of the five exist already (an earlier import of the first three rows).
    let first = dir.path().join("first.csv");
    let text = std::fs::read_to_string(&input).unwrap();
    std::fs::write(
        &first,
        text.lines().take(4).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let (cmd, out) = run(import(&sb.base_url(), &first, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let ids = names_on(&sb);
    let posts = sb.received().len();

    let (cmd, out) = run(import(
        &sb.base_url(),
        &input,
        dir.path(),
        &["--dry-run", "--json"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_eq!(sb.received().len(), posts, "a dry run posts nothing");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["plan"],
        serde_json::json!({"create": 2, "unchanged": 3, "update": 0, "conflict": 0, "invalid": 0})
    );
    let plans: Vec<(String, String, Option<i64>)> = report_rows(dir.path())
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["plan"].as_str().unwrap().into(),
                r["target_group_id"].as_i64(),
            )
        })
        .collect();
    let id = |n: &str| ids.get(&n.to_lowercase()).map(|v| v[0]);
    assert_eq!(
        plans,
        vec![
            ("Streak 0000".into(), "unchanged".into(), id("Streak 0000")),
            ("Streak 0001".into(), "unchanged".into(), id("Streak 0001")),
            ("Streak 0002".into(), "unchanged".into(), id("Streak 0002")),
            ("Streak 0003".into(), "create".into(), None),
            ("Streak 0004".into(), "create".into(), None),
        ]
    );
    // The request bodies are written as in any dry run.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.payloads.jsonl"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    sb.shutdown().await;
}

/// Copies a sheet of `from` into `to`, cell by cell with its type, changing the cells `fix` names.
fn copy_sheet(
    from: &mut calamine::Sheets<std::io::BufReader<std::fs::File>>,
    to: &mut rust_xlsxwriter::Workbook,
    name: &str,
    fix: &[((u32, u16), &str)],
) {
    use calamine::{Data, Reader};
    let range = from.worksheet_range(name).unwrap();
    let ws = to.add_worksheet();
    ws.set_name(name).unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (r, row) in range.rows().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if let Some((_, text)) = fix.iter().find(|(at, _)| *at == (r, c)) {
                ws.write_string(r, c, *text).unwrap();
                continue;
            }
            match cell {
                Data::String(s) => {
                    ws.write_string(r, c, s).unwrap();
                }
                Data::Float(f) => {
                    ws.write_number(r, c, *f).unwrap();
                }
                Data::Int(i) => {
                    ws.write_number(r, c, *i as f64).unwrap();
                }
                Data::Bool(b) => {
                    ws.write_boolean(r, c, *b).unwrap();
                }
                Data::DateTime(d) => {
                    ws.write_datetime_with_format(r, c, d.as_datetime().unwrap(), &date)
                        .unwrap();
                }
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_in_the_retry_sheet_and_import_it_to_finish_the_job() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("campaign.csv");
    std::fs::write(
        &input,
        "name,frequency_type,total_periods,start_date,target_entity,target_type,default_value\n\
         Alpha,WEEKLY,2,2026-08-03,TRANSACTION,SALES,100\n\
         Bravo,Weekley,2,2026-08-03,TRANSACTION,SALES,100\n\
         Charlie,CUSTOM,,,TRANSACTION,SALES,abc\n\
         Delta,MONTHLY,3,2026-08-01,TRANSACTION,SALES,250\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("campaign-periods.csv"),
        "streak_name,start_date,end_date\nCharlie,2026-08-01,2026-08-10\nCharlie,2026-09-01,2026-09-10\n",
    )
    .unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    let mut on_server: Vec<String> = names_on(&sb).into_keys().collect();
    on_server.sort();
    assert_eq!(on_server, ["alpha", "delta"]);
    let posts_before = sb.received().len();

    // The user fixes the two rows in the report's retry sheet (frequency_type of Bravo,
    // default_value of Charlie) and saves the workbook.
    let mut report = calamine::open_workbook_auto(dir.path().join("out.xlsx")).unwrap();
    let retry = report.worksheet_range("retry").unwrap();
    let header: Vec<String> = retry
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |k: &str| header.iter().position(|h| h == k).unwrap() as u16;
    let names: Vec<String> = retry
        .rows()
        .skip(1)
        .map(|r| r[col("name") as usize].to_string())
        .collect();
    assert_eq!(
        names,
        ["Bravo", "Charlie"],
        "the retry sheet holds exactly the rows to fix"
    );
    let mut fixed = rust_xlsxwriter::Workbook::new();
    copy_sheet(
        &mut report,
        &mut fixed,
        "retry",
        &[
            ((1, col("frequency_type")), "WEEKLY"),
            ((2, col("default_value")), "100"),
        ],
    );
    copy_sheet(&mut report, &mut fixed, "periods", &[]);
    let fixed_path = dir.path().join("fixed.xlsx");
    fixed.save(&fixed_path).unwrap();

    let (cmd, out) = run(import(
        &sb.base_url(),
        &fixed_path,
        dir.path(),
        &["--sheet", "retry"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let mut on_server: Vec<String> = names_on(&sb).into_keys().collect();
    on_server.sort();
    assert_eq!(on_server, ["alpha", "bravo", "charlie", "delta"]);
    assert!(names_on(&sb).values().all(|ids| ids.len() == 1));
    let mut resent: Vec<String> = sb.received()[posts_before..]
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    resent.sort();
    assert_eq!(
        resent,
        ["Bravo", "Charlie"],
        "rows already done are not touched"
    );
    let charlie = sb
        .groups()
        .into_iter()
        .find(|g| g["name"] == "Charlie")
        .unwrap();
    assert_eq!(charlie["periods"].as_array().unwrap().len(), 2);
    sb.shutdown().await;
}

/// A small deterministic generator for kill moments (no extra crate for one test).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_sigkills_at_random_moments_then_every_row_created_once_with_its_real_id() {
    let dir = tempfile::tempdir().unwrap();
    // 1,500 rows at 4 in flight and 30 ms each take about 12 s: long enough that twelve kills
    // 80–980 ms apart all land before the job is done, on a fast machine too.
    let input = write_rows(dir.path(), 1500);
    let sb = sandbox(SandboxConfig {
        latency_ms: 30,
        error_rate: 0.05,
        drop_rate: 0.05,
        seed: Some(11),
        ..Default::default()
    })
    .await;
    let args = [
        "--concurrency",
        "4",
        "--timeout",
        "3",
        "--max-attempts",
        "10",
    ];
    let mut moments = Lcg(20261201);
    let mut kills = 0;
    while kills < 12 {
        let mut cmd = import(&sb.base_url(), &input, dir.path(), &args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(80 + moments.below(900))).await;
        if child.try_wait().unwrap().is_some() {
            break; // It finished before this kill: the rest of the test still holds.
        }
        child.kill().unwrap(); // SIGKILL: no chance to clean up.
        child.wait().unwrap();
        kills += 1;
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed before the import finished"
    );
    assert!(
        sb.groups().len() < 1500,
        "the kills should interrupt the job"
    );
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    // Each name once on the server, and every row `created` with the id the server holds.
    assert_exactly_once(dir.path(), &sb, 1500);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_file_and_state_dir_refuses_at_once_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 200);
    let sb = sandbox(SandboxConfig {
        latency_ms: 20,
        ..Default::default()
    })
    .await;
    let mut first = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "2"]);
    first.stdout(Stdio::null()).stderr(Stdio::null());
    let mut first = first.spawn().unwrap();
    let started = Instant::now();
    while sb.groups().len() < 10 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut second = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "8"]);
    second.args(["--report", "second.json"]);
    let before = sb.request_count();
    let asked = Instant::now();
    let (cmd, out) = run(second).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "the second run waited"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another streak-import run")
            && stderr.contains(&format!("process {}", first.id())),
        "{stderr}"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run is still going"
    );
    // The second run sent nothing: everything the sandbox got meanwhile is the first run's
    // two workers' (at most a few requests in that time).
    assert!(sb.request_count() - before < 40);
    assert!(
        !dir.path().join("second.json").exists(),
        "refused before any report"
    );
    let status = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_exactly_once(dir.path(), &sb, 200);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_wrong_password_the_right_one_claims_only_what_it_created() {
    let sb = sandbox(SandboxConfig::default()).await;
    // Someone imported three of the names from another file before.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = write_rows(elsewhere.path(), 3);
    let (cmd, out) = run(import(&sb.base_url(), &other, elsewhere.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let theirs = names_on(&sb);

    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 10);
    let mut wrong = import(&sb.base_url(), &input, dir.path(), &["--concurrency", "4"]);
    wrong.env("CAPILLARY_PASSWORD", "not-the-password");
    let (cmd, out) = run(wrong).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&cmd, &out));

    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let on_server = names_on(&sb);
    assert!(on_server.values().all(|ids| ids.len() == 1));
    for r in report_rows(dir.path()) {
        let name = r["name"].as_str().unwrap().to_lowercase();
        let expected = if theirs.contains_key(&name) {
            "existing"
        } else {
            "created"
        };
        assert_eq!(r["status"], expected, "{r}");
        // `existing` carries the id of the streak that was there.
        assert_eq!(
            r["target_group_id"].as_i64(),
            Some(on_server[&name][0]),
            "{r}"
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not_root, ignore = "mounting a tmpfs needs root")]
async fn a_state_dir_that_fills_up_stops_the_run_and_nothing_is_sent_without_its_intent() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let tmpfs = Tmpfs::mount(&state, "size=32k");
    let input = write_rows(dir.path(), 600);
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("journal")
            && stderr.contains("No space left on device")
            && stderr.contains(&state.display().to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot write the report"), "{stderr}");
    let journal = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".journal.jsonl"))
        .unwrap();
    let text = String::from_utf8_lossy(&std::fs::read(&journal).unwrap()).into_owned();
    let intents: std::collections::HashSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["event"] == "intent")
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    let sent: Vec<String> = sb
        .received()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!sent.is_empty() && sent.len() < 600, "{} sent", sent.len());
    for name in &sent {
        assert!(
            intents.contains(name),
            "{name} was sent without an intent on disk"
        );
    }
    // The report tells the truth about what happened before the disk filled.
    let rows = report_rows(dir.path());
    let created = rows.iter().filter(|r| r["status"] == "created").count();
    assert_eq!(created, sb.groups().len());
    // With room again, the same command finishes the job, each row once.
    tmpfs.resize("4m");
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    assert_exactly_once(dir.path(), &sb, 600);
    sb.shutdown().await;
    drop(tmpfs);
}

/// The most arrivals in any one second.
fn busiest_second(arrivals: &[Instant]) -> usize {
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(arrivals[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_a_steady_pace_with_no_burst() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 45);
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(
        &sb.base_url(),
        &input,
        dir.path(),
        &["--rate-limit", "600/min", "--concurrency", "32"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let arrivals = sb.create_arrivals();
    assert_eq!(arrivals.len(), 45);
    // ⌈600/60⌉ + 1 = 11 at most in any one second, and so 45 rows take at least 4 s.
    assert!(
        busiest_second(&arrivals) <= 11,
        "{} in one second",
        busiest_second(&arrivals)
    );
    let span = arrivals[44].duration_since(arrivals[0]);
    assert!(span >= Duration::from_millis(4300), "{span:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rate_limit_the_pace_finds_the_servers_limit_and_holds_it() {
    use streak_import::sandbox::LimitShape;
    // A sliding window of 50 a second, and a fixed 5-second window of 100 without
    // Retry-After. The numbers that matter are the benchmark's; this checks the behaviour:
    // all created, few 429s, and no collapse (the old client took minutes here).
    for (limit, rows, ideal) in [
        (
            RateLimit {
                quota: 50,
                period: Duration::from_secs(1),
                shape: LimitShape::Sliding,
                retry_after: true,
                change: None,
            },
            500,
            10.0,
        ),
        (
            RateLimit {
                quota: 100,
                period: Duration::from_secs(5),
                shape: LimitShape::Fixed,
                retry_after: false,
                change: None,
            },
            300,
            15.0,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let input = write_rows(dir.path(), rows);
        let sb = sandbox(SandboxConfig {
            rate_limit: Some(limit.clone()),
            ..Default::default()
        })
        .await;
        let started = Instant::now();
        let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &["--json"])).await;
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{limit:?}: {}",
            show(&cmd, &out)
        );
        assert_exactly_once(dir.path(), &sb, rows);
        // The summary counts what the server saw.
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            summary["api"]["rate_limited"],
            sb.limited_count(),
            "{summary}"
        );
        assert_eq!(summary["api"]["requests"], sb.request_count(), "{summary}");
        let share = sb.limited_count() as f64 / sb.request_count() as f64;
        assert!(
            share <= 0.10,
            "{limit:?}: {:.1}% answered 429",
            share * 100.0
        );
        assert!(wall < 2.0 * ideal + 5.0, "{limit:?}: {wall:.1} s");
        sb.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_journal_costs_one_line_with_a_warning_and_nothing_is_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 20);
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let journal = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".journal.jsonl"))
        .unwrap();
    let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    // An invalid UTF-8 byte on a line of its own, then a line torn by a kill.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    use std::io::Write;
    f.write_all(b"{\"event\":\"outcome\",\"row\":2,\"name\":\"\xff\"}\n{\"event\":\"inte")
        .unwrap();
    drop(f);
    let posts = sb.received().len();
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [lines + 1, lines + 2] {
        assert!(
            stderr.contains(&format!("{} line {line}: unreadable", journal.display())),
            "line {line}: {stderr}"
        );
    }
    assert_eq!(sb.received().len(), posts, "nothing was sent again");
    assert_exactly_once(dir.path(), &sb, 20);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not_root, ignore = "mounting a tmpfs needs root")]
async fn a_read_only_state_dir_stops_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let read_only = Tmpfs::mount(&state, "ro,size=64k");
    let input = write_rows(dir.path(), 5);
    let sb = sandbox(SandboxConfig::default()).await;
    let (cmd, out) = run(import(&sb.base_url(), &input, dir.path(), &[])).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("journal") && stderr.contains("Read-only file system"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot write the report"), "{stderr}");
    assert_eq!(sb.request_count(), 0, "nothing is sent without a journal");
    drop(read_only);
    sb.shutdown().await;
}

#[test]
fn sandbox_ignores_capillary_base_url_and_says_so_and_help_shows_no_empty_env() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 2);
    let mut cmd = bin();
    cmd.current_dir(dir.path())
        .arg("import")
        .arg(&input)
        .args(["--sandbox", "--quiet"])
        // TEST-NET-1: never routed, so a request there would hang, not succeed.
        .env("CAPILLARY_BASE_URL", "http://192.0.2.1");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CAPILLARY_BASE_URL is set, but --sandbox"),
        "{stderr}"
    );
    let help = bin().args(["import", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("=]"), "{help}");
    assert!(help.contains("CAPILLARY_BASE_URL"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_terminal_a_long_phase_prints_a_line_every_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 60);
    let sb = sandbox(SandboxConfig::default()).await;
    let mut cmd = bin();
    cmd.current_dir(dir.path())
        .arg("import")
        .arg(&input)
        .args(["--base-url", &sb.base_url(), "--rate-limit", "300/min"])
        .args(["--state-dir", "state", "--report", "out.json"])
        .env("CAPILLARY_USERNAME", "till")
        .env("CAPILLARY_PASSWORD", PASSWORD);
    // 60 rows at 5 a second: about 12 s of posting, so at least one line on the way.
    let (cmd, out) = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&cmd, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let on_the_way: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("posting") && l.contains("/60 rows") && l.contains("/s")
        })
        .collect();
    assert!(!on_the_way.is_empty(), "{stderr}");
    assert!(on_the_way[0].contains("ETA"), "{stderr}");
    // The summary names the API and how the requests went.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("API: {}", sb.base_url())),
        "{stdout}"
    );
    assert!(stdout.contains("60 requests: 0 answered 429"), "{stdout}");
    sb.shutdown().await;
}
