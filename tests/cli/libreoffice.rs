//! A real spreadsheet application reads our workbooks: LibreOffice (headless) opens the template
//! and an XLSX report and saves them again as XLSX; what it kept — cells, notes on bad cells,
//! dropdown lists — is checked in its output, and the re-saved template still validates.
//!
//! Without `soffice` on the PATH (when the tests are built) these tests are ignored, and
//! `cargo test` lists them as ignored with the reason; with `CI=true` they always run, and fail
//! without it: `.ci/run` installs LibreOffice (Debian: libreoffice-calc-nogui).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use calamine::Data;
use streak_import::columns::{COLUMNS, PERIOD_COLUMNS};
use streak_import::problem::column_letters;

use crate::book::{read_sheet, sheet_names, zip_names, zip_part};
use crate::template::{attr, data_validations, expected_list, inner, validation_at};
use crate::util::*;

/// How long one conversion may take (a first start with a fresh profile takes a few seconds).
const CONVERT_TIMEOUT: Duration = Duration::from_secs(180);

fn find_soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("soffice"))
        .find(|p| p.is_file())
}

/// `soffice`; its absence fails the test (the build marks these tests ignored when it was
/// missing at build time, unless `CI=true`).
fn soffice() -> PathBuf {
    find_soffice().unwrap_or_else(|| {
        panic!("LibreOffice (soffice) is not installed (.ci/run installs libreoffice-calc-nogui)")
    })
}

/// Opens `file` in LibreOffice and saves it as XLSX into `DIR/converted/`; returns the new file.
/// Each call has its own profile, so tests running in parallel do not share an instance.
fn convert(soffice: &Path, dir: &TestDir, file: &str) -> PathBuf {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = dir.join("converted");
    let log_path = profile.path().join("soffice.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().join("user").display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(&out)
        .arg(dir.join(file))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start soffice");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for soffice") {
            break status;
        }
        if started.elapsed() > CONVERT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "soffice did not convert {file} within {CONVERT_TIMEOUT:?}:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let converted = out.join(Path::new(file).file_name().expect("file name"));
    assert!(
        status.success() && converted.is_file(),
        "soffice failed to convert {file} ({status}):\n{}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    converted
}

/// A cell as text, so that the same value reads the same from both files.
fn show(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Bool(b) => format!("{b}"),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => t.format("date %Y-%m-%d %H:%M:%S").to_string(),
            None => format!("{dt}"),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Every non-empty cell of a sheet, as `(row, col, text)` from A1.
fn cells(path: &Path, sheet: &str) -> Vec<(u32, u32, String)> {
    let range = read_sheet(path, sheet);
    let (r0, c0) = range.start().unwrap_or((0, 0));
    range
        .cells()
        .filter(|(_, _, d)| !matches!(d, Data::Empty))
        .map(|(r, c, d)| (r as u32 + r0, c as u32 + c0, show(d)))
        .collect()
}

/// Every sheet of `converted` holds what the same sheet of `original` holds, cell for cell.
fn assert_same_cells(original: &Path, converted: &Path) {
    let names = sheet_names(original);
    assert_eq!(sheet_names(converted), names, "sheets after LibreOffice");
    for sheet in &names {
        let (a, b) = (cells(original, sheet), cells(converted, sheet));
        assert!(!a.is_empty(), "sheet {sheet} is empty");
        let differ: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(5).collect();
        assert!(
            differ.is_empty() && a.len() == b.len(),
            "sheet {sheet}: {} vs {} cells; first differences {differ:?}",
            a.len(),
            b.len()
        );
    }
}

/// XML text → plain text (the entities XML writers use).
fn unescape(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The notes of a comments part, as `(cell, text)`: the text is every run of the note, joined.
fn notes(xml: &str) -> Vec<(String, String)> {
    xml.split("<comment ")
        .skip(1)
        .map(|c| {
            let cell = attr(&format!("<comment {c}"), "ref").expect("comment ref");
            let body = &c[..c.find("</comment>").unwrap_or(c.len())];
            let mut text = String::new();
            let mut rest = body;
            while let Some(start) = rest.find("<t") {
                let tail = &rest[start..];
                let open = tail.find('>').expect("tag end");
                if tail[..open].ends_with('/')
                    || !(tail[2..].starts_with('>') || tail[2..].starts_with(' '))
                {
                    rest = &tail[open + 1..];
                    continue;
                }
                let end = tail.find("</t>").expect("closing </t>");
                text.push_str(&unescape(&tail[open + 1..end]));
                rest = &tail[end + 4..];
            }
            (cell, text)
        })
        .collect()
}

/// Every comments part of a workbook, notes concatenated.
fn all_notes(path: &Path) -> Vec<(String, String)> {
    zip_names(path)
        .iter()
        .filter(|n| n.starts_with("xl/comments") && n.ends_with(".xml"))
        .flat_map(|n| notes(&zip_part(path, n)))
        .collect()
}

#[test]
#[cfg_attr(soffice_missing, ignore = "LibreOffice (soffice) is not installed")]
fn libreoffice_keeps_the_templates_cells_and_dropdowns_and_the_result_still_validates() {
    let soffice = soffice();
    let dir = TestDir::new();
    dir.run(&["template", "-o", "template.xlsx"]).code(0);
    let converted = convert(&soffice, &dir, "template.xlsx");

    // Cells: the header row, the example row, the periods header and the instructions, as written.
    assert_same_cells(&dir.join("template.xlsx"), &converted);
    let streaks = read_sheet(&converted, "streaks");
    let header: Vec<String> = (0..COLUMNS.len() as u32)
        .map(|c| show(&crate::book::at(&streaks, 0, c)))
        .collect();
    assert_eq!(header, COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>());
    let periods = read_sheet(&converted, "periods");
    let header: Vec<String> = (0..PERIOD_COLUMNS.len() as u32)
        .map(|c| show(&crate::book::at(&periods, 0, c)))
        .collect();
    assert_eq!(
        header,
        PERIOD_COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>()
    );
    let start = COLUMNS.iter().position(|c| c.key == "start_date").unwrap() as u32;
    assert!(
        matches!(crate::book::at(&streaks, 1, start), Data::DateTime(_)),
        "the example's start date is still a date cell: {:?}",
        crate::book::at(&streaks, 1, start)
    );

    // Dropdowns: every enum and boolean column still offers its values, from row 2 down, with
    // its input message. (LibreOffice writes the ranges only down to row 1002.)
    let sheet_xml = |name: &str| -> String {
        let rels = zip_part(&converted, "xl/_rels/workbook.xml.rels");
        let workbook = zip_part(&converted, "xl/workbook.xml");
        let at = workbook
            .find(&format!("<sheet name=\"{name}\""))
            .expect("sheet in workbook.xml");
        let id = attr(&workbook[at..], "r:id").expect("r:id");
        let rel = rels
            .split("<Relationship ")
            .find(|r| r.contains(&format!("Id=\"{id}\"")))
            .expect("relationship");
        let target = attr(&format!("<x {rel}"), "Target").expect("target");
        zip_part(
            &converted,
            &format!("xl/{}", target.trim_start_matches("/xl/")),
        )
    };
    let validations = data_validations(&sheet_xml("streaks"));
    let mut lists = 0;
    for (i, c) in COLUMNS.iter().enumerate() {
        let first = format!("{}2", column_letters(i));
        let v = validation_at(&validations, &first)
            .unwrap_or_else(|| panic!("{}: no validation from {first}", c.key));
        assert_eq!(attr(v, "promptTitle").as_deref(), Some(c.key), "{v}");
        if let Some(values) = expected_list(c.kind) {
            lists += 1;
            assert_eq!(attr(v, "type").as_deref(), Some("list"), "{v}");
            assert_eq!(
                unescape(&inner(v, "formula1").expect("formula1")),
                format!("\"{}\"", values.join(",")),
                "{v}"
            );
        }
    }
    assert_eq!(
        lists,
        COLUMNS
            .iter()
            .filter(|c| expected_list(c.kind).is_some())
            .count()
    );

    // And the tool reads LibreOffice's file as it read its own.
    std::fs::copy(&converted, dir.join("resaved.xlsx")).expect("copy");
    let report = dir.validate_json("resaved.xlsx", &[], 0);
    assert_eq!(report["summary"]["rows"], 1);
    assert_eq!(report["summary"]["valid"], 1);
    assert!(problems(&report).is_empty(), "{:?}", problems(&report));
}

#[test]
#[cfg_attr(soffice_missing, ignore = "LibreOffice (soffice) is not installed")]
fn libreoffice_keeps_the_reports_cells_and_the_notes_on_bad_cells() {
    let soffice = soffice();
    let dir = TestDir::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/with-errors.csv");
    std::fs::copy(&sample, dir.join("with-errors.csv")).expect("copy sample");
    dir.run(&[
        "validate",
        "with-errors.csv",
        "--report",
        "r.xlsx",
        "--report",
        "r.json",
        "--quiet",
    ])
    .code(1);
    let converted = convert(&soffice, &dir, "r.xlsx");

    // Cells: every sheet (rows, summary, problems, retry, …) as the tool wrote it.
    assert_same_cells(&dir.join("r.xlsx"), &converted);
    let first = &sheet_names(&converted)[0];
    let rows = read_sheet(&converted, first);
    assert_eq!(show(&crate::book::at(&rows, 0, 0)), "name");
    assert_eq!(
        show(&crate::book::at(&rows, 1, 0)),
        "Weekend Coffee Run Aug-26"
    );
    assert_eq!(show(&crate::book::at(&rows, 1, 5)), "WEEKLY");
    let width = rows.width() as u32;
    assert_eq!(show(&crate::book::at(&rows, 0, width - 2)), "status");
    assert_eq!(show(&crate::book::at(&rows, 0, width - 1)), "message");
    assert_eq!(show(&crate::book::at(&rows, 1, width - 2)), "valid");
    assert_eq!(show(&crate::book::at(&rows, 2, width - 2)), "invalid");
    assert!(
        show(&crate::book::at(&rows, 2, width - 1)).contains("A3"),
        "row 3's message names its cell"
    );

    // Notes: each bad cell still carries its code and message.
    let report = dir.json("r.json");
    let original = all_notes(&dir.join("r.xlsx"));
    let kept = all_notes(&converted);
    assert_eq!(
        kept.len(),
        original.len(),
        "notes after LibreOffice: {kept:#?}"
    );
    let mut checked = 0;
    for row in report["rows"].as_array().expect("rows") {
        for p in row["errors"].as_array().expect("errors") {
            let cell = p["cell"].as_str().unwrap_or_default();
            if cell.is_empty() {
                continue;
            }
            let expected = format!(
                "{}: {}",
                p["code"].as_str().unwrap(),
                p["message"].as_str().unwrap()
            );
            let note = kept
                .iter()
                .find(|(c, _)| c == cell)
                .unwrap_or_else(|| panic!("no note on {cell}: {kept:#?}"));
            assert!(
                note.1.contains(&expected),
                "note on {cell}: {:?} lacks {expected:?}",
                note.1
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} notes checked");
}
