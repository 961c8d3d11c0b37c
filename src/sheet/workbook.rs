//! Workbook input through calamine. `.xlsx`/`.xlsm` and `.xlsb` stream cell by cell; `.xls` and
//! `.ods` are read as a range. Date cells stay dates, formulas without a saved value are flagged,
//! never 0.
//!
//! Bounded on hostile files. calamine trusts what a workbook says: it unpacks a zip entry
//! whatever its size, quick-xml holds a whole text or tag in memory, all shared strings are
//! loaded, `.ods` repeats are expanded eagerly and `.xls`/`.ods` sheets become dense ranges. So
//! before calamine opens a zip-based workbook, each entry it will read is checked here: its
//! declared size and ratio, then its bytes, unpacked as a stream and measured (the longest tag or
//! text, the longest value, the shared strings, what the `.ods` repeats expand to) against limits
//! no sheet written by a spreadsheet program comes near. Reading then keeps each row to the
//! header's width and the whole sheet to a number of cells and bytes of text in proportion to the
//! file. Whatever is refused names the limit (`InputError::WorkbookLimit`, exit 2).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use calamine::{Data, DataRef, Range, Reader, Xlsb, Xlsx};
use memchr::{memchr, memchr3, memmem};

use super::{Cells, Opened, RawRow, RowSource, SheetInfo, Value, MAX_CELL_BYTES};
use crate::error::{human_size, InputError};
use crate::problem::{cell_ref, column_letters};

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

/// Excel's last row: no spreadsheet program writes a cell below it.
const MAX_ROWS: u32 = 1 << 20;
/// Cells of the header row kept at most (a streak sheet has a few dozen columns); the rows below
/// keep the header's width.
const MAX_HEADER_COLUMNS: usize = 1024;
/// The longest tag, or text between two tags, in a workbook's XML: quick-xml holds a whole one in
/// memory. Far above the largest cell (`MAX_CELL_BYTES`).
const XML_TOKEN_CAP: usize = 16 << 20;
/// The longest element whose texts calamine joins into one value (`<c>`, `<v>`, `<si>`, an
/// `.ods` cell…), as XML.
const XML_VALUE_CAP: u64 = 16 << 20;
/// A sheet's XML unpacked: a real 1,048,576-row sheet is under 1 GB.
const SHEET_XML_CAP: u64 = 2 << 30;
/// The shared strings, all of which calamine holds in memory for the whole read.
const SHARED_STRINGS_CAP: u64 = 256 << 20;
const SHARED_STRINGS_COUNT_CAP: u64 = 8_000_000;
/// Any other part calamine reads (workbook, styles, relationships, manifest).
const PART_CAP: u64 = 64 << 20;
/// Past this size an entry may unpack to at most `RATIO_CAP` times its packed size: real sheets
/// pack 5–20 times, and the ratio bounds the work a small file can ask for.
const RATIO_FLOOR: u64 = 64 << 20;
const RATIO_CAP: u64 = 100;
/// The longest `.xlsb` record calamine would allocate (real ones are a few KB).
const XLSB_RECORD_CAP: u64 = 16 << 20;
/// Cells calamine expands an `.ods` into (each twice: a value and a formula), and their text.
const ODS_CELL_BUDGET: u64 = 4_000_000;
const ODS_TEXT_BUDGET: u64 = 256 << 20;
/// Cells of an `.xls` range (calamine holds it dense, and a formula range beside it).
const XLS_CELL_BUDGET: u64 = 8_000_000;
/// Cells (up to the header's width) and bytes of text the rows of a workbook may hold: a fixed
/// floor plus a share of the file's size. Real workbooks hold about a third of a cell and two
/// bytes of text per byte of file; a small file that unfolds into far more (one long shared
/// string in every cell, rows padded far right) would otherwise fill memory.
const CELL_FLOOR: u64 = 8_000_000;
const CELLS_PER_FILE_BYTE: u64 = 1;
const TEXT_FLOOR: u64 = 256 << 20;
const TEXT_PER_FILE_BYTE: u64 = 8;

/// What to do about a refused file.
const RESAVE: &str = "A spreadsheet program does not write files like this one: open it in Excel or LibreOffice and save it again, or export the sheet as CSV.";
const TRIM: &str = "Delete the rows and columns outside the table (or the repeated empty ones), save it and try again, or export the sheet as CSV.";
const SPLIT: &str = "Split the rows into smaller workbooks, or export the sheet as CSV.";

fn corrupt(path: &Path, kind: BookKind, e: impl std::fmt::Display) -> InputError {
    InputError::CorruptWorkbook {
        path: path.to_path_buf(),
        format: kind.label(),
        detail: e.to_string(),
    }
}

fn limit_error(
    path: &Path,
    place: &str,
    what: String,
    limit: String,
    fix: &'static str,
) -> InputError {
    InputError::WorkbookLimit {
        path: path.to_path_buf(),
        place: place.to_string(),
        what,
        limit,
        fix,
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn size(bytes: u64) -> String {
    human_size(usize::try_from(bytes).unwrap_or(usize::MAX))
}

thread_local! {
    /// Set while [`guarded`] runs: a panic there is caught and reported as a damaged workbook,
    /// so the panic hook keeps quiet about it.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Puts a panic hook in front of the one in place (once) that stays silent for the panics
/// [`guarded`] catches, and hands every other panic on unchanged.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

/// Runs a calamine call; calamine indexes some records it has not checked, so a damaged file
/// can panic inside it, and that is a damaged file, not a crash.
fn guarded<T>(
    path: &Path,
    kind: BookKind,
    f: impl FnOnce() -> Result<T, InputError>,
) -> Result<T, InputError> {
    quiet_caught_panics();
    let was = CATCHING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    result.unwrap_or_else(|_| {
        Err(corrupt(
            path,
            kind,
            "the workbook reader stopped on a record it could not read",
        ))
    })
}

pub fn open(path: &Path, kind: BookKind, sheet: Option<&str>) -> Result<Opened, InputError> {
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut budget = Budget::for_file(file_len);
    match kind {
        BookKind::Xlsx => open_xlsx(path, sheet, &mut budget),
        BookKind::Xlsb => open_xlsb(path, sheet, &mut budget),
        BookKind::Ods => {
            check_ods(path)?;
            open_range(path, kind, sheet, &mut budget)
        }
        BookKind::Xls => open_range(path, kind, sheet, &mut budget),
    }
}

/// The main sheet and the periods sheet (if any, and not the main one): `--sheet`, else
/// `streaks`, else the first sheet that is not `periods`.
fn pick_sheets(
    path: &Path,
    kind: BookKind,
    names: &[String],
    sheet: Option<&str>,
) -> Result<(String, Option<String>), InputError> {
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
    let periods = pick(PERIODS_SHEET).filter(|p| !p.eq_ignore_ascii_case(&main));
    Ok((main, periods))
}

fn open_xlsx(path: &Path, sheet: Option<&str>, budget: &mut Budget) -> Result<Opened, InputError> {
    let kind = BookKind::Xlsx;
    let mut zip = open_zip(path, kind)?;
    let sheets = check_xlsx_parts(path, &mut zip)?;
    let gate = Arc::new(Gate::default());
    let file = File::open(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let gated = BufReader::new(GatedFile {
        file,
        pos: 0,
        gate: gate.clone(),
    });
    let mut book: Xlsx<BufReader<GatedFile>> = guarded(path, kind, || {
        Xlsx::new(gated).map_err(|e| corrupt(path, kind, e))
    })?;
    let (main, periods) = pick_sheets(path, kind, &book.sheet_names(), sheet)?;
    let main_check = check_sheet_beside(path, &mut zip, &sheets, &main, gate)?;
    let periods = match periods {
        Some(p) => {
            let facts = check_sheet(path, kind, &mut zip, &sheets, &p)?;
            let mut rows = Vec::new();
            let mut check = SheetCheck::Done(facts);
            stream_xlsx(&mut book, path, &p, &mut check, budget, &mut |r| {
                rows.push(r);
                true
            })?;
            Some((sheet_info(path, &p, None), rows))
        }
        None => None,
    };
    Ok(Opened {
        main: Box::new(XlsxSource {
            info: sheet_info(path, &main, None),
            book,
            check: main_check,
            budget: budget.clone(),
        }),
        periods,
        notes: budget.notes.clone(),
    })
}

/// The check of the main sheet, done beside calamine's read of it (see [`Gate`]), or before.
enum SheetCheck {
    Done(SheetFacts),
    Running {
        gate: Arc<Gate>,
        thread: Option<std::thread::JoinHandle<Result<SheetFacts, InputError>>>,
        facts: Option<SheetFacts>,
    },
}

impl Drop for SheetCheck {
    // A read that stops early leaves no check running on.
    fn drop(&mut self) {
        if let SheetCheck::Running { gate, .. } = self {
            gate.cancel();
        }
    }
}

impl SheetCheck {
    /// Waits for the check to end, and gives what it found.
    fn finish(&mut self, path: &Path) -> Result<&SheetFacts, InputError> {
        match self {
            SheetCheck::Done(facts) => Ok(facts),
            SheetCheck::Running {
                thread,
                facts,
                gate,
            } => {
                if let Some(t) = thread.take() {
                    let found = t.join().unwrap_or_else(|_| {
                        Err(corrupt(
                            path,
                            BookKind::Xlsx,
                            "the check of the sheet stopped",
                        ))
                    });
                    gate.open();
                    *facts = Some(found?);
                }
                facts
                    .as_ref()
                    .ok_or_else(|| corrupt(path, BookKind::Xlsx, "the check of the sheet stopped"))
            }
        }
    }

    /// A read that failed because the check stopped it says why the check did.
    fn explain(&mut self, path: &Path, e: InputError) -> InputError {
        if let SheetCheck::Running { gate, thread, .. } = self {
            // Once joined, the check's own error is the one being returned already.
            if gate.failed() && thread.is_some() {
                gate.cancel();
                if let Err(why) = self.finish(path) {
                    return why;
                }
            }
        }
        e
    }
}

/// Lets calamine read the compressed bytes of one zip entry only as far as a check has read
/// them, so calamine never unpacks more than a bounded amount (a few tens of MB, the check's
/// buffers) beyond what was checked: checking the main sheet then costs a core that reading
/// leaves idle, not time before the read.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    moved: Condvar,
}

#[derive(Default)]
struct GateState {
    /// The entry's compressed bytes in the file, once known.
    range: Option<(u64, u64)>,
    /// How far into the file the check has read.
    frontier: u64,
    open: bool,
    failed: bool,
    cancelled: bool,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, f: impl FnOnce(&mut GateState)) {
        f(&mut self.lock());
        self.moved.notify_all();
    }

    fn open(&self) {
        self.set(|s| s.open = true);
    }

    fn failed(&self) -> bool {
        self.lock().failed
    }

    fn cancel(&self) {
        self.set(|s| s.cancelled = true);
    }

    /// How many of `want` bytes at `pos` may be read now; waits while none may. `None`: the
    /// check failed.
    fn allow(&self, pos: u64, want: usize) -> Option<usize> {
        let mut s = self.lock();
        loop {
            if s.failed {
                return None;
            }
            // Before the entry is known calamine reads only parts checked already.
            let Some((start, end)) = s.range else {
                return Some(want);
            };
            if s.open || pos.saturating_add(want as u64) <= start || pos >= end {
                return Some(want);
            }
            let limit = s.frontier.max(start);
            if pos < limit {
                return Some(usize::try_from(limit - pos).unwrap_or(want).min(want));
            }
            s = self.moved.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The workbook file as calamine reads it, held back by a [`Gate`].
struct GatedFile {
    file: File,
    pos: u64,
    gate: Arc<Gate>,
}

impl Read for GatedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(room) = self.gate.allow(self.pos, buf.len()) else {
            return Err(std::io::Error::other("stopped by the check of the sheet"));
        };
        let n = self.file.read(&mut buf[..room])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for GatedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// The check's own reading of the file, telling the gate how far it got.
struct Reporting {
    file: File,
    pos: u64,
    gate: Arc<Gate>,
}

impl Read for Reporting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.gate.lock().cancelled {
            return Err(std::io::Error::other("cancelled"));
        }
        let before = self.pos;
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        let after = self.pos;
        self.gate.set(|s| {
            if let Some((start, end)) = s.range {
                if before < end && after > start {
                    s.frontier = s.frontier.max(after.min(end));
                }
            }
        });
        Ok(n)
    }
}

impl std::io::Seek for Reporting {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

/// Starts the check of the main sheet on a thread of its own, calamine's reads of it held back
/// behind it. A sheet with more than one entry (a damaged zip) is checked here and now.
fn check_sheet_beside(
    path: &Path,
    zip: &mut Zip,
    sheets: &SheetPaths,
    name: &str,
    gate: Arc<Gate>,
) -> Result<SheetCheck, InputError> {
    let kind = BookKind::Xlsx;
    let paths = sheet_candidates(sheets, name);
    let found: Vec<(String, usize)> = paths
        .iter()
        .flat_map(|p| entries(zip, p).into_iter().map(move |i| (p.clone(), i)))
        .collect();
    let [(entry, index)] = found.as_slice() else {
        let facts = check_sheet(path, kind, zip, sheets, name)?;
        gate.open();
        return Ok(SheetCheck::Done(facts));
    };
    let (start, size) = {
        let e = zip
            .by_index_raw(*index)
            .map_err(|e| corrupt(path, kind, e))?;
        (e.data_start(), e.compressed_size())
    };
    let file = File::open(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let reporting = Reporting {
        file,
        pos: 0,
        gate: gate.clone(),
    };
    // Opened before the gate knows the entry: finding the central directory reads the file's
    // end, which is no progress through the entry.
    let mut own =
        zip::ZipArchive::new(BufReader::new(reporting)).map_err(|e| corrupt(path, kind, e))?;
    gate.set(|s| s.range = Some((start, start.saturating_add(size))));
    let (path_buf, entry, index, name) =
        (path.to_path_buf(), entry.clone(), *index, name.to_string());
    let gate_thread = gate.clone();
    let thread = std::thread::spawn(move || {
        let place = format!("sheet `{name}`");
        let mut visit = PartVisit::new(&[b"c", b"v", b"f", b"is", b"t"]);
        let result = guarded(&path_buf, kind, || {
            check_entry(
                &path_buf,
                kind,
                &mut own,
                index,
                &place,
                SHEET_XML_CAP,
                &mut |r| scan_xml(r, &mut visit),
            )
        });
        match result {
            Ok(()) => {
                gate_thread.open();
                Ok(SheetFacts {
                    formulas: visit.formulas,
                    entry: Some(entry),
                })
            }
            Err(e) => {
                gate_thread.set(|s| s.failed = true);
                Err(e)
            }
        }
    });
    Ok(SheetCheck::Running {
        gate,
        thread: Some(thread),
        facts: None,
    })
}

fn open_xlsb(path: &Path, sheet: Option<&str>, budget: &mut Budget) -> Result<Opened, InputError> {
    let kind = BookKind::Xlsb;
    let mut zip = open_zip(path, kind)?;
    let sheets = check_xlsb_parts(path, &mut zip)?;
    let mut book: Xlsb<BufReader<File>> = guarded(path, kind, || {
        calamine::open_workbook(path).map_err(|e| corrupt(path, kind, e))
    })?;
    let (main, periods) = pick_sheets(path, kind, &book.sheet_names(), sheet)?;
    // calamine's `.xlsb` reader finds a sheet through `workbook.bin`, which is not read here:
    // every sheet the relationships name is checked.
    let mut facts = SheetFacts::default();
    for target in &sheets.all {
        for i in entries(&zip, target) {
            let place = format!("sheet {target}");
            let found = check_entry(path, kind, &mut zip, i, &place, SHEET_XML_CAP, &mut |r| {
                scan_records(r, RecordRole::Sheet)
            })?;
            facts.formulas |= found.formulas;
        }
    }
    let periods = match periods {
        Some(p) => {
            let mut rows = Vec::new();
            stream_xlsb(&mut book, path, &p, facts.formulas, budget, &mut |r| {
                rows.push(r);
                true
            })?;
            Some((sheet_info(path, &p, None), rows))
        }
        None => None,
    };
    Ok(Opened {
        main: Box::new(XlsbSource {
            info: sheet_info(path, &main, None),
            book,
            formulas: facts.formulas,
            budget: budget.clone(),
        }),
        periods,
        notes: budget.notes.clone(),
    })
}

/// `.xls` and `.ods`: calamine reads every sheet whole when it opens the file.
fn open_range(
    path: &Path,
    kind: BookKind,
    sheet: Option<&str>,
    budget: &mut Budget,
) -> Result<Opened, InputError> {
    let mut book = guarded(path, kind, || {
        calamine::open_workbook_auto(path).map_err(|e| corrupt(path, kind, e))
    })?;
    let (main, periods) = pick_sheets(path, kind, &book.sheet_names(), sheet)?;
    let mut load = |name: &str| -> Result<(Range<Data>, Option<Range<String>>), InputError> {
        guarded(path, kind, || {
            let range = book
                .worksheet_range(name)
                .map_err(|e| corrupt(path, kind, e))?;
            let (height, width) = range.get_size();
            let cells = (height as u64).saturating_mul(width as u64);
            // A second dense range of the same shape would follow (the formulas).
            if kind == BookKind::Xls && cells > XLS_CELL_BUDGET {
                let place = format!("sheet `{name}`");
                return Err(limit_error(
                    path,
                    &place,
                    format!(
                        "its cells span {} rows × {} columns ({} cells)",
                        thousands(height as u64),
                        thousands(width as u64),
                        thousands(cells)
                    ),
                    format!("{} cells", thousands(XLS_CELL_BUDGET)),
                    TRIM,
                ));
            }
            let formulas = book.worksheet_formula(name).ok();
            Ok((range, formulas))
        })
    };
    let periods = match periods {
        Some(p) => {
            let (range, formulas) = load(&p)?;
            let info = sheet_info(path, &p, Some(range.height() as u64));
            let mut rows = Vec::new();
            emit_range(path, &p, &range, formulas.as_ref(), budget, &mut |r| {
                rows.push(r);
                true
            })?;
            Some((info, rows))
        }
        None => None,
    };
    let (range, formulas) = load(&main)?;
    Ok(Opened {
        main: Box::new(RangeSource {
            info: sheet_info(path, &main, Some(range.height() as u64)),
            range,
            formulas,
            budget: budget.clone(),
        }),
        periods,
        notes: budget.notes.clone(),
    })
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

    fn is_blank_cell(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    fn text_len(&self) -> u64 {
        match self {
            Value::Text(t) | Value::Error(t) => t.len() as u64,
            _ => 0,
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

// ---------------------------------------------------------------------------------------------
// Rows: cells in, rows of the header's width out, within the workbook's budget.

/// What the rows of one workbook may hold in all (see `CELL_FLOOR`).
#[derive(Debug, Clone)]
struct Budget {
    file_len: u64,
    cells: u64,
    text: u64,
    /// Sheet-level warnings found while reading, handed back through [`Opened::notes`].
    notes: super::Notes,
}

impl Budget {
    fn for_file(file_len: u64) -> Self {
        Budget {
            file_len,
            cells: CELL_FLOOR.saturating_add(file_len.saturating_mul(CELLS_PER_FILE_BYTE)),
            text: TEXT_FLOOR.saturating_add(file_len.saturating_mul(TEXT_PER_FILE_BYTE)),
            notes: super::Notes::default(),
        }
    }

    fn take(&mut self, path: &Path, sheet: &str, cells: u64, text: u64) -> Result<(), InputError> {
        let file = size(self.file_len);
        let place = format!("sheet `{sheet}`");
        if cells > self.cells {
            let limit = Budget::for_file(self.file_len).cells;
            return Err(limit_error(
                path,
                &place,
                format!(
                    "its rows hold more than {} cells (up to the header's last column)",
                    thousands(limit)
                ),
                format!("{} cells for a file of {file}", thousands(limit)),
                TRIM,
            ));
        }
        if text > self.text {
            let limit = Budget::for_file(self.file_len).text;
            return Err(limit_error(
                path,
                &place,
                format!(
                    "its cells hold more than {} of text (a long text repeated in many cells?)",
                    size(limit)
                ),
                format!("{} of text for a file of {file}", size(limit)),
                SPLIT,
            ));
        }
        self.cells -= cells;
        self.text -= text;
        Ok(())
    }
}

/// Builds rows from cells given in sheet order: blank rows skipped, each row at most as wide as
/// the header (the first row that is not blank), rows below Excel's last refused.
struct RowBuilder<'a> {
    path: &'a Path,
    sheet: &'a str,
    budget: &'a mut Budget,
    current: Option<(u32, Vec<Value>)>,
    current_text: u64,
    width: Option<usize>,
    dropped: u64,
    first_dropped: Option<(u32, u32)>,
}

impl<'a> RowBuilder<'a> {
    fn new(path: &'a Path, sheet: &'a str, budget: &'a mut Budget) -> Self {
        RowBuilder {
            path,
            sheet,
            budget,
            current: None,
            current_text: 0,
            width: None,
            dropped: 0,
            first_dropped: None,
        }
    }

    /// False when `emit` wants no more rows.
    fn push(
        &mut self,
        abs_row: u32,
        abs_col: u32,
        value: Value,
        emit: &mut dyn FnMut(RawRow) -> bool,
    ) -> Result<bool, InputError> {
        if abs_row >= MAX_ROWS {
            return Err(limit_error(
                self.path,
                &format!("sheet `{}`", self.sheet),
                format!("it has a cell on row {}", thousands(u64::from(abs_row) + 1)),
                format!("{} rows, Excel's last row", thousands(u64::from(MAX_ROWS))),
                TRIM,
            ));
        }
        if self.current.as_ref().is_some_and(|(r, _)| *r != abs_row) && !self.flush(emit)? {
            return Ok(false);
        }
        let col = abs_col as usize;
        if col >= self.width.unwrap_or(MAX_HEADER_COLUMNS) {
            if !value.is_blank_cell() {
                self.dropped += 1;
                self.first_dropped.get_or_insert((abs_row, abs_col));
            }
            return Ok(true);
        }
        check_size(self.path, abs_row + 1, col, &value)?;
        let values = &mut self.current.get_or_insert_with(|| (abs_row, Vec::new())).1;
        self.current_text += value.text_len();
        if values.len() <= col {
            values.resize(col, Value::Empty);
            values.push(value);
        } else {
            values[col] = value;
        }
        Ok(true)
    }

    fn flush(&mut self, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<bool, InputError> {
        let text = std::mem::take(&mut self.current_text);
        let Some((abs_row, values)) = self.current.take() else {
            return Ok(true);
        };
        let Some(last) = values.iter().rposition(|v| !v.is_blank_cell()) else {
            return Ok(true);
        };
        if self.width.is_none() {
            self.width = Some(last + 1);
        }
        self.budget
            .take(self.path, self.sheet, values.len() as u64, text)?;
        Ok(emit(RawRow {
            row: abs_row + 1,
            cells: Cells::Book(values),
        }))
    }

    fn finish(mut self, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        self.flush(emit)?;
        if let (Some((row, col)), Some(width)) = (self.first_dropped, self.width) {
            // Cells right of the header have no column: validation never reads them.
            let first = cell_ref(col as usize, row + 1);
            self.budget.notes.push(crate::problem::Problem {
                column: String::new(),
                cell: first.clone(),
                value: String::new(),
                code: crate::problem::Code::UnknownColumn,
                message: format!(
                    "{} right of column {} (the header's last) {} no column and {} ignored, the first at {first}",
                    crate::text::plural(self.dropped, "cell", "cells"),
                    column_letters(width.saturating_sub(1)),
                    if self.dropped == 1 { "has" } else { "have" },
                    if self.dropped == 1 { "is" } else { "are" },
                ),
                hint: Some("delete those cells, or give their column a header".into()),
            });
        }
        Ok(())
    }
}

/// Emits a whole range's rows; `formulas` marks the empty cells that hold a formula.
fn emit_range(
    path: &Path,
    sheet: &str,
    range: &Range<Data>,
    formulas: Option<&Range<String>>,
    budget: &mut Budget,
    emit: &mut dyn FnMut(RawRow) -> bool,
) -> Result<(), InputError> {
    let (start_row, start_col) = range.start().unwrap_or((0, 0));
    let mut rows = RowBuilder::new(path, sheet, budget);
    for (i, cells) in range.rows().enumerate() {
        let abs_row = start_row.saturating_add(i as u32);
        for (j, data) in cells.iter().enumerate() {
            let abs_col = start_col.saturating_add(j as u32);
            let mut value = value_of(data);
            if value.is_blank_value() {
                let has_formula = formulas
                    .and_then(|f| f.get_value((abs_row, abs_col)))
                    .is_some_and(|f| !f.is_empty());
                if has_formula {
                    value = Value::FormulaNoValue;
                } else if matches!(value, Value::Empty) {
                    continue;
                }
            }
            if !rows.push(abs_row, abs_col, value, emit)? {
                return Ok(());
            }
        }
    }
    rows.finish(emit)
}

/// `.xls`, `.ods`: calamine reads these whole.
struct RangeSource {
    info: SheetInfo,
    range: Range<Data>,
    formulas: Option<Range<String>>,
    budget: Budget,
}

impl RowSource for RangeSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(mut self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let this = &mut *self;
        emit_range(
            &this.info.path,
            &this.info.sheet,
            &this.range,
            this.formulas.as_ref(),
            &mut this.budget,
            emit,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// `.xlsx`/`.xlsm` and `.xlsb`, streamed.

/// What the check of a sheet's XML found.
#[derive(Debug, Clone, Default)]
struct SheetFacts {
    /// The sheet may hold a formula (it has an `<f>` element, or an `.xlsb` formula record).
    formulas: bool,
    /// The zip entry calamine reads for it, for the formula look.
    entry: Option<String>,
}

/// `.xlsx`/`.xlsm`, streamed cell by cell so validation starts while the file is still being read
/// and the sheet is never held whole.
struct XlsxSource {
    info: SheetInfo,
    book: Xlsx<BufReader<GatedFile>>,
    check: SheetCheck,
    budget: Budget,
}

impl RowSource for XlsxSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(mut self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let this = &mut *self;
        stream_xlsx(
            &mut this.book,
            &this.info.path,
            &this.info.sheet,
            &mut this.check,
            &mut this.budget,
            emit,
        )
    }
}

fn stream_xlsx<RS: Read + std::io::Seek>(
    book: &mut Xlsx<RS>,
    path: &Path,
    sheet: &str,
    check: &mut SheetCheck,
    budget: &mut Budget,
    emit: &mut dyn FnMut(RawRow) -> bool,
) -> Result<(), InputError> {
    let kind = BookKind::Xlsx;
    let read = guarded(path, kind, || {
        let mut reader = book
            .worksheet_cells_reader(sheet)
            .map_err(|e| corrupt(path, kind, e))?;
        let mut rows = RowBuilder::new(path, sheet, budget);
        // An empty cell may be a formula never calculated; only a second look at the sheet can
        // tell, taken the first time an empty cell is met in a sheet that has formulas at all
        // (styled blank cells are in every formatted template).
        let mut formulas: Option<HashSet<(u32, u32)>> = None;
        while let Some(cell) = reader.next_cell().map_err(|e| corrupt(path, kind, e))? {
            let (abs_row, abs_col) = cell.get_position();
            let mut value = value_of_ref(cell.get_value().clone());
            if value.is_blank_value() {
                if formulas.is_none() {
                    let facts = check.finish(path)?;
                    formulas = Some(match &facts.entry {
                        Some(entry) if facts.formulas => formula_cells(path, kind, entry)?,
                        _ => HashSet::new(),
                    });
                }
                if formulas
                    .as_ref()
                    .is_some_and(|f| f.contains(&(abs_row, abs_col)))
                {
                    value = Value::FormulaNoValue;
                }
            }
            if !rows.push(abs_row, abs_col, value, emit)? {
                return Ok(());
            }
        }
        // Whatever the check finds in the rest of the sheet stops the read all the same.
        check.finish(path)?;
        rows.finish(emit)
    });
    read.map_err(|e| check.explain(path, e))
}

/// `.xlsb`, streamed like `.xlsx`.
struct XlsbSource {
    info: SheetInfo,
    book: Xlsb<BufReader<File>>,
    formulas: bool,
    budget: Budget,
}

impl RowSource for XlsbSource {
    fn info(&self) -> &SheetInfo {
        &self.info
    }

    fn read(mut self: Box<Self>, emit: &mut dyn FnMut(RawRow) -> bool) -> Result<(), InputError> {
        let this = &mut *self;
        stream_xlsb(
            &mut this.book,
            &this.info.path,
            &this.info.sheet,
            this.formulas,
            &mut this.budget,
            emit,
        )
    }
}

fn stream_xlsb(
    book: &mut Xlsb<BufReader<File>>,
    path: &Path,
    sheet: &str,
    has_formulas: bool,
    budget: &mut Budget,
    emit: &mut dyn FnMut(RawRow) -> bool,
) -> Result<(), InputError> {
    let kind = BookKind::Xlsb;
    guarded(path, kind, || {
        // `.xlsb` always saves a formula's value, so its positions are only read when the sheet
        // has formulas, before the values (the reader cannot be asked twice at once).
        let mut formulas = HashSet::new();
        if has_formulas {
            let mut reader = book
                .worksheet_cells_reader(sheet)
                .map_err(|e| corrupt(path, kind, e))?;
            while let Some(cell) = reader.next_formula().map_err(|e| corrupt(path, kind, e))? {
                if !cell.get_value().is_empty() {
                    formulas.insert(cell.get_position());
                }
            }
        }
        let mut reader = book
            .worksheet_cells_reader(sheet)
            .map_err(|e| corrupt(path, kind, e))?;
        let mut rows = RowBuilder::new(path, sheet, budget);
        while let Some(cell) = reader.next_cell().map_err(|e| corrupt(path, kind, e))? {
            let (abs_row, abs_col) = cell.get_position();
            let mut value = value_of_ref(cell.get_value().clone());
            if value.is_blank_value() && formulas.contains(&(abs_row, abs_col)) {
                value = Value::FormulaNoValue;
            }
            if !rows.push(abs_row, abs_col, value, emit)? {
                return Ok(());
            }
        }
        rows.finish(emit)
    })
}

/// The positions of a sheet's formula cells (a `<c>` with an `<f>`), read with a second look at
/// the sheet's XML, already checked. Only asked for when the value reader meets an empty cell (a
/// styled blank, or a formula never calculated) in a sheet that has formulas.
fn formula_cells(
    path: &Path,
    kind: BookKind,
    entry: &str,
) -> Result<HashSet<(u32, u32)>, InputError> {
    let mut zip = open_zip(path, kind)?;
    let Some(index) = zip_index(&zip, entry) else {
        return Ok(HashSet::new());
    };
    let file = zip.by_index(index).map_err(|e| corrupt(path, kind, e))?;
    let mut visit = FormulaVisit::default();
    scan_xml(&mut BufReader::new(file), &mut visit)
        .map_err(|e| scan_error(path, kind, &format!("zip entry {entry}"), e))?;
    Ok(visit.cells)
}

#[derive(Default)]
struct FormulaVisit {
    row: u32,
    col: u32,
    cell: Option<(u32, u32)>,
    cells: HashSet<(u32, u32)>,
}

impl Visit for FormulaVisit {
    // Positions as calamine counts them: a `<row r>` or `<c r>` sets it, else one more.
    fn start(&mut self, name: &[u8], attrs: &[u8], empty: bool, _at: u64) -> Result<(), ScanError> {
        match local_name(name) {
            b"row" => {
                if let Some(r) = attr(attrs, b"r").and_then(parse_u32) {
                    self.row = r.saturating_sub(1);
                }
                if empty {
                    self.row = self.row.saturating_add(1);
                    self.col = 0;
                }
            }
            b"c" => {
                let pos = match attr(attrs, b"r").and_then(cell_position) {
                    Some((r, c)) => {
                        self.col = c;
                        (r, c)
                    }
                    None => (self.row, self.col),
                };
                self.col = self.col.saturating_add(1);
                self.cell = (!empty).then_some(pos);
            }
            b"f" => {
                if let Some(pos) = self.cell {
                    self.cells.insert(pos);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8], _at: u64) -> Result<(), ScanError> {
        match local_name(name) {
            b"row" => {
                self.row = self.row.saturating_add(1);
                self.col = 0;
            }
            b"c" => self.cell = None,
            _ => {}
        }
        Ok(())
    }
}

/// `A1` → (0, 0); `XFD1048576` → (1048575, 16383).
fn cell_position(r: &[u8]) -> Option<(u32, u32)> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = r[..letters].iter().fold(0u32, |acc, b| {
        acc * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row = parse_u32(&r[letters..])?;
    Some((row.checked_sub(1)?, col - 1))
}

fn parse_u32(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// A count in an attribute, saturating: `"99999999999999999999"` is as many as can be.
fn parse_count(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?.trim();
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// The zip checks.

type Zip = zip::ZipArchive<BufReader<File>>;

fn open_zip(path: &Path, kind: BookKind) -> Result<Zip, InputError> {
    let file = File::open(path).map_err(|source| InputError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(path, kind, e))
}

/// Whether a zip entry's name is the one calamine looks up: calamine ignores ASCII case and
/// reads `\` as `/`.
fn same_entry(name: &str, wanted: &str) -> bool {
    name.len() == wanted.len()
        && name
            .bytes()
            .zip(wanted.bytes())
            .all(|(a, b)| (if a == b'\\' { b'/' } else { a }).eq_ignore_ascii_case(&b))
}

/// Every entry calamine could open for `wanted` (a name may be in a zip twice).
fn entries(zip: &Zip, wanted: &str) -> Vec<usize> {
    (0..zip.len())
        .filter(|&i| zip.name_for_index(i).is_some_and(|n| same_entry(n, wanted)))
        .collect()
}

/// The entry calamine opens for `wanted`: the first name that matches, then zip's own lookup.
fn zip_index(zip: &Zip, wanted: &str) -> Option<usize> {
    let name = zip
        .file_names()
        .find(|n| same_entry(n, wanted))?
        .to_string();
    zip.index_for_name(&name)
}

/// Why a check stopped.
#[derive(Debug)]
enum ScanError {
    Io(std::io::Error),
    Corrupt(String),
    Limit {
        what: String,
        limit: String,
        fix: &'static str,
    },
}

impl From<std::io::Error> for ScanError {
    fn from(e: std::io::Error) -> Self {
        ScanError::Io(e)
    }
}

fn too_long(what: &str, len: u64, cap: u64, per: &str) -> ScanError {
    ScanError::Limit {
        what: format!("{what} of {}", size(len)),
        limit: format!("{} {per}", size(cap)),
        fix: RESAVE,
    }
}

fn scan_error(path: &Path, kind: BookKind, place: &str, e: ScanError) -> InputError {
    match e {
        ScanError::Io(e) => corrupt(path, kind, format!("{place}: {e}")),
        ScanError::Corrupt(detail) => corrupt(path, kind, format!("{place}: {detail}")),
        ScanError::Limit { what, limit, fix } => limit_error(path, place, what, limit, fix),
    }
}

/// Counts the bytes an entry unpacks to, and ends it early past its declared size: calamine
/// would read on.
struct Counted<R> {
    inner: R,
    read: u64,
    declared: u64,
    over: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.declared.saturating_add(1).saturating_sub(self.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.declared {
            self.over = true;
            return Ok(0);
        }
        Ok(n)
    }
}

/// Checks one zip entry: its declared size against `cap`, its ratio, then its bytes through
/// `scan`, counted.
fn check_entry<T, R: Read + std::io::Seek>(
    path: &Path,
    kind: BookKind,
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    place: &str,
    cap: u64,
    scan: &mut dyn FnMut(&mut dyn Read) -> Result<T, ScanError>,
) -> Result<T, InputError> {
    let entry = zip.by_index(index).map_err(|e| corrupt(path, kind, e))?;
    let place = format!("{place} ({})", entry.name());
    let declared = entry.size();
    let packed = entry.compressed_size();
    if declared > cap {
        return Err(limit_error(
            path,
            &place,
            format!("it unpacks to {}", size(declared)),
            format!("{} for this part", size(cap)),
            RESAVE,
        ));
    }
    if declared > RATIO_FLOOR && declared / packed.max(1) > RATIO_CAP {
        return Err(limit_error(
            path,
            &place,
            format!(
                "it unpacks to {}, {} times its packed size of {}",
                size(declared),
                thousands(declared / packed.max(1)),
                size(packed)
            ),
            format!("{RATIO_CAP} times past {}", size(RATIO_FLOOR)),
            RESAVE,
        ));
    }
    let mut counted = Counted {
        inner: BufReader::with_capacity(1 << 16, entry),
        read: 0,
        declared,
        over: false,
    };
    let result = scan(&mut counted);
    if counted.over {
        return Err(limit_error(
            path,
            &place,
            format!(
                "it unpacks to more than the {} its zip header declares",
                size(declared)
            ),
            "the declared size".to_string(),
            RESAVE,
        ));
    }
    result.map_err(|e| scan_error(path, kind, &place, e))
}

/// The sheets a workbook's relationships name: by sheet name where `workbook.xml` says, and
/// every one (for a name not found, and for `.xlsb`).
#[derive(Debug, Default)]
struct SheetPaths {
    by_name: HashMap<String, Vec<String>>,
    all: Vec<String>,
}

/// Checks what `Xlsx::new` reads (relationships, workbook, styles, shared strings) and finds
/// where the sheets are.
fn check_xlsx_parts(path: &Path, zip: &mut Zip) -> Result<SheetPaths, InputError> {
    let kind = BookKind::Xlsx;
    let mut targets: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
    for i in entries(zip, "xl/_rels/workbook.xml.rels") {
        let mut visit = RelsVisit::default();
        check_entry(path, kind, zip, i, "relationships", PART_CAP, &mut |r| {
            scan_xml(r, &mut visit)
        })?;
        for (id, target) in visit.rels {
            targets.entry(id).or_default().push(target);
        }
    }
    let mut sheets = SheetPaths::default();
    for i in entries(zip, "xl/workbook.xml") {
        let mut visit = WorkbookVisit {
            spans: Spans::new(&[b"definedName"]),
            sheets: Vec::new(),
        };
        check_entry(path, kind, zip, i, "workbook", PART_CAP, &mut |r| {
            scan_xml(r, &mut visit)
        })?;
        for (name, id) in visit.sheets {
            let paths = targets.get(&id).cloned().unwrap_or_default();
            sheets
                .by_name
                .entry(name)
                .or_default()
                .extend(paths.iter().map(|t| xlsx_sheet_path(t)));
        }
    }
    sheets.all = targets
        .values()
        .flatten()
        .map(|t| xlsx_sheet_path(t))
        .filter(|p| is_sheet_path(p))
        .collect();
    for i in entries(zip, "xl/styles.xml") {
        check_entry(path, kind, zip, i, "styles", PART_CAP, &mut |r| {
            scan_xml(r, &mut PartVisit::new(&[]))
        })?;
    }
    for i in entries(zip, "xl/sharedStrings.xml") {
        let mut visit = PartVisit::new(&[b"si", b"t"]);
        visit.count = Some((b"si", 0));
        check_entry(
            path,
            kind,
            zip,
            i,
            "shared strings",
            SHARED_STRINGS_CAP,
            &mut |r| scan_xml(r, &mut visit),
        )?;
    }
    Ok(sheets)
}

/// Where calamine looks for a sheet the relationships point at.
fn xlsx_sheet_path(target: &str) -> String {
    if let Some(rest) = target.strip_prefix("/xl/") {
        format!("xl/{rest}")
    } else if target.starts_with("xl/") {
        target.to_string()
    } else {
        format!("xl/{target}")
    }
}

fn is_sheet_path(path: &str) -> bool {
    matches!(
        path.split('/').nth(1),
        Some("worksheets" | "chartsheets" | "dialogsheets")
    )
}

/// The entries calamine may read for sheet `name`: where the workbook says, else every sheet.
fn sheet_candidates(sheets: &SheetPaths, name: &str) -> Vec<String> {
    match sheets.by_name.get(name) {
        Some(p) if !p.is_empty() => p.clone(),
        _ => sheets.all.clone(),
    }
}

/// Checks the XML of the sheet calamine will read for `name`.
fn check_sheet(
    path: &Path,
    kind: BookKind,
    zip: &mut Zip,
    sheets: &SheetPaths,
    name: &str,
) -> Result<SheetFacts, InputError> {
    let paths = sheet_candidates(sheets, name);
    let mut facts = SheetFacts::default();
    let place = format!("sheet `{name}`");
    for p in &paths {
        for i in entries(zip, p) {
            let mut visit = PartVisit::new(&[b"c", b"v", b"f", b"is", b"t"]);
            check_entry(path, kind, zip, i, &place, SHEET_XML_CAP, &mut |r| {
                scan_xml(r, &mut visit)
            })?;
            facts.formulas |= visit.formulas;
        }
        if facts.entry.is_none() && zip_index(zip, p).is_some() {
            facts.entry = Some(p.clone());
        }
    }
    Ok(facts)
}

fn check_xlsb_parts(path: &Path, zip: &mut Zip) -> Result<SheetPaths, InputError> {
    let kind = BookKind::Xlsb;
    let mut sheets = SheetPaths::default();
    for i in entries(zip, "xl/_rels/workbook.bin.rels") {
        let mut visit = RelsVisit::default();
        check_entry(path, kind, zip, i, "relationships", PART_CAP, &mut |r| {
            scan_xml(r, &mut visit)
        })?;
        // calamine's `.xlsb` reader puts `xl/` before every target.
        sheets.all.extend(
            visit
                .rels
                .into_iter()
                .map(|(_, t)| format!("xl/{t}"))
                .filter(|p| is_sheet_path(p)),
        );
    }
    for (name, role, cap) in [
        ("xl/workbook.bin", RecordRole::Part, PART_CAP),
        ("xl/styles.bin", RecordRole::Part, PART_CAP),
        (
            "xl/sharedStrings.bin",
            RecordRole::SharedStrings,
            SHARED_STRINGS_CAP,
        ),
    ] {
        for i in entries(zip, name) {
            check_entry(path, kind, zip, i, name, cap, &mut |r| {
                scan_records(r, role)
            })?;
        }
    }
    Ok(sheets)
}

/// Checks what `Ods::new` reads, and what its tables expand to.
fn check_ods(path: &Path) -> Result<(), InputError> {
    let kind = BookKind::Ods;
    let mut zip = open_zip(path, kind)?;
    for i in entries(&zip, "META-INF/manifest.xml") {
        check_entry(path, kind, &mut zip, i, "manifest", PART_CAP, &mut |r| {
            scan_xml(r, &mut PartVisit::new(&[]))
        })?;
    }
    for i in entries(&zip, "content.xml") {
        let mut visit = OdsVisit::default();
        check_entry(
            path,
            kind,
            &mut zip,
            i,
            "content",
            SHEET_XML_CAP,
            &mut |r| scan_xml(r, &mut visit),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XML, measured as quick-xml would read it.

/// What a check does with each piece of XML.
trait Visit {
    /// A start tag `<name attrs>`, or `<name attrs/>` when `empty`; `at` is where it starts.
    fn start(&mut self, name: &[u8], attrs: &[u8], empty: bool, at: u64) -> Result<(), ScanError>;
    fn end(&mut self, name: &[u8], at: u64) -> Result<(), ScanError>;
    /// A text between two tags, `len` bytes as written.
    fn text(&mut self, _len: u64) -> Result<(), ScanError> {
        Ok(())
    }
    /// Called between reads with the bytes read so far, for whatever is still open.
    fn progress(&mut self, _at: u64) -> Result<(), ScanError> {
        Ok(())
    }
}

const SCAN_CHUNK: usize = 1 << 20;

/// Reads XML as quick-xml does, piece by piece (a text up to `<`, a tag up to its `>` outside
/// quotes, a comment, a CDATA section, a processing instruction), without holding more than the
/// piece at hand: a piece longer than `XML_TOKEN_CAP` is refused, and so is a document type
/// declaration (which no workbook has, and which could declare entities).
fn scan_xml<V: Visit>(r: &mut dyn Read, v: &mut V) -> Result<(), ScanError> {
    let mut buf = vec![0u8; SCAN_CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    // Where `buf[0]` is in the stream.
    let mut base = 0u64;
    // Bytes of the text at hand that were in earlier reads (they are not kept).
    let mut text_run = 0u64;
    let mut eof = false;
    loop {
        while start < end {
            if buf[start] != b'<' {
                match memchr(b'<', &buf[start..end]) {
                    Some(i) => {
                        let len = text_run + i as u64;
                        if len > XML_TOKEN_CAP as u64 {
                            return Err(too_long(
                                "a text between two tags",
                                len,
                                XML_TOKEN_CAP as u64,
                                "between two tags",
                            ));
                        }
                        v.text(len)?;
                        text_run = 0;
                        start += i;
                    }
                    None => {
                        text_run += (end - start) as u64;
                        if text_run > XML_TOKEN_CAP as u64 {
                            return Err(too_long(
                                "a text between two tags",
                                text_run,
                                XML_TOKEN_CAP as u64,
                                "between two tags",
                            ));
                        }
                        start = end;
                        break;
                    }
                }
            }
            let at = base + start as u64;
            match markup(&buf[start..end])? {
                Some((len, m)) => {
                    if len > XML_TOKEN_CAP {
                        return Err(too_long(
                            "a tag",
                            len as u64,
                            XML_TOKEN_CAP as u64,
                            "for one tag",
                        ));
                    }
                    match m {
                        Markup::Start { name, attrs, empty } => v.start(name, attrs, empty, at)?,
                        Markup::End { name } => v.end(name, at)?,
                        Markup::Other => {}
                    }
                    start += len;
                }
                None => break,
            }
        }
        if eof {
            if start < end {
                return Err(ScanError::Corrupt("the XML ends inside a tag".into()));
            }
            if text_run > 0 {
                v.text(text_run)?;
            }
            return Ok(());
        }
        let pending = end - start;
        if pending > XML_TOKEN_CAP {
            return Err(too_long(
                "a tag",
                pending as u64,
                XML_TOKEN_CAP as u64,
                "for one tag",
            ));
        }
        buf.copy_within(start..end, 0);
        base += start as u64;
        start = 0;
        end = pending;
        // A piece that fills half the buffer gets a buffer twice its size, so it is looked at
        // again only after as many new bytes as it already has: linear, not quadratic.
        if pending * 2 > buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        while end < buf.len() {
            let n = r.read(&mut buf[end..])?;
            if n == 0 {
                eof = true;
                break;
            }
            end += n;
        }
        v.progress(base + end as u64)?;
    }
}

enum Markup<'a> {
    Start {
        name: &'a [u8],
        attrs: &'a [u8],
        empty: bool,
    },
    End {
        name: &'a [u8],
    },
    Other,
}

/// The piece of markup at the start of `b` (which starts with `<`) and its length, or `None`
/// when `b` ends before it does.
#[inline]
fn markup(b: &[u8]) -> Result<Option<(usize, Markup<'_>)>, ScanError> {
    let Some(&second) = b.get(1) else {
        return Ok(None);
    };
    let found = |from: usize, end: &[u8]| {
        b.get(from..)
            .and_then(|rest| memmem::find(rest, end))
            .map(|i| (from + i + end.len(), Markup::Other))
    };
    Ok(match second {
        b'/' => memchr(b'>', b).map(|j| {
            let name = &b[2..j];
            let name_len = name
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .unwrap_or(name.len());
            (
                j + 1,
                Markup::End {
                    name: &name[..name_len],
                },
            )
        }),
        b'?' => found(2, b"?>"),
        // quick-xml tells a comment, a CDATA section and a DTD apart by the byte after `!`.
        b'!' => match b.get(2) {
            None => None,
            Some(b'-') => found(4, b"-->"),
            Some(b'[') => found(3, b"]]>"),
            Some(b'D' | b'd') => {
                return Err(ScanError::Corrupt(
                    "it has a document type declaration (<!DOCTYPE …>), which no workbook has"
                        .into(),
                ))
            }
            Some(_) => return Err(ScanError::Corrupt("it has malformed XML (<!…)".into())),
        },
        _ => tag_end(b).map(|j| {
            let mut inner = &b[1..j];
            let empty = inner.last() == Some(&b'/');
            if empty {
                inner = &inner[..inner.len() - 1];
            }
            let name_len = inner
                .iter()
                .position(|c| c.is_ascii_whitespace() || *c == b'/')
                .unwrap_or(inner.len());
            (
                j + 1,
                Markup::Start {
                    name: &inner[..name_len],
                    attrs: &inner[name_len..],
                    empty,
                },
            )
        }),
    })
}

/// Where a start tag ends: its first `>` outside quotes, as quick-xml finds it.
#[inline]
fn tag_end(b: &[u8]) -> Option<usize> {
    let first = memchr(b'>', b)?;
    let head = &b[..first];
    // The usual tag: double quotes only, in pairs, so the first `>` is outside them.
    if memchr(b'\'', head).is_none() && head.iter().filter(|&&c| c == b'"').count() % 2 == 0 {
        return Some(first);
    }
    let mut i = 1;
    loop {
        let k = i + memchr3(b'>', b'"', b'\'', &b[i..])?;
        if b[k] == b'>' {
            return Some(k);
        }
        i = k + 1 + memchr(b[k], &b[k + 1..])? + 1;
    }
}

#[inline]
fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&c| c == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// `a == b` for the short names of XML elements, without a call to `memcmp` (this runs for
/// every tag of a sheet).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The raw value of attribute `key` (exactly that name) in a start tag's attributes.
fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    Attrs(attrs).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// `key="value"` pairs, as written; stops at anything malformed.
struct Attrs<'a>(&'a [u8]);

impl<'a> Iterator for Attrs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.0;
        let start = s.iter().position(|c| !c.is_ascii_whitespace())?;
        let eq = start + memchr(b'=', &s[start..])?;
        let key = s[start..eq].trim_ascii_end();
        let q = eq + 1 + s[eq + 1..].iter().position(|c| !c.is_ascii_whitespace())?;
        let quote = s[q];
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let close = q + 1 + memchr(quote, &s[q + 1..])?;
        self.0 = &s[close + 1..];
        Some((key, &s[q + 1..close]))
    }
}

/// An attribute value with XML's escapes resolved (`&amp;`, `&#x41;` …), as calamine reads a
/// sheet's name.
fn unescape(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if !text.contains('&') {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(j) = rest.find(';') else { break };
        let entity = &rest[1..j];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(|d| d.parse()))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The elements whose texts calamine joins into one value, each measured from its first start
/// tag to the next end tag of the same name (calamine ends them that way too).
struct Spans {
    tracked: &'static [&'static [u8]],
    open: [Option<(u64, [u8; 32], usize)>; 6],
}

impl Spans {
    fn new(tracked: &'static [&'static [u8]]) -> Self {
        debug_assert!(tracked.len() <= 6);
        Spans {
            tracked,
            open: [None; 6],
        }
    }

    #[inline]
    fn start(&mut self, name: &[u8], local: &[u8], empty: bool, at: u64) -> Result<(), ScanError> {
        if empty {
            return Ok(());
        }
        for (k, t) in self.tracked.iter().enumerate() {
            if self.open[k].is_none() && same(t, local) {
                if name.len() > 32 {
                    return Err(ScanError::Corrupt(format!(
                        "an element name of {} bytes",
                        name.len()
                    )));
                }
                let mut copy = [0u8; 32];
                for (to, from) in copy.iter_mut().zip(name) {
                    *to = *from;
                }
                self.open[k] = Some((at, copy, name.len()));
            }
        }
        Ok(())
    }

    #[inline]
    fn end(&mut self, name: &[u8], local: &[u8], at: u64) -> Result<(), ScanError> {
        for (k, t) in self.tracked.iter().enumerate() {
            if let Some((from, copy, len)) = self.open[k] {
                if same(t, local) && same(&copy[..len], name) {
                    self.check(k, from, at)?;
                    self.open[k] = None;
                }
            }
        }
        Ok(())
    }

    fn progress(&mut self, at: u64) -> Result<(), ScanError> {
        for k in 0..self.tracked.len() {
            if let Some((from, _, _)) = self.open[k] {
                self.check(k, from, at)?;
            }
        }
        Ok(())
    }

    fn check(&self, k: usize, from: u64, at: u64) -> Result<(), ScanError> {
        let len = at.saturating_sub(from);
        if len > XML_VALUE_CAP {
            let name = String::from_utf8_lossy(self.tracked[k]);
            return Err(too_long(
                &format!("one <{name}> element"),
                len,
                XML_VALUE_CAP,
                "for one value",
            ));
        }
        Ok(())
    }
}

/// A part, a sheet or the shared strings: its pieces, its values, and what it holds.
struct PartVisit {
    spans: Spans,
    /// Start tags of this local name are counted (shared strings: `si`).
    count: Option<(&'static [u8], u64)>,
    formulas: bool,
}

impl PartVisit {
    fn new(tracked: &'static [&'static [u8]]) -> Self {
        PartVisit {
            spans: Spans::new(tracked),
            count: None,
            formulas: false,
        }
    }
}

impl Visit for PartVisit {
    fn start(&mut self, name: &[u8], _attrs: &[u8], empty: bool, at: u64) -> Result<(), ScanError> {
        let local = local_name(name);
        self.spans.start(name, local, empty, at)?;
        if same(local, b"f") {
            self.formulas = true;
        }
        if let Some((counted, n)) = &mut self.count {
            if same(local, counted) {
                *n += 1;
                if *n > SHARED_STRINGS_COUNT_CAP {
                    return Err(ScanError::Limit {
                        what: format!(
                            "it holds more than {} shared strings",
                            thousands(SHARED_STRINGS_COUNT_CAP)
                        ),
                        limit: format!("{} strings", thousands(SHARED_STRINGS_COUNT_CAP)),
                        fix: SPLIT,
                    });
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8], at: u64) -> Result<(), ScanError> {
        self.spans.end(name, local_name(name), at)
    }

    fn progress(&mut self, at: u64) -> Result<(), ScanError> {
        self.spans.progress(at)
    }
}

/// `xl/_rels/workbook.xml.rels`: relationship ids and their targets.
#[derive(Default)]
struct RelsVisit {
    rels: Vec<(Vec<u8>, String)>,
}

impl Visit for RelsVisit {
    fn start(
        &mut self,
        name: &[u8],
        attrs: &[u8],
        _empty: bool,
        _at: u64,
    ) -> Result<(), ScanError> {
        if local_name(name) == b"Relationship" {
            let (mut id, mut target) = (None, None);
            for (k, v) in Attrs(attrs) {
                match k {
                    b"Id" => id = Some(v.to_vec()),
                    // calamine decodes a target without resolving escapes.
                    b"Target" => target = Some(String::from_utf8_lossy(v).into_owned()),
                    _ => {}
                }
            }
            if let (Some(id), Some(target)) = (id, target) {
                self.rels.push((id, target));
            }
        }
        Ok(())
    }

    fn end(&mut self, _name: &[u8], _at: u64) -> Result<(), ScanError> {
        Ok(())
    }
}

/// `xl/workbook.xml`: each sheet's name and relationship id, and its defined names measured.
struct WorkbookVisit {
    spans: Spans,
    sheets: Vec<(String, Vec<u8>)>,
}

impl Visit for WorkbookVisit {
    fn start(&mut self, name: &[u8], attrs: &[u8], empty: bool, at: u64) -> Result<(), ScanError> {
        self.spans.start(name, local_name(name), empty, at)?;
        if local_name(name) == b"sheet" {
            let (mut sheet, mut id) = (None, None);
            for (k, v) in Attrs(attrs) {
                match k {
                    b"name" => sheet = Some(unescape(v)),
                    b"r:id" | b"relationships:id" => id = Some(v.to_vec()),
                    _ => {}
                }
            }
            if let (Some(sheet), Some(id)) = (sheet, id) {
                self.sheets.push((sheet, id));
            }
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8], at: u64) -> Result<(), ScanError> {
        self.spans.end(name, local_name(name), at)
    }

    fn progress(&mut self, at: u64) -> Result<(), ScanError> {
        self.spans.progress(at)
    }
}

/// `content.xml` of an `.ods`: what calamine's reader will expand its tables into. calamine
/// repeats a non-empty cell `number-columns-repeated` times and an empty one too when another
/// cell follows it in the row, then makes each table a dense range from its first to its last
/// non-empty row, `number-rows-repeated` included, plus a formula range of the same kind. Cells
/// with a value or a formula count as non-empty here for both (a little more than calamine's
/// count, never less).
#[derive(Default)]
struct OdsVisit {
    table: Option<OdsTable>,
    row: Option<OdsRow>,
    cell: Option<OdsCell>,
    /// Cells pushed one by one (before the dense ranges), over all tables.
    sparse: u64,
    /// Cells of the dense ranges of the tables done.
    dense_done: u64,
    text: u64,
}

#[derive(Default)]
struct OdsTable {
    name: String,
    /// Rows so far, repeats included (for messages).
    rows: u64,
    col_min: u64,
    col_max: u64,
    /// Repeats of the non-empty rows; of the empty rows between them; of the empty rows since
    /// the last non-empty one.
    full_rows: u64,
    empty_between: u64,
    empty_pending: u64,
    dense_text: u64,
    any: bool,
}

#[derive(Default)]
struct OdsRow {
    repeats: u64,
    /// Cells pushed, and empty cells waiting for a next cell to be pushed.
    pushed: u64,
    empty_pending: u64,
    first: Option<u64>,
    last: u64,
    text: u64,
    widest: u64,
}

#[derive(Default)]
struct OdsCell {
    repeats: u64,
    non_empty: bool,
    /// Its text is its content (a string cell without a value attribute).
    content: bool,
    text: u64,
}

impl OdsVisit {
    fn table_name(&self) -> &str {
        self.table.as_ref().map_or("", |t| t.name.as_str())
    }

    fn over(&self, what: String, cells: bool) -> ScanError {
        let (limit, fix) = if cells {
            (format!("{} cells", thousands(ODS_CELL_BUDGET)), TRIM)
        } else {
            (format!("{} of text", size(ODS_TEXT_BUDGET)), SPLIT)
        };
        ScanError::Limit {
            what: format!("table `{}`: {what}", self.table_name()),
            limit,
            fix,
        }
    }

    fn end_cell(&mut self) -> Result<(), ScanError> {
        let Some(cell) = self.cell.take() else {
            return Ok(());
        };
        let Some(row) = self.row.as_mut() else {
            return Ok(());
        };
        // Empty cells waiting are pushed as soon as any cell follows them.
        row.pushed = row.pushed.saturating_add(row.empty_pending);
        let at = row.pushed;
        row.empty_pending = 0;
        row.widest = row.widest.max(cell.repeats);
        if cell.non_empty {
            row.first.get_or_insert(at);
            row.pushed = row.pushed.saturating_add(cell.repeats);
            row.last = row.pushed.saturating_sub(1);
            row.text = row
                .text
                .saturating_add(cell.text.saturating_mul(cell.repeats));
        } else {
            row.empty_pending = cell.repeats;
        }
        if row.pushed.saturating_add(self.sparse) > ODS_CELL_BUDGET {
            let widest = row.widest;
            let at = self.table.as_ref().map_or(0, |t| t.rows) + 1;
            return Err(self.over(
                format!(
                    "row {} expands to more than {} cells (a cell repeated {} times)",
                    thousands(at),
                    thousands(ODS_CELL_BUDGET),
                    thousands(widest)
                ),
                true,
            ));
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), ScanError> {
        self.end_cell()?;
        let Some(row) = self.row.take() else {
            return Ok(());
        };
        let Some(table) = self.table.as_mut() else {
            return Ok(());
        };
        let number = table.rows + 1;
        table.rows = table.rows.saturating_add(row.repeats);
        self.sparse = self.sparse.saturating_add(row.pushed);
        self.text = self.text.saturating_add(row.text);
        let Some(first) = row.first else {
            if table.any {
                table.empty_pending = table.empty_pending.saturating_add(row.repeats);
            }
            return Ok(());
        };
        if table.any {
            table.col_min = table.col_min.min(first);
            table.col_max = table.col_max.max(row.last);
        } else {
            (table.col_min, table.col_max, table.any) = (first, row.last, true);
        }
        table.full_rows = table.full_rows.saturating_add(row.repeats);
        table.empty_between = table.empty_between.saturating_add(table.empty_pending);
        table.empty_pending = 0;
        table.dense_text = table
            .dense_text
            .saturating_add(row.text.saturating_mul(row.repeats));
        let dense = table
            .full_rows
            .saturating_mul(table.col_max - table.col_min + 1)
            .saturating_add(table.empty_between.saturating_mul(table.col_max + 1))
            .saturating_add(self.dense_done);
        let text = self.text.saturating_add(table.dense_text);
        if dense > ODS_CELL_BUDGET {
            return Err(self.over(
                format!(
                    "it expands to more than {} cells at row {} (repeated {} times, a cell in it {} times)",
                    thousands(ODS_CELL_BUDGET),
                    thousands(number),
                    thousands(row.repeats),
                    thousands(row.widest)
                ),
                true,
            ));
        }
        if text > ODS_TEXT_BUDGET {
            return Err(self.over(
                format!(
                    "its repeated cells expand to more than {} of text at row {}",
                    size(ODS_TEXT_BUDGET),
                    thousands(number)
                ),
                false,
            ));
        }
        Ok(())
    }

    fn end_table(&mut self) -> Result<(), ScanError> {
        self.end_row()?;
        if let Some(table) = self.table.take() {
            if table.any {
                let dense = table
                    .full_rows
                    .saturating_mul(table.col_max - table.col_min + 1)
                    .saturating_add(table.empty_between.saturating_mul(table.col_max + 1));
                self.dense_done = self.dense_done.saturating_add(dense);
                self.text = self.text.saturating_add(table.dense_text);
            }
        }
        Ok(())
    }

    fn add_text(&mut self, len: u64) -> Result<(), ScanError> {
        if let Some(cell) = self.cell.as_mut().filter(|c| c.content) {
            cell.text = cell.text.saturating_add(len);
            if cell.text > XML_VALUE_CAP {
                let text = cell.text;
                return Err(self.over_cell(text));
            }
        }
        Ok(())
    }

    fn over_cell(&self, len: u64) -> ScanError {
        let mut e = too_long("one cell's text", len, XML_VALUE_CAP, "for one value");
        if let ScanError::Limit { what, .. } = &mut e {
            *what = format!("table `{}`: {what}", self.table_name());
        }
        e
    }
}

impl Visit for OdsVisit {
    fn start(&mut self, name: &[u8], attrs: &[u8], empty: bool, _at: u64) -> Result<(), ScanError> {
        match name {
            b"table:table" => {
                self.end_table()?;
                if let Some(n) = attr(attrs, b"table:name") {
                    self.table = Some(OdsTable {
                        name: unescape(n),
                        ..OdsTable::default()
                    });
                }
                if empty {
                    self.end_table()?;
                }
            }
            b"table:table-row" if self.table.is_some() && self.cell.is_none() => {
                self.end_row()?;
                let repeats = attr(attrs, b"table:number-rows-repeated")
                    .and_then(parse_count)
                    .unwrap_or(1);
                self.row = Some(OdsRow {
                    repeats,
                    ..OdsRow::default()
                });
                if empty {
                    self.end_row()?;
                }
            }
            b"table:table-cell" | b"table:covered-table-cell"
                if self.row.is_some() && self.cell.is_none() =>
            {
                let mut cell = OdsCell {
                    repeats: 1,
                    ..OdsCell::default()
                };
                let mut repeats_seen = false;
                let mut value_set = false;
                let mut is_string = false;
                for (k, v) in Attrs(attrs) {
                    match k {
                        b"table:number-columns-repeated" if !repeats_seen => {
                            repeats_seen = true;
                            cell.repeats = parse_count(v).unwrap_or(1);
                        }
                        b"office:value"
                        | b"office:string-value"
                        | b"office:date-value"
                        | b"office:time-value"
                        | b"office:boolean-value" => {
                            if !value_set {
                                cell.text = v.len() as u64;
                            }
                            value_set = true;
                            cell.non_empty = true;
                        }
                        b"office:value-type" if !value_set => is_string = v == b"string",
                        b"table:formula" if !v.is_empty() => cell.non_empty = true,
                        _ => {}
                    }
                }
                if !value_set && is_string {
                    cell.content = true;
                    cell.non_empty = true;
                }
                self.cell = Some(cell);
                if empty {
                    self.end_cell()?;
                }
            }
            b"text:s" if self.cell.as_ref().is_some_and(|c| c.content) => {
                let spaces = attr(attrs, b"text:c").and_then(parse_count).unwrap_or(1);
                self.add_text(spaces)?;
            }
            b"text:p" => self.add_text(1)?,
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8], _at: u64) -> Result<(), ScanError> {
        match name {
            b"table:table-cell" | b"table:covered-table-cell" => self.end_cell(),
            b"table:table-row" if self.cell.is_none() => self.end_row(),
            b"table:table" if self.cell.is_none() => self.end_table(),
            _ => Ok(()),
        }
    }

    fn text(&mut self, len: u64) -> Result<(), ScanError> {
        self.add_text(len)
    }
}

// ---------------------------------------------------------------------------------------------
// `.xlsb` records.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordRole {
    Sheet,
    SharedStrings,
    Part,
}

/// What the records of an `.xlsb` part hold.
#[derive(Debug, Default)]
struct RecordFacts {
    formulas: bool,
}

/// Reads an `.xlsb` part record by record (a type, a length, the data): no record may be longer
/// than `XLSB_RECORD_CAP`, the shared strings no more than `SHARED_STRINGS_COUNT_CAP`, and a
/// sheet's dimension record must be whole (calamine slices it unchecked).
fn scan_records(r: &mut dyn Read, role: RecordRole) -> Result<RecordFacts, ScanError> {
    let mut r = BufReader::with_capacity(1 << 16, r);
    let mut facts = RecordFacts::default();
    let mut strings = 0u64;
    let next = |r: &mut BufReader<&mut dyn Read>| -> Result<Option<u8>, ScanError> {
        let mut byte = [0u8; 1];
        match r.read(&mut byte)? {
            0 => Ok(None),
            _ => Ok(Some(byte[0])),
        }
    };
    loop {
        let Some(b) = next(&mut r)? else {
            return Ok(facts);
        };
        let typ = if b & 0x80 != 0 {
            let Some(b2) = next(&mut r)? else {
                return Ok(facts);
            };
            u16::from(b & 0x7F) | (u16::from(b2 & 0x7F) << 7)
        } else {
            u16::from(b)
        };
        let mut len = 0u64;
        for i in 0..4 {
            let Some(b) = next(&mut r)? else {
                return Ok(facts);
            };
            len |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        if len > XLSB_RECORD_CAP {
            return Err(too_long("a record", len, XLSB_RECORD_CAP, "for one record"));
        }
        match (role, typ) {
            (RecordRole::Sheet, 0x0094) if len < 16 => {
                return Err(ScanError::Corrupt(format!(
                    "its dimension record has {len} bytes, not 16"
                )))
            }
            (RecordRole::Sheet, 0x0008..=0x000B) => facts.formulas = true,
            (RecordRole::SharedStrings, 0x0013) => {
                strings += 1;
                if strings > SHARED_STRINGS_COUNT_CAP {
                    return Err(ScanError::Limit {
                        what: format!(
                            "it holds more than {} shared strings",
                            thousands(SHARED_STRINGS_COUNT_CAP)
                        ),
                        limit: format!("{} strings", thousands(SHARED_STRINGS_COUNT_CAP)),
                        fix: SPLIT,
                    });
                }
            }
            _ => {}
        }
        let skipped = std::io::copy(&mut (&mut r).take(len), &mut std::io::sink())?;
        if skipped < len {
            return Ok(facts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece `scan_xml` sees, as text, for comparisons.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl Visit for Log {
        fn start(
            &mut self,
            name: &[u8],
            attrs: &[u8],
            empty: bool,
            at: u64,
        ) -> Result<(), ScanError> {
            self.0.push(format!(
                "{at}<{}{}{}>",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(attrs),
                if empty { "/" } else { "" }
            ));
            Ok(())
        }
        fn end(&mut self, name: &[u8], at: u64) -> Result<(), ScanError> {
            self.0
                .push(format!("{at}</{}>", String::from_utf8_lossy(name)));
            Ok(())
        }
        fn text(&mut self, len: u64) -> Result<(), ScanError> {
            self.0.push(format!("text {len}"));
            Ok(())
        }
    }

    fn pieces(xml: &[u8]) -> Result<Vec<String>, ScanError> {
        let mut log = Log::default();
        scan_xml(&mut &xml[..], &mut log)?;
        Ok(log.0)
    }

    #[test]
    fn xml_is_cut_as_quick_xml_cuts_it() {
        let got = pieces(
            br#"<?xml version="1.0"?><a x='>' y=">"><!-- <b> --><![CDATA[<c>]]>hi</a ><e/>"#,
        )
        .unwrap();
        assert_eq!(got, [r#"21<a x='>' y=">">"#, "text 2", "65</a>", "70<e/>",]);
        assert!(matches!(
            pieces(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"),
            Err(ScanError::Corrupt(_))
        ));
        assert!(matches!(pieces(b"<a"), Err(ScanError::Corrupt(_))));
    }

    #[test]
    fn a_long_text_or_tag_is_refused_without_holding_it() {
        let spaces = vec![b' '; XML_TOKEN_CAP + 10];
        let mut xml = b"<a>".to_vec();
        xml.extend_from_slice(&spaces);
        xml.extend_from_slice(b"</a>");
        assert!(matches!(pieces(&xml), Err(ScanError::Limit { .. })));
        let mut tag = b"<a b=\"".to_vec();
        tag.extend(std::iter::repeat_n(b'>', XML_TOKEN_CAP + 10));
        tag.extend_from_slice(b"\"/>");
        assert!(matches!(pieces(&tag), Err(ScanError::Limit { .. })));
        // Just under the cap, split over many reads: read whole.
        let mut ok = b"<a>".to_vec();
        ok.extend(std::iter::repeat_n(b'x', XML_TOKEN_CAP - 1));
        ok.extend_from_slice(b"</a>");
        let got = pieces(&ok).unwrap();
        assert_eq!(got[1], format!("text {}", XML_TOKEN_CAP - 1));
    }

    #[test]
    fn a_value_joined_from_many_pieces_is_measured_whole() {
        let mut xml = b"<sst><si>".to_vec();
        for _ in 0..(XML_VALUE_CAP / 20 + 1) {
            xml.extend_from_slice(b"<r><t>0123456</t></r>");
        }
        xml.extend_from_slice(b"</si></sst>");
        let mut visit = PartVisit::new(&[b"si", b"t"]);
        assert!(matches!(
            scan_xml(&mut &xml[..], &mut visit),
            Err(ScanError::Limit { .. })
        ));
        // The same pieces in many strings are fine.
        let xml = b"<sst><si><t>a</t></si><si><r><t>b</t></r></si></sst>";
        let mut visit = PartVisit::new(&[b"si", b"t"]);
        visit.count = Some((b"si", 0));
        scan_xml(&mut &xml[..], &mut visit).unwrap();
        assert_eq!(visit.count, Some((&b"si"[..], 2)));
    }

    #[test]
    fn attributes_and_names() {
        let a: Vec<_> = Attrs(br#" r="A1"  t = 's' x="a>b""#).collect();
        assert_eq!(
            a,
            [
                (&b"r"[..], &b"A1"[..]),
                (&b"t"[..], &b"s"[..]),
                (&b"x"[..], &b"a>b"[..])
            ]
        );
        assert_eq!(unescape(b"a&amp;b &#x41;&#66; &bogus;"), "a&b AB &bogus;");
        assert_eq!(cell_position(b"A1"), Some((0, 0)));
        assert_eq!(cell_position(b"XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell_position(b"1A"), None);
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(thousands(999), "999");
    }

    fn ods_expansion(content: &str) -> Result<(u64, u64), ScanError> {
        let mut v = OdsVisit::default();
        scan_xml(&mut content.as_bytes(), &mut v)?;
        Ok((v.sparse, v.dense_done))
    }

    #[test]
    fn ods_repeats_are_counted_as_calamine_expands_them() {
        let table = |rows: &str| {
            format!(
                r#"<office:body><table:table table:name="s">{rows}</table:table></office:body>"#
            )
        };
        // Trailing empty cells and rows, as LibreOffice writes them, expand to nothing.
        let lo = table(
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p>a</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
        );
        assert_eq!(ods_expansion(&lo).unwrap(), (1, 1));
        // An empty cell followed by another is pushed, repeats and all.
        let gap = table(
            r#"<table:table-row><table:table-cell table:number-columns-repeated="5"/><table:table-cell office:value="1"/></table:table-row>"#,
        );
        assert_eq!(ods_expansion(&gap).unwrap(), (6, 1));
        // Empty rows between non-empty ones are dense rows too.
        let rows = table(
            r#"<table:table-row><table:table-cell office:value="1" table:number-columns-repeated="3"/></table:table-row><table:table-row table:number-rows-repeated="10"><table:table-cell/></table:table-row><table:table-row table:number-rows-repeated="2"><table:table-cell office:value="1"/></table:table-row>"#,
        );
        assert_eq!(ods_expansion(&rows).unwrap(), (3 + 1, 3 + 10 * 3 + 2 * 3));
        let bomb = table(
            r#"<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value="1" table:number-columns-repeated="16384"/></table:table-row>"#,
        );
        assert!(matches!(ods_expansion(&bomb), Err(ScanError::Limit { .. })));
        let spaces = table(
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="4000000000"/></text:p></table:table-cell></table:table-row>"#,
        );
        assert!(matches!(
            ods_expansion(&spaces),
            Err(ScanError::Limit { .. })
        ));
    }

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
                ws.write_formula(2, 3, "=A1&\"x\"").unwrap();
            }
            let path = dir.path().join(name);
            book.save(&path).unwrap();
            path
        };
        let facts = |path: &Path| {
            let mut zip = open_zip(path, BookKind::Xlsx).unwrap();
            let sheets = check_xlsx_parts(path, &mut zip).unwrap();
            check_sheet(path, BookKind::Xlsx, &mut zip, &sheets, "Sheet1").unwrap()
        };
        let plain = write("plain.xlsx", false);
        assert!(!facts(&plain).formulas);
        let formula = write("formula.xlsx", true);
        let found = facts(&formula);
        assert!(found.formulas);
        let entry = found.entry.unwrap();
        assert_eq!(entry, "xl/worksheets/sheet1.xml");
        let cells = formula_cells(&formula, BookKind::Xlsx, &entry).unwrap();
        assert_eq!(cells, HashSet::from([(2, 3)]));
    }
}
