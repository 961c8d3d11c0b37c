//! The shipped samples: `with-errors.csv` raises exactly the problems samples/README.md lists, and
//! the dry-run request bodies of `campaign.xlsx` and `campaign.csv` are snapshot-tested and equal.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// Copies samples into the test folder, so reports never land in the repository.
fn copy_samples(dir: &TestDir, names: &[&str]) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for name in names {
        std::fs::copy(samples.join(name), dir.join(name))
            .unwrap_or_else(|e| panic!("samples/{name}: {e}"));
    }
}

#[test]
fn with_errors_csv_reports_exactly_the_problems_of_the_samples_readme() {
    let dir = TestDir::new();
    copy_samples(&dir, &["with-errors.csv"]);
    let report = dir.validate_json("with-errors.csv", &[], 1);

    // samples/README.md, table "with-errors.csv", row by row (warnings included).
    let mut expected: Vec<(u64, &str, &str, &str)> = vec![
        (3, "name", "A3", "missing_value"),
        (4, "description", "B4", "too_long"),
        (5, "frequency_type", "F5", "invalid_enum"),
        (6, "active", "C6", "invalid_bool"),
        (7, "default_value", "R7", "invalid_number"),
        (8, "total_periods", "H8", "out_of_range"),
        (9, "start_date", "J9", "invalid_date"),
        (10, "start_date", "J10", "ambiguous_date"),
        (11, "time_zone", "K11", "invalid_time_zone"),
        (12, "expression_json", "T12", "invalid_json"),
        (13, "name", "A13", "duplicate_name"),
        (14, "target_type", "P14", "incompatible_fields"),
        (15, "frequency_type", "F15", "invalid_periods"),
        (16, "attribute_name", "", "missing_column"),
        (17, "name", "A17", "trimmed"),
        (18, "start_date", "J18", "backdated"),
        (20, "frequency", "G20", "out_of_range"),
        (20, "user_created", "M20", "incompatible_fields"),
        (20, "program_id", "W20", "missing_value"),
        (20, "store_ids", "Y20", "invalid_number"),
        (21, "alternate_currency_id", "V21", "missing_value"),
        (22, "streak_levels", "AB22", "incompatible_fields"),
        (23, "program_id", "W23", "out_of_range"),
        (25, "start_date", "J25", "invalid_date"),
        (26, "start_date", "J26", "ended"),
    ];
    expected.sort();
    let mut got = problems(&report);
    got.sort();
    let got: Vec<(u64, &str, &str, &str)> = got
        .iter()
        .map(|(r, col, cell, code)| (*r, col.as_str(), cell.as_str(), code.as_str()))
        .collect();
    assert_eq!(got, expected);

    // The one sheet-level warning: the `notes` column.
    let sheet_warnings: Vec<(&str, &str, &str)> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["column"].as_str().unwrap(),
                w["cell"].as_str().unwrap(),
                w["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(sheet_warnings, [("notes", "AC1", "unknown_column")]);

    // Totals: 25 rows, 6 valid (2, 17, 18, 19, 24, 26), 19 invalid.
    assert_eq!(report["summary"]["rows"], 25);
    assert_eq!(report["summary"]["valid"], 6);
    assert_eq!(report["summary"]["invalid"], 19);
    let valid: Vec<u64> = statuses(&report)
        .into_iter()
        .filter(|(_, s)| s == "valid")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(valid, [2, 17, 18, 19, 24, 26]);

    // The hints and messages the README promises.
    let hint = |cell: &str| {
        error_at(&report, cell)["hint"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let message = |cell: &str| {
        error_at(&report, cell)["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(hint("F5").contains("WEEKLY"), "{}", hint("F5"));
    assert!(hint("R7").contains("1500"), "{}", hint("R7"));
    assert!(hint("J9").contains("2026-10-05"), "{}", hint("J9"));
    assert!(
        message("J10").contains("3 August 2026") && message("J10").contains("8 March 2026"),
        "{}",
        message("J10")
    );
    assert!(hint("K11").contains("Asia/Kolkata"), "{}", hint("K11"));
    assert!(message("A13").contains("row 2"), "{}", message("A13"));
    assert!(message("B4").contains("316"), "{}", message("B4"));
    assert!(message("W23").contains("2147483647"), "{}", message("W23"));
}

/// The dry run's payload lines of a sample, parsed.
fn sample_payloads(dir: &TestDir, file: &str, extra: &[&str]) -> Vec<Value> {
    let (report, payloads) = dir.dry_run(file, extra, 0);
    assert_eq!(report["summary"]["rows"], 24);
    assert_eq!(report["summary"]["valid"], 24);
    payloads
}

#[test]
fn campaign_xlsx_dry_run_payloads() {
    let dir = TestDir::new();
    copy_samples(&dir, &["campaign.xlsx"]);
    let payloads = sample_payloads(&dir, "campaign.xlsx", &[]);
    insta::assert_json_snapshot!("campaign_xlsx_payloads", payloads);
}

#[test]
fn campaign_csv_dry_run_payloads() {
    let dir = TestDir::new();
    copy_samples(&dir, &["campaign.csv", "campaign-periods.csv"]);
    let payloads = sample_payloads(&dir, "campaign.csv", &["--periods", "campaign-periods.csv"]);
    insta::assert_json_snapshot!("campaign_csv_payloads", payloads);
}

#[test]
fn campaign_csv_and_xlsx_give_the_same_bodies() {
    let dir = TestDir::new();
    copy_samples(
        &dir,
        &["campaign.csv", "campaign-periods.csv", "campaign.xlsx"],
    );
    let from_csv = sample_payloads(&dir, "campaign.csv", &["--periods", "campaign-periods.csv"]);
    let from_xlsx = sample_payloads(&dir, "campaign.xlsx", &[]);
    assert_eq!(from_csv.len(), 24);
    assert_eq!(from_csv, from_xlsx);
    // The raw lines too: byte-identical, as samples/README.md says.
    assert_eq!(
        dir.read("campaign_csv.payloads.jsonl"),
        dir.read("campaign_xlsx.payloads.jsonl")
    );
}

#[test]
fn campaign_periods_csv_beside_the_input_is_picked_up() {
    // samples/README.md: `campaign-periods.csv` is found because it sits beside `campaign.csv`.
    let dir = TestDir::new();
    copy_samples(&dir, &["campaign.csv", "campaign-periods.csv"]);
    let explicit = sample_payloads(&dir, "campaign.csv", &["--periods", "campaign-periods.csv"]);
    // Without it the three CUSTOM streaks would be invalid (exit 1).
    let (_, found) = dir.dry_run("campaign.csv", &[], 0);
    assert_eq!(found, explicit);
}
