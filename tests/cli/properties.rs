//! Properties (proptest): no input makes the tool panic, every invalid row says why with a known
//! code, and every valid row's body keeps the invariants of SPEC §4. The binary is spawned only
//! for whole-file noise; cell-level properties call the library, which is much faster.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use serde_json::Value as Json;

use streak_import::check::header::map_columns;
use streak_import::check::periods::PeriodsSheet;
use streak_import::check::validate::{validate_row, Context};
use streak_import::check::values::DateRules;
use streak_import::clock::Now;
use streak_import::columns::{
    target_types_for, Col, Kind, COLUMNS, EVALUATION_TYPES, STREAK_TRACKING_TYPES, TARGET_ENTITIES,
    TRACKING_TYPES,
};
use streak_import::outcome::{RowOutcome, Status};
use streak_import::problem::column_letters;
use streak_import::progress::Silent;
use streak_import::run::{validate_file, ReadOptions};
use streak_import::sheet::{Cells, RawRow, Value};

use crate::book::{texts, write_book, X};
use crate::util::*;

/// The error codes of SPEC §5, as the reports spell them.
const ERROR_CODES: [&str; 15] = [
    "missing_column",
    "missing_value",
    "too_long",
    "invalid_enum",
    "invalid_bool",
    "invalid_number",
    "out_of_range",
    "invalid_date",
    "ambiguous_date",
    "invalid_time_zone",
    "invalid_json",
    "duplicate_name",
    "incompatible_fields",
    "invalid_periods",
    "formula_without_value",
];
const WARNING_CODES: [&str; 4] = ["trimmed", "unknown_column", "backdated", "ended"];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs the binary on `bytes` saved as `name`: whatever the bytes, a clean exit 0, 1 or 2.
fn never_panics(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = TestDir::new();
    dir.write(name, bytes);
    let run = dir.run(&[
        "validate", name, "--report", "r.json", "--report", "r.csv", "--report", "r.xlsx",
    ]);
    prop_assert!(matches!(run.code, Some(0..=2)), "{}", run.describe());
    prop_assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    if run.code == Some(2) {
        prop_assert!(
            run.stderr.contains(name),
            "an input error names the file\n{}",
            run.describe()
        );
    } else {
        // Rows were read: the report must be whole JSON.
        let report: Json = serde_json::from_str(&dir.read("r.json"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(report["summary"]["rows"].as_u64().unwrap_or(0) > 0);
    }
    Ok(())
}

fn valid_xlsx_bytes() -> Vec<u8> {
    let dir = TestDir::new();
    let path = dir.join("v.xlsx");
    let row = vec![
        X::T("One".into()),
        X::T("WEEKLY".into()),
        X::N(3.0),
        crate::book::d(2026, 7, 4),
        X::T("TRANSACTION".into()),
        X::T("SALES".into()),
        X::N(500.0),
    ];
    write_book(&path, &[("streaks", vec![texts(&HEADER), row])]);
    std::fs::read(path).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_as_csv_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        never_panics("noise.csv", &bytes)?;
    }

    #[test]
    fn random_text_as_csv_never_panics(text in "[a-z,;|\t\"\n\r =0-9]{0,400}") {
        // Text without NUL bytes gets past the binary check and into the CSV reader proper.
        never_panics("text.csv", format!("{}\n{text}", HEADER.join(",")).as_bytes())?;
    }

    #[test]
    fn random_bytes_as_xlsx_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        never_panics("noise.xlsx", &bytes)?;
    }

    #[test]
    fn damaged_xlsx_never_panics(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = valid_xlsx_bytes();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        never_panics("damaged.xlsx", &bytes)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Cell values through the library

/// A plausible value for a column of `kind` (valid more often than not), so that generated rows
/// reach the later rules too, not just the first error.
fn plausible(kind: Kind) -> BoxedStrategy<Value> {
    let text = |s: &'static str| Value::Text(s.to_string());
    match kind {
        Kind::Enum(allowed) => prop::sample::select(allowed.to_vec())
            .prop_map(text)
            .boxed(),
        Kind::Bool => prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            Just(text("yes")),
            Just(text("0"))
        ]
        .boxed(),
        Kind::Int { .. } => prop_oneof![
            (1i64..6).prop_map(Value::Int),
            (1i64..6).prop_map(|n| Value::Number(n as f64))
        ]
        .boxed(),
        Kind::Date => prop_oneof![
            (0i64..800).prop_map(|d| Value::Date(day(d))),
            (0i64..800).prop_map(|d| Value::Text(day(d).date().to_string())),
        ]
        .boxed(),
        Kind::TimeZone => prop::sample::select(vec!["Asia/Kolkata", "Europe/London", "UTC"])
            .prop_map(text)
            .boxed(),
        Kind::JsonObject => Just(text("{\"a\":1}")).boxed(),
        Kind::IdList => prop::sample::select(vec!["101", "101;102", "7"])
            .prop_map(text)
            .boxed(),
        Kind::AmountList | Kind::Amount => prop_oneof![
            (0u32..1000).prop_map(|n| Value::Number(n as f64)),
            Just(text("1;2;3"))
        ]
        .boxed(),
        Kind::LevelList => prop::sample::select(vec!["1", "1;2", "2;3"])
            .prop_map(text)
            .boxed(),
        Kind::Text { .. } => "[A-Za-z ]{1,20}".prop_map(Value::Text).boxed(),
    }
}

fn day(offset: i64) -> NaiveDateTime {
    let base = NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    base + chrono::Duration::days(offset)
}

/// Anything a workbook cell can hold.
fn arbitrary_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Empty),
        any::<String>().prop_map(Value::Text),
        "\\PC{0,30}".prop_map(Value::Text),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Number),
        (-1e20f64..1e20).prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
        (-100_000i64..100_000).prop_map(|d| Value::Date(day(d))),
        Just(Value::Error("#N/A".into())),
        Just(Value::FormulaNoValue),
    ]
}

/// One row of every template column: each cell plausible or arbitrary.
fn row_values() -> impl Strategy<Value = Vec<Value>> {
    let cells: Vec<BoxedStrategy<Value>> = COLUMNS
        .iter()
        .map(|c| prop_oneof![3 => plausible(c.kind), 1 => arbitrary_value()].boxed())
        .collect();
    cells
}

fn context() -> Context {
    let header = RawRow {
        row: 1,
        cells: Cells::Book(COLUMNS.iter().map(|c| Value::Text(c.key.into())).collect()),
    };
    let (map, warnings) =
        map_columns(COLUMNS, &header, Path::new("generated.xlsx")).expect("full header");
    assert!(warnings.is_empty());
    Context {
        sheet: "streaks",
        map,
        dates: DateRules::default(),
        default_zone: None,
        now: Now::parse(NOW).expect("NOW"),
        periods: PeriodsSheet::default(),
        keep_cells: false,
        build_payload: true,
        mapping: None,
    }
}

/// What every outcome must satisfy, whatever its cells.
fn check_outcome(o: &RowOutcome, row: u32) -> Result<(), TestCaseError> {
    prop_assert_eq!(o.row, row);
    let keys: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
    for p in &o.errors {
        prop_assert!(
            ERROR_CODES.contains(&p.code.as_str()),
            "unknown error code {}",
            p.code
        );
        prop_assert!(
            keys.contains(&p.column.as_str()),
            "unknown column {:?}",
            p.column
        );
        prop_assert!(!p.message.is_empty());
        // The cell is the column's own cell on this row.
        let position = keys.iter().position(|k| *k == p.column).unwrap();
        prop_assert_eq!(
            &p.cell,
            &format!("{}{row}", column_letters(position)),
            "{:?}",
            p
        );
    }
    for p in &o.warnings {
        prop_assert!(
            WARNING_CODES.contains(&p.code.as_str()),
            "unknown warning code {}",
            p.code
        );
    }
    match o.status {
        Status::Invalid => {
            prop_assert!(!o.errors.is_empty(), "an invalid row says why");
            prop_assert!(o.payload.is_none());
        }
        Status::Valid => {
            prop_assert!(o.errors.is_empty());
            let body = o.payload.as_ref().expect("a valid row has a body");
            let body = serde_json::to_value(body).unwrap();
            check_body(&body)?;
        }
        other => prop_assert!(false, "validation gave status {:?}", other),
    }
    Ok(())
}

/// SPEC §4 on a body: 1–100 periods, `totalPeriods` = their number = the number of default
/// values; each period runs 00:00:00.000 to 23:59:59.999 and starts after the previous one ends.
fn check_body(body: &Json) -> Result<(), TestCaseError> {
    let periods = body["periods"].as_array().unwrap();
    let n = periods.len();
    prop_assert!((1..=100).contains(&n), "{} periods", n);
    prop_assert_eq!(body["totalPeriods"].as_u64(), Some(n as u64));
    prop_assert_eq!(
        body["targets"][0]["defaultValues"]
            .as_array()
            .unwrap()
            .len(),
        n
    );
    let mut previous_end: Option<String> = None;
    for (k, p) in periods.iter().enumerate() {
        let (start, end) = (
            p["startDate"].as_str().unwrap(),
            p["endDate"].as_str().unwrap(),
        );
        prop_assert!(
            start.ends_with("T00:00:00.000") && start.len() == 23,
            "{}",
            start
        );
        prop_assert!(end.ends_with("T23:59:59.999") && end.len() == 23, "{}", end);
        prop_assert!(start[..10] <= end[..10], "{} after {}", start, end);
        if let Some(prev) = &previous_end {
            prop_assert!(
                prev.as_str() < start,
                "period {} overlaps the one before",
                k + 1
            );
        }
        previous_end = Some(end.to_string());
        let status = p["periodStatus"].as_str().unwrap();
        let expected = if start > "2026-07-01T09:00:00.000" {
            "NOT_STARTED"
        } else {
            "RUNNING"
        };
        prop_assert_eq!(status, expected);
    }
    Ok(())
}

/// A row that satisfies every rule of SPEC §3: an entity with one of its own target types and
/// the fields that pair needs, a generated frequency, levels within the periods.
fn coherent_row() -> impl Strategy<Value = Vec<Value>> {
    let entity_and_type = prop::sample::select(TARGET_ENTITIES.to_vec())
        .prop_flat_map(|e| (Just(e), prop::sample::select(target_types_for(e).to_vec())));
    let generated = prop::sample::select(vec![
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        "QUARTERLY",
        "HALF_YEARLY",
        "YEARLY",
    ]);
    let tracking = prop::sample::select(TRACKING_TYPES.to_vec()).prop_flat_map(|t| {
        let evaluation = if STREAK_TRACKING_TYPES.contains(&t) {
            Just("FIXED_CALENDAR_WINDOW").boxed()
        } else {
            prop::sample::select(EVALUATION_TYPES.to_vec()).boxed()
        };
        (Just(t), evaluation)
    });
    (
        "[A-Za-z][A-Za-z0-9 ]{0,30}",
        entity_and_type,
        generated,
        tracking,
        (1i64..5, 1i64..13, 0i64..800),
        (
            0u32..100_000,
            any::<bool>(),
            prop::sample::select(vec!["", "Asia/Kolkata", "America/New_York", "UTC"]),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                name,
                (entity, target_type),
                frequency_type,
                (tracking, evaluation),
                (frequency, total, start),
                (amount, active, zone),
                levels,
            )| {
                let mut cells = vec![Value::Empty; COLUMNS.len()];
                let mut set = |col: Col, v: Value| cells[col as usize] = v;
                let text = |s: &str| Value::Text(s.to_string());
                set(Col::Name, Value::Text(name));
                set(Col::Active, Value::Bool(active));
                set(Col::TrackingType, text(tracking));
                set(Col::EvaluationType, text(evaluation));
                set(Col::FrequencyType, text(frequency_type));
                set(Col::Frequency, Value::Int(frequency));
                set(Col::TotalPeriods, Value::Number(total as f64));
                set(Col::StartDate, Value::Date(day(start)));
                set(Col::TimeZone, text(zone));
                set(Col::TargetEntity, text(entity));
                set(Col::TargetType, text(target_type));
                set(Col::DefaultValue, Value::Number(amount as f64 / 100.0));
                if entity == "EVENT" {
                    set(Col::EventName, text("CheckIn"));
                }
                if entity == "ALTERNATE_CURRENCIES" {
                    set(Col::AlternateCurrencyId, text("GEMS"));
                    set(Col::ProgramId, text("973"));
                }
                if matches!(target_type, "EVENT_ATTRIBUTE" | "EXTENDED_FIELD") {
                    set(Col::AttributeName, text("steps"));
                }
                if levels {
                    let last = if total == 1 {
                        String::from("1")
                    } else {
                        format!("1;{total}")
                    };
                    set(Col::StreakLevels, Value::Text(last));
                }
                set(Col::StoreIds, text("101;102"));
                cells
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..config() })]

    #[test]
    fn any_cells_in_any_column_give_a_reasoned_outcome(cells in row_values(), row in 2u32..100_000) {
        let ctx = context();
        let raw = RawRow { row, cells: Cells::Book(cells) };
        let outcome = validate_row(&raw, &ctx);
        check_outcome(&outcome, row)?;
    }

    #[test]
    fn a_coherent_row_is_valid_and_its_body_keeps_the_period_rules(cells in coherent_row(), row in 2u32..100_000) {
        let ctx = context();
        let raw = RawRow { row, cells: Cells::Book(cells) };
        let outcome = validate_row(&raw, &ctx);
        prop_assert_eq!(outcome.status, Status::Valid, "{:?}", outcome.errors);
        check_outcome(&outcome, row)?;
    }

    #[test]
    fn a_coherent_row_with_a_few_cells_replaced_still_says_why(
        cells in coherent_row(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), arbitrary_value()), 1..4),
        row in 2u32..100_000,
    ) {
        let mut cells = cells;
        for (i, v) in edits {
            let at = i.index(cells.len());
            cells[at] = v;
        }
        let ctx = context();
        let raw = RawRow { row, cells: Cells::Book(cells) };
        check_outcome(&validate_row(&raw, &ctx), row)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Generated CSV files through the whole pipeline, in-process

/// A CSV cell: plausible text for the column, or text with the characters that break parsers.
fn csv_cell(kind: Kind) -> BoxedStrategy<String> {
    let plausible_text = plausible(kind).prop_map(|v| match v {
        Value::Text(t) => t,
        Value::Int(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.date().to_string(),
        _ => String::new(),
    });
    prop_oneof![
        4 => plausible_text,
        1 => Just(String::new()),
        1 => "\\PC{0,12}",
        1 => prop::sample::select(vec!["\"", "a\nb", "x\r\ny", ";", ",", " padded ", "=1+1", "-5", "1e5", "12345678901234567890", "03/04/2026", "46204"]).prop_map(str::to_string),
    ]
    .boxed()
}

fn csv_rows() -> impl Strategy<Value = Vec<Vec<String>>> {
    let row: Vec<BoxedStrategy<String>> = COLUMNS.iter().map(|c| csv_cell(c.kind)).collect();
    // A blank row as Excel exports it (all delimiters) or as an empty line (the empty vector).
    let blank = prop_oneof![Just(vec![String::new(); COLUMNS.len()]), Just(Vec::new())].boxed();
    proptest::collection::vec(prop_oneof![7 => row.boxed(), 1 => blank], 1..8)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_csv_rows_keep_their_numbers_and_say_why_they_fail(rows in csv_rows(), crlf in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generated.csv");
        // LF or CRLF line ends (Excel writes CRLF); quoted cells keep whatever newlines they hold.
        let eol = if crlf { "\r\n" } else { "\n" };
        let keys: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
        let mut text = line(&keys, ',') + eol;
        for r in &rows {
            text += &line(&r.iter().map(String::as_str).collect::<Vec<_>>(), ',');
            text += eol;
        }
        std::fs::write(&path, text).unwrap();

        let blank = |r: &Vec<String>| r.iter().all(|c| c.bytes().all(|b| b.is_ascii_whitespace()));
        // One record is one spreadsheet row, whatever newlines its quoted cells hold.
        let expected_rows: Vec<u32> =
            rows.iter().enumerate().filter(|(_, r)| !blank(r)).map(|(i, _)| i as u32 + 2).collect();

        let mut outcomes = Vec::new();
        let result = validate_file(&path, &ReadOptions::default(), Now::parse(NOW).unwrap(), &Silent, &mut |run| {
            outcomes.extend(run);
            Ok(())
        });
        if expected_rows.is_empty() {
            prop_assert!(result.is_err(), "a sheet of blank rows is an input error");
            return Ok(());
        }
        let summary = result.map_err(|e| TestCaseError::fail(format!("input error: {e}")))?;
        prop_assert_eq!(summary.rows as usize, expected_rows.len());
        let got: Vec<u32> = outcomes.iter().map(|o| o.row).collect();
        prop_assert_eq!(&got, &expected_rows);
        for o in &outcomes {
            check_outcome(o, o.row)?;
        }
    }
}
