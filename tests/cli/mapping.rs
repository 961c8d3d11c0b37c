//! `--map FILE.toml` (SPEC §3, migration of legacy exports): a bad map is one usage error naming
//! the file and the key; renames, value maps, constants and date formats each proven by the exact
//! request body; and the shipped legacy sample migrated end to end into a sandbox, twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use serde_json::{json, Value};
use streak_import::sandbox::{Sandbox, SandboxConfig};

use crate::util::*;

/// The legacy headers the small generated sheets use, in `HEADER`'s order.
const LEGACY: [&str; 7] = [
    "Campaign Title",
    "Cadence",
    "Cycles",
    "Starts On",
    "Entity",
    "Target Kind",
    "Spend Target",
];

const RENAMES: &str = r#"
"Campaign Title" = "name"
"Cadence" = "frequency_type"
"Cycles" = "total_periods"
"starts_on" = "start_date"        # compared like headers: case, spaces, _ and - ignored
"Entity" = "targetEntity"         # an API field name names the column too
"Target Kind" = "target_type"
"Spend Target" = "default_value"
"#;

/// A CSV with the given header and rows, comma-separated.
fn sheet(header: &[&str], rows: &[&[&str]]) -> String {
    let mut s = line(header, ',') + "\n";
    for r in rows {
        s.push_str(&line(r, ','));
        s.push('\n');
    }
    s
}

fn body_of(payloads: &[Value], row: u64) -> &Value {
    let found = payloads.iter().find(|p| p["row"] == row);
    &found.unwrap_or_else(|| panic!("no payload for row {row}: {payloads:#?}"))["body"]
}

#[test]
fn a_bad_map_is_a_usage_error_naming_the_file_the_key_and_the_closest_column() {
    let dir = TestDir::new();
    dir.write("rows.csv", csv(&[&ok_row("One")]));
    let cases: [(&str, &[&str]); 8] = [
        (
            "\"Campaign Title\" = \"nmae\"",
            &[
                "\"Campaign Title\" = \"nmae\"",
                "`nmae` is not a template column",
                "did you mean `name`?",
            ],
        ),
        (
            "[values.frequncy_type]\n\"Bi-weekly\" = \"WEEKLY\"",
            &["[values.frequncy_type]", "did you mean `frequency_type`?"],
        ),
        (
            "[constants]\ntarget_entty = \"TRANSACTION\"",
            &["[constants] target_entty", "did you mean `target_entity`?"],
        ),
        (
            "[date_formats]\nstart_dte = \"%d/%m/%Y\"",
            &["[date_formats] start_dte", "did you mean `start_date`?"],
        ),
        (
            "[date_formats]\nstart_date = \"%d/%Q/%Y\"",
            &[
                "[date_formats] start_date = \"%d/%Q/%Y\"",
                "not a valid chrono format",
            ],
        ),
        (
            "[constants]\ntarget_entity = \"TRANSACTIONS\"",
            &[
                "[constants] target_entity = \"TRANSACTIONS\"",
                "did you mean TRANSACTION?",
            ],
        ),
        (
            "[value.frequency_type]\n\"Bi-weekly\" = \"WEEKLY\"",
            &["value", "did you mean [values]?"],
        ),
        (
            "\"Campaign Title\" = \n",
            &["not a valid TOML file", "line 1"],
        ),
    ];
    for (i, (toml, wanted)) in cases.iter().enumerate() {
        let map = format!("bad-{i}.toml");
        dir.write(&map, toml);
        for command in [&["validate"][..], &["import", "--dry-run"][..]] {
            let mut args = command.to_vec();
            args.extend(["rows.csv", "--map", &map, "--report", "out.json"]);
            let run = dir.run(&args);
            run.code(2);
            let message = run.error_lines().join("\n");
            assert!(
                message.contains(&format!("--map {map}:")),
                "{toml}\n→ {message}"
            );
            for w in *wanted {
                assert!(message.contains(w), "{toml}: wanted {w:?}\n→ {message}");
            }
            assert!(!dir.join("out.json").exists(), "no report for a bad map");
        }
    }
    // A map file that is not there is the usual file-not-found error.
    let run = dir.run(&["validate", "rows.csv", "--map", "nowhere.toml"]);
    run.code(2);
    assert!(
        run.stderr.contains("nowhere.toml: file not found"),
        "{}",
        run.stderr
    );
}

#[test]
fn renames_apply_before_header_matching() {
    let dir = TestDir::new();
    dir.write("legacy.csv", sheet(&LEGACY, &[&ok_row("Renamed")]));
    dir.write("map.toml", RENAMES);
    // Without the map, the legacy headers are unknown and `name` is missing.
    let run = dir.run(&["validate", "legacy.csv"]);
    run.code(2);
    assert!(
        run.stderr.contains("required column `name` is missing"),
        "{}",
        run.stderr
    );

    let (report, payloads) = dir.dry_run("legacy.csv", &["--map", "map.toml"], 0);
    assert_eq!(problems(&report), vec![]);
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Renamed")})]
    );

    // A missing required column with a close legacy header: the hint says to map it.
    let partial: String = RENAMES
        .lines()
        .filter(|l| !l.contains("target_type"))
        .map(|l| format!("{l}\n"))
        .collect();
    dir.write("partial.toml", partial);
    let run = dir.run(&["validate", "legacy.csv", "--map", "partial.toml"]);
    run.code(2);
    assert!(
        run.stderr.contains("`target_type` is missing")
            && run
                .stderr
                .contains("map it in partial.toml with \"Target Kind\" = \"target_type\""),
        "{}",
        run.stderr
    );
}

#[test]
fn value_maps_read_legacy_values_as_template_values() {
    let dir = TestDir::new();
    let header = [&LEGACY[..], &["Enabled"]].concat();
    let row = |name: &'static str, cadence: &'static str, enabled: &'static str| {
        let mut r = ok_row(name).to_vec();
        r[1] = cadence;
        r.push(enabled);
        r
    };
    let rows = [
        row("Mapped", " bi-WEEKLY ", "Live"),
        row("As written", "Weekly", "No"),
        row("Unmapped", "Fortnightly", "Live"),
    ];
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    dir.write("legacy.csv", sheet(&header, &rows));
    dir.write(
        "map.toml",
        format!(
            "{RENAMES}\"Enabled\" = \"active\"\n[values.frequency_type]\n\"Bi-weekly\" = \"WEEKLY\"\n[values.active]\nlive = true\n"
        ),
    );
    let (report, payloads) = dir.dry_run("legacy.csv", &["--map", "map.toml"], 1);

    let mapped = body_of(&payloads, 2);
    assert_eq!(
        (&mapped["frequencyType"], &mapped["active"]),
        (&json!("WEEKLY"), &json!(true))
    );
    let mut expected = ok_body("Mapped");
    expected["active"] = json!(true);
    assert_eq!(mapped, &expected);
    let as_written = body_of(&payloads, 3);
    assert_eq!(
        (&as_written["frequencyType"], &as_written["active"]),
        (&json!("WEEKLY"), &json!(false))
    );

    // A value the map does not list is validated as written: the usual error, with its hint, and
    // the value as the file has it.
    assert_eq!(errors(&report), vec![e(4, "B4", "invalid_enum")]);
    let error = error_at(&report, "B4");
    assert_eq!(error["value"], "Fortnightly");
    assert_eq!(error["column"], "frequency_type");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("WEEKLY")),
        "{error}"
    );
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|h| h.contains("map `Fortnightly`")),
        "{error}"
    );
}

#[test]
fn a_problem_on_a_mapped_cell_shows_the_value_the_file_has() {
    let dir = TestDir::new();
    let mut row = ok_row("Mapped but incompatible");
    row[4] = "EVENT";
    row[5] = "Spend";
    dir.write("legacy.csv", sheet(&LEGACY, &[&row]));
    dir.write(
        "map.toml",
        format!("{RENAMES}[values.target_type]\nSpend = \"SALES\"\n"),
    );
    let report = dir.validate_json("legacy.csv", &["--map", "map.toml"], 1);
    let error = error_at(&report, "F2");
    assert_eq!(
        (error["code"].as_str(), error["value"].as_str()),
        (Some("incompatible_fields"), Some("Spend"))
    );
    assert!(
        error["message"].as_str().unwrap().contains("SALES"),
        "{error}"
    );
}

#[test]
fn constants_fill_missing_columns_and_blank_cells_and_a_value_in_the_sheet_wins() {
    let dir = TestDir::new();
    // No target_type (required) and no frequency or time_zone: the constants supply them.
    let header = [
        "Campaign Title",
        "Cadence",
        "Cycles",
        "Starts On",
        "Entity",
        "Spend Target",
    ];
    let rows: [&[&str]; 2] = [
        &[
            "Constant",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "500",
        ],
        &["Blank entity", "WEEKLY", "3", "2026-07-04", "", "500"],
    ];
    dir.write("legacy.csv", sheet(&header, &rows));
    dir.write("renames-only.toml", RENAMES);
    let run = dir.run(&["validate", "legacy.csv", "--map", "renames-only.toml"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("required column `target_type` is missing"),
        "{}",
        run.stderr
    );

    dir.write(
        "map.toml",
        format!("{RENAMES}[constants]\ntarget_type = \"SALES\"\nfrequency = 2\ntime_zone = \"Europe/Berlin\"\ntarget_entity = \"LINEITEM\"\n"),
    );
    let (report, payloads) = dir.dry_run("legacy.csv", &["--map", "map.toml"], 0);
    assert_eq!(problems(&report), vec![]);
    let body = body_of(&payloads, 2);
    assert_eq!(body["targets"][0]["targetType"], "SALES");
    assert_eq!(body["frequency"], 2);
    assert_eq!(body["timeZoneName"], "Europe/Berlin");
    // The sheet has an entity column: its TRANSACTION wins over the constant LINEITEM, which
    // fills only the blank cell of row 3.
    assert_eq!(body["targets"][0]["targetEntity"], "TRANSACTION");
    assert_eq!(
        body_of(&payloads, 3)["targets"][0]["targetEntity"],
        "LINEITEM"
    );
    // Two-week periods from the constant frequency.
    assert_eq!(body["periods"][0]["endDate"], "2026-07-17T23:59:59.999");
    assert_eq!(body["periods"][2]["startDate"], "2026-08-01T00:00:00.000");
}

#[test]
fn a_date_format_in_the_map_overrides_date_format_for_its_column() {
    let dir = TestDir::new();
    let mut row = ok_row("Day first");
    row[3] = "04/07/2026";
    dir.write("legacy.csv", sheet(&LEGACY, &[&row, &ok_row("ISO")]));
    dir.write(
        "map.toml",
        format!("{RENAMES}[date_formats]\nstart_date = \"%d/%m/%Y\"\n"),
    );
    // --date-format says month first; the map's day-first format wins for start_date.
    let (report, payloads) = dir.dry_run(
        "legacy.csv",
        &["--map", "map.toml", "--date-format", "%m/%d/%Y"],
        0,
    );
    assert_eq!(problems(&report), vec![]);
    assert_eq!(
        payloads,
        vec![
            json!({"row": 2, "body": ok_body("Day first")}),
            json!({"row": 3, "body": ok_body("ISO")})
        ]
    );
    // Without the map's format, --date-format reads it as 7 April.
    dir.write("renames-only.toml", RENAMES);
    let (_, payloads) = dir.dry_run(
        "legacy.csv",
        &["--map", "renames-only.toml", "--date-format", "%m/%d/%Y"],
        0,
    );
    assert_eq!(
        body_of(&payloads, 2)["periods"][0]["startDate"],
        "2026-04-07T00:00:00.000"
    );
}

#[test]
fn a_bad_date_in_a_mapped_column_names_the_maps_entry_not_the_flag() {
    let dir = TestDir::new();
    let mut row = ok_row("Month first");
    row[3] = "07/31/2026";
    dir.write("legacy.csv", sheet(&LEGACY, &[&row]));
    dir.write(
        "map.toml",
        format!("{RENAMES}[date_formats]\nstart_date = \"%d/%m/%Y\"\n"),
    );
    let report = dir.validate_json("legacy.csv", &["--map", "map.toml"], 1);
    let problem = &report["rows"][0]["errors"][0];
    assert_eq!(problem["code"], "invalid_date");
    assert_eq!(
        problem["message"],
        "`07/31/2026` is not in YYYY-MM-DD form (it does not match start_date = \"%d/%m/%Y\" in map.toml)"
    );
    assert_eq!(
        problem["hint"],
        "if it means 31 July 2026, write 2026-07-31 or set start_date = \"%m/%d/%Y\" under [date_formats] in map.toml"
    );
}

/// The names the sandbox holds, each with its ids.
fn names_on(sandbox: &Sandbox) -> HashMap<String, Vec<i64>> {
    let mut by_name: HashMap<String, Vec<i64>> = HashMap::new();
    for g in sandbox.groups() {
        by_name
            .entry(g["name"].as_str().unwrap().to_string())
            .or_default()
            .push(g["id"].as_i64().unwrap());
    }
    by_name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_sample_migrates_into_a_sandbox_once() {
    const PASSWORD: &str = "legacy-migration-sandbox";
    let config = SandboxConfig {
        username: "till".into(),
        password: PASSWORD.into(),
        ..Default::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse::<SocketAddr>().unwrap())
        .await
        .unwrap();
    let base = sb.base_url();

    let dir = TestDir::new();
    let legacy = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/legacy");
    for name in ["old-system-export.csv", "mapping.toml"] {
        std::fs::copy(legacy.join(name), dir.join(name)).unwrap();
    }
    let env = [
        ("CAPILLARY_USERNAME", "till"),
        ("CAPILLARY_PASSWORD", PASSWORD),
    ];
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "old-system-export.csv",
            "--map",
            "mapping.toml",
            "--base-url",
            &base,
        ];
        args.extend(["--state-dir", "state", "--report", "out.json"]);
        args.extend_from_slice(extra);
        // The sandbox answers on this runtime's other worker while the binary runs.
        tokio::task::block_in_place(|| dir.run_with(&args, &env))
    };

    let run = import(&["--quiet", "--report", "out.xlsx"]);
    run.code(1); // one row is still invalid after mapping
    let report = dir.json("out.json");
    let on_server = names_on(&sb);
    let first = statuses(&report);
    assert_eq!(first.len(), 15);
    for (row, status) in &first {
        let wanted = if *row == 8 { "invalid" } else { "created" };
        assert_eq!(status, wanted, "row {row}");
    }
    assert_eq!(errors(&report), vec![e(8, "D8", "invalid_enum")]);
    assert_eq!(error_at(&report, "D8")["value"], "Fortnightly");
    // Every valid row exists once on the server, under its name decoded from Windows-1252, with
    // the id the report gives.
    assert_eq!(on_server.len(), 14);
    for r in report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "created")
    {
        let ids = &on_server[r["name"].as_str().unwrap()];
        assert_eq!(ids, &vec![r["target_group_id"].as_i64().unwrap()], "{r}");
    }
    for name in [
        "Café Crème Weekly Run",
        "Summer – Spend & Save",
        "Smørrebrød Sundays",
        "Müsli Monday Streak",
    ] {
        assert!(
            on_server.contains_key(name),
            "{name} not on the server: {:?}",
            on_server.keys()
        );
    }
    // What the map did, as the server received it.
    let received = sb.received();
    let summer = received
        .iter()
        .find(|b| b["name"] == "Summer – Spend & Save")
        .expect("Summer posted");
    assert_eq!(
        (&summer["frequencyType"], &summer["frequency"]),
        (&json!("WEEKLY"), &json!(2))
    );
    assert_eq!(summer["periods"][0]["startDate"], "2026-07-04T00:00:00.000");
    assert_eq!(summer["timeZoneName"], "Europe/Berlin");
    assert_eq!(summer["description"], "Spend €60 every two weeks");
    assert_eq!(
        (
            &summer["targets"][0]["targetEntity"],
            &summer["targets"][0]["targetType"]
        ),
        (&json!("TRANSACTION"), &json!("SALES"))
    );
    assert_eq!(
        summer["targets"][0]["filters"],
        json!([{"entityType": "STORE", "entityIds": [101, 102, 103]}])
    );
    assert_eq!(received.len(), 14, "one POST per valid row");

    // The XLSX report's retry sheet holds just the row still to fix, in template form: the map's
    // values, its constants in the blank target_type / target_entity / time_zone cells, and its
    // start date as a date. So it reads the same without the map as with it.
    for with_map in [false, true] {
        let mut args = vec![
            "validate",
            "out.xlsx",
            "--sheet",
            "retry",
            "--report",
            "retry.json",
        ];
        if with_map {
            args.extend(["--map", "mapping.toml"]);
        }
        dir.run(&args).code(1);
        let retry = dir.json("retry.json");
        assert_eq!(
            statuses(&retry),
            vec![(2, "invalid".to_string())],
            "map: {with_map}"
        );
        assert_eq!(
            errors(&retry),
            vec![e(2, "F2", "invalid_enum")],
            "map: {with_map}"
        );
        assert_eq!(
            problems(&retry).len(),
            1,
            "map: {with_map}: {:?}",
            problems(&retry)
        );
    }

    // The same command again: nothing new is created or even sent.
    let run = import(&[]);
    run.code(1);
    assert!(
        run.stdout
            .contains("14 rows were already done by an earlier run of this file"),
        "{}",
        run.stdout
    );
    assert_eq!(names_on(&sb), on_server);
    assert_eq!(sb.received().len(), 14, "nothing posted again");
    let again = dir.json("out.json");
    assert_eq!(statuses(&again), first);

    // A dry run with credentials: the plan says every valid row exists already, unchanged.
    let run = import(&["--dry-run", "--json"]);
    run.code(1);
    let summary: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(
        summary["plan"],
        json!({"create": 0, "unchanged": 14, "update": 0, "conflict": 0, "invalid": 1})
    );
    assert_eq!(dir.payload_lines("out.payloads.jsonl").len(), 14);
    assert_eq!(sb.received().len(), 14, "a dry run posts nothing");
    sb.shutdown().await;
}
