//! Workbooks for tests: written with rust_xlsxwriter cell by cell (so each cell has the type a
//! test needs: text, number, boolean, date, formula), post-processed with `zip` where a real Excel
//! file differs from what the writer produces, and read back (calamine, or the raw XML parts).

use std::io::{Read, Write};
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Formula, Workbook};

/// One cell of a test workbook, typed.
#[derive(Debug, Clone)]
pub enum X {
    /// A text cell.
    T(String),
    /// A number cell (general format).
    N(f64),
    /// A boolean cell.
    B(bool),
    /// A date cell (a number with a date format, as Excel stores dates).
    D(NaiveDate),
    /// A formula with its cached result (a number).
    F(&'static str, f64),
    Blank,
}

pub fn t(s: &str) -> X {
    X::T(s.to_string())
}

pub fn d(y: i32, m: u32, day: u32) -> X {
    X::D(NaiveDate::from_ymd_opt(y, m, day).expect("real date"))
}

/// A sheet's rows; row 0 is spreadsheet row 1.
pub type Rows = Vec<Vec<X>>;

/// Text cells from strings, for headers and rows that are all text.
pub fn texts(cells: &[&str]) -> Vec<X> {
    cells
        .iter()
        .map(|c| if c.is_empty() { X::Blank } else { t(c) })
        .collect()
}

/// Writes a workbook with the given sheets, in order.
pub fn write_book(path: &Path, sheets: &[(&str, Rows)]) {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (name, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).expect("sheet name");
        for (r, cells) in rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    X::T(s) => {
                        ws.write_string(r, c, s).expect("write text");
                    }
                    X::N(n) => {
                        ws.write_number(r, c, *n).expect("write number");
                    }
                    X::B(b) => {
                        ws.write_boolean(r, c, *b).expect("write boolean");
                    }
                    X::D(d) => {
                        ws.write_datetime_with_format(r, c, d, &date)
                            .expect("write date");
                    }
                    X::F(f, result) => {
                        ws.write_formula(r, c, Formula::new(*f).set_result(result.to_string()))
                            .expect("write formula");
                    }
                    X::Blank => {}
                }
            }
        }
    }
    book.save(path).expect("save workbook");
}

/// The text of one part of a zip container (an xlsx), e.g. `xl/worksheets/sheet1.xml`.
pub fn zip_part(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).expect("open zip");
    let mut zip = zip::ZipArchive::new(file).expect("a zip file");
    let mut part = zip
        .by_name(name)
        .unwrap_or_else(|e| panic!("{}: no part {name}: {e}", path.display()));
    let mut text = String::new();
    part.read_to_string(&mut text).expect("read part");
    text
}

/// The names of the parts of a zip container.
pub fn zip_names(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open zip");
    let zip = zip::ZipArchive::new(file).expect("a zip file");
    zip.file_names().map(str::to_string).collect()
}

/// Rewrites one part of a zip container with `edit`.
pub fn edit_zip_part(path: &Path, name: &str, edit: impl FnOnce(String) -> String) {
    let bytes = std::fs::read(path).expect("read zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip file");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut edit = Some(edit);
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).expect("zip entry");
        let part_name = part.name().to_string();
        let mut content = Vec::new();
        part.read_to_end(&mut content).expect("read entry");
        if part_name == name {
            let text = String::from_utf8(content).expect("XML part");
            content = (edit.take().expect("one part"))(text).into_bytes();
        }
        out.start_file(part_name, zip::write::SimpleFileOptions::default())
            .expect("start entry");
        out.write_all(&content).expect("write entry");
    }
    assert!(edit.is_none(), "{}: no part {name}", path.display());
    let out = out.finish().expect("finish zip").into_inner();
    std::fs::write(path, out).expect("write zip");
}

/// Removes the cached value of the formula in `cell` of the first sheet, as files written by
/// scripts (and never opened in Excel) have them: `<c r="C2"><f>1+2</f></c>`.
pub fn strip_cached_value(path: &Path, cell: &str) {
    replace_cached_value(path, cell, "");
}

/// Replaces the `<v>…</v>` of the formula in `cell` of the first sheet with `with` (for
/// instance an empty `<v></v>` or `<v/>`, as other writers leave an uncalculated formula).
pub fn replace_cached_value(path: &Path, cell: &str, with: &str) {
    edit_zip_part(path, "xl/worksheets/sheet1.xml", |xml| {
        let at = xml
            .find(&format!("<c r=\"{cell}\""))
            .unwrap_or_else(|| panic!("no cell {cell} in\n{xml}"));
        let end = at + xml[at..].find("</c>").expect("cell end");
        let cell_xml = &xml[at..end];
        assert!(
            cell_xml.contains("<f>"),
            "{cell} is not a formula: {cell_xml}"
        );
        let v_start = at + cell_xml.find("<v>").expect("cached value");
        let v_end = at + cell_xml.find("</v>").expect("cached value end") + "</v>".len();
        format!("{}{with}{}", &xml[..v_start], &xml[v_end..])
    });
}

/// A sheet read back with calamine: every cell, as calamine's `Data`, by (row, col) from A1.
pub fn read_sheet(path: &Path, sheet: &str) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    book.worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("{}: sheet {sheet}: {e}", path.display()))
}

pub fn sheet_names(path: &Path) -> Vec<String> {
    use calamine::Reader;
    let book =
        calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    book.sheet_names()
}

/// The value of an absolute cell (`(0, 0)` is A1) of a range that may not start at A1.
pub fn at(range: &calamine::Range<calamine::Data>, row: u32, col: u32) -> calamine::Data {
    range
        .get_value((row, col))
        .cloned()
        .unwrap_or(calamine::Data::Empty)
}

/// A cell's text, for cells that must be text.
#[track_caller]
pub fn text_at(range: &calamine::Range<calamine::Data>, row: u32, col: u32) -> String {
    match at(range, row, col) {
        calamine::Data::String(s) => s,
        calamine::Data::Empty => String::new(),
        other => panic!("cell ({row}, {col}) is {other:?}, not text"),
    }
}
