//! Reports read back (SPEC §5): the JSON report field by field, the CSV report line by line, the
//! annotated XLSX report cell by cell (notes, fills, summary, retry), and where reports go.

use std::collections::{BTreeMap, BTreeSet};

use calamine::Data;
use serde_json::{json, Value};

use crate::book::{at, read_sheet, sheet_names, text_at, zip_names, zip_part};
use crate::util::*;

/// A small sheet with known problems. Row 5 is blank; row 8 only has a warning.
fn errors_csv() -> String {
    let mut s = line(&HEADER, ',') + "\n";
    for row in [
        "Weekend Shopper,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500", // 2 valid
        "=1+1,WEKLY,3,2026-07-04,TRANSACTION,SALES,500",             // 3 B3 invalid_enum
        "Gem Hunt,WEEKLY,3,03/04/2026,TRANSACTION,SALES,-5", // 4 D4 ambiguous_date, G4 out_of_range
        ",,,,,,",                                            // 5 blank (as Excel exports it)
        "weekend shopper,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500", // 6 A6 duplicate_name
        "Till Seven,WEEKLY,3,2026-07-04,TRANSACTION,SALEZ,500", // 7 F7 invalid_enum
        " Padded ,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500", // 8 A8 trimmed (warning)
        "@Mention,WEEKLY,101,2026-07-04,POINTS,SALES,abc",   // 9 C9, F9, G9
    ] {
        s.push_str(row);
        s.push('\n');
    }
    s
}

/// Every error and warning expected of `errors_csv`: (row, column, cell, code, value).
fn expected_problems() -> Vec<(u64, &'static str, &'static str, &'static str, &'static str)> {
    vec![
        (3, "frequency_type", "B3", "invalid_enum", "WEKLY"),
        (4, "start_date", "D4", "ambiguous_date", "03/04/2026"),
        (4, "default_value", "G4", "out_of_range", "-5"),
        (6, "name", "A6", "duplicate_name", "weekend shopper"),
        (7, "target_type", "F7", "invalid_enum", "SALEZ"),
        (8, "name", "A8", "trimmed", " Padded "),
        (9, "total_periods", "C9", "out_of_range", "101"),
        (9, "target_type", "F9", "incompatible_fields", "SALES"),
        (9, "default_value", "G9", "invalid_number", "abc"),
    ]
}

fn sorted_problems(report: &Value) -> Vec<(u64, String, String, String, String)> {
    let mut out = Vec::new();
    for row in report["rows"].as_array().unwrap() {
        for list in ["errors", "warnings"] {
            for p in row[list].as_array().unwrap() {
                out.push((
                    row["row"].as_u64().unwrap(),
                    p["column"].as_str().unwrap().to_string(),
                    p["cell"].as_str().unwrap().to_string(),
                    p["code"].as_str().unwrap().to_string(),
                    p["value"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn owned(v: Vec<(u64, &str, &str, &str, &str)>) -> Vec<(u64, String, String, String, String)> {
    let mut v: Vec<_> = v
        .into_iter()
        .map(|(r, a, b, c, d)| {
            (
                r,
                a.to_string(),
                b.to_string(),
                c.to_string(),
                d.to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn json_report_has_every_row_in_order_with_every_problem() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    let report = dir.validate_json("errors.csv", &[], 1);

    assert_eq!(report["tool"], "streak-import");
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["mode"], "validate");
    assert_eq!(report["input"]["path"], "errors.csv");
    assert_eq!(report["input"]["format"], "csv");
    assert_eq!(report["input"]["sheet"], "errors");
    let sha = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(errors_csv().as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(report["input"]["sha256"], sha);
    for stamp in ["started_at", "finished_at"] {
        let text = report[stamp]
            .as_str()
            .unwrap_or_else(|| panic!("{stamp} missing"));
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{stamp} {text}: {e}"));
    }
    assert_eq!(
        report["summary"],
        json!({"rows": 7, "valid": 2, "invalid": 5, "created": 0, "already_done": 0, "existing": 0, "failed": 0, "not_sent": 0})
    );
    assert_eq!(
        statuses(&report),
        vec![
            (2, "valid".into()),
            (3, "invalid".into()),
            (4, "invalid".into()),
            (6, "invalid".into()),
            (7, "invalid".into()),
            (8, "valid".into()),
            (9, "invalid".into()),
        ]
    );
    let names: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!("Weekend Shopper"),
            json!("=1+1"),
            json!("Gem Hunt"),
            json!("weekend shopper"),
            json!("Till Seven"),
            json!("Padded"),
            json!("@Mention"),
        ]
    );
    for row in report["rows"].as_array().unwrap() {
        assert_eq!(row["sheet"], "errors");
        assert_eq!(row["target_group_id"], Value::Null);
        assert_eq!(row["api_errors"], json!([]));
    }
    assert_eq!(sorted_problems(&report), owned(expected_problems()));
    // Only warnings on row 8: it stays valid.
    assert_eq!(report["rows"][5]["errors"], json!([]));

    // Messages and hints where one helps.
    let dup = error_at(&report, "A6");
    assert!(
        dup["message"].as_str().unwrap().contains("row 2"),
        "the duplicate names the first row: {dup}"
    );
    let enum_hint = error_at(&report, "B3")["hint"].as_str().unwrap();
    assert!(enum_hint.contains("WEEKLY"), "{enum_hint}");
    let ambiguous = error_at(&report, "D4")["message"].as_str().unwrap();
    assert!(
        ambiguous.contains("3 April 2026") && ambiguous.contains("4 March 2026"),
        "{ambiguous}"
    );
    let pair_hint = error_at(&report, "F9")["hint"].as_str().unwrap();
    assert!(pair_hint.contains("REGULAR_POINTS"), "{pair_hint}");
    for row in report["rows"].as_array().unwrap() {
        for p in row["errors"].as_array().unwrap() {
            assert!(!p["message"].as_str().unwrap().is_empty(), "{p}");
        }
    }
}

#[test]
fn csv_report_has_one_line_per_problem_and_escapes_formulas() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    dir.run(&[
        "validate",
        "errors.csv",
        "--report",
        "out.csv",
        "--report",
        "out.json",
        "--quiet",
    ])
    .code(1);
    let json_report = dir.json("out.json");
    let text = dir.read("out.csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        records[0],
        [
            "sheet",
            "row",
            "name",
            "status",
            "column",
            "cell",
            "code",
            "message",
            "target_group_id"
        ]
    );

    // (row, name, status, column, cell, code), in report order; problems of a row in any order.
    let got: Vec<(String, String, String, String, String, String)> = records[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 9, "{r:?}");
            assert_eq!(r[0], "errors");
            assert_eq!(r[8], "", "no target group id in a validate run");
            (
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
                r[6].clone(),
            )
        })
        .collect();
    let row_order: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        row_order,
        ["2", "3", "4", "4", "6", "7", "8", "9", "9", "9"]
    );
    let s = |v: &str| v.to_string();
    let mut expected = vec![
        (
            s("2"),
            s("Weekend Shopper"),
            s("valid"),
            s(""),
            s(""),
            s(""),
        ),
        (
            s("3"),
            s("'=1+1"),
            s("invalid"),
            s("frequency_type"),
            s("B3"),
            s("invalid_enum"),
        ),
        (
            s("4"),
            s("Gem Hunt"),
            s("invalid"),
            s("start_date"),
            s("D4"),
            s("ambiguous_date"),
        ),
        (
            s("4"),
            s("Gem Hunt"),
            s("invalid"),
            s("default_value"),
            s("G4"),
            s("out_of_range"),
        ),
        (
            s("6"),
            s("weekend shopper"),
            s("invalid"),
            s("name"),
            s("A6"),
            s("duplicate_name"),
        ),
        (
            s("7"),
            s("Till Seven"),
            s("invalid"),
            s("target_type"),
            s("F7"),
            s("invalid_enum"),
        ),
        (
            s("8"),
            s("Padded"),
            s("valid"),
            s("name"),
            s("A8"),
            s("trimmed"),
        ),
        (
            s("9"),
            s("'@Mention"),
            s("invalid"),
            s("total_periods"),
            s("C9"),
            s("out_of_range"),
        ),
        (
            s("9"),
            s("'@Mention"),
            s("invalid"),
            s("target_type"),
            s("F9"),
            s("incompatible_fields"),
        ),
        (
            s("9"),
            s("'@Mention"),
            s("invalid"),
            s("default_value"),
            s("G9"),
            s("invalid_number"),
        ),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    expected.sort();
    assert_eq!(got_sorted, expected);

    // Each problem's message is the JSON report's message (a leading `-` escaped too).
    for r in &records[1..] {
        if r[5].is_empty() {
            assert_eq!(r[7], "", "{r:?}");
            continue;
        }
        let problem = json_report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(row["warnings"].as_array().unwrap())
            })
            .find(|p| p["cell"] == r[5].as_str())
            .unwrap_or_else(|| panic!("no JSON problem at {}", r[5]));
        let message = problem["message"].as_str().unwrap();
        let escaped = if message.starts_with(['=', '+', '-', '@']) {
            format!("'{message}")
        } else {
            message.to_string()
        };
        assert!(
            r[7].starts_with(&escaped),
            "{}: {:?} vs {escaped:?}",
            r[5],
            r[7]
        );
    }
    // No field of the CSV report starts like a formula.
    for r in &records {
        for field in r {
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{field:?} in {r:?}"
            );
        }
    }
}

/// The style index (`s="N"`) of a cell in a worksheet part, if any.
fn style_of(sheet_xml: &str, cell: &str) -> Option<String> {
    let start = sheet_xml.find(&format!("<c r=\"{cell}\""))?;
    let tag = &sheet_xml[start..start + sheet_xml[start..].find('>')?];
    let s = tag.find(" s=\"")? + 4;
    Some(tag[s..s + tag[s..].find('"')?].to_string())
}

#[test]
fn xlsx_report_keeps_positions_and_annotates_bad_cells() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    dir.run(&["validate", "errors.csv", "--report", "out.xlsx", "--quiet"])
        .code(1);
    let path = dir.join("out.xlsx");
    assert_eq!(
        sheet_names(&path),
        ["errors", "summary", "problems", "retry", "periods"]
    );

    let main = read_sheet(&path, "errors");
    // Header, then the added status and message columns.
    let header: Vec<String> = (0..9).map(|c| text_at(&main, 0, c)).collect();
    assert_eq!(
        header,
        [
            "name",
            "frequency_type",
            "total_periods",
            "start_date",
            "target_entity",
            "target_type",
            "default_value",
            "status",
            "message"
        ]
    );
    // Rows where they were: spreadsheet row n is index n-1; the blank row 5 stays blank.
    let names: Vec<String> = (1..9).map(|r| text_at(&main, r, 0)).collect();
    assert_eq!(
        names,
        [
            "Weekend Shopper",
            "=1+1",
            "Gem Hunt",
            "",
            "weekend shopper",
            "Till Seven",
            " Padded ",
            "@Mention"
        ]
    );
    assert_eq!(
        at(&main, 6, 5),
        Data::String("SALEZ".into()),
        "F7 holds the bad value of F7"
    );
    assert_eq!(at(&main, 3, 3), Data::String("03/04/2026".into()));
    let status: Vec<String> = (1..9).map(|r| text_at(&main, r, 7)).collect();
    assert_eq!(
        status,
        ["valid", "invalid", "invalid", "", "invalid", "invalid", "valid", "invalid"]
    );
    assert_eq!(text_at(&main, 1, 8), "");
    let f7 = text_at(&main, 6, 8);
    assert!(
        f7.contains("F7") && f7.contains("SALEZ"),
        "message column of row 7: {f7}"
    );
    let r9 = text_at(&main, 8, 8);
    assert!(
        r9.contains("C9") && r9.contains("F9") && r9.contains("G9"),
        "message column of row 9: {r9}"
    );

    // `=1+1` is a string cell, never a formula: no worksheet part holds a formula.
    for part in zip_names(&path)
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
    {
        let xml = zip_part(&path, part);
        assert!(
            !xml.contains("<f>") && !xml.contains("<f "),
            "{part} holds a formula"
        );
    }

    // Notes: exactly the bad cells (errors) of the main sheet, each with its message.
    let comments: Vec<String> = zip_names(&path)
        .into_iter()
        .filter(|n| n.starts_with("xl/comments"))
        .collect();
    assert_eq!(
        comments.len(),
        1,
        "one comments part for the main sheet: {comments:?}"
    );
    let notes = zip_part(&path, &comments[0]);
    let refs: BTreeSet<String> = notes
        .split("<comment ref=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect();
    let expected: BTreeSet<String> = ["B3", "D4", "G4", "A6", "F7", "C9", "F9", "G9"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, expected);
    let f7_note = &notes[notes.find("<comment ref=\"F7\"").unwrap()..];
    let f7_note = &f7_note[..f7_note.find("</comment>").unwrap()];
    assert!(
        f7_note.contains("invalid_enum") && f7_note.contains("SALEZ"),
        "{f7_note}"
    );

    // Bad cells are filled red; good cells of the same column are not.
    let sheet_xml = zip_part(&path, "xl/worksheets/sheet1.xml");
    let bad = style_of(&sheet_xml, "F7").expect("F7 is styled");
    for cell in ["B3", "D4", "G4", "A6", "C9", "F9", "G9"] {
        assert_eq!(
            style_of(&sheet_xml, cell).as_deref(),
            Some(bad.as_str()),
            "{cell} has the bad-cell style"
        );
    }
    for cell in ["F2", "A2", "B4", "A8"] {
        assert_ne!(
            style_of(&sheet_xml, cell).as_deref(),
            Some(bad.as_str()),
            "{cell} is not marked bad"
        );
    }
    let styles = zip_part(&path, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs
        .split("<xf ")
        .nth(bad.parse::<usize>().unwrap() + 1)
        .unwrap();
    let fill_id: usize = xf[xf.find("fillId=\"").unwrap() + 8..]
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let fills = &styles[styles.find("<fills").unwrap()..];
    let fill = fills.split("<fill>").nth(fill_id + 1).unwrap();
    assert!(fill.contains("FFC7CE"), "the bad-cell fill is red: {fill}");
}

#[test]
fn xlsx_report_summary_sheet_counts_rows_and_codes() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    dir.run(&["validate", "errors.csv", "--report", "out.xlsx", "--quiet"])
        .code(1);
    let summary = read_sheet(&dir.join("out.xlsx"), "summary");
    let mut values: BTreeMap<String, f64> = BTreeMap::new();
    for row in summary.rows() {
        if let (Some(Data::String(k)), Some(Data::Float(v))) = (row.first(), row.get(1)) {
            values.insert(k.clone(), *v);
        }
    }
    let expected: BTreeMap<String, f64> = [
        ("rows", 7.0),
        ("valid", 2.0),
        ("invalid", 5.0),
        ("created", 0.0),
        ("existing", 0.0),
        ("failed", 0.0),
        ("not_sent", 0.0),
        ("invalid_enum", 2.0),
        ("ambiguous_date", 1.0),
        ("out_of_range", 2.0),
        ("duplicate_name", 1.0),
        ("incompatible_fields", 1.0),
        ("invalid_number", 1.0),
        ("trimmed", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in &expected {
        assert_eq!(values.get(k), Some(v), "summary `{k}` in {values:?}");
    }
    let codes: BTreeSet<&String> = values
        .keys()
        .filter(|k| k.contains('_') && !k.contains(' ') && *k != "not_sent")
        .collect();
    let expected_codes: BTreeSet<&String> = expected
        .keys()
        .filter(|k| k.contains('_') && *k != "not_sent")
        .collect();
    assert_eq!(codes, expected_codes, "no other codes are counted");
}

#[test]
fn xlsx_report_retry_sheet_holds_exactly_the_invalid_rows_in_template_form() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    dir.run(&["validate", "errors.csv", "--report", "out.xlsx", "--quiet"])
        .code(1);
    let path = dir.join("out.xlsx");
    let retry = read_sheet(&path, "retry");
    let keys: Vec<&str> = streak_import::columns::COLUMNS
        .iter()
        .map(|c| c.key)
        .collect();
    let header: Vec<String> = (0..keys.len() as u32)
        .map(|c| text_at(&retry, 0, c))
        .collect();
    assert_eq!(
        header, keys,
        "the template's columns, in the template's order"
    );
    let col = |key: &str| keys.iter().position(|k| *k == key).unwrap() as u32;
    let (h, w) = (retry.end().unwrap().0 + 1, retry.end().unwrap().1 + 1);
    assert_eq!(h, 6, "header plus the 5 invalid rows");
    assert!(w as usize <= keys.len());
    let expected: [[&str; 7]; 5] = [
        [
            "=1+1",
            "WEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        [
            "Gem Hunt",
            "WEEKLY",
            "3",
            "03/04/2026",
            "TRANSACTION",
            "SALES",
            "-5",
        ],
        [
            "weekend shopper",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        [
            "Till Seven",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALEZ",
            "500",
        ],
        [
            "@Mention",
            "WEEKLY",
            "101",
            "2026-07-04",
            "POINTS",
            "SALES",
            "abc",
        ],
    ];
    for (i, cells) in expected.iter().enumerate() {
        let r = i as u32 + 1;
        let got: Vec<String> = HEADER.iter().map(|k| text_at(&retry, r, col(k))).collect();
        assert_eq!(got, cells, "retry row {}", r + 1);
        for (c, key) in keys.iter().enumerate() {
            if !HEADER.contains(key) {
                assert_eq!(
                    at(&retry, r, c as u32),
                    Data::Empty,
                    "retry row {} column {key}",
                    r + 1
                );
            }
        }
    }

    // The retry sheet can be validated as it is: the same problems, less the duplicate (its
    // first occurrence was valid and is not in the retry sheet).
    let again = dir.validate_json("out.xlsx", &["--sheet", "retry"], 1);
    let by_name: BTreeSet<(String, String)> = again["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["errors"].as_array().unwrap().iter().map(move |p| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    p["code"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("=1+1", "invalid_enum"),
        ("Gem Hunt", "ambiguous_date"),
        ("Gem Hunt", "out_of_range"),
        ("Till Seven", "invalid_enum"),
        ("@Mention", "out_of_range"),
        ("@Mention", "incompatible_fields"),
        ("@Mention", "invalid_number"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(by_name, expected);
}

#[test]
fn xlsx_report_of_a_workbook_keeps_typed_cells() {
    use crate::book::{d, t, texts, write_book, X};
    let dir = TestDir::new();
    let good = vec![
        t("Typed"),
        t("WEEKLY"),
        X::N(3.0),
        d(2026, 7, 4),
        t("TRANSACTION"),
        t("SALES"),
        X::N(500.0),
    ];
    let bad = vec![
        t("+Plus"),
        t("WEEKLY"),
        X::N(3.0),
        X::N(46204.0),
        t("TRANSACTION"),
        t("SALES"),
        X::N(12.5),
    ];
    write_book(
        &dir.join("typed.xlsx"),
        &[("streaks", vec![texts(&HEADER), good, bad])],
    );
    dir.run(&["validate", "typed.xlsx", "--quiet"]).code(1);
    // Without --report a workbook gets a JSON and an XLSX report beside it.
    assert!(dir.join("typed.report.json").is_file());
    assert!(!dir.join("typed.report.csv").exists());
    let path = dir.join("typed.report.xlsx");
    let main = read_sheet(&path, "streaks");
    assert_eq!(at(&main, 1, 2), Data::Float(3.0));
    assert!(
        matches!(at(&main, 1, 3), Data::DateTime(_)),
        "D2 stays a date: {:?}",
        at(&main, 1, 3)
    );
    assert_eq!(at(&main, 2, 0), Data::String("+Plus".into()));
    assert_eq!(at(&main, 2, 3), Data::Float(46204.0));
    assert_eq!(at(&main, 2, 6), Data::Float(12.5));
    assert_eq!(text_at(&main, 2, 7), "invalid");
}

#[test]
fn default_report_paths_sit_beside_the_input() {
    let dir = TestDir::new();
    dir.write("in/campaign.csv", errors_csv());
    let run = dir.run(&["validate", "in/campaign.csv"]);
    run.code(1);
    let report = dir.json("in/campaign.report.json");
    assert_eq!(report["summary"]["rows"], 7);
    assert!(dir.join("in/campaign.report.csv").is_file());
    assert!(!dir.join("in/campaign.report.xlsx").exists());
    assert!(
        !dir.join("in/campaign.payloads.jsonl").exists(),
        "validate writes no payloads"
    );
    for p in ["in/campaign.report.json", "in/campaign.report.csv"] {
        assert!(
            run.stdout.contains(p),
            "the summary names {p}\n{}",
            run.describe()
        );
    }

    dir.run(&["import", "in/campaign.csv", "--dry-run", "--quiet"])
        .code(1);
    let names = payload_names(&dir.payload_lines("in/campaign.payloads.jsonl"));
    assert_eq!(
        names,
        vec![(2, "Weekend Shopper".into()), (8, "Padded".into())]
    );
}

#[test]
fn dry_run_payloads_go_beside_the_first_report() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    std::fs::create_dir(dir.join("out")).unwrap();
    dir.run(&[
        "import",
        "errors.csv",
        "--dry-run",
        "--report",
        "out/run.json",
        "--report",
        "out/run.xlsx",
        "--quiet",
    ])
    .code(1);
    let payloads = dir.payload_lines("out/run.payloads.jsonl");
    assert_eq!(
        payload_names(&payloads),
        vec![(2, "Weekend Shopper".into()), (8, "Padded".into())]
    );
    assert_eq!(
        payloads[0],
        json!({"row": 2, "body": ok_body("Weekend Shopper")})
    );
    assert_eq!(dir.json("out/run.json")["mode"], "dry-run");
    assert!(dir.join("out/run.xlsx").is_file());
}

#[test]
fn json_flag_prints_one_summary_object() {
    let dir = TestDir::new();
    dir.write("errors.csv", errors_csv());
    let run = dir.run(&["validate", "errors.csv", "--json", "--report", "r.json"]);
    run.code(1);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.describe());
    let summary: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(summary["summary"]["rows"], 7);
    assert_eq!(summary["summary"]["valid"], 2);
    assert_eq!(summary["summary"]["invalid"], 5);
    assert_eq!(summary["input"]["path"], "errors.csv");
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One")]));
    let run = dir.run(&["validate", "ok.csv", "--quiet"]);
    run.code(0);
    assert_eq!(run.stdout, "", "{}", run.describe());
    assert_eq!(run.stderr, "", "{}", run.describe());
}

#[test]
fn a_fully_valid_sheet_exits_0_and_says_so_in_every_report() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One"), &ok_row("Two")]));
    dir.run(&[
        "validate", "ok.csv", "--report", "r.json", "--report", "r.csv", "--report", "r.xlsx",
        "--quiet",
    ])
    .code(0);
    assert_eq!(dir.json("r.json")["summary"]["invalid"], 0);
    assert_eq!(
        dir.read("r.csv"),
        // The byte-order mark makes Excel read the report as UTF-8.
        "\u{feff}sheet,row,name,status,column,cell,code,message,target_group_id\nok,2,One,valid,,,,,\nok,3,Two,valid,,,,,\n"
    );
    let retry = read_sheet(&dir.join("r.xlsx"), "retry");
    assert_eq!(
        retry.end().map(|e| e.0),
        Some(0),
        "only the header in the retry sheet"
    );
}

#[test]
fn csv_report_lists_an_unknown_column_once() {
    let dir = TestDir::new();
    let header = [&HEADER[..], &["descripton"]].concat();
    dir.write(
        "typo.csv",
        line(&header, ',')
            + "\n"
            + &line(&ok_row("One"), ',')
            + ",hello\n"
            + &line(&ok_row("Two"), ',')
            + ",bye\n",
    );
    dir.run(&["validate", "typo.csv", "--report", "r.csv", "--quiet"])
        .code(0);
    let text = dir.read("r.csv");
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("unknown_column"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one line for the ignored `descripton` column:\n{text}"
    );
    assert!(
        warnings[0].contains(",H1,unknown_column,"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("description"),
        "it suggests the right name: {}",
        warnings[0]
    );
}

#[test]
fn xlsx_report_of_a_workbook_with_the_header_lower_down_keeps_every_position() {
    use crate::book::{d, t, texts, write_book, X};
    let dir = TestDir::new();
    let ok = |name: &str| {
        vec![
            t(name),
            t("WEEKLY"),
            X::N(3.0),
            d(2026, 7, 4),
            t("TRANSACTION"),
            t("SALES"),
            X::N(500.0),
        ]
    };
    let mut bad = ok("Bad");
    bad[2] = X::N(0.0);
    write_book(
        &dir.join("low.xlsx"),
        &[(
            "streaks",
            vec![vec![], vec![], texts(&HEADER), ok("Good"), vec![], bad],
        )],
    );
    dir.run(&[
        "validate", "low.xlsx", "--report", "r.xlsx", "--report", "r.json", "--quiet",
    ])
    .code(1);
    assert_eq!(
        errors(&dir.json("r.json")),
        vec![e(6, "C6", "out_of_range")]
    );
    let path = dir.join("r.xlsx");
    let main = read_sheet(&path, "streaks");
    assert_eq!(text_at(&main, 2, 0), "name", "the header stays on row 3");
    assert_eq!(text_at(&main, 2, 7), "status");
    assert_eq!(text_at(&main, 3, 0), "Good");
    assert_eq!(text_at(&main, 5, 0), "Bad");
    assert_eq!(at(&main, 5, 2), Data::Float(0.0), "C6 holds the bad value");
    assert_eq!(
        (text_at(&main, 3, 7), text_at(&main, 5, 7)),
        ("valid".to_string(), "invalid".to_string())
    );
    let comments: Vec<String> = zip_names(&path)
        .into_iter()
        .filter(|n| n.starts_with("xl/comments"))
        .collect();
    let notes = zip_part(&path, &comments[0]);
    assert_eq!(notes.matches("<comment ref=").count(), 1);
    assert!(notes.contains("<comment ref=\"C6\""), "{notes}");
}

#[test]
fn xlsx_report_retry_sheet_of_a_custom_streak_can_be_imported_again() {
    let dir = TestDir::new();
    dir.write(
        "custom.csv",
        csv(&[
            &["Festival", "CUSTOM", "", "", "TRANSACTION", "SALES", "abc"],
            &ok_row("Weekly"),
        ]),
    );
    dir.write(
        "periods.csv",
        "streak_name,start_date,end_date\nFestival,2026-10-20,2026-10-26\n",
    );
    dir.run(&[
        "validate",
        "custom.csv",
        "--periods",
        "periods.csv",
        "--report",
        "r.xlsx",
        "--quiet",
    ])
    .code(1);
    // Validating the retry sheet as it is must show the row's own problem, and only that one: the
    // periods it had are still needed once `abc` is fixed there.
    let again = dir.validate_json("r.xlsx", &["--sheet", "retry"], 1);
    let codes: Vec<(String, String)> = again["rows"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["column"].as_str().unwrap().to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [("default_value".to_string(), "invalid_number".to_string())]
    );
}
