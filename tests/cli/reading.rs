//! Reading every format and dialect of SPEC §3: CSV encodings and delimiters, quoted newlines,
//! blank rows, header aliases, `.tsv`; workbooks in every supported format and the sheet choice.

use serde_json::{json, Value};

use crate::book::{d, t, texts, write_book, Rows, X};
use crate::util::*;

// ---------------------------------------------------------------------------------------------
// CSV encodings

#[test]
fn utf8_csv_without_bom_reads_every_row_to_its_exact_body() {
    let dir = TestDir::new();
    dir.write(
        "plain.csv",
        csv(&[&ok_row("Weekend Shopper"), &ok_row("Café Regulars")]),
    );
    let (report, payloads) = dir.dry_run("plain.csv", &[], 0);
    assert_eq!(report["summary"]["rows"], 2);
    assert_eq!(report["summary"]["valid"], 2);
    assert_eq!(
        payloads,
        vec![
            json!({"row": 2, "body": ok_body("Weekend Shopper")}),
            json!({"row": 3, "body": ok_body("Café Regulars")}),
        ]
    );
}

#[test]
fn utf8_csv_with_bom_matches_the_first_header_and_keeps_the_bom_out_of_values() {
    let dir = TestDir::new();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(csv(&[&ok_row("Ünïcode Streak ✓")]).into_bytes());
    dir.write("bom.csv", bytes);
    let (report, payloads) = dir.dry_run("bom.csv", &[], 0);
    // With the BOM glued to `name`, the required column would be missing (exit 2).
    assert_eq!(report["rows"][0]["name"], "Ünïcode Streak ✓");
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Ünïcode Streak ✓")})]
    );
    assert_eq!(
        report["warnings"],
        json!([]),
        "no unknown `\\u{{feff}}name` column"
    );
}

#[test]
fn windows_1252_csv_decodes_accents_and_the_euro_sign() {
    let dir = TestDir::new();
    // Excel's default "CSV" export: Windows-1252 bytes, é = 0xE9, è = 0xE8, € = 0x80.
    let mut bytes = csv(&[]).into_bytes();
    bytes.extend_from_slice(b"Caf\xe9 Cr\xe8me \x80,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500\r\n");
    bytes.extend_from_slice(b"Na\xefve,WEKLY,3,2026-07-04,TRANSACTION,SALES,500\r\n");
    dir.write("cp1252.csv", bytes);
    let (report, payloads) = dir.dry_run("cp1252.csv", &[], 1);
    assert_eq!(report["rows"][0]["name"], "Café Crème €");
    assert_eq!(report["rows"][1]["name"], "Naïve");
    assert_eq!(errors(&report), vec![e(3, "B3", "invalid_enum")]);
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Café Crème €")})]
    );
}

#[test]
fn windows_1252_after_a_long_ascii_start_is_still_decoded() {
    // Encoding is judged per cell, so an accented name far past any sniffing window still reads.
    let dir = TestDir::new();
    let mut bytes = csv(&[]).into_bytes();
    let mut n = 0;
    while bytes.len() < 100_000 {
        n += 1;
        bytes.extend_from_slice(line(&ok_row(&format!("Plain {n}")), ',').as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(b"Cr\xe8me Br\xfbl\xe9e,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500\n");
    dir.write("late.csv", bytes);
    let (report, payloads) = dir.dry_run("late.csv", &[], 0);
    let last = payloads.last().unwrap();
    assert_eq!(last["row"], n + 2);
    assert_eq!(last["body"]["name"], "Crème Brûlée");
    assert_eq!(report["summary"]["rows"], n + 1);
}

/// UTF-16 LE with a BOM, as Excel's "Unicode text" export writes it.
fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// A tab-delimited sheet with one valid row and one bad `default_value` on row 3.
fn unicode_text(eol: &str) -> String {
    let mut text = line(&HEADER, '\t') + eol;
    text.push_str(&(line(&ok_row("Ünïcode Tab Streak €"), '\t') + eol));
    text.push_str(
        &(line(
            &[
                "Second",
                "WEEKLY",
                "3",
                "2026-07-04",
                "TRANSACTION",
                "SALES",
                "5 00",
            ],
            '\t',
        ) + eol),
    );
    text
}

#[test]
fn utf16_le_tab_delimited_unicode_text() {
    let dir = TestDir::new();
    dir.write("unicode.csv", utf16le(&unicode_text("\n")));
    let (report, payloads) = dir.dry_run("unicode.csv", &[], 1);
    assert_eq!(report["summary"]["rows"], 2);
    assert_eq!(report["rows"][0]["name"], "Ünïcode Tab Streak €");
    assert_eq!(errors(&report), vec![e(3, "G3", "invalid_number")]);
    assert_eq!(error_at(&report, "G3")["value"], "5 00");
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Ünïcode Tab Streak €")})]
    );
}

#[test]
fn utf16_le_unicode_text_export_with_crlf_line_ends() {
    let dir = TestDir::new();
    dir.write("unicode.txt", utf16le(&unicode_text("\r\n")));
    let (report, payloads) = dir.dry_run("unicode.txt", &[], 1);
    assert_eq!(
        statuses(&report),
        vec![(2, "valid".into()), (3, "invalid".into())]
    );
    assert_eq!(errors(&report), vec![e(3, "G3", "invalid_number")]);
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("Ünïcode Tab Streak €")})]
    );
}

#[test]
fn crlf_line_ends_keep_spreadsheet_row_numbers() {
    let dir = TestDir::new();
    let mut bad = ok_row("Third");
    bad[1] = "WEKLY";
    let text = [
        line(&HEADER, ','),
        line(&ok_row("Second"), ','),
        line(&bad, ','),
    ]
    .join("\r\n")
        + "\r\n";
    dir.write("crlf.csv", text);
    let (report, payloads) = dir.dry_run("crlf.csv", &[], 1);
    assert_eq!(
        statuses(&report),
        vec![(2, "valid".into()), (3, "invalid".into())]
    );
    assert_eq!(errors(&report), vec![e(3, "B3", "invalid_enum")]);
    assert_eq!(payload_names(&payloads), vec![(2, "Second".into())]);
}

// ---------------------------------------------------------------------------------------------
// CSV dialects

#[test]
fn each_delimiter_is_detected_from_the_header_line() {
    let header = [
        "name",
        "description",
        "frequency_type",
        "total_periods",
        "start_date",
        "target_entity",
        "target_type",
        "default_value",
    ];
    for sep in [',', ';', '\t', '|'] {
        let dir = TestDir::new();
        let mut text = line(&header, sep) + "\n";
        // Commas, semicolons and pipes inside values: quoted where they are the delimiter.
        text += &(line(
            &[
                "Per period",
                "Buy, then buy again; and again | thrice",
                "WEEKLY",
                "3",
                "2026-07-04",
                "TRANSACTION",
                "SALES",
                "100;200;300",
            ],
            sep,
        ) + "\n");
        text += &(line(
            &[
                "Broken",
                "x",
                "WEEKLY",
                "three",
                "2026-07-04",
                "TRANSACTION",
                "SALES",
                "1",
            ],
            sep,
        ) + "\n");
        dir.write("sep.csv", text);
        let (report, payloads) = dir.dry_run("sep.csv", &[], 1);
        assert_eq!(
            errors(&report),
            vec![e(3, "D3", "invalid_number")],
            "delimiter {sep:?}"
        );
        assert_eq!(payloads.len(), 1, "delimiter {sep:?}");
        let body = &payloads[0]["body"];
        assert_eq!(
            body["description"], "Buy, then buy again; and again | thrice",
            "delimiter {sep:?}"
        );
        assert_eq!(
            body["targets"][0]["defaultValues"],
            json!([{"defaultValue": 100}, {"defaultValue": 200}, {"defaultValue": 300}]),
            "delimiter {sep:?}"
        );
    }
}

#[test]
fn a_quoted_newline_keeps_one_record_on_one_spreadsheet_row() {
    let dir = TestDir::new();
    let header = [
        "name",
        "description",
        "frequency_type",
        "total_periods",
        "start_date",
        "target_entity",
        "target_type",
        "default_value",
    ];
    let mut text = line(&header, ',') + "\n";
    text += &(line(
        &[
            "Multi",
            "line one\nline two\nline three",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        ',',
    ) + "\n");
    text += &(line(
        &[
            "After",
            "x",
            "WEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        ',',
    ) + "\n");
    text += &(line(
        &[
            "Windows",
            "first\r\nsecond",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        ',',
    ) + "\n");
    text += &(line(
        &[
            "Last",
            "y",
            "WEEKLY",
            "3",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "lots",
        ],
        ',',
    ) + "\n");
    dir.write("newlines.csv", text);
    let (report, payloads) = dir.dry_run("newlines.csv", &[], 1);
    assert_eq!(
        statuses(&report),
        vec![
            (2, "valid".into()),
            (3, "invalid".into()),
            (4, "valid".into()),
            (5, "invalid".into())
        ]
    );
    assert_eq!(
        errors(&report),
        vec![e(3, "C3", "invalid_enum"), e(5, "H5", "invalid_number")]
    );
    assert_eq!(
        payload_names(&payloads),
        vec![(2, "Multi".into()), (4, "Windows".into())]
    );
    assert_eq!(
        payloads[0]["body"]["description"],
        "line one\nline two\nline three"
    );
    assert_eq!(payloads[1]["body"]["description"], "first\r\nsecond");
}

#[test]
fn blank_rows_are_skipped_but_keep_their_row_numbers() {
    let dir = TestDir::new();
    let mut text = String::from("\n,,,,,,\n"); // the header is the first non-empty row: row 3
    text += &(line(&HEADER, ',') + "\n");
    text += &(line(&ok_row("First"), ',') + "\n");
    text += "\n";
    text += ",,,,,,\n";
    text += "   \n";
    text += &(line(
        &[
            "Seventh",
            "WEEKLY",
            "0",
            "2026-07-04",
            "TRANSACTION",
            "SALES",
            "500",
        ],
        ',',
    ) + "\n");
    text += &(line(&ok_row("Eighth"), ',') + "\n");
    dir.write("blanks.csv", text);
    let (report, payloads) = dir.dry_run("blanks.csv", &[], 1);
    assert_eq!(report["summary"]["rows"], 3, "blank rows are not rows");
    assert_eq!(
        statuses(&report),
        vec![
            (4, "valid".into()),
            (8, "invalid".into()),
            (9, "valid".into())
        ]
    );
    assert_eq!(errors(&report), vec![e(8, "C8", "out_of_range")]);
    assert_eq!(
        payload_names(&payloads),
        vec![(4, "First".into()), (9, "Eighth".into())]
    );
}

#[test]
fn an_empty_line_still_counts_as_a_row() {
    let dir = TestDir::new();
    let mut bad = ok_row("Fifth");
    bad[1] = "WEKLY";
    // Rows 3 and 4 are empty lines (no delimiters at all), as hand-edited files have them.
    let text = [
        line(&HEADER, ','),
        line(&ok_row("Second"), ','),
        String::new(),
        String::new(),
        line(&bad, ','),
    ]
    .join("\n")
        + "\n";
    dir.write("gaps.csv", text);
    let (report, _) = dir.dry_run("gaps.csv", &[], 1);
    assert_eq!(
        statuses(&report),
        vec![(2, "valid".into()), (5, "invalid".into())]
    );
    assert_eq!(errors(&report), vec![e(5, "B5", "invalid_enum")]);
}

#[test]
fn header_variants_of_start_date_all_name_one_column() {
    for header in [
        "Start Date",
        "start_date",
        "startDate",
        "START-DATE",
        " start date ",
    ] {
        let dir = TestDir::new();
        let mut cells = HEADER;
        cells[3] = header;
        let text = line(&cells, ',') + "\n" + &line(&ok_row("Aliased"), ',') + "\n";
        dir.write("h.csv", text);
        let (report, payloads) = dir.dry_run("h.csv", &[], 0);
        assert_eq!(report["warnings"], json!([]), "header {header:?}");
        assert_eq!(
            payloads,
            vec![json!({"row": 2, "body": ok_body("Aliased")})],
            "header {header:?}"
        );
    }
}

#[test]
fn api_field_names_are_accepted_as_headers() {
    let dir = TestDir::new();
    let header = [
        "Name",
        "frequencyType",
        "totalPeriods",
        "startDate",
        "targetEvaluationType",
        "trackingType",
        "targetEntity",
        "targetType",
        "defaultValue",
        "alternateCurrencyIdentifier",
        "programId",
        "timeZoneName",
        "preferredTillId",
    ];
    let row = [
        "Gem Streak",
        "weekly",
        "2",
        "2026-07-04",
        "fixed calendar window",
        "Non-continuous streaks",
        "alternate currencies",
        "all",
        "25",
        "GEMS",
        "973",
        "Asia/Kolkata",
        "75000001",
    ];
    dir.write(
        "api.csv",
        line(&header, ',') + "\n" + &line(&row, ',') + "\n",
    );
    let (report, payloads) = dir.dry_run("api.csv", &[], 0);
    assert_eq!(report["warnings"], json!([]));
    let body = &payloads[0]["body"];
    assert_eq!(body["targetEvaluationType"], "FIXED_CALENDAR_WINDOW");
    assert_eq!(body["trackingType"], "NON_CONTINUOUS_STREAKS");
    assert_eq!(body["timeZoneName"], "Asia/Kolkata");
    assert_eq!(body["preferredTillId"], 75000001);
    assert_eq!(body["totalPeriods"], 2);
    assert_eq!(body["targets"][0]["targetEntity"], "ALTERNATE_CURRENCIES");
    assert_eq!(body["targets"][0]["targetType"], "ALL");
    assert_eq!(
        body["targets"][0]["extendedFieldInfo"],
        json!({"alternateCurrencyIdentifier": "GEMS", "programId": 973})
    );
}

#[test]
fn tsv_extension_reads_tabs_even_when_the_header_has_more_commas() {
    let dir = TestDir::new();
    // Eight commas in one header cell against seven tabs: sniffing alone would pick `,`.
    let mut header = HEADER.to_vec();
    header.push("notes, comments, and so on, etc, more, even more, a, b, c");
    let mut row = ok_row("Tabbed").to_vec();
    row.push("Free, text, here");
    let text = header.join("\t") + "\n" + &row.join("\t") + "\n";
    dir.write("export.tsv", text);
    let (report, payloads) = dir.dry_run("export.tsv", &[], 0);
    assert_eq!(report["input"]["format"], "tsv");
    let warnings: Vec<_> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["cell"].clone(), w["code"].clone()))
        .collect();
    assert_eq!(warnings, vec![(json!("H1"), json!("unknown_column"))]);
    assert_eq!(payloads, vec![json!({"row": 2, "body": ok_body("Tabbed")})]);
}

// ---------------------------------------------------------------------------------------------
// Workbooks: sheet choice and row numbers

fn header_cells() -> Vec<X> {
    texts(&HEADER)
}

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
fn xlsx_default_sheet_is_streaks_even_when_it_is_not_first() {
    let dir = TestDir::new();
    write_book(
        &dir.join("book.xlsx"),
        &[
            (
                "Read me",
                vec![texts(&["This workbook holds the Q3 streaks."])],
            ),
            ("streaks", vec![header_cells(), ok_cells("From streaks")]),
            ("other", vec![header_cells(), ok_cells("From other")]),
        ],
    );
    let (report, payloads) = dir.dry_run("book.xlsx", &[], 0);
    assert_eq!(report["input"]["sheet"], "streaks");
    assert_eq!(report["rows"][0]["sheet"], "streaks");
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("From streaks")})]
    );
}

#[test]
fn xlsm_and_upper_case_extensions_read_like_xlsx() {
    let dir = TestDir::new();
    write_book(
        &dir.join("book.xlsx"),
        &[("streaks", vec![header_cells(), ok_cells("Macro book")])],
    );
    for name in ["book.xlsm", "BOOK.XLSX"] {
        std::fs::copy(dir.join("book.xlsx"), dir.join(name)).unwrap();
        let (_, payloads) = dir.dry_run(name, &[], 0);
        assert_eq!(
            payloads,
            vec![json!({"row": 2, "body": ok_body("Macro book")})],
            "{name}"
        );
    }
    dir.write("UPPER.CSV", csv(&[&ok_row("Upper")]));
    let (_, payloads) = dir.dry_run("UPPER.CSV", &[], 0);
    assert_eq!(payloads, vec![json!({"row": 2, "body": ok_body("Upper")})]);
}

#[test]
fn xlsx_without_a_streaks_sheet_reads_the_first() {
    let dir = TestDir::new();
    write_book(
        &dir.join("book.xlsx"),
        &[
            (
                "Campaign Q3",
                vec![header_cells(), ok_cells("From the first")],
            ),
            ("Notes", vec![texts(&["name"]), texts(&["not a streak"])]),
        ],
    );
    let (report, payloads) = dir.dry_run("book.xlsx", &[], 0);
    assert_eq!(report["input"]["sheet"], "Campaign Q3");
    assert_eq!(
        payloads,
        vec![json!({"row": 2, "body": ok_body("From the first")})]
    );
}

#[test]
fn sheet_option_reads_the_named_sheet() {
    let dir = TestDir::new();
    write_book(
        &dir.join("book.xlsx"),
        &[
            ("streaks", vec![header_cells(), ok_cells("From streaks")]),
            (
                "Retry Later",
                vec![header_cells(), vec![], ok_cells("From retry")],
            ),
        ],
    );
    let (report, payloads) = dir.dry_run("book.xlsx", &["--sheet", "Retry Later"], 0);
    assert_eq!(report["input"]["sheet"], "Retry Later");
    assert_eq!(
        payloads,
        vec![json!({"row": 3, "body": ok_body("From retry")})]
    );
}

#[test]
fn xlsx_rows_are_numbered_as_excel_shows_them() {
    let dir = TestDir::new();
    let mut bad = ok_cells("Fifth");
    bad[2] = X::N(0.0);
    write_book(
        &dir.join("rows.xlsx"),
        &[(
            "streaks",
            vec![
                vec![],                             // row 1 empty: the header is on row 2
                header_cells(),                     // row 2
                ok_cells("Third"),                  // row 3
                vec![X::Blank, t("   "), X::Blank], // row 4: only spaces, skipped
                bad,                                // row 5
                vec![],                             // row 6 empty
                ok_cells("Seventh"),                // row 7
            ],
        )],
    );
    let (report, payloads) = dir.dry_run("rows.xlsx", &[], 1);
    assert_eq!(report["summary"]["rows"], 3);
    assert_eq!(
        statuses(&report),
        vec![
            (3, "valid".into()),
            (5, "invalid".into()),
            (7, "valid".into())
        ]
    );
    assert_eq!(errors(&report), vec![e(5, "C5", "out_of_range")]);
    assert_eq!(
        payload_names(&payloads),
        vec![(3, "Third".into()), (7, "Seventh".into())]
    );
}

// ---------------------------------------------------------------------------------------------
// Every workbook format reads like the xlsx it was converted from.

/// The workbook behind `tests/fixtures/formats.*`: a notes sheet first (so the default sheet must
/// be found by name), a `streaks` sheet with typed cells (dates, numbers, booleans, text), a blank
/// row, a CUSTOM streak and a broken row, and a `periods` sheet. The `.xls` and `.ods` fixtures
/// were converted from it with LibreOffice (see tests/fixtures/README.md); LibreOffice reads
/// `.xlsb` but cannot write it, so there is no `.xlsb` fixture.
pub fn formats_book() -> Vec<(&'static str, Rows)> {
    let header = texts(&[
        "name",
        "description",
        "active",
        "frequency_type",
        "frequency",
        "total_periods",
        "start_date",
        "time_zone",
        "preferred_till_id",
        "user_created",
        "target_entity",
        "target_type",
        "enrolment_method",
        "default_value",
        "event_name",
        "alternate_currency_id",
        "program_id",
        "store_ids",
        "streak_levels",
    ]);
    use X::{Blank, B, N};
    let streaks = vec![
        header,
        vec![
            t("Weekend Shopper"),
            t("Shop three weekends in a row"),
            B(true),
            t("WEEKLY"),
            N(1.0),
            N(3.0),
            d(2026, 7, 4),
            t("Asia/Kolkata"),
            N(75000001.0),
            B(false),
            t("TRANSACTION"),
            t("SALES"),
            t("TRANSACTION"),
            N(500.0),
            Blank,
            Blank,
            Blank,
            t("101;102"),
            t("2;3"),
        ],
        vec![
            t("Gem Collector"),
            Blank,
            B(false),
            t("MONTHLY"),
            N(1.0),
            N(4.0),
            d(2026, 1, 31),
            Blank,
            Blank,
            B(true),
            t("ALTERNATE_CURRENCIES"),
            t("ALL"),
            t("IMPORT"),
            t("10;20;30;40"),
            Blank,
            t("GEMS"),
            N(973.0),
            Blank,
            Blank,
        ],
        vec![],
        vec![
            t("Festival Week"),
            t("Check in during the festival"),
            Blank,
            t("CUSTOM"),
            Blank,
            Blank,
            Blank,
            Blank,
            Blank,
            Blank,
            t("EVENT"),
            t("COUNT"),
            Blank,
            N(1.0),
            t("CheckIn"),
            Blank,
            Blank,
            Blank,
            Blank,
        ],
        vec![
            t("Broken"),
            Blank,
            B(true),
            t("FORTNIGHTLY"),
            N(1.0),
            N(2.5),
            N(46204.0),
            Blank,
            Blank,
            Blank,
            t("TRANSACTION"),
            t("VISIT"),
            Blank,
            N(1.0),
            Blank,
            Blank,
            Blank,
            Blank,
            Blank,
        ],
    ];
    let periods = vec![
        texts(&[
            "streak_name",
            "start_date",
            "end_date",
            "ref_code",
            "default_value",
        ]),
        vec![
            t("festival week"),
            d(2026, 11, 1),
            d(2026, 11, 7),
            Blank,
            Blank,
        ],
        vec![
            t("Festival Week"),
            d(2026, 10, 20),
            d(2026, 10, 26),
            t("Diwali"),
            N(2.0),
        ],
    ];
    vec![
        (
            "about",
            vec![texts(&["Streaks for the Q3 and festival campaigns."])],
        ),
        ("streaks", streaks),
        ("periods", periods),
    ]
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The dry run of the freshly built formats workbook, checked value by value.
fn formats_xlsx_run(dir: &TestDir) -> (Value, Vec<Value>) {
    write_book(&dir.join("formats.xlsx"), &formats_book());
    if std::env::var_os("STREAK_IMPORT_WRITE_FIXTURES").is_some() {
        std::fs::copy(dir.join("formats.xlsx"), fixture("formats.xlsx")).expect("write fixture");
    }
    dir.dry_run("formats.xlsx", &[], 1)
}

#[test]
fn formats_workbook_reads_to_the_expected_bodies() {
    let dir = TestDir::new();
    let (report, payloads) = formats_xlsx_run(&dir);
    assert_eq!(report["input"]["sheet"], "streaks");
    assert_eq!(
        statuses(&report),
        vec![
            (2, "valid".into()),
            (3, "valid".into()),
            (5, "valid".into()),
            (6, "invalid".into())
        ]
    );
    assert_eq!(
        errors(&report),
        vec![
            e(6, "D6", "invalid_enum"),
            e(6, "F6", "invalid_number"),
            e(6, "G6", "invalid_date")
        ]
    );
    assert_eq!(
        payload_names(&payloads),
        vec![
            (2, "Weekend Shopper".into()),
            (3, "Gem Collector".into()),
            (5, "Festival Week".into())
        ]
    );

    let weekend = &payloads[0]["body"];
    assert_eq!(weekend["description"], "Shop three weekends in a row");
    assert_eq!(weekend["timeZoneName"], "Asia/Kolkata");
    assert_eq!(weekend["preferredTillId"], 75000001);
    assert_eq!(
        weekend["periods"][0]["startDate"],
        "2026-07-04T00:00:00.000"
    );
    assert_eq!(weekend["periods"][2]["endDate"], "2026-07-24T23:59:59.999");
    assert_eq!(
        weekend["targets"][0]["filters"],
        json!([{"entityType": "STORE", "entityIds": [101, 102]}])
    );
    assert_eq!(
        weekend["streaks"],
        json!([{"name": "Weekend Shopper_1", "targetCountOfSequence": 2}, {"name": "Weekend Shopper_2", "targetCountOfSequence": 3}])
    );

    let gems = &payloads[1]["body"];
    assert_eq!(gems["active"], false);
    assert_eq!(gems["userCreated"], true);
    let starts: Vec<_> = gems["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["startDate"].clone())
        .collect();
    assert_eq!(
        starts,
        vec![
            json!("2026-01-31T00:00:00.000"),
            json!("2026-02-28T00:00:00.000"),
            json!("2026-03-31T00:00:00.000"),
            json!("2026-04-30T00:00:00.000"),
        ],
        "month-end starts clamp without drifting"
    );
    assert_eq!(gems["periods"][0]["periodStatus"], "RUNNING");
    assert_eq!(
        gems["targets"][0]["defaultValues"],
        json!([{"defaultValue": 10}, {"defaultValue": 20}, {"defaultValue": 30}, {"defaultValue": 40}])
    );

    let festival = &payloads[2]["body"];
    assert_eq!(festival["frequencyType"], "CUSTOM");
    assert_eq!(festival["totalPeriods"], 2);
    assert_eq!(
        festival["periods"],
        json!([
            {"refCode": "Diwali", "startDate": "2026-10-20T00:00:00.000", "endDate": "2026-10-26T23:59:59.999",
             "periodStatus": "NOT_STARTED", "active": true, "description": ""},
            {"refCode": "Cycle_2", "startDate": "2026-11-01T00:00:00.000", "endDate": "2026-11-07T23:59:59.999",
             "periodStatus": "NOT_STARTED", "active": true, "description": ""},
        ])
    );
    assert_eq!(festival["targets"][0]["eventName"], "CheckIn");
    assert_eq!(
        festival["targets"][0]["defaultValues"],
        json!([{"defaultValue": 2}, {"defaultValue": 1}])
    );
}

/// Runs the dry run of a committed fixture and compares it with the xlsx it was made from:
/// the same payloads, and the same problems at the same cells.
fn reads_like_the_xlsx(ext: &str) {
    let dir = TestDir::new();
    let (xlsx_report, xlsx_payloads) = formats_xlsx_run(&dir);
    let name = format!("formats.{ext}");
    std::fs::copy(fixture(&name), dir.join(&name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let (report, payloads) = dir.dry_run(&name, &[], 1);
    assert_eq!(report["input"]["format"], ext);
    assert_eq!(report["input"]["sheet"], "streaks");
    assert_eq!(
        errors(&report),
        errors(&xlsx_report),
        "{name}: problems differ from the xlsx"
    );
    assert_eq!(statuses(&report), statuses(&xlsx_report));
    assert_eq!(
        payloads, xlsx_payloads,
        "{name}: payloads differ from the xlsx"
    );
}

#[test]
fn committed_xlsx_fixture_is_the_one_the_test_builds() {
    let dir = TestDir::new();
    let (_, fresh) = formats_xlsx_run(&dir);
    std::fs::copy(fixture("formats.xlsx"), dir.join("committed.xlsx"))
        .expect("fixture formats.xlsx");
    let (_, committed) = dir.dry_run("committed.xlsx", &[], 1);
    assert_eq!(
        committed, fresh,
        "tests/fixtures/formats.xlsx is stale: rebuild the fixtures (tests/fixtures/README.md)"
    );
}

#[test]
fn xls_reads_like_the_xlsx() {
    reads_like_the_xlsx("xls");
}

#[test]
fn ods_reads_like_the_xlsx() {
    reads_like_the_xlsx("ods");
}

#[test]
fn sheet_option_works_for_the_older_formats_too() {
    for ext in ["xls", "ods"] {
        let dir = TestDir::new();
        let name = format!("formats.{ext}");
        std::fs::copy(fixture(&name), dir.join(&name))
            .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        // The `about` sheet has no `name` column: the run must read that sheet, and say so.
        let run = dir.run(&["validate", &name, "--sheet", "about", "--quiet"]);
        run.code(2);
        assert!(
            run.stderr.contains("`name` is missing"),
            "{ext}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_table_that_starts_in_column_b_keeps_its_cell_letters() {
    let dir = TestDir::new();
    let shift = |mut cells: Vec<X>| {
        cells.insert(0, X::Blank);
        cells
    };
    let mut bad = ok_cells("Bad");
    bad[1] = t("WEKLY");
    write_book(
        &dir.join("offset.xlsx"),
        &[(
            "streaks",
            vec![
                vec![],
                shift(header_cells()),
                shift(ok_cells("Good")),
                shift(bad),
            ],
        )],
    );
    let (report, payloads) = dir.dry_run("offset.xlsx", &[], 1);
    assert_eq!(errors(&report), vec![e(4, "C4", "invalid_enum")]);
    assert_eq!(payloads, vec![json!({"row": 3, "body": ok_body("Good")})]);
}

#[test]
fn a_large_sheet_keeps_input_order_and_finds_duplicates_across_the_whole_file() {
    // 20 000 rows: more than one validation batch, read while earlier rows are validated.
    let dir = TestDir::new();
    let mut text = line(&HEADER, ',') + "\n";
    for i in 0..20_000 {
        let row = match i {
            8_999 => "Broken,WEKLY,3,2026-07-04,TRANSACTION,SALES,1".to_string(),
            14_999 => "STREAK 3,WEEKLY,3,2026-07-04,TRANSACTION,SALES,1".to_string(),
            _ => format!("Streak {i},WEEKLY,3,2026-07-04,TRANSACTION,SALES,{i}"),
        };
        text += &row;
        text.push('\n');
    }
    dir.write("big.csv", text);
    let (report, payloads) = dir.dry_run("big.csv", &[], 1);
    assert_eq!(report["summary"]["rows"], 20_000);
    assert_eq!(report["summary"]["invalid"], 2);
    assert_eq!(
        errors(&report),
        vec![
            e(9_001, "B9001", "invalid_enum"),
            e(15_001, "A15001", "duplicate_name")
        ]
    );
    assert!(error_at(&report, "A15001")["message"]
        .as_str()
        .unwrap()
        .contains("row 5"));
    let rows: Vec<u64> = statuses(&report).iter().map(|(r, _)| *r).collect();
    assert_eq!(
        rows,
        (2..20_002).collect::<Vec<u64>>(),
        "every row, in input order"
    );
    let payload_rows: Vec<u64> = payloads
        .iter()
        .map(|p| p["row"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (2..20_002)
        .filter(|r| *r != 9_001 && *r != 15_001)
        .collect();
    assert_eq!(payload_rows, expected);
    let last = payloads.last().unwrap();
    assert_eq!(
        (last["row"].clone(), last["body"]["name"].clone()),
        (json!(20_001), json!("Streak 19999"))
    );
    assert_eq!(
        last["body"]["targets"][0]["defaultValues"][0]["defaultValue"],
        19_999
    );
}

/// The input's sha256 is the file's own, whichever way the file was read: hashed by the reading
/// thread for CSV (a BOM included, UTF-16 before decoding, across many blocks), from the file
/// for a workbook.
#[test]
fn the_reported_sha256_is_the_files_in_every_encoding() {
    use sha2::Digest;
    let hex = |bytes: &[u8]| {
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let dir = TestDir::new();
    let mut long = csv(&[]);
    for n in 0..20_000 {
        long += &(line(&ok_row(&format!("Long {n}")), ',') + "\r\n");
    }
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(csv(&[&ok_row("Bom")]).as_bytes());
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("long.csv", long.into_bytes()),
        ("bom.csv", bom),
        ("unicode.txt", utf16le(&unicode_text("\r\n"))),
    ];
    for (name, bytes) in &files {
        assert!(
            name != &"long.csv" || bytes.len() > 1 << 20,
            "long.csv spans many blocks"
        );
        dir.write(name, bytes);
        let code = if name.starts_with("unicode") { 1 } else { 0 };
        let report = dir.validate_json(name, &[], code);
        assert_eq!(report["input"]["sha256"], hex(bytes), "{name}");
    }
    write_book(
        &dir.join("book.xlsx"),
        &[("streaks", vec![header_cells(), ok_cells("Booked")])],
    );
    let report = dir.validate_json("book.xlsx", &[], 0);
    assert_eq!(
        report["input"]["sha256"],
        hex(&std::fs::read(dir.join("book.xlsx")).unwrap())
    );
}
