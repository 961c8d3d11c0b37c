//! The streak lifecycle against the sandbox on a free loopback port: export and its round
//! trip, a plan with one row of each class, `import --update` (and its resume after SIGKILL),
//! and `undo`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use streak_import::sandbox::{Sandbox, SandboxConfig};

mod support;

use support::*;

/// The binary pointed at `sb` with its credentials, in `dir`, with `args`.
fn tool(sb: &Sandbox, dir: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.current_dir(dir)
        .args(args)
        .args(["--base-url", &sb.base_url(), "--state-dir"])
        .arg(dir.join("state"))
        .env("CAPILLARY_USERNAME", "till")
        .env("CAPILLARY_PASSWORD", PASSWORD);
    c
}

async fn ok(cmd: Command, code: i32) -> String {
    let (cmd, out) = run(cmd).await;
    assert_eq!(out.status.code(), Some(code), "{}", show(&cmd, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A group as created, without what the server adds (its id, its targets' ids).
fn body_of(group: &Value) -> Value {
    let mut g = group.clone();
    let o = g.as_object_mut().unwrap();
    o.remove("id");
    for t in o.get_mut("targets").unwrap().as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("id");
    }
    g
}

fn by_name(sb: &Sandbox) -> Vec<(String, Value)> {
    let mut groups: Vec<(String, Value)> = sb
        .groups()
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_string(), body_of(g)))
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

fn copy_samples(dir: &Path) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for f in ["campaign.csv", "campaign-periods.csv"] {
        std::fs::copy(samples.join(f), dir.join(f)).unwrap();
    }
}

/// Every field of every group equal, named in the message when not.
fn assert_same_bodies(a: &[(String, Value)], b: &[(String, Value)]) {
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(b) {
        let (x, y) = (x.as_object().unwrap(), y.as_object().unwrap());
        let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
        for k in keys {
            assert_eq!(x.get(k), y.get(k), "{name}: field {k}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_into_an_empty_sandbox_recreates_equal_bodies() {
    let dir = tempfile::tempdir().unwrap();
    copy_samples(dir.path());
    let test_org = sandbox(SandboxConfig::default()).await;
    ok(
        tool(&test_org, dir.path(), &["import", "campaign.csv", "-q"]),
        0,
    )
    .await;
    assert_eq!(test_org.groups().len(), 24);
    for (file, periods) in [("copy.xlsx", None), ("copy.csv", Some("copy-periods.csv"))] {
        let out = ok(
            tool(
                &test_org,
                dir.path(),
                &["export", "-o", file, "--without-ids"],
            ),
            0,
        )
        .await;
        assert!(out.contains("exported 24 streaks"), "{out}");
        if let Some(p) = periods {
            // Only the streaks with periods of their own need the periods file: exactly those
            // of the sample's periods file, with the same rows.
            let names = |text: &str| -> std::collections::BTreeSet<String> {
                text.lines()
                    .skip(1)
                    .map(|l| l.split(',').next().unwrap().to_string())
                    .collect()
            };
            let exported = std::fs::read_to_string(dir.path().join(p)).unwrap();
            let sample = std::fs::read_to_string(dir.path().join("campaign-periods.csv")).unwrap();
            assert_eq!(names(&exported), names(&sample));
            assert_eq!(exported.lines().count(), sample.lines().count());
        }
        let production = sandbox(SandboxConfig::default()).await;
        ok(
            tool(
                &production,
                dir.path(),
                &["import", file, "-q", "--report", "copy.json"],
            ),
            0,
        )
        .await;
        assert_same_bodies(&by_name(&test_org), &by_name(&production));
        production.shutdown().await;
    }
    // Never over an existing file.
    let before = std::fs::read(dir.path().join("copy.xlsx")).unwrap();
    let (cmd, out) = run(tool(&test_org, dir.path(), &["export", "-o", "copy.xlsx"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(dir.path().join("copy.xlsx")).unwrap(), before);
    test_org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_filters_by_name_and_status_and_says_what_it_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let csv = "name,frequency_type,total_periods,start_date,target_entity,target_type,default_value,active\n\
        Summer Run,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,TRUE\n\
        Summer Stop,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,FALSE\n\
        Winter Run,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,TRUE\n";
    std::fs::write(dir.path().join("s.csv"), csv).unwrap();
    ok(tool(&sb, dir.path(), &["import", "s.csv", "-q"]), 0).await;
    let out = ok(
        // Their periods were in August 2026: ENDED by the sandbox's clock from then on.
        tool(
            &sb,
            dir.path(),
            &[
                "export", "-o", "f.csv", "--name", "SUMMER", "--status", "ENDED",
            ],
        ),
        0,
    )
    .await;
    assert!(out.contains("exported 1 streak to f.csv"), "{out}");
    let text = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("Summer Run,"), "{text}");
    let summer = names_on(&sb)["summer run"][0];
    assert!(
        lines[1].ends_with(&format!(",{summer}")),
        "the row carries its id: {text}"
    );

    // A second target and a level named otherwise: said per streak, exit 1.
    // (Ids follow the order the creates landed in: look the streak up by name.)
    let id = names_on(&sb)["winter run"][0];
    let mut state: Value = json!({"version": 1, "groups": sb.groups()});
    let winter = sb
        .groups()
        .iter()
        .position(|g| g["name"] == "Winter Run")
        .unwrap();
    let g = &mut state["groups"][winter];
    let second = g["targets"][0].clone();
    g["targets"].as_array_mut().unwrap().push(second);
    let path = dir.path().join("odd-state.json");
    std::fs::write(&path, state.to_string()).unwrap();
    let odd = Sandbox::start(
        SandboxConfig {
            username: "till".into(),
            password: PASSWORD.into(),
            state_file: Some(path),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let (cmd, out) = run(tool(&odd, dir.path(), &["export", "-o", "odd.xlsx"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&cmd, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("streak {id} \"Winter Run\": it has 2 targets; a sheet row holds one, so only the first is exported")),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "the sheet cannot hold targets as the server has it (2 targets → 1 targets on import)"
        ),
        "{stdout}"
    );
    odd.shutdown().await;
    sb.shutdown().await;
}

const HEADER: &str = "name,frequency_type,total_periods,start_date,target_entity,target_type,default_value,store_ids,target_group_id\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_then_import_then_update_one_row_of_each_class() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let first = format!(
        "{HEADER}Same,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Target Edit,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Fixed Edit,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Rename Me,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n"
    );
    std::fs::write(dir.path().join("a.csv"), first).unwrap();
    ok(tool(&sb, dir.path(), &["import", "a.csv", "-q"]), 0).await;
    let id = |name: &str| names_on(&sb)[&name.to_lowercase()][0];
    let rename_id = id("Rename Me");
    let second = format!(
        "{HEADER}Same,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Target Edit,WEEKLY,4,2026-08-03,TRANSACTION,SALES,250,7;8,\n\
         Fixed Edit,WEEKLY,6,2026-08-03,TRANSACTION,SALES,100,,\n\
         Renamed,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,{rename_id}\n\
         Brand New,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Broken,WEEKLY,4,2026-08-03,TRANSACTION,NOPE,100,,\n"
    );
    std::fs::write(dir.path().join("b.csv"), second).unwrap();
    let before = sb.groups();

    // The plan: one row of each class, each difference named.
    let out = ok(
        tool(
            &sb,
            dir.path(),
            &["plan", "b.csv", "--json", "--report", "plan.json"],
        ),
        1,
    )
    .await;
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["plan"],
        json!({"create": 1, "unchanged": 1, "update": 2, "conflict": 1, "invalid": 1})
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let plans: Vec<(&str, Option<&str>, Option<i64>)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["plan"].as_str(),
                r["target_group_id"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        plans,
        vec![
            ("Same", Some("unchanged"), Some(id("Same"))),
            ("Target Edit", Some("update"), Some(id("Target Edit"))),
            ("Fixed Edit", Some("conflict"), Some(id("Fixed Edit"))),
            ("Renamed", Some("update"), Some(rename_id)),
            ("Brand New", Some("create"), None),
            ("Broken", None, None),
        ]
    );
    let fields = |r: &Value| -> Vec<(String, bool)> {
        r["changes"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|c| {
                        (
                            c["field"].as_str().unwrap().to_string(),
                            c["editable"].as_bool().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        fields(&rows[1]),
        vec![
            ("targets[0].filters".into(), true),
            ("targets[0].defaultValues".into(), true)
        ]
    );
    assert_eq!(rows[1]["changes"][1]["old"], json!("100;100;100;100"));
    assert_eq!(rows[1]["changes"][1]["new"], json!("250;250;250;250"));
    assert_eq!(
        fields(&rows[2]),
        vec![
            ("recurringCycles".into(), false),
            ("totalPeriods".into(), false),
            ("periods".into(), false),
            ("targets[0].defaultValues".into(), true),
        ]
    );
    assert!(rows[2]["note"]
        .as_str()
        .unwrap()
        .contains("loses members' progress"));
    assert_eq!(fields(&rows[3]), vec![("name".into(), true)]);
    assert_eq!(sb.groups(), before, "a plan changes nothing");
    assert!(sb.changes().is_empty());

    // Without --update: the changed rows are `differs`, exit 1, nothing changed but the new row.
    ok(
        tool(
            &sb,
            dir.path(),
            &["import", "b.csv", "-q", "--report", "b1.json"],
        ),
        1,
    )
    .await;
    let statuses = |file: &str| -> Vec<String> {
        let r: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(file)).unwrap()).unwrap();
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        statuses("b1.json"),
        ["existing", "differs", "conflict", "differs", "created", "invalid"]
    );
    assert!(sb.changes().is_empty(), "nothing edited without --update");
    assert_eq!(sb.groups().len(), 5);

    // With --update: the editable changes are applied, one request per part; the conflict stays.
    ok(
        tool(
            &sb,
            dir.path(),
            &["import", "b.csv", "-q", "--update", "--report", "b2.json"],
        ),
        1,
    )
    .await;
    assert_eq!(
        statuses("b2.json"),
        ["existing", "updated", "conflict", "updated", "created", "invalid"]
    );
    let mut changes: Vec<(String, String)> = sb
        .changes()
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap().into(),
                c["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        vec![
            (
                "PUT".into(),
                format!("/v3/targetGroups/{0}/targets/{0}01", id("Target Edit"))
            ),
            (
                "PUT".into(),
                format!("/v3/targetGroups/editTargetGroup/{rename_id}")
            ),
        ]
    );
    let edited = sb
        .groups()
        .into_iter()
        .find(|g| g["name"] == "Target Edit")
        .unwrap();
    assert_eq!(
        edited["targets"][0]["defaultValues"][3],
        json!({"defaultValue": 250})
    );
    assert_eq!(
        edited["targets"][0]["filters"],
        json!([{"entityType": "STORE", "entityIds": [7, 8]}])
    );
    assert!(names_on(&sb).contains_key("renamed") && !names_on(&sb).contains_key("rename me"));
    let fixed = sb
        .groups()
        .into_iter()
        .find(|g| g["name"] == "Fixed Edit")
        .unwrap();
    assert_eq!(
        fixed["totalPeriods"],
        json!(4),
        "a conflict is never changed"
    );

    // Again: everything matches now; nothing more is sent.
    ok(
        tool(
            &sb,
            dir.path(),
            &["import", "b.csv", "-q", "--update", "--report", "b3.json"],
        ),
        1,
    )
    .await;
    assert_eq!(
        statuses("b3.json"),
        ["existing", "updated", "conflict", "updated", "created", "invalid"]
    );
    assert_eq!(sb.changes().len(), 2);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_killed_midway_resumes_without_sending_a_change_twice() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 120);
    let sb = sandbox(SandboxConfig {
        latency_ms: 25,
        ..Default::default()
    })
    .await;
    ok(
        tool(
            &sb,
            dir.path(),
            &[
                "import",
                input.to_str().unwrap(),
                "-q",
                "--concurrency",
                "8",
            ],
        ),
        0,
    )
    .await;
    let text = std::fs::read_to_string(&input).unwrap();
    let raised: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                l.replacen(",2;3", "5,2;3", 1)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&input, raised + "\n").unwrap();
    let update = || {
        let mut c = tool(
            &sb,
            dir.path(),
            &[
                "import",
                input.to_str().unwrap(),
                "-q",
                "--update",
                "--concurrency",
                "4",
                "--timeout",
                "2",
            ],
        );
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    let mut child = update().spawn().unwrap();
    wait_until(Duration::from_secs(30), || sb.changes().len() >= 30).await;
    child.kill().unwrap(); // SIGKILL, mid-update.
    child.wait().unwrap();
    let sent_before = sb.changes().len();
    assert!(
        (30..120).contains(&sent_before),
        "{sent_before} changes before the kill"
    );

    ok(update(), 0).await;
    let mut per_path = std::collections::HashMap::new();
    for c in sb.changes() {
        *per_path
            .entry(c["path"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(per_path.len(), 120, "every streak's target edited");
    let twice: Vec<_> = per_path.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    for g in sb.groups() {
        let n: i64 = g["name"].as_str().unwrap()[7..].parse().unwrap();
        let want = format!("{}5", 100 + n).parse::<i64>().unwrap();
        assert_eq!(
            g["targets"][0]["defaultValues"][0]["defaultValue"],
            json!(want),
            "{}",
            g["name"]
        );
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rows.report.json")).unwrap())
            .unwrap();
    let updated = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "updated")
        .count();
    assert_eq!(updated, 120);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_deletes_exactly_the_runs_streaks_and_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let other = format!("{HEADER}Summer Streak,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\nSummer Streak 2,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n");
    std::fs::write(dir.path().join("other.csv"), other).unwrap();
    ok(tool(&sb, dir.path(), &["import", "other.csv", "-q"]), 0).await;
    let run = format!(
        "{HEADER}SUMMER STREAK,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Summer Streak 3,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Summer Streak 20,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n\
         Summer Streak 3b,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n"
    );
    std::fs::write(dir.path().join("run.csv"), run).unwrap();
    ok(tool(&sb, dir.path(), &["import", "run.csv", "-q"]), 0).await;
    assert_eq!(sb.groups().len(), 5);

    let out = ok(
        tool(&sb, dir.path(), &["undo", "run.report.json", "--dry-run"]),
        0,
    )
    .await;
    assert!(
        out.contains("would delete 3 of the 3 streaks the run created"),
        "{out}"
    );
    assert_eq!(sb.groups().len(), 5, "a dry run deletes nothing");
    assert!(sb.changes().is_empty());

    let out = ok(tool(&sb, dir.path(), &["undo", "run.report.json"]), 0).await;
    assert!(
        out.contains("deleted 3 of the 3 streaks the run created"),
        "{out}"
    );
    let left: Vec<String> = {
        let mut n: Vec<String> = sb
            .groups()
            .iter()
            .map(|g| g["name"].as_str().unwrap().into())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        left,
        ["Summer Streak", "Summer Streak 2"],
        "the existing one and the others stay"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run.report.undo.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["deleted"], json!(3));

    // Again, by the input file this time: nothing more is deleted.
    let out = ok(tool(&sb, dir.path(), &["undo", "run.csv"]), 0).await;
    assert!(
        out.contains("deleted 3 of the 3 streaks the run created (3 by an earlier undo)"),
        "{out}"
    );
    assert_eq!(sb.changes().len(), 3, "three deletes in all");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_of_an_old_run_after_a_reimport_refuses_what_changed_hands() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(SandboxConfig::default()).await;
    let rows = format!(
        "{HEADER}Alpha,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\nBeta,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,\n"
    );
    std::fs::write(dir.path().join("r.csv"), &rows).unwrap();
    ok(
        tool(
            &sb,
            dir.path(),
            &["import", "r.csv", "-q", "--report", "first.json"],
        ),
        0,
    )
    .await;
    ok(tool(&sb, dir.path(), &["undo", "first.json"]), 0).await;
    assert!(sb.groups().is_empty());
    // Re-imported: new ids.
    ok(
        tool(
            &sb,
            dir.path(),
            &[
                "import",
                "r.csv",
                "-q",
                "--fresh",
                "--report",
                "second.json",
            ],
        ),
        0,
    )
    .await;
    // Someone renames Beta's new streak (ids follow the order the creates landed in).
    let beta = names_on(&sb)["beta"][0];
    let rename = format!("{HEADER}Gamma,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,{beta}\n");
    std::fs::write(dir.path().join("rename.csv"), rename).unwrap();
    ok(
        tool(&sb, dir.path(), &["import", "rename.csv", "-q", "--update"]),
        0,
    )
    .await;

    // The old run's ids are gone: nothing of the new run is touched.
    let out = ok(
        tool(
            &sb,
            dir.path(),
            &["undo", "first.json", "--report", "u1.json"],
        ),
        0,
    )
    .await;
    assert!(
        out.contains("deleted 2 of the 2 streaks the run created (2 by an earlier undo)"),
        "{out}"
    );
    assert_eq!(sb.groups().len(), 2);

    // The new run: Alpha is deleted, Beta's id now carries another name and is refused.
    let out = ok(
        tool(
            &sb,
            dir.path(),
            &["undo", "second.json", "--report", "u2.json"],
        ),
        1,
    )
    .await;
    assert!(
        out.contains(&format!("streak {beta} now carries the name \"Gamma\", not \"Beta\" as the run created it: not deleted")),
        "{out}"
    );
    let names: Vec<String> = sb
        .groups()
        .iter()
        .map(|g| g["name"].as_str().unwrap().into())
        .collect();
    assert_eq!(names, ["Gamma"]);
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("u2.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["deleted"], json!(1));
    assert_eq!(report["summary"]["refused"], json!(1));
    assert_eq!(report["rows"][1]["outcome"], json!("refused"));
    sb.shutdown().await;
}

#[test]
fn two_rows_naming_one_live_streak_are_refused_offline() {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{HEADER}One,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,1000\nTwo,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,1000\nThree,WEEKLY,4,2026-08-03,TRANSACTION,SALES,100,,1001\n"
    );
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["validate", "d.csv", "--report", "d.json", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("d.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let errors: Vec<(u64, &str, &str, &str)> = rows
        .iter()
        .flat_map(|r| {
            r["errors"].as_array().unwrap().iter().map(move |e| {
                (
                    r["row"].as_u64().unwrap(),
                    e["cell"].as_str().unwrap(),
                    e["code"].as_str().unwrap(),
                    e["message"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(
        errors,
        [(
            3,
            "I3",
            "duplicate_name",
            "target_group_id 1000 is already used by row 2: one row per live streak"
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_killed_midway_resumes_and_deletes_each_streak_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_rows(dir.path(), 120);
    let sb = sandbox(SandboxConfig {
        latency_ms: 25,
        ..Default::default()
    })
    .await;
    ok(
        tool(
            &sb,
            dir.path(),
            &["import", "rows.csv", "-q", "--concurrency", "8"],
        ),
        0,
    )
    .await;
    let undo = || {
        let mut c = tool(&sb, dir.path(), &["undo", "rows.csv", "--concurrency", "2"]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    let mut child = undo().spawn().unwrap();
    wait_until(Duration::from_secs(30), || sb.changes().len() >= 30).await;
    child.kill().unwrap(); // SIGKILL mid-undo
    child.wait().unwrap();
    let left = sb.groups().len();
    assert!((1..=90).contains(&left), "{left} left after the kill");
    let _ = input;
    ok(undo(), 0).await;
    assert!(
        sb.groups().is_empty(),
        "every streak the run created is gone"
    );
    let deletes = sb
        .changes()
        .iter()
        .filter(|c| c["method"] == "DELETE")
        .count();
    // At most the requests in flight at the kill are sent again (those the server never got).
    assert!(deletes <= 120 + 2, "{deletes} deletes for 120 streaks");
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rows.undo.json")).unwrap()).unwrap();
    let s = &report["summary"];
    let total = ["deleted", "deleted_earlier", "already_gone"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(total, 120, "{s}");
    assert!(s["deleted_earlier"].as_u64().unwrap() >= 28, "{s}");
    assert_eq!(s["refused"], json!(0));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_and_an_import_of_the_same_file_never_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write_rows(dir.path(), 200);
    let sb = sandbox(SandboxConfig {
        latency_ms: 30,
        ..Default::default()
    })
    .await;
    ok(tool(&sb, dir.path(), &["import", "rows.csv", "-q"]), 0).await;
    // An undo by the input file holds the file's journal: an import of it waits its turn.
    let mut undo = tool(&sb, dir.path(), &["undo", "rows.csv", "--concurrency", "1"]);
    undo.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = undo.spawn().unwrap();
    wait_until(Duration::from_secs(20), || !sb.changes().is_empty()).await;
    let (cmd, out) = run(tool(&sb, dir.path(), &["import", "rows.csv", "-q"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&cmd, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is importing this file with the state dir"),
        "{}",
        show(&cmd, &out)
    );
    assert_eq!(sb.received().len(), 200, "the import sent nothing");
    child.wait().unwrap();
    assert!(sb.groups().is_empty());
    sb.shutdown().await;
}
