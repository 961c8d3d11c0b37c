//! The README's two walkthroughs, run step by step as a user would, with the user's edits
//! between the steps (issue 9): a marketer's campaign from the template to the fixed retry sheet,
//! and a legacy migration with its map, dry run, import and re-runs. Every run is the real binary
//! against the in-process sandbox it starts (`--sandbox`), in one folder, as in the README.

use std::path::Path;

use calamine::{Data, Reader};
use serde_json::Value;

mod support;

use support::*;

fn step(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let mut cmd = bin();
    cmd.current_dir(dir).args(args);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", show(&cmd, &out));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every streak the sandbox of `dir` holds: name (lower case) → how many times.
fn on_sandbox(dir: &Path) -> std::collections::HashMap<String, usize> {
    let state: Value = serde_json::from_slice(
        &std::fs::read(dir.join(".streak-import/sandbox-state.json")).unwrap(),
    )
    .unwrap();
    let mut names = std::collections::HashMap::new();
    for g in state["groups"].as_array().unwrap() {
        *names
            .entry(g["name"].as_str().unwrap().to_lowercase())
            .or_insert(0) += 1;
    }
    names
}

/// Writes `sheets` (name, rows of cells) as a workbook, the way a user saves one from Excel.
fn save_book(path: &Path, sheets: &[(&str, Vec<Vec<Data>>)]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (name, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
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
    book.save(path).unwrap();
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut book = calamine::open_workbook_auto(path).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn text(s: &str) -> Data {
    Data::String(s.into())
}

#[test]
fn the_marketers_walkthrough_from_template_to_fixed_retry_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // 1. Get the template.
    step(dir, &["template", "-o", "summer.xlsx"], 0);
    let template = sheet(&dir.join("summer.xlsx"), "streaks");
    let header: Vec<String> = template[0].iter().map(|c| c.to_string()).collect();
    let example = template[1].clone();
    let col = |key: &str| header.iter().position(|h| h == key).unwrap();

    // 2. Fill it: the example row becomes three streaks, one of them CUSTOM with its cycles on
    //    the periods sheet, and two with mistakes.
    let with = |name: &str, changes: &[(&str, Data)]| {
        let mut row = example.clone();
        row[col("name")] = text(name);
        row[col("target_name")] = Data::Empty;
        for (key, value) in changes {
            row[col(key)] = value.clone();
        }
        row
    };
    let rows = vec![
        template[0].clone(),
        with("Summer Sips", &[]),
        with("Summer Scoops", &[("frequency_type", text("Weekley"))]),
        with(
            "Festival Fortnights",
            &[
                ("frequency_type", text("CUSTOM")),
                ("total_periods", Data::Empty),
                ("start_date", Data::Empty),
                ("default_value", text("lots")),
            ],
        ),
    ];
    let periods = vec![
        vec![text("streak_name"), text("start_date"), text("end_date")],
        vec![
            text("Festival Fortnights"),
            text("2026-08-01"),
            text("2026-08-14"),
        ],
        vec![
            text("Festival Fortnights"),
            text("2026-09-01"),
            text("2026-09-14"),
        ],
        vec![
            text("Festival Fortnights"),
            text("2026-10-01"),
            text("2026-10-14"),
        ],
    ];
    save_book(
        &dir.join("summer.xlsx"),
        &[("streaks", rows), ("periods", periods)],
    );

    // 3. Validate: what is wrong, and summer.report.xlsx.
    let (out, _) = step(dir, &["validate", "summer.xlsx"], 1);
    assert!(out.contains("3 rows, 1 valid, 2 invalid"), "{out}");
    assert!(out.contains("summer.report.xlsx"), "{out}");

    // 4. Fix in the report: the retry sheet holds the two rows to fix; fix them and save.
    let report = dir.join("summer.report.xlsx");
    let mut retry = sheet(&report, "retry");
    let rcol = |key: &str| retry[0].iter().position(|h| *h == text(key)).unwrap();
    let names: Vec<String> = retry[1..]
        .iter()
        .map(|r| r[rcol("name")].to_string())
        .collect();
    assert_eq!(names, ["Summer Scoops", "Festival Fortnights"]);
    let (ft, dv) = (rcol("frequency_type"), rcol("default_value"));
    retry[1][ft] = text("WEEKLY");
    retry[2][dv] = Data::Float(300.0);
    let report_periods = sheet(&report, "periods");
    assert_eq!(
        report_periods.len(),
        4,
        "the CUSTOM streak's cycles came along"
    );
    let rows_sheet = sheet(&report, "streaks");
    save_book(
        &report,
        &[
            ("streaks", rows_sheet),
            ("retry", retry),
            ("periods", report_periods),
        ],
    );
    let edited = std::fs::read(&report).unwrap();

    // 5. Rehearse the import: the valid row is created, the invalid ones reported (exit 1), and
    //    the report with the user's fixes is kept: this run's report goes beside it.
    let (out, _) = step(dir, &["import", "summer.xlsx", "--sandbox"], 1);
    assert!(out.contains("1 created"), "{out}");
    assert!(
        out.contains("summer.report.xlsx was changed since this tool wrote it")
            && out.contains("summer.report.2.xlsx"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(&report).unwrap(),
        edited,
        "the fixes are not lost"
    );
    // Then import the fixed rows from the edited report's retry sheet.
    let (out, _) = step(
        dir,
        &[
            "import",
            "summer.report.xlsx",
            "--sheet",
            "retry",
            "--sandbox",
        ],
        0,
    );
    assert!(out.contains("2 rows, 2 valid, 2 created"), "{out}");
    let held = on_sandbox(dir);
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(held.values().all(|n| *n == 1), "{held:?}");
    // Run either again: nothing is created twice.
    let (out, _) = step(dir, &["import", "summer.xlsx", "--sandbox"], 1);
    assert!(
        out.contains("1 already done by an earlier run of this file"),
        "{out}"
    );
    assert_eq!(on_sandbox(dir), held);
}

#[test]
fn the_migration_walkthrough_from_a_legacy_export_to_an_idempotent_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let legacy = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/legacy");
    std::fs::create_dir_all(dir.join("legacy")).unwrap();
    for name in ["old-system-export.csv", "mapping.toml"] {
        std::fs::copy(legacy.join(name), dir.join("legacy").join(name)).unwrap();
    }
    let command = [
        "import",
        "legacy/old-system-export.csv",
        "--map",
        "legacy/mapping.toml",
    ];
    let with = |extra: &[&'static str]| {
        let mut args = command.to_vec();
        args.extend_from_slice(extra);
        args
    };

    // 3. Dry run with preview.
    let (out, _) = step(dir, &with(&["--dry-run", "--sandbox"]), 1);
    assert!(
        out.contains("plan: create 14, unchanged 0, update 0, conflict 0, invalid 1"),
        "{out}"
    );
    // 4. Import: 14 created; row 8's `Fortnightly` is reported with a hint to map it.
    let (out, _) = step(dir, &with(&["--sandbox"]), 1);
    assert!(out.contains("14 created"), "{out}");
    assert!(out.contains("Fortnightly"), "{out}");
    assert_eq!(on_sandbox(dir).len(), 14);
    // 5. Re-run: nothing is sent again, and a dry run now finds them all.
    let (out, _) = step(dir, &with(&["--sandbox"]), 1);
    assert!(
        out.contains("14 rows were already done by an earlier run of this file: not sent again"),
        "{out}"
    );
    assert!(
        out.contains("14 already done by an earlier run of this file"),
        "{out}"
    );
    let (out, _) = step(dir, &with(&["--dry-run", "--sandbox"]), 1);
    assert!(out.contains("unchanged 14"), "{out}");
    assert_eq!(on_sandbox(dir).len(), 14);
}
