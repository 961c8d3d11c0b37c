//! The test helper: every test gets its own temporary folder, runs the real binary in it with the
//! clock fixed, and — when anything in the test fails — sees every command it ran, with exit code,
//! stdout, stderr and the files the folder held.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// "Now" for every run: period status and the backdating check depend on it.
pub const NOW: &str = "2026-07-01T09:00:00";

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_streak-import");

/// A temporary folder that runs commands and remembers them for the failure report.
pub struct TestDir {
    tmp: tempfile::TempDir,
    runs: RefCell<Vec<String>>,
}

/// One finished run of the binary.
#[derive(Debug, Clone)]
pub struct Run {
    pub command: String,
    /// `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, with the whole run in the message, unless the exit code is `expected`.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code of `{}`\n{}",
            self.command,
            self.describe()
        );
        self
    }

    /// The error lines of stderr (`error: …`), the form every input error takes.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    pub fn describe(&self) -> String {
        format!(
            "--- command: {}\n--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}\n",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl TestDir {
    pub fn new() -> Self {
        TestDir {
            tmp: tempfile::tempdir().expect("temp dir"),
            runs: RefCell::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file (creating folders) and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        let path = self.join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}\n{}", path.display(), self.listing()))
    }

    /// Runs `streak-import ARGS` in this folder with `STREAK_IMPORT_NOW` fixed.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.path())
            .env("STREAK_IMPORT_NOW", NOW)
            .env_remove("RUST_BACKTRACE")
            .env_remove("CAPILLARY_USERNAME")
            .env_remove("CAPILLARY_PASSWORD")
            .env_remove("CAPILLARY_BASE_URL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run streak-import");
        let run = Run {
            command: format!("streak-import {}", shell_words(args)),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.runs.borrow_mut().push(run.describe());
        run
    }

    /// `validate FILE --report NAME.json` → the parsed JSON report; the exit code must be `code`.
    #[track_caller]
    pub fn validate_json(&self, file: &str, extra: &[&str], code: i32) -> Value {
        let mut args = vec!["validate", file, "--report", "out.json", "--quiet"];
        args.extend_from_slice(extra);
        self.run(&args).code(code);
        self.json("out.json")
    }

    /// `import FILE --dry-run --report NAME.json` → (the JSON report, the payload lines).
    #[track_caller]
    pub fn dry_run(&self, file: &str, extra: &[&str], code: i32) -> (Value, Vec<Value>) {
        let stem = Path::new(file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(file)
            .replace('.', "_");
        let report = format!("{stem}.json");
        let mut args = vec!["import", file, "--dry-run", "--report", &report, "--quiet"];
        args.extend_from_slice(extra);
        self.run(&args).code(code);
        let payloads = self.payload_lines(&format!("{stem}.payloads.jsonl"));
        (self.json(&report), payloads)
    }

    pub fn json(&self, name: &str) -> Value {
        let text = self.read(name);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}\n{text}"))
    }

    pub fn payload_lines(&self, name: &str) -> Vec<Value> {
        self.read(name)
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: bad JSON line {l}: {e}"))
            })
            .collect()
    }

    /// The files in the folder, for failure messages.
    pub fn listing(&self) -> String {
        let mut s = String::new();
        if let Ok(entries) = std::fs::read_dir(self.path()) {
            let mut names: Vec<_> = entries
                .flatten()
                .map(|e| {
                    format!(
                        "{} ({} bytes)",
                        e.file_name().to_string_lossy(),
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    )
                })
                .collect();
            names.sort();
            for n in names {
                let _ = writeln!(s, "  {n}");
            }
        }
        s
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut report = format!(
                "=== test folder {}:\n{}",
                self.path().display(),
                self.listing()
            );
            for run in self.runs.borrow().iter() {
                report.push_str(run);
            }
            eprintln!("{report}");
        }
    }
}

fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '"', '\'', '%']) {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every problem of a JSON report as `(row, column, cell, code)`, errors and warnings alike, in
/// report order.
pub fn problems(report: &Value) -> Vec<(u64, String, String, String)> {
    let mut out = Vec::new();
    for row in report["rows"].as_array().expect("rows array") {
        for list in ["errors", "warnings"] {
            for p in row[list].as_array().expect("problem list") {
                out.push((
                    row["row"].as_u64().expect("row number"),
                    p["column"].as_str().unwrap_or_default().to_string(),
                    p["cell"].as_str().unwrap_or_default().to_string(),
                    p["code"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    out
}

/// Only the errors (what makes a row invalid), as `(row, cell, code)`.
pub fn errors(report: &Value) -> Vec<(u64, String, String)> {
    let mut out = Vec::new();
    for row in report["rows"].as_array().expect("rows array") {
        for p in row["errors"].as_array().expect("errors") {
            out.push((
                row["row"].as_u64().expect("row"),
                p["cell"].as_str().unwrap_or_default().to_string(),
                p["code"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// Shorthand for building expected `(row, cell, code)` lists.
pub fn e(row: u64, cell: &str, code: &str) -> (u64, String, String) {
    (row, cell.to_string(), code.to_string())
}

/// The one error of `report` at `cell`, as its JSON object.
#[track_caller]
pub fn error_at<'a>(report: &'a Value, cell: &str) -> &'a Value {
    let found: Vec<&Value> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r["errors"].as_array().expect("errors"))
        .filter(|p| p["cell"] == cell)
        .collect();
    assert_eq!(found.len(), 1, "errors at {cell}: {found:#?}");
    found[0]
}

/// `(row, status)` of every row of a report, in report order.
pub fn statuses(report: &Value) -> Vec<(u64, String)> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().expect("row"),
                r["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

/// `(row, name)` of every payload line.
pub fn payload_names(payloads: &[Value]) -> Vec<(u64, String)> {
    payloads
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().expect("row"),
                p["body"]["name"].as_str().expect("name").to_string(),
            )
        })
        .collect()
}

/// The header of the small sheets most tests use: everything a TRANSACTION streak needs.
pub const HEADER: [&str; 7] = [
    "name",
    "frequency_type",
    "total_periods",
    "start_date",
    "target_entity",
    "target_type",
    "default_value",
];

/// Joins cells with `sep`, quoting a cell that needs it (RFC 4180).
pub fn line(cells: &[&str], sep: char) -> String {
    cells
        .iter()
        .map(|c| {
            if c.contains([sep, '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

/// A CSV of `HEADER` and `rows`, comma-separated, LF line ends.
pub fn csv(rows: &[&[&str]]) -> String {
    let mut s = line(&HEADER, ',') + "\n";
    for r in rows {
        s.push_str(&line(r, ','));
        s.push('\n');
    }
    s
}

/// A valid row of `HEADER`: a weekly TRANSACTION/SALES streak of 3 periods from 2026-07-04.
pub fn ok_row(name: &str) -> [&str; 7] {
    [
        name,
        "WEEKLY",
        "3",
        "2026-07-04",
        "TRANSACTION",
        "SALES",
        "500",
    ]
}

/// The body `ok_row(name)` must produce (SPEC §3–4), for exact comparisons.
pub fn ok_body(name: &str) -> Value {
    let period = |k: u32, start: &str, end: &str| {
        serde_json::json!({
            "refCode": format!("Cycle_{k}"),
            "startDate": format!("{start}T00:00:00.000"),
            "endDate": format!("{end}T23:59:59.999"),
            "periodStatus": "NOT_STARTED",
            "active": true,
            "description": ""
        })
    };
    serde_json::json!({
        "name": name,
        "active": true,
        "trackingType": "STREAKS",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "WEEKLY",
        "frequency": 1,
        "recurringCycles": 3,
        "totalPeriods": 3,
        "userCreated": false,
        "periods": [
            period(1, "2026-07-04", "2026-07-10"),
            period(2, "2026-07-11", "2026-07-17"),
            period(3, "2026-07-18", "2026-07-24"),
        ],
        "targets": [{
            "name": name,
            "active": true,
            "description": "",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "enrolmentMethod": "TRANSACTION",
            "expression": "true",
            "expressionJson": "{\"arity\":\"literal\",\"value\":\"true\",\"type\":\"boolean:primitive\"}",
            "filters": [],
            "targetMilestoneTriggers": [],
            "defaultValues": [{"defaultValue": 500}, {"defaultValue": 500}, {"defaultValue": 500}]
        }]
    })
}
