//! The annotated workbook: the input rows where they were (so `F7` in a message is `F7` here),
//! each bad cell red with its message as a note, `status` and `message` columns, a `summary`
//! sheet, a `problems` sheet and a `retry` sheet of the rows to fix in template form.
//!
//! Every text is written as a string cell, never as a formula, whatever it starts with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format, Note, Workbook, Worksheet, XlsxError};

use super::{ApiBlock, Tally};
use crate::check::InputSummary;
use crate::columns::{COLUMNS, PERIOD_COLUMNS};
use crate::error::InputError;
use crate::outcome::{RowOutcome, Status};
use crate::problem::column_index;
use crate::sheet::Value;

/// The annotated workbook, written as the rows come (its sheets in constant-memory mode), so a
/// million-row report holds no row in memory.
pub struct XlsxReport {
    /// Where the report lands (for messages).
    path: PathBuf,
    /// Where it is written until then (its staged file).
    temp: PathBuf,
    book: Workbook,
    f: Formats,
    open: Option<Open>,
    /// The names of the rows to fix: their explicit periods go on the `periods` sheet.
    retried: std::collections::HashSet<crate::outcome::NameKey>,
    /// What the format could not hold, said on the summary sheet.
    notes: Vec<String>,
    cut_cells: u64,
    /// Rows a worksheet holds: Excel's limit, smaller in tests.
    capacity: u32,
}

fn xlsx_error(path: &Path) -> impl Fn(XlsxError) -> InputError + '_ {
    move |e| InputError::ReportXlsx {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

struct Formats {
    date: Format,
    bad: Format,
    bad_date: Format,
    header: Format,
}

/// What a sheet holds at most (Excel's limits).
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: u16 = 16_384;
const MAX_CHARS: usize = 32_767;

/// `text` as a cell can hold it: at most [`MAX_CHARS`] characters, and whether it was cut.
fn fit(text: &str) -> (&str, bool) {
    if text.len() <= MAX_CHARS {
        return (text, false);
    }
    match text.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// Writes a text cell, cut to what a cell holds; says whether it was cut.
fn put_str(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    text: &str,
    fmt: &Format,
) -> Result<bool, XlsxError> {
    let (text, cut) = fit(text);
    sheet.write_string_with_format(row, col, text, fmt)?;
    Ok(cut)
}

/// Writes a value as its type; a text cut to fit says so (`Ok(true)`).
fn write_value(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Value,
    bad: bool,
    f: &Formats,
) -> Result<bool, XlsxError> {
    let plain = Format::new();
    let fmt = if bad { &f.bad } else { &plain };
    match value {
        Value::Empty | Value::FormulaNoValue => {
            if bad {
                sheet.write_blank(row, col, &f.bad)?;
            }
        }
        Value::Text(t) => return put_str(sheet, row, col, t, fmt),
        Value::Error(e) => return put_str(sheet, row, col, e, fmt),
        Value::Int(i) => {
            sheet.write_number_with_format(row, col, *i as f64, fmt)?;
        }
        Value::Number(n) => {
            sheet.write_number_with_format(row, col, *n, fmt)?;
        }
        Value::Bool(b) => {
            sheet.write_boolean_with_format(row, col, *b, fmt)?;
        }
        Value::Date(d) => {
            sheet.write_datetime_with_format(
                row,
                col,
                d,
                if bad { &f.bad_date } else { &f.date },
            )?;
        }
    }
    Ok(false)
}

/// A list sheet (one item a row under a header) that continues on `name (2)`, `name (3)` …
/// when a sheet is full, so that no count of items makes the report fail. Its sheets are in
/// constant-memory mode: rows go to a temporary file as they are written.
struct Pages {
    name: String,
    header: Vec<String>,
    widths: Vec<(u16, f64)>,
    page: u32,
    /// The number the first sheet is named with: 1 is the bare name, 2 is `name (2)`.
    first: u32,
    row: u32,
    capacity: u32,
    /// The workbook index of the sheet being written.
    sheet: Option<usize>,
}

impl Pages {
    fn new(name: &str, header: Vec<String>, capacity: u32) -> Self {
        Pages {
            name: name.to_string(),
            header,
            widths: Vec::new(),
            page: 0,
            first: 1,
            row: capacity,
            capacity,
            sheet: None,
        }
    }

    fn widths(mut self, widths: &[(u16, f64)]) -> Self {
        self.widths = widths.to_vec();
        self
    }

    /// Names the first sheet `name (n)`: a list continuing another sheet.
    fn numbered_from(mut self, n: u32) -> Self {
        self.first = n;
        self
    }

    /// The sheet and row for the next item, opening the sheet (or the next one) as needed.
    fn next<'b>(
        &mut self,
        book: &'b mut Workbook,
        f: &Formats,
    ) -> Result<(&'b mut Worksheet, u32), XlsxError> {
        if self.row + 1 >= self.capacity {
            self.open_page(book, f)?;
        }
        self.row += 1;
        let ws = book.worksheet_from_index(self.sheet.unwrap_or(0))?;
        Ok((ws, self.row))
    }

    fn open_page(&mut self, book: &mut Workbook, f: &Formats) -> Result<(), XlsxError> {
        self.page += 1;
        self.row = 0;
        let name = match self.first + self.page - 1 {
            1 => self.name.clone(),
            n => format!("{} ({n})", self.name),
        };
        let ws = book.add_worksheet_with_constant_memory();
        ws.set_name(&name)?;
        for (c, w) in &self.widths {
            ws.set_column_width(*c, *w)?;
        }
        for (i, h) in self.header.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, h, &f.header)?;
        }
        self.sheet = Some(book.worksheets().len() - 1);
        Ok(())
    }

    /// Opens the first sheet even when there is no item, so the sheet is always there.
    fn open(mut self, book: &mut Workbook, f: &Formats) -> Result<Self, XlsxError> {
        self.open_page(book, f)?;
        Ok(self)
    }

    fn pages(&self) -> u32 {
        self.page
    }
}

/// What the report knows once the header is read: it then writes each row as it comes.
struct Open {
    sheet_name: String,
    header_row: u32,
    /// Input columns shown (at most what a sheet holds, with room for status and message).
    width: u16,
    /// The main sheet's index; rows past its capacity go to `overflow`.
    main: usize,
    overflow: Option<Pages>,
    overflow_header: Vec<String>,
    problems: Pages,
    retry: Pages,
    columns: Vec<Option<usize>>,
    mapping: Option<crate::check::mapping::Mapping>,
    /// The longest text seen in each shown column (first rows only), for its width.
    longest: Vec<usize>,
    measured: u32,
}

/// Rows whose cells set the column widths.
const MEASURED_ROWS: u32 = 200;

fn formats() -> Formats {
    let red = Color::RGB(0xFFC7CE);
    Formats {
        date: Format::new().set_num_format("yyyy-mm-dd"),
        bad: Format::new().set_background_color(red),
        bad_date: Format::new()
            .set_background_color(red)
            .set_num_format("yyyy-mm-dd"),
        header: Format::new().set_bold(),
    }
}

impl XlsxReport {
    pub fn new(path: &Path, temp: &Path) -> Self {
        let mut book = Workbook::new();
        // The sheets' rows spool beside the report, not in a /tmp that may be memory.
        if let Some(dir) = temp.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = book.set_tempdir(dir);
        }
        XlsxReport {
            path: path.to_path_buf(),
            temp: temp.to_path_buf(),
            book,
            f: formats(),
            open: None,
            retried: std::collections::HashSet::new(),
            notes: Vec::new(),
            cut_cells: 0,
            capacity: MAX_ROWS,
        }
    }

    /// The header is known: opens the sheets that rows are written to as they come.
    pub fn begin(&mut self, summary: &InputSummary) -> Result<(), InputError> {
        let err = xlsx_error(&self.path);
        let (book, f) = (&mut self.book, &self.f);
        let sheet_name = main_sheet_name(&summary.info.sheet);
        let header_row = summary.header_row.saturating_sub(1);
        let shown = summary.headers.len().min(usize::from(MAX_COLS - 2));
        if shown < summary.headers.len() {
            self.notes.push(format!(
                "the sheet has {} columns; a worksheet holds {MAX_COLS}, so only the first {shown} are shown here (the JSON and CSV reports have every problem)",
                summary.headers.len()
            ));
        }
        let headers = &summary.headers[..shown];
        let main = book.worksheets().len();
        self.cut_cells +=
            open_main_sheet(book, f, &sheet_name, header_row, headers).map_err(&err)?;
        // Created now, filled at the end: so they come second and last among the tabs.
        book.add_worksheet().set_name("summary").map_err(&err)?;
        let problems = problems_pages(self.capacity).open(book, f).map_err(&err)?;
        let retry = retry_pages(self.capacity).open(book, f).map_err(&err)?;
        book.add_worksheet()
            .set_name(crate::sheet::PERIODS_SHEET)
            .map_err(&err)?;
        let mut overflow_header = headers.to_vec();
        overflow_header.extend(["status", "message", "input row"].map(String::from));
        self.open = Some(Open {
            sheet_name,
            header_row,
            width: shown as u16,
            main,
            overflow: None,
            overflow_header,
            problems,
            retry,
            columns: summary.columns.clone(),
            mapping: summary.mapping.clone(),
            longest: headers.iter().map(|h| h.chars().count().min(100)).collect(),
            measured: 0,
        });
        Ok(())
    }

    /// Writes one row where it belongs: the main sheet (or its continuation), its problems,
    /// and the retry sheet when it is to be fixed.
    pub fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let err = xlsx_error(&self.path);
        let Some(open) = self.open.as_mut() else {
            return Err(InputError::ReportXlsx {
                path: self.path.clone(),
                detail: "a row came before the header (a bug: please report it)".into(),
            });
        };
        let (book, f) = (&mut self.book, &self.f);
        if !o.is_period_row {
            open.measure(o);
            self.cut_cells +=
                main_row(book, f, open, o, self.capacity, &mut self.notes).map_err(&err)?;
        }
        self.cut_cells += problem_rows(book, f, &mut open.problems, o).map_err(&err)?;
        // The rows to fix, in template form, ready to import again with `--sheet retry`.
        if !o.is_period_row && matches!(o.status, Status::Invalid | Status::Failed) {
            self.retried.extend(o.name_key);
            self.cut_cells += retry_row(book, f, open, o).map_err(&err)?;
        }
        Ok(())
    }

    pub fn finish(
        mut self,
        summary: &InputSummary,
        tally: &Tally,
        api: Option<&ApiBlock>,
    ) -> Result<(), InputError> {
        if self.open.is_none() {
            self.begin(summary)?;
        }
        let path = self.path.clone();
        let err = xlsx_error(&path);
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let book = &mut self.book;
        let f = &self.f;
        let ws = book.worksheet_from_index(open.main).map_err(&err)?;
        for (i, longest) in open.longest.iter().enumerate() {
            ws.set_column_width(i as u16, (longest + 2).clamp(10, 40) as f64)
                .map_err(&err)?;
        }
        if open.problems.pages() > 1 {
            self.notes
                .push("the problems continue on `problems (2)` (and further sheets)".into());
        }
        if open.retry.pages() > 1 {
            self.notes.push(
                "the rows to fix continue on `retry (2)` (and further sheets); import each with --sheet".into(),
            );
        }
        periods_sheet(book, summary, &self.retried, f, &mut self.cut_cells).map_err(&err)?;
        if self.cut_cells > 0 {
            self.notes.push(format!(
                "{} cells longer than {MAX_CHARS} characters (a cell's limit) are cut here; cut cells of the input rows carry a note",
                self.cut_cells
            ));
        }
        summary_sheet(book, summary, tally, api, &self.notes, f).map_err(&err)?;
        book.save(&self.temp).map_err(&err)
    }
}

/// The input sheet's name, unless it is empty or one of the report's own sheets.
fn main_sheet_name(input_sheet: &str) -> String {
    let name: String = input_sheet
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(27)
        .collect();
    let taken = ["summary", "problems", "retry", "periods"].contains(&name.to_lowercase().as_str());
    if name.is_empty() || taken {
        "rows".into()
    } else {
        name
    }
}

/// The main sheet: the input's header where it was, then `status` and `message`. Returns the
/// cells cut to fit.
fn open_main_sheet(
    book: &mut Workbook,
    f: &Formats,
    name: &str,
    header_row: u32,
    headers: &[String],
) -> Result<u64, XlsxError> {
    let width = headers.len() as u16;
    let ws = book.add_worksheet_with_constant_memory();
    ws.set_name(name)?;
    let mut cut = 0;
    for (i, h) in headers.iter().enumerate() {
        cut += u64::from(put_str(ws, header_row, i as u16, h, &f.header)?);
    }
    ws.write_string_with_format(header_row, width, "status", &f.header)?;
    ws.write_string_with_format(header_row, width + 1, "message", &f.header)?;
    ws.set_freeze_panes(header_row + 1, 0)?;
    ws.set_column_width(width + 1, 80)?;
    Ok(cut)
}

/// The `problems` sheet: one row per problem.
fn problems_pages(capacity: u32) -> Pages {
    let header = [
        "sheet", "row", "cell", "column", "code", "value", "message", "hint",
    ];
    Pages::new("problems", header.map(String::from).to_vec(), capacity).widths(&[
        (0, 14.0),
        (3, 20.0),
        (4, 20.0),
        (5, 24.0),
        (6, 70.0),
        (7, 60.0),
    ])
}

/// The `retry` sheet: the rows to fix, in template columns.
fn retry_pages(capacity: u32) -> Pages {
    let widths: Vec<(u16, f64)> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| (i as u16, (col.key.len() + 2).clamp(10, 32) as f64))
        .collect();
    let header = COLUMNS.iter().map(|c| c.key.to_string()).collect();
    Pages::new("retry", header, capacity).widths(&widths)
}

impl Open {
    /// Widens the columns to the first rows' texts.
    fn measure(&mut self, o: &RowOutcome) {
        if self.measured >= MEASURED_ROWS {
            return;
        }
        self.measured += 1;
        let cells = o.cells.iter().flatten().take(self.longest.len());
        for (i, v) in cells.enumerate() {
            let len = match v {
                Value::Text(t) => t.chars().count().min(100),
                _ => 10,
            };
            self.longest[i] = self.longest[i].max(len);
        }
    }
}

/// An input row on the main sheet at its own row number, or past a sheet's capacity on the
/// continuation sheets (with its input row number).
fn main_row(
    book: &mut Workbook,
    f: &Formats,
    open: &mut Open,
    o: &RowOutcome,
    capacity: u32,
    notes: &mut Vec<String>,
) -> Result<u64, XlsxError> {
    if o.row <= capacity && o.row > open.header_row {
        let ws = book.worksheet_from_index(open.main)?;
        return write_row(ws, o.row - 1, o, open.width, f, false);
    }
    let pages = open.overflow.get_or_insert_with(|| {
        notes.push(format!(
            "rows after row {capacity} (a worksheet's last) continue on `{} (2)`, each with its input row number",
            open.sheet_name
        ));
        Pages::new(&open.sheet_name, open.overflow_header.clone(), capacity).numbered_from(2)
    });
    let (ws, r) = pages.next(book, f)?;
    write_row(ws, r, o, open.width, f, true)
}

/// A row's problems on the `problems` sheet.
fn problem_rows(
    book: &mut Workbook,
    f: &Formats,
    problems: &mut Pages,
    o: &RowOutcome,
) -> Result<u64, XlsxError> {
    let plain = Format::new();
    let mut cut = 0;
    for p in o.errors.iter().chain(&o.warnings) {
        let (ws, r) = problems.next(book, f)?;
        ws.write_string(r, 0, o.sheet)?;
        ws.write_number(r, 1, o.row as f64)?;
        ws.write_string(r, 2, &p.cell)?;
        put_str(ws, r, 3, &p.column, &plain)?;
        ws.write_string(r, 4, p.code.as_str())?;
        for (c, text) in [
            (5, p.value.as_str()),
            (6, &p.message),
            (7, p.hint.as_deref().unwrap_or("")),
        ] {
            cut += u64::from(put_str(ws, r, c, text, &plain)?);
        }
    }
    Ok(cut)
}

/// A row to fix on the `retry` sheet, its cells in template columns (through `--map`).
fn retry_row(
    book: &mut Workbook,
    f: &Formats,
    open: &mut Open,
    o: &RowOutcome,
) -> Result<u64, XlsxError> {
    let (ws, r) = open.retry.next(book, f)?;
    let Some(cells) = &o.cells else {
        return Ok(0);
    };
    let mut cut = 0;
    for (i, src) in open.columns.iter().enumerate() {
        let cell = src.and_then(|s| cells.get(s));
        let value = match &open.mapping {
            Some(map) => map.template_value(COLUMNS[i].col, cell),
            None => cell.cloned(),
        };
        if let Some(v) = value {
            cut += u64::from(write_value(ws, r, i as u16, &v, false, f)?);
        }
    }
    Ok(cut)
}

/// Totals, problems by code, the API, and the notes on what the workbook could not hold.
fn summary_sheet(
    book: &mut Workbook,
    summary: &InputSummary,
    tally: &Tally,
    api: Option<&ApiBlock>,
    notes: &[String],
    f: &Formats,
) -> Result<(), XlsxError> {
    let ws = book.worksheet_from_name("summary")?;
    let c = &tally.counts;
    let lines: [(&str, u64); 9] = [
        ("rows", c.rows),
        ("valid", c.valid),
        ("invalid", c.invalid),
        ("created", c.created),
        ("already done (earlier runs)", c.already_done),
        ("existing", c.existing),
        ("failed", c.failed),
        ("not_sent", c.not_sent),
        ("period rows with problems", tally.period_rows_invalid),
    ];
    ws.write_string_with_format(0, 0, "input", &f.header)?;
    put_str(
        ws,
        0,
        1,
        &summary.info.path.display().to_string(),
        &Format::new(),
    )?;
    if let Some(api) = api {
        ws.write_string_with_format(0, 2, "api", &f.header)?;
        ws.write_string(0, 3, &api.base_url)?;
    }
    for (i, (k, v)) in lines.iter().enumerate() {
        ws.write_string(i as u32 + 1, 0, *k)?;
        ws.write_number(i as u32 + 1, 1, *v as f64)?;
    }
    let mut r = lines.len() as u32 + 2;
    ws.write_string_with_format(r, 0, "code", &f.header)?;
    ws.write_string_with_format(r, 1, "problems", &f.header)?;
    for (code, t) in tally.errors.iter().chain(tally.warnings.iter()) {
        r += 1;
        ws.write_string(r, 0, code.as_str())?;
        ws.write_number(r, 1, t.count as f64)?;
    }
    ws.set_column_width(0, 28)?;
    for (i, note) in notes.iter().enumerate() {
        let r = r + 2 + i as u32;
        ws.write_string_with_format(r, 0, if i == 0 { "notes" } else { "" }, &f.header)?;
        ws.write_string(r, 1, note)?;
    }
    Ok(())
}

/// The explicit periods of the rows to fix, so that `import REPORT.xlsx --sheet retry` finds
/// them in the workbook's own `periods` sheet.
fn periods_sheet(
    book: &mut Workbook,
    summary: &InputSummary,
    retried: &std::collections::HashSet<crate::outcome::NameKey>,
    f: &Formats,
    cut_cells: &mut u64,
) -> Result<(), XlsxError> {
    let ws = book.worksheet_from_name(crate::sheet::PERIODS_SHEET)?;
    for (i, col) in PERIOD_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, col.key, &f.header)?;
        ws.set_column_width(i as u16, (col.key.len() + 4).clamp(12, 32) as f64)?;
    }
    let mut r = 0;
    for (_, cells) in summary
        .period_rows
        .iter()
        .filter(|(key, _)| retried.contains(&crate::outcome::NameKey::of(key)))
    {
        if r + 1 >= MAX_ROWS {
            break;
        }
        r += 1;
        for (i, v) in cells.iter().enumerate() {
            *cut_cells += u64::from(write_value(ws, r, i as u16, v, false, f)?);
        }
    }
    Ok(())
}

/// One input row with its status and message at `r`; bad cells red with their problems as a
/// note, cut cells with a note saying so. `with_row`: also the input row number (overflow
/// sheets). Returns how many cells were cut.
fn write_row(
    ws: &mut Worksheet,
    r: u32,
    o: &RowOutcome,
    width: u16,
    f: &Formats,
    with_row: bool,
) -> Result<u64, XlsxError> {
    let mut notes: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for p in o.errors.iter() {
        if let Some(c) = column_index(&p.cell).and_then(|c| u16::try_from(c).ok()) {
            let text = match &p.hint {
                Some(h) => format!("{}: {} ({h})", p.code, p.message),
                None => format!("{}: {}", p.code, p.message),
            };
            notes.entry(c).or_default().push(text);
        }
    }
    let mut cut = 0;
    if let Some(cells) = &o.cells {
        for (c, v) in cells.iter().enumerate().take(usize::from(width)) {
            let c = c as u16;
            if write_value(ws, r, c, v, notes.contains_key(&c), f)? {
                cut += 1;
                let full = match v {
                    Value::Text(t) => t.chars().count(),
                    _ => 0,
                };
                notes.entry(c).or_default().push(format!(
                    "cut to {MAX_CHARS} characters, a cell's limit: the value has {full}"
                ));
            }
        }
    }
    for (c, texts) in &notes {
        if *c >= width {
            continue;
        }
        let joined = texts.join("\n");
        let note = Note::new(fit(&joined).0).set_author("streak-import");
        ws.insert_note(r, *c, &note)?;
    }
    ws.write_string(r, width, o.status.as_str())?;
    cut += u64::from(put_str(ws, r, width + 1, &row_message(o), &Format::new())?);
    if with_row {
        ws.write_number(r, width + 2, f64::from(o.row))?;
    }
    Ok(cut)
}

/// The row's problems in one line, for the `message` column.
fn row_message(o: &RowOutcome) -> String {
    let mut parts: Vec<String> = o
        .errors
        .iter()
        .map(|p| {
            if p.cell.is_empty() {
                format!("{}: {}", p.column, p.message)
            } else {
                format!("{}: {}", p.cell, p.message)
            }
        })
        .collect();
    // Code 0 is the tool's own word about an answer (a redirect, out of attempts), not an
    // error the API gave.
    parts.extend(o.api_errors.iter().map(|a| match a.code {
        0 => a.message.clone(),
        code => format!("API {code}: {}", a.message),
    }));
    parts.extend(
        o.live_lines()
            .into_iter()
            .map(|(field, code, message)| match code {
                "plan" => format!("plan: {message}"),
                _ => format!("{field} ({code}): {message}"),
            }),
    );
    parts.extend(o.note.clone());
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Code, Problem};
    use calamine::Reader;

    #[test]
    fn rows_past_a_sheets_capacity_continue_on_the_next_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xlsx");
        let mut report = XlsxReport::new(&path, &path);
        report.capacity = 3;
        let sheet = crate::outcome::sheet_name("rows");
        let summary = InputSummary {
            info: crate::sheet::SheetInfo {
                path: path.clone(),
                sheet: sheet.into(),
                format: "csv".into(),
                dialect: None,
                size_hint: None,
            },
            headers: vec!["name".into()],
            header_row: 1,
            warnings: Vec::new(),
            periods_source: None,
            rows: 6,
            columns: vec![Some(0)],
            period_rows: Vec::new(),
            sha256: None,
            mapping: None,
        };
        report.begin(&summary).unwrap();
        for row in 2..=7u32 {
            let mut o = RowOutcome::new(sheet, row);
            o.name = format!("Streak {row}");
            o.cells = Some(vec![Value::Text(format!("Streak {row}"))]);
            o.push(Problem {
                column: "name".into(),
                cell: format!("A{row}"),
                value: String::new(),
                code: Code::TooLong,
                message: "too long".into(),
                hint: None,
            });
            report.row(&o).unwrap();
        }
        report.finish(&summary, &Tally::default(), None).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let names = book.sheet_names();
        for wanted in [
            "rows",
            "rows (2)",
            "rows (3)",
            "problems",
            "problems (2)",
            "problems (3)",
            "retry (3)",
        ] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
        }
        // Rows 2 and 3 where they were; the rest listed with their input row.
        let first = book.worksheet_range("rows").unwrap();
        assert_eq!(first.get_value((2, 0)).unwrap().to_string(), "Streak 3");
        let second = book.worksheet_range("rows (2)").unwrap();
        assert_eq!(second.get_value((0, 3)).unwrap().to_string(), "input row");
        assert_eq!(second.get_value((1, 0)).unwrap().to_string(), "Streak 4");
        assert_eq!(second.get_value((1, 3)).unwrap().to_string(), "4");
        let third = book.worksheet_range("rows (3)").unwrap();
        assert_eq!(third.get_value((2, 0)).unwrap().to_string(), "Streak 7");
    }
}
