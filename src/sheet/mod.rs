//! Reading a sheet: CSV (any dialect of SPEC §3) or a workbook (xlsx/xlsm/xls/xlsb/ods), as a
//! stream of raw rows numbered the way a spreadsheet shows them. Nothing here interprets a value;
//! that is [`crate::check::validate`]'s job.

mod csv_input;
mod workbook;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::error::InputError;

pub use csv_input::{CsvBlock, CsvSource};
pub use workbook::PERIODS_SHEET;

/// A cell larger than this is treated as a broken file rather than a bad value: in practice it is
/// an unclosed quote that swallowed the rest of a CSV.
pub const MAX_CELL_BYTES: usize = 1 << 20;

/// An owned cell value from a workbook.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    /// A number cell with a date format: Excel's way of holding a date.
    Date(NaiveDateTime),
    /// An error value such as `#N/A`.
    Error(String),
    /// A formula whose result was never calculated and saved (files written by scripts).
    FormulaNoValue,
}

impl Value {
    /// The value as a cell (an empty text is an empty cell).
    pub fn as_cell(&self) -> Cell<'_> {
        match self {
            Value::Empty => Cell::Empty,
            Value::Text(t) if t.is_empty() => Cell::Empty,
            Value::Text(t) => Cell::Text(Cow::Borrowed(t)),
            Value::Int(i) => Cell::Int(*i),
            Value::Number(n) => Cell::Number(*n),
            Value::Bool(b) => Cell::Bool(*b),
            Value::Date(d) => Cell::Date(*d),
            Value::Error(e) => Cell::Error(e),
            Value::FormulaNoValue => Cell::FormulaNoValue,
        }
    }
}

/// A cell as the validator sees it, borrowed from the row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    Number(f64),
    Bool(bool),
    Date(NaiveDateTime),
    Error(&'a str),
    FormulaNoValue,
}

impl Cell<'_> {
    /// The value as read, for messages and reports.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Number(n) => format_number(*n),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::Date(d) => {
                if d.time() == chrono::NaiveTime::MIN {
                    d.format("%Y-%m-%d").to_string()
                } else {
                    // ISO, so a value written back out (the CSV template) reads in again.
                    d.format("%Y-%m-%dT%H:%M:%S").to_string()
                }
            }
            Cell::Error(e) => e.to_string(),
            Cell::FormulaNoValue => "(formula without a saved value)".to_string(),
        }
    }

    /// The cell as text, borrowed when it is text already (the common case: no allocation).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(t) => Cow::Borrowed(t.as_ref()),
            other => Cow::Owned(other.display()),
        }
    }

    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => trim(t).is_empty(),
            _ => false,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Cell::Empty => Value::Empty,
            Cell::Text(t) => Value::Text(t.to_string()),
            Cell::Int(i) => Value::Int(*i),
            Cell::Number(n) => Value::Number(*n),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Date(d) => Value::Date(*d),
            Cell::Error(e) => Value::Error(e.to_string()),
            Cell::FormulaNoValue => Value::FormulaNoValue,
        }
    }
}

/// `str::trim`, with a quick exit for the usual cell, which starts and ends with a visible ASCII
/// character: cells are trimmed several times each, and Unicode's spaces take a slower look.
#[inline]
pub fn trim(s: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x7f);
    let b = s.as_bytes();
    if visible(b.first()) && visible(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// `46204` not `46204.0`; `12.5` stays `12.5`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The cells of one row, kept in the reader's own form so CSV rows are never copied cell by cell.
#[derive(Debug, Clone)]
pub enum Cells {
    /// A CSV record already checked as UTF-8 (once, on the reading thread).
    CsvText(csv::StringRecord),
    /// A CSV record with bytes that are not UTF-8: read per cell as Windows-1252.
    Csv(csv::ByteRecord),
    Book(Vec<Value>),
}

/// One row of a sheet, with the row number a spreadsheet shows.
#[derive(Debug, Clone)]
pub struct RawRow {
    pub row: u32,
    pub cells: Cells,
}

impl RawRow {
    pub fn len(&self) -> usize {
        match &self.cells {
            Cells::CsvText(r) => r.len(),
            Cells::Csv(r) => r.len(),
            Cells::Book(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Cell<'_> {
        match &self.cells {
            Cells::CsvText(r) => r.get(index).map_or(Cell::Empty, csv_cell),
            Cells::Csv(r) => match r.get(index) {
                None | Some(b"") => Cell::Empty,
                Some(bytes) => Cell::Text(decode_text(bytes)),
            },
            Cells::Book(v) => v.get(index).map_or(Cell::Empty, Value::as_cell),
        }
    }

    pub fn is_blank(&self) -> bool {
        (0..self.len()).all(|i| self.get(i).is_blank())
    }

    /// Calls `f` with each cell and its index, in order (one pass: cheaper than `get` per cell).
    pub fn for_each_cell<'a>(&'a self, mut f: impl FnMut(usize, Cell<'a>)) {
        match &self.cells {
            Cells::CsvText(r) => r.iter().enumerate().for_each(|(i, t)| f(i, csv_cell(t))),
            _ => (0..self.len()).for_each(|i| f(i, self.get(i))),
        }
    }

    /// Moves the row out, leaving an empty one.
    pub fn take(&mut self) -> RawRow {
        RawRow {
            row: self.row,
            cells: std::mem::replace(&mut self.cells, Cells::Book(Vec::new())),
        }
    }
}

/// A CSV cell's text as a cell: an empty one is an empty cell.
fn csv_cell(text: &str) -> Cell<'_> {
    if text.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(Cow::Borrowed(text))
    }
}

/// CSV bytes are UTF-8 when they decode as UTF-8; otherwise they are Excel's default export,
/// Windows-1252. Deciding per cell keeps the common case zero-copy and handles files that mix both
/// (a UTF-8 export with a row pasted from an old one).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// What was read, for the reports' `input` block and the terminal summary.
#[derive(Debug, Clone, Default)]
pub struct SheetInfo {
    pub path: PathBuf,
    pub sheet: String,
    /// `csv`, `xlsx`, …
    pub format: String,
    /// For CSV: the encoding and delimiter detected.
    pub dialect: Option<String>,
    /// Rows expected, when the format says so up front (for the progress bar).
    pub size_hint: Option<u64>,
}

/// A sheet that streams its rows, blank rows already skipped.
pub trait RowSource: Send {
    fn info(&self) -> &SheetInfo;
    /// Calls `emit` for each non-blank row in order; stops early when `emit` returns false.
    fn read(self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError>;

    /// The rows in batches, for the pipeline; stops early when `emit` returns false. A source
    /// whose rows are cheap to cut but costly to parse (CSV) sends them unparsed, and hashes the
    /// input as it reads it: the sha256 comes back when the whole input was read.
    fn read_batches(
        self: Box<Self>,
        emit: &mut dyn FnMut(Batch) -> Result<bool, InputError>,
    ) -> Result<Option<String>, InputError> {
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut failed = None;
        self.read(&mut |row| {
            batch.push(row);
            if batch.len() < BATCH_ROWS {
                return true;
            }
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            emit(Batch::Rows(full)).unwrap_or_else(|e| {
                failed = Some(e);
                false
            })
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !batch.is_empty() {
            emit(Batch::Rows(batch))?;
        }
        Ok(None)
    }
}

/// Rows per batch of a workbook: large enough to keep both cores busy, small enough to bound memory.
const BATCH_ROWS: usize = 8192;

/// Rows handed over together, in input order.
pub enum Batch {
    Rows(Vec<RawRow>),
    /// CSV text cut at record ends, parsed where it is validated.
    Csv(Vec<CsvBlock>),
}

impl Batch {
    /// The size of the CSV text the batch holds.
    pub fn csv_bytes(&self) -> Option<usize> {
        match self {
            Batch::Rows(_) => None,
            Batch::Csv(blocks) => Some(blocks.iter().map(CsvBlock::len).sum()),
        }
    }

    /// The batch's rows, parsed here.
    pub fn into_rows(self, path: &Path) -> Result<Vec<RawRow>, InputError> {
        match self {
            Batch::Rows(rows) => Ok(rows),
            Batch::Csv(blocks) => {
                let mut rows = Vec::new();
                for block in &blocks {
                    block.rows(path, &mut |row| {
                        rows.push(row.take());
                        Ok(true)
                    })?;
                }
                Ok(rows)
            }
        }
    }
}

/// The file formats the tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv { tab: bool },
    Workbook(workbook::BookKind),
}

pub fn format_of(path: &Path) -> Result<Format, InputError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "csv" | "txt" => Format::Csv { tab: false },
        "tsv" | "tab" => Format::Csv { tab: true },
        "xlsx" => Format::Workbook(workbook::BookKind::Xlsx),
        "xlsm" => Format::Workbook(workbook::BookKind::Xlsx),
        "xls" => Format::Workbook(workbook::BookKind::Xls),
        "xlsb" => Format::Workbook(workbook::BookKind::Xlsb),
        "ods" => Format::Workbook(workbook::BookKind::Ods),
        _ => {
            return Err(InputError::UnsupportedFormat {
                path: path.to_path_buf(),
                ext: if ext.is_empty() {
                    "(none)".into()
                } else {
                    format!(".{ext}")
                },
            })
        }
    })
}

/// An opened input: the main sheet as a stream, and the explicit periods if the input has them.
pub struct Opened {
    pub main: Box<dyn RowSource>,
    /// Rows of the workbook's `periods` sheet (read whole: it is small), with its info.
    pub periods: Option<(SheetInfo, Vec<RawRow>)>,
    /// Sheet-level warnings the reader finds as it goes (cells right of the header): read them
    /// once the main sheet has been read.
    pub notes: Notes,
}

/// Warnings a row source found while reading, shared with whoever opened it.
#[derive(Debug, Clone, Default)]
pub struct Notes(std::sync::Arc<std::sync::Mutex<Vec<crate::problem::Problem>>>);

impl Notes {
    pub fn push(&self, p: crate::problem::Problem) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }

    pub fn take(&self) -> Vec<crate::problem::Problem> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Opens `path`, choosing the sheet as SPEC §2 says: `--sheet`, else `streaks`, else the first.
pub fn open(path: &Path, sheet: Option<&str>) -> Result<Opened, InputError> {
    check_file(path)?;
    match format_of(path)? {
        Format::Csv { tab } => Ok(Opened {
            main: Box::new(CsvSource::open(path, tab)?),
            periods: None,
            notes: Notes::default(),
        }),
        Format::Workbook(kind) => workbook::open(path, kind, sheet),
    }
}

/// Reads a whole sheet (the periods sheet or file) into memory.
pub fn read_all(source: Box<dyn RowSource>) -> Result<(SheetInfo, Vec<RawRow>), InputError> {
    let info = source.info().clone();
    let mut rows = Vec::new();
    source.read(&mut |row| {
        rows.push(row);
        true
    })?;
    Ok((info, rows))
}

pub fn check_file(path: &Path) -> Result<u64, InputError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(InputError::NotFound {
            path: path.to_path_buf(),
            cwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        }),
        Err(source) => Err(InputError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
        Ok(m) if m.is_dir() => Err(InputError::Usage(format!(
            "{}: is a folder, not a file. Name the .csv or .xlsx file to read.",
            path.display()
        ))),
        Ok(m) if m.len() == 0 => Err(InputError::Empty {
            path: path.to_path_buf(),
        }),
        Ok(m) => Ok(m.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_and_windows_1252() {
        assert_eq!(decode_text("Café".as_bytes()), "Café");
        assert_eq!(decode_text(b"Caf\xe9 \x80"), "Café €");
    }

    proptest::proptest! {
        #[test]
        fn quick_trim_is_trim(s in "[ a\t\u{a0}\u{2003}\u{1c}\u{7f}é]{0,4}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }
    }

    #[test]
    fn numbers_display_without_trailing_zero() {
        assert_eq!(format_number(46204.0), "46204");
        assert_eq!(format_number(12.5), "12.5");
    }
}
