//! Workbook input through calamine. `.xlsx`/`.xlsm` stream cell by cell; the older formats are
//! read as a range. Date cells stay dates, formulas without a saved value are flagged, never 0.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use calamine::{Data, DataRef, Range, Reader, Xlsx};

use super::{Cells, Opened, RawRow, RowSource, SheetInfo, Value, MAX_CELL_BYTES};
use crate::error::{human_size, InputError};
use crate::problem::cell_ref;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookKind {
    Xlsx,
    Xls,
    Xlsb,
    Ods,
}

impl BookKind {
    fn label(self) -> &'static str {
        match self {
            BookKind::Xlsx => "Excel (.xlsx)",
            BookKind::Xls => "Excel 97-2003 (.xls)",
            BookKind::Xlsb => "Excel binary (.xlsb)",
            BookKind::Ods => "OpenDocument (.ods)",
        }
    }
}

pub const MAIN_SHEET: &str = "streaks";
pub const PERIODS_SHEET: &str = "periods";

fn corrupt(path: &Path, kind: BookKind, e: impl std::fmt::Display) -> InputError {
    InputError::CorruptWorkbook {
        path: path.to_path_buf(),
        format: kind.label(),
        detail: e.to_string(),
    }
}

pub fn open(path: &Path, kind: BookKind, sheet: Option<&str>) -> Result<Opened, InputError> {
    let mut book = calamine::open_workbook_auto(path).map_err(|e| corrupt(path, kind, e))?;
    let names = book.sheet_names();
    let pick = |wanted: &str| {
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let main = match sheet {
        Some(wanted) => pick(wanted).ok_or_else(|| InputError::NoSuchSheet {
            path: path.to_path_buf(),
            sheet: wanted.to_string(),
            available: names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
        })?,
        None => pick(MAIN_SHEET)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| !n.eq_ignore_ascii_case(PERIODS_SHEET))
                    .cloned()
            })
            .or_else(|| names.first().cloned())
            .ok_or_else(|| corrupt(path, kind, "it has no worksheets"))?,
    };
    let periods = match pick(PERIODS_SHEET) {
        Some(p) if !p.eq_ignore_ascii_case(&main) => {
            let range = book
                .worksheet_range(&p)
                .map_err(|e| corrupt(path, kind, e))?;
            let formulas = book.worksheet_formula(&p).ok();
            let info = sheet_info(path, &p, Some(range.height() as u64));
            let mut rows = Vec::new();
            emit_range(path, &range, formulas.as_ref(), &mut |r| {
                rows.push(r);
                true
            })?;
            Some((info, rows))
        }
        _ => None,
    };
    let main: Box<dyn RowSource> = if kind == BookKind::Xlsx {
        Box::new(XlsxSource::new(path, kind, &main)?)
    } else {
        let range = book
            .worksheet_range(&main)
            .map_err(|e| corrupt(path, kind, e))?;
        let formulas = book.worksheet_formula(&main).ok();
        Box::new(RangeSource {
            info: sheet_info(path, &main, Some(range.height() as u64)),
            range,
            formulas,
        })
    };
    Ok(Opened { main, periods })
}

fn sheet_info(path: &Path, sheet: &str, size_hint: Option<u64>) -> SheetInfo {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("xlsx")
        .to_ascii_lowercase();
    SheetInfo {
        path: path.to_path_buf(),
        sheet: sheet.to_string(),
        format: ext,
        dialect: None,
        size_hint,
    }
}

impl Value {
    /// Empty, or an empty string: writers that save a formula with `<v/>` (openpyxl does) give
    /// the latter, and it must be checked for a formula just the same.
    fn is_blank_value(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => t.is_empty(),
            _ => false,
        }
    }
}

fn value_of(data: &Data) -> Value {
    match data {
        Data::Empty => Value::Empty,
        Data::String(s) => Value::Text(s.clone()),
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Number(*f),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(Value::Date)
            .unwrap_or(Value::Number(dt.as_f64())),
        Data::DateTimeIso(s) => iso_value(s),
        Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Error(e) => Value::Error(format!("{e}")),
    }
}

fn value_of_ref(data: DataRef<'_>) -> Value {
    match data {
        DataRef::Empty => Value::Empty,
        DataRef::String(s) => Value::Text(s),
        DataRef::SharedString(s) => Value::Text(s.to_string()),
        DataRef::Int(i) => Value::Int(i),
        DataRef::Float(f) => Value::Number(f),
        DataRef::Bool(b) => Value::Bool(b),
        DataRef::DateTime(dt) => dt
            .as_datetime()
            .map(Value::Date)
            .unwrap_or(Value::Number(dt.as_f64())),
        DataRef::DateTimeIso(s) => iso_value(&s),
        DataRef::DurationIso(s) => Value::Text(s),
        DataRef::Error(e) => Value::Error(format!("{e}")),
    }
}

/// OpenDocument stores date cells as ISO text; they are still date cells.
fn iso_value(s: &str) -> Value {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map(Value::Date)
        .unwrap_or_else(|_| Value::Text(s.to_string()))
}

fn check_size(path: &Path, row: u32, col: usize, value: &Value) -> Result<(), InputError> {
    match value {
        Value::Text(t) if t.len() > MAX_CELL_BYTES => Err(InputError::CellTooLarge {
            path: path.to_path_buf(),
            row,
            cell: cell_ref(col, row),
            size: human_size(t.len()),
            limit: human_size(MAX_CELL_BYTES),
        }),
        _ => Ok(()),
    }
}

fn is_blank(values: &[Value]) -> bool {
    values.iter().all(|v| match v {
        Value::Empty => true,
        Value::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// Emits a whole range's rows; `formulas` marks the empty cells that hold a formula.
fn emit_range(
    path: &Path,
    range: &Range<Data>,
    formulas: Option<&Range<String>>,
    emit: &mut dyn FnMut(RawRow) -> bool,
) -> Result<(), InputError> {
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    for (i, cells) in range.rows().enumerate() {
        let abs_row = start_row + i as u32;
        let row = abs_row + 1;
        let mut values = vec![Value::Empty; start_col as usize];
        for (j, data) in cells.iter().enumerate() {
            let abs_col = start_col + j as u32;
            let mut value = value_of(data);
            if value.is_blank_value() {
                let has_formula = formulas
                    .and_then(|f| f.get_value((abs_row, abs_col)))
                    .is_some_and(|f| !f.is_empty());
                if has_formula {
                    value = Value::FormulaNoValue;
                }
            }
            check_size(path, row, abs_col as usize, &value)?;
            values.push(value);
        }
        if is_blank(&values) {
            continue;
        }
        if !emit(RawRow {
            row,
            cells: Cells::Book(values),
        }) {
            break;
        }
    }
    Ok(())
}

/// `.xls`, `.xlsb`, `.ods`: calamine reads these whole.
struct RangeSource {
    info: SheetInfo,
    range: Range<Data>,
    formulas: Option<Range<String>>,
}

impl RowSource for RangeSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        emit_range(&self.info.path, &self.range, self.formulas.as_ref(), emit)
    }
}

/// `.xlsx`/`.xlsm`, streamed cell by cell so validation starts while the file is still being read
/// and the sheet is never held whole.
struct XlsxSource {
    info: SheetInfo,
    kind: BookKind,
    book: Xlsx<BufReader<File>>,
}

impl XlsxSource {
    fn new(path: &Path, kind: BookKind, sheet: &str) -> Result<Self, InputError> {
        let book: Xlsx<_> = calamine::open_workbook(path).map_err(|e| corrupt(path, kind, e))?;
        Ok(Self {
            info: sheet_info(path, sheet, None),
            kind,
            book,
        })
    }
}

/// Whether any worksheet of the workbook may hold a formula: a byte search for a `<f>` element in
/// the sheets' XML, many times cheaper than parsing it. Styled blank cells, which Excel and
/// LibreOffice write for every formatted empty cell (all the template's rows), read as empty
/// cells just like formulas never calculated; this keeps them from costing a second parse of the
/// sheet when the workbook has no formulas at all. Anything unexpected answers "maybe".
fn may_have_formulas(path: &Path) -> bool {
    let search = || -> Result<bool, Box<dyn std::error::Error>> {
        let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?))?;
        let tags: Vec<memchr::memmem::Finder> = ["<f>", "<f ", "<f/", ":f>", ":f ", ":f/"]
            .iter()
            .map(|t| memchr::memmem::Finder::new(t.as_bytes()))
            .collect();
        let mut buf = vec![0u8; 1 << 20];
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i)?;
            if !(entry.name().starts_with("xl/worksheets/") && entry.name().ends_with(".xml")) {
                continue;
            }
            // Each read keeps the last bytes of the one before, so no tag is split unseen.
            let mut kept = 0;
            loop {
                let n = entry.read(&mut buf[kept..])?;
                if n == 0 {
                    break;
                }
                let seen = &buf[..kept + n];
                if tags.iter().any(|t| t.find(seen).is_some()) {
                    return Ok(true);
                }
                kept = seen.len().min(2);
                let from = seen.len() - kept;
                buf.copy_within(from..from + kept, 0);
            }
        }
        Ok(false)
    };
    search().unwrap_or(true)
}

/// The positions of a sheet's formula cells, read with a second reader over the same sheet.
/// Only asked for when the value reader meets an empty `<c>` element (a styled blank, or a
/// formula never calculated) in a workbook that has formulas.
fn formula_cells(
    path: &Path,
    kind: BookKind,
    sheet: &str,
) -> Result<HashSet<(u32, u32)>, InputError> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).map_err(|e| corrupt(path, kind, e))?;
    let mut reader = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| corrupt(path, kind, e))?;
    let mut cells = HashSet::new();
    while let Some(cell) = reader.next_formula().map_err(|e| corrupt(path, kind, e))? {
        if !cell.get_value().is_empty() {
            cells.insert(cell.get_position());
        }
    }
    Ok(cells)
}

impl RowSource for XlsxSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(mut self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let path = self.info.path.clone();
        let kind = self.kind;
        let mut formulas: Option<HashSet<(u32, u32)>> = None;
        let this = &mut *self;
        let mut reader = this
            .book
            .worksheet_cells_reader(&this.info.sheet)
            .map_err(|e| corrupt(&path, kind, e))?;
        let mut current: Option<(u32, Vec<Value>)> = None;
        let flush =
            |current: Option<(u32, Vec<Value>)>, emit: &mut dyn FnMut(RawRow) -> bool| -> bool {
                match current {
                    Some((abs_row, values)) if !is_blank(&values) => emit(RawRow {
                        row: abs_row + 1,
                        cells: Cells::Book(values),
                    }),
                    _ => true,
                }
            };
        while let Some(cell) = reader.next_cell().map_err(|e| corrupt(&path, kind, e))? {
            let (abs_row, abs_col) = cell.get_position();
            let mut value = value_of_ref(cell.get_value().clone());
            if value.is_blank_value() {
                if formulas.is_none() {
                    formulas = Some(if may_have_formulas(&path) {
                        formula_cells(&path, kind, &this.info.sheet)?
                    } else {
                        HashSet::new()
                    });
                }
                if formulas
                    .as_ref()
                    .is_some_and(|f| f.contains(&(abs_row, abs_col)))
                {
                    value = Value::FormulaNoValue;
                }
            }
            check_size(&path, abs_row + 1, abs_col as usize, &value)?;
            if current.as_ref().is_some_and(|(r, _)| *r != abs_row) && !flush(current.take(), emit)
            {
                return Ok(());
            }
            let values = &mut current.get_or_insert_with(|| (abs_row, Vec::new())).1;
            let col = abs_col as usize;
            if values.len() < col {
                values.resize(col, Value::Empty);
            }
            if values.len() == col {
                values.push(value);
            } else {
                values[col] = value;
            }
        }
        flush(current.take(), emit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula_look_sees_formulas_and_only_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let styled = rust_xlsxwriter::Format::new().set_bold();
        let write = |name: &str, formula: bool| {
            let mut book = rust_xlsxwriter::Workbook::new();
            let ws = book.add_worksheet();
            ws.write_string(0, 0, "name").unwrap();
            // Styled blanks: what a formatted template row leaves behind.
            for col in 0..30 {
                ws.write_blank(1, col, &styled).unwrap();
            }
            if formula {
                ws.write_formula(2, 0, "=A1&\"x\"").unwrap();
            }
            let path = dir.path().join(name);
            book.save(&path).unwrap();
            path
        };
        assert!(!may_have_formulas(&write("plain.xlsx", false)));
        assert!(may_have_formulas(&write("formula.xlsx", true)));
        // Not a workbook: "maybe", and the real reader reports what is wrong.
        let junk = dir.path().join("junk.xlsx");
        std::fs::write(&junk, b"not a zip").unwrap();
        assert!(may_have_formulas(&junk));
    }
}
