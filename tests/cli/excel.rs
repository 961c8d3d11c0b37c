//! Excel specifics (SPEC §3): date cells, numbers in date columns, formulas with and without a
//! saved value, long IDs, boolean cells, numbers stored as text. Every workbook is built here, cell
//! by cell, with the exact cell types under test.

use serde_json::json;

use crate::book::{d, replace_cached_value, strip_cached_value, t, texts, write_book, zip_part, X};
use crate::util::*;

fn header() -> Vec<X> {
    texts(&HEADER)
}

/// `ok_row` as typed cells: text, numbers and a date cell.
fn ok_cells(name: &str) -> Vec<X> {
    vec![
        t(name),
        t("WEEKLY"),
        X::N(3.0),
        d(2026, 7, 4),
        t("TRANSACTION"),
        t("SALES"),
        X::N(500.0),
    ]
}

#[test]
fn date_cells_and_iso_text_in_start_date_are_both_dates() {
    let dir = TestDir::new();
    let mut iso_text = ok_cells("ISO text");
    iso_text[3] = t("2026-07-04");
    write_book(
        &dir.join("dates.xlsx"),
        &[("streaks", vec![header(), ok_cells("Date cell"), iso_text])],
    );
    let (_, payloads) = dir.dry_run("dates.xlsx", &[], 0);
    assert_eq!(
        payloads,
        vec![
            json!({"row": 2, "body": ok_body("Date cell")}),
            json!({"row": 3, "body": ok_body("ISO text")})
        ]
    );
}

#[test]
fn a_plain_number_in_a_date_column_shows_the_date_it_would_be() {
    let dir = TestDir::new();
    let mut serial = ok_cells("Serial");
    serial[3] = X::N(46204.0);
    write_book(
        &dir.join("serial.xlsx"),
        &[("streaks", vec![header(), serial])],
    );
    let report = dir.validate_json("serial.xlsx", &[], 1);
    assert_eq!(errors(&report), vec![e(2, "D2", "invalid_date")]);
    let problem = error_at(&report, "D2");
    assert_eq!(problem["column"], "start_date");
    assert_eq!(problem["value"], "46204");
    let hint = problem["hint"].as_str().expect("a hint");
    assert!(
        hint.contains("2026-07-01"),
        "the hint names the serial's date: {hint}"
    );
}

#[test]
fn a_serial_number_typed_in_a_csv_date_column_is_refused_the_same_way() {
    let dir = TestDir::new();
    let mut row = ok_row("Serial text");
    row[3] = "46204";
    dir.write("serial.csv", csv(&[&row]));
    let report = dir.validate_json("serial.csv", &[], 1);
    assert_eq!(errors(&report), vec![e(2, "D2", "invalid_date")]);
    assert!(error_at(&report, "D2")["hint"]
        .as_str()
        .unwrap()
        .contains("2026-07-01"));
}

#[test]
fn a_formula_without_a_saved_value_is_an_error_never_zero() {
    let dir = TestDir::new();
    let path = dir.join("formulas.xlsx");
    let mut with_value = ok_cells("Formula with value");
    with_value[2] = X::F("=1+2", 3.0);
    with_value[6] = X::F("=250*2", 500.0);
    let mut without = ok_cells("Formula without value");
    without[2] = X::F("=1+2", 3.0);
    without[6] = X::F("=250*2", 500.0);
    write_book(&path, &[("streaks", vec![header(), with_value, without])]);
    strip_cached_value(&path, "C3");
    strip_cached_value(&path, "G3");
    let xml = zip_part(&path, "xl/worksheets/sheet1.xml");
    assert!(
        xml.contains("<c r=\"C3\"><f>1+2</f></c>"),
        "fixture: C3 has no cached value\n{xml}"
    );
    assert!(
        xml.contains("<c r=\"C2\"><f>1+2</f><v>3</v></c>"),
        "fixture: C2 keeps its value\n{xml}"
    );

    let (report, payloads) = dir.dry_run("formulas.xlsx", &[], 1);
    assert_eq!(
        errors(&report),
        vec![
            e(3, "C3", "formula_without_value"),
            e(3, "G3", "formula_without_value")
        ]
    );
    assert_eq!(error_at(&report, "C3")["column"], "total_periods");
    assert_eq!(error_at(&report, "G3")["column"], "default_value");
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Formula with value")})]
    );
}

#[test]
fn a_formula_without_a_saved_value_in_a_text_or_date_column_is_flagged_too() {
    let dir = TestDir::new();
    let path = dir.join("formulas.xlsx");
    let mut row = ok_cells("Formula date");
    row[3] = X::F("=DATE(2026,7,4)", 46207.0);
    row[1] = X::F("=\"WEEKLY\"", 0.0);
    write_book(&path, &[("streaks", vec![header(), row])]);
    strip_cached_value(&path, "B2");
    strip_cached_value(&path, "D2");
    let report = dir.validate_json("formulas.xlsx", &[], 1);
    assert_eq!(
        errors(&report),
        vec![
            e(2, "B2", "formula_without_value"),
            e(2, "D2", "formula_without_value")
        ]
    );
}

#[test]
fn a_formula_with_an_empty_value_element_is_flagged() {
    // openpyxl writes every formula it saves as `<c r="C2"><f>1+2</f><v /></c>`: no result.
    let dir = TestDir::new();
    let path = dir.join("formulas.xlsx");
    let mut required = ok_cells("Required column");
    required[2] = X::F("=1+2", 3.0);
    let mut optional = ok_cells("Optional column");
    optional.push(X::F("=2*2", 4.0));
    let mut h = header();
    h.push(t("frequency"));
    write_book(&path, &[("streaks", vec![h, required, optional])]);
    replace_cached_value(&path, "C2", "<v />");
    replace_cached_value(&path, "H3", "<v></v>");
    let xml = zip_part(&path, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("<c r=\"C2\"><f>1+2</f><v /></c>"), "{xml}");
    assert!(xml.contains("<c r=\"H3\"><f>2*2</f><v></v></c>"), "{xml}");
    // Today: `missing_value` on C2, and row 3 silently gets the default frequency 1.
    let report = dir.validate_json("formulas.xlsx", &[], 1);
    assert_eq!(
        errors(&report),
        vec![
            e(2, "C2", "formula_without_value"),
            e(3, "H3", "formula_without_value")
        ]
    );
}

/// 75000001234567891 is above 2^53: as a number cell it has already lost its last digits.
const LONG_ID: &str = "75000001234567891";

#[test]
fn a_long_id_stored_as_a_number_is_refused() {
    let dir = TestDir::new();
    let mut h = header();
    h.push(t("preferred_till_id"));
    let mut row = ok_cells("Long number");
    row.push(X::N(LONG_ID.parse::<f64>().unwrap()));
    write_book(&dir.join("ids.xlsx"), &[("streaks", vec![h, row])]);
    let report = dir.validate_json("ids.xlsx", &[], 1);
    assert_eq!(errors(&report), vec![e(2, "H2", "invalid_number")]);
    assert_eq!(error_at(&report, "H2")["column"], "preferred_till_id");
}

#[test]
fn a_long_id_stored_as_text_keeps_every_digit() {
    let dir = TestDir::new();
    let mut h = header();
    h.push(t("preferred_till_id"));
    let mut row = ok_cells("Long text");
    row.push(t(LONG_ID));
    write_book(&dir.join("ids.xlsx"), &[("streaks", vec![h, row])]);
    let (_, payloads) = dir.dry_run("ids.xlsx", &[], 0);
    // Checked on the raw line too: a float on the way would print 75000001234567890.
    let raw = dir.read("ids_xlsx.payloads.jsonl");
    assert!(
        raw.contains(&format!("\"preferredTillId\":{LONG_ID}")),
        "{raw}"
    );
    assert_eq!(
        payloads[0]["body"]["preferredTillId"].as_u64(),
        Some(LONG_ID.parse().unwrap())
    );
}

#[test]
fn boolean_cells_are_booleans() {
    let dir = TestDir::new();
    let mut h = header();
    h.extend(texts(&["active", "user_created", "enrolment_method"]));
    let mut off = ok_cells("Off and imported");
    off.extend([X::B(false), X::B(true), t("IMPORT")]);
    let mut on = ok_cells("On");
    on.extend([X::B(true), X::B(false), X::Blank]);
    let mut conflict = ok_cells("User created by transaction");
    conflict.extend([X::B(true), X::B(true), t("TRANSACTION")]);
    let mut in_number = ok_cells("Boolean as a count");
    in_number[2] = X::B(true);
    write_book(
        &dir.join("bools.xlsx"),
        &[("streaks", vec![h, off, on, conflict, in_number])],
    );
    let (report, payloads) = dir.dry_run("bools.xlsx", &[], 1);
    assert_eq!(
        errors(&report),
        vec![
            e(4, "I4", "incompatible_fields"),
            e(5, "C5", "invalid_number")
        ]
    );
    assert_eq!(error_at(&report, "C5")["value"], "TRUE");
    assert_eq!(
        payload_names(&payloads),
        vec![(2, "Off and imported".into()), (3, "On".into())]
    );
    let off = &payloads[0]["body"];
    assert_eq!(
        (off["active"].clone(), off["userCreated"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(off["targets"][0]["enrolmentMethod"], "IMPORT");
    let on = &payloads[1]["body"];
    assert_eq!(
        (on["active"].clone(), on["userCreated"].clone()),
        (json!(true), json!(false))
    );
}

#[test]
fn numbers_stored_as_text_are_accepted_in_numeric_columns() {
    let dir = TestDir::new();
    let h = texts(&[
        "name",
        "frequency_type",
        "frequency",
        "total_periods",
        "start_date",
        "target_entity",
        "target_type",
        "default_value",
        "alternate_currency_id",
        "program_id",
        "preferred_till_id",
        "store_ids",
        "recurring_cycles",
    ]);
    let row = vec![
        t("Numbers as text"),
        t("DAILY"),
        t("2"),
        t("3"),
        d(2026, 7, 4),
        t("ALTERNATE_CURRENCIES"),
        t("REGULAR"),
        t("12.5"),
        t("GEMS"),
        t("973"),
        t("75000001"),
        t("101"),
        t("6"),
    ];
    write_book(&dir.join("text-numbers.xlsx"), &[("streaks", vec![h, row])]);
    let (_, payloads) = dir.dry_run("text-numbers.xlsx", &[], 0);
    let body = &payloads[0]["body"];
    assert_eq!(body["frequency"], 2);
    assert_eq!(body["totalPeriods"], 3);
    assert_eq!(body["recurringCycles"], 6);
    assert_eq!(body["preferredTillId"], 75000001);
    let starts: Vec<_> = body["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["startDate"].clone())
        .collect();
    assert_eq!(
        starts,
        vec![
            json!("2026-07-04T00:00:00.000"),
            json!("2026-07-06T00:00:00.000"),
            json!("2026-07-08T00:00:00.000")
        ]
    );
    assert_eq!(body["periods"][0]["endDate"], "2026-07-05T23:59:59.999");
    let target = &body["targets"][0];
    assert_eq!(
        target["defaultValues"],
        json!([{"defaultValue": 12.5}, {"defaultValue": 12.5}, {"defaultValue": 12.5}])
    );
    assert_eq!(
        target["extendedFieldInfo"],
        json!({"alternateCurrencyIdentifier": "GEMS", "programId": 973})
    );
    assert_eq!(
        target["filters"],
        json!([{"entityType": "STORE", "entityIds": [101]}])
    );
}
