//! Input and usage errors (SPEC §2): exit 2, one clear message on stderr that names the file (or
//! the flag) and says what to do, never a panic or a backtrace.

use crate::book::{t, texts, write_book, X};
use crate::util::*;

/// Runs `args`, expects exit 2 and exactly one message on stderr containing every `needle`.
#[track_caller]
fn input_error(dir: &TestDir, args: &[&str], needles: &[&str]) -> Run {
    let run = dir.run(args);
    run.code(2);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one message on stderr\n{}", run.describe());
    assert!(lines[0].starts_with("error: "), "{}", run.describe());
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr should contain {needle:?}\n{}",
            run.describe()
        );
    }
    no_panic(&run);
    assert_eq!(run.stdout, "", "nothing on stdout\n{}", run.describe());
    run
}

#[track_caller]
fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "{}", run.describe());
}

/// Deterministic noise (xorshift), with a NUL byte in it as any binary file has.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.max(1);
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    out[len / 2] = 0;
    out
}

fn valid_xlsx(dir: &TestDir, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let row = vec![
        t("One"),
        t("WEEKLY"),
        X::N(3.0),
        t("2026-07-04"),
        t("TRANSACTION"),
        t("SALES"),
        X::N(500.0),
    ];
    write_book(
        &path,
        &[
            ("streaks", vec![texts(&HEADER), row]),
            ("other", vec![texts(&["x"])]),
        ],
    );
    path
}

#[test]
fn missing_file() {
    let dir = TestDir::new();
    input_error(
        &dir,
        &["validate", "nowhere.csv"],
        &["nowhere.csv", "not found"],
    );
}

#[test]
fn empty_file() {
    let dir = TestDir::new();
    dir.write("empty.csv", "");
    input_error(&dir, &["validate", "empty.csv"], &["empty.csv", "empty"]);
    dir.write("empty.xlsx", "");
    input_error(&dir, &["validate", "empty.xlsx"], &["empty.xlsx", "empty"]);
}

#[test]
fn file_of_blank_lines_has_no_header() {
    let dir = TestDir::new();
    dir.write("blank.csv", "\n\n,,,\n \n");
    input_error(&dir, &["validate", "blank.csv"], &["blank.csv", "header"]);
}

#[test]
fn header_only_file() {
    let dir = TestDir::new();
    dir.write("header.csv", line(&HEADER, ',') + "\n\n");
    input_error(
        &dir,
        &["validate", "header.csv"],
        &["header.csv", "no data rows"],
    );
}

#[test]
fn truncated_xlsx() {
    let dir = TestDir::new();
    let path = valid_xlsx(&dir, "whole.xlsx");
    let bytes = std::fs::read(&path).unwrap();
    dir.write("half.xlsx", &bytes[..bytes.len() / 2]);
    input_error(
        &dir,
        &["validate", "half.xlsx"],
        &["half.xlsx", "not a readable"],
    );
}

#[test]
fn random_bytes_named_xlsx() {
    let dir = TestDir::new();
    dir.write("noise.xlsx", noise(4096, 7));
    input_error(
        &dir,
        &["validate", "noise.xlsx"],
        &["noise.xlsx", "not a readable"],
    );
}

#[test]
fn random_bytes_named_csv() {
    let dir = TestDir::new();
    dir.write("noise.csv", noise(4096, 11));
    input_error(&dir, &["validate", "noise.csv"], &["noise.csv", "binary"]);
}

#[test]
fn a_real_workbook_named_csv_is_not_read_as_text() {
    let dir = TestDir::new();
    let path = valid_xlsx(&dir, "book.xlsx");
    std::fs::copy(path, dir.join("book.csv")).unwrap();
    input_error(&dir, &["validate", "book.csv"], &["book.csv", ".xlsx"]);
}

#[test]
fn unsupported_extension() {
    let dir = TestDir::new();
    dir.write("streaks.pdf", "%PDF-1.4");
    input_error(
        &dir,
        &["validate", "streaks.pdf"],
        &["streaks.pdf", ".pdf", ".csv", ".xlsx"],
    );
}

#[test]
fn missing_required_column_names_the_closest_header() {
    let dir = TestDir::new();
    let mut header = HEADER;
    header[1] = "frequncy typ";
    dir.write(
        "typo.csv",
        line(&header, ',') + "\n" + &line(&ok_row("One"), ',') + "\n",
    );
    input_error(
        &dir,
        &["validate", "typo.csv"],
        &["typo.csv", "`frequency_type`", "`frequncy typ`"],
    );
}

#[test]
fn missing_required_column_in_a_workbook() {
    let dir = TestDir::new();
    let header = texts(&[
        "name",
        "frequency_type",
        "total_periods",
        "start_date",
        "target_entity",
        "target_type",
        "default",
    ]);
    write_book(
        &dir.join("nodefault.xlsx"),
        &[("streaks", vec![header, vec![t("One")]])],
    );
    input_error(
        &dir,
        &["validate", "nodefault.xlsx"],
        &["nodefault.xlsx", "`default_value`", "`default`"],
    );
}

#[test]
fn a_five_megabyte_cell_from_an_unclosed_quote() {
    let dir = TestDir::new();
    let mut text = line(&HEADER, ',') + "\n";
    text += &(line(&ok_row("Fine"), ',') + "\n");
    // Row 3 opens a quote that never closes: the rest of the file becomes one cell.
    text += "\"Runaway,WEEKLY,3,2026-07-04,TRANSACTION,SALES,500\n";
    let filler = line(
        &ok_row("Swallowed row with a long enough name to fill the file quickly"),
        ',',
    ) + "\n";
    while text.len() < 5_000_000 {
        text += &filler;
    }
    dir.write("runaway.csv", text);
    input_error(
        &dir,
        &["validate", "runaway.csv"],
        &["runaway.csv", "row 3", "A3", "quote"],
    );
}

#[test]
fn a_mistyped_flag_suggests_the_right_one() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One")]));
    let run = dir.run(&["validate", "ok.csv", "--reprot", "out.json"]);
    run.code(2);
    no_panic(&run);
    assert_eq!(run.error_lines().len(), 1, "{}", run.describe());
    assert!(run.stderr.contains("--reprot"), "{}", run.describe());
    assert!(
        run.stderr.contains("--report"),
        "the closest flag is suggested\n{}",
        run.describe()
    );
    assert!(!dir.join("out.json").exists());
}

#[test]
fn unknown_report_extension() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One")]));
    input_error(
        &dir,
        &["validate", "ok.csv", "--report", "out.txt"],
        &["out.txt", ".json", ".csv", ".xlsx"],
    );
}

#[test]
fn bad_date_format() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One")]));
    input_error(
        &dir,
        &["validate", "ok.csv", "--date-format", "%Q/%m/%Y"],
        &["--date-format", "%Q/%m/%Y", "%d/%m/%Y"],
    );
    input_error(
        &dir,
        &["validate", "ok.csv", "--date-format", "%m/%Y"],
        &["--date-format", "%m/%Y", "%d"],
    );
}

#[test]
fn bad_time_zone_suggests_the_closest() {
    let dir = TestDir::new();
    dir.write("ok.csv", csv(&[&ok_row("One")]));
    input_error(
        &dir,
        &["validate", "ok.csv", "--time-zone", "Asia/Kolkatta"],
        &["--time-zone", "Asia/Kolkatta", "Asia/Kolkata"],
    );
}

#[test]
fn a_folder_instead_of_a_file() {
    let dir = TestDir::new();
    std::fs::create_dir(dir.join("campaigns.csv")).unwrap();
    input_error(
        &dir,
        &["validate", "campaigns.csv"],
        &["campaigns.csv", "folder"],
    );
}

#[test]
fn sheet_that_does_not_exist_lists_the_sheets() {
    let dir = TestDir::new();
    valid_xlsx(&dir, "book.xlsx");
    input_error(
        &dir,
        &["validate", "book.xlsx", "--sheet", "Streakz"],
        &["book.xlsx", "Streakz", "`streaks`", "`other`"],
    );
}

#[test]
fn no_panic_on_any_input_error() {
    // The messages above, in one pass with RUST_BACKTRACE set: still no backtrace.
    let dir = TestDir::new();
    dir.write("noise.xlsx", noise(512, 3));
    let run = dir.run_with(&["validate", "noise.xlsx"], &[("RUST_BACKTRACE", "1")]);
    run.code(2);
    no_panic(&run);
    assert!(
        !run.stderr.contains("stack backtrace"),
        "{}",
        run.describe()
    );
}
