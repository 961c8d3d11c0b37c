//! The annotated workbook: the input rows where they were (so `F7` in a message is `F7` here),
//! each bad cell red with its message as a note, `status` and `message` columns, a `summary`
//! sheet, a `problems` sheet and a `retry` sheet of the rows to fix in template form.
//!
//! Every text is written as a string cell, never as a formula, whatever it starts with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format, Note, Workbook, Worksheet, XlsxError};

use super::Tally;
use crate::columns::{COLUMNS, PERIOD_COLUMNS};
use crate::error::InputError;
use crate::outcome::{RowOutcome, Status};
use crate::pipeline::InputSummary;
use crate::problem::column_index;
use crate::sheet::Value;

pub struct XlsxReport {
    path: PathBuf,
    rows: Vec<RowOutcome>,
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

fn write_value(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Value,
    bad: bool,
    f: &Formats,
) -> Result<(), XlsxError> {
    let plain = Format::new();
    let fmt = if bad { &f.bad } else { &plain };
    match value {
        Value::Empty | Value::FormulaNoValue => {
            if bad {
                sheet.write_blank(row, col, &f.bad)?;
            }
        }
        Value::Text(t) => {
            sheet.write_string_with_format(row, col, t, fmt)?;
        }
        Value::Error(e) => {
            sheet.write_string_with_format(row, col, e, fmt)?;
        }
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
    Ok(())
}

impl XlsxReport {
    pub fn new(path: &Path) -> Self {
        XlsxReport {
            path: path.to_path_buf(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, o: &RowOutcome) {
        self.rows.push(o.clone());
    }

    pub fn finish(self, summary: &InputSummary, tally: &Tally) -> Result<(), InputError> {
        let err = xlsx_error(&self.path);
        let mut book = Workbook::new();
        let red = Color::RGB(0xFFC7CE);
        let f = Formats {
            date: Format::new().set_num_format("yyyy-mm-dd"),
            bad: Format::new().set_background_color(red),
            bad_date: Format::new()
                .set_background_color(red)
                .set_num_format("yyyy-mm-dd"),
            header: Format::new().set_bold(),
        };
        let mut sheet_name: String = summary
            .info
            .sheet
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if sheet_name.is_empty()
            || ["summary", "problems", "retry", "periods"]
                .contains(&sheet_name.to_lowercase().as_str())
        {
            sheet_name = "rows".into();
        }

        // The input rows, annotated.
        let ws = book.add_worksheet();
        ws.set_name(&sheet_name).map_err(&err)?;
        let header_row = summary.header_row.saturating_sub(1);
        let width = summary.headers.len() as u16;
        for (i, h) in summary.headers.iter().enumerate() {
            ws.write_string_with_format(header_row, i as u16, h, &f.header)
                .map_err(&err)?;
        }
        ws.write_string_with_format(header_row, width, "status", &f.header)
            .map_err(&err)?;
        ws.write_string_with_format(header_row, width + 1, "message", &f.header)
            .map_err(&err)?;
        ws.set_freeze_panes(header_row + 1, 0).map_err(&err)?;
        // Wide enough for the header and the first rows' values; the message column wider still.
        for (i, h) in summary.headers.iter().enumerate() {
            let longest = self
                .rows
                .iter()
                .take(200)
                .filter_map(|o| o.cells.as_ref()?.get(i))
                .map(|v| match v {
                    Value::Text(t) => t.chars().count(),
                    _ => 10,
                })
                .chain([h.chars().count()])
                .max()
                .unwrap_or(10);
            ws.set_column_width(i as u16, (longest + 2).clamp(10, 40) as f64)
                .map_err(&err)?;
        }
        ws.set_column_width(width + 1, 80).map_err(&err)?;
        for o in self.rows.iter().filter(|o| !o.is_period_row) {
            let r = o.row - 1;
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
            if let Some(cells) = &o.cells {
                for (c, v) in cells.iter().enumerate() {
                    let c = c as u16;
                    write_value(ws, r, c, v, notes.contains_key(&c), &f).map_err(&err)?;
                }
            }
            for (c, texts) in &notes {
                let note = Note::new(texts.join("\n")).set_author("streak-import");
                ws.insert_note(r, *c, &note).map_err(&err)?;
            }
            ws.write_string(r, width, o.status.as_str()).map_err(&err)?;
            ws.write_string(r, width + 1, row_message(o))
                .map_err(&err)?;
        }

        // Totals and problems by code.
        let ws = book.add_worksheet();
        ws.set_name("summary").map_err(&err)?;
        let c = &tally.counts;
        let lines: [(&str, u64); 8] = [
            ("rows", c.rows),
            ("valid", c.valid),
            ("invalid", c.invalid),
            ("created", c.created),
            ("existing", c.existing),
            ("failed", c.failed),
            ("not_sent", c.not_sent),
            ("period rows with problems", tally.period_rows_invalid),
        ];
        ws.write_string_with_format(0, 0, "input", &f.header)
            .map_err(&err)?;
        ws.write_string(0, 1, summary.info.path.display().to_string())
            .map_err(&err)?;
        for (i, (k, v)) in lines.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, *k).map_err(&err)?;
            ws.write_number(i as u32 + 1, 1, *v as f64).map_err(&err)?;
        }
        let mut r = lines.len() as u32 + 2;
        ws.write_string_with_format(r, 0, "code", &f.header)
            .map_err(&err)?;
        ws.write_string_with_format(r, 1, "problems", &f.header)
            .map_err(&err)?;
        for (code, t) in tally.errors.iter().chain(tally.warnings.iter()) {
            r += 1;
            ws.write_string(r, 0, code.as_str()).map_err(&err)?;
            ws.write_number(r, 1, t.count as f64).map_err(&err)?;
        }
        ws.set_column_width(0, 28).map_err(&err)?;

        // Every problem, one per line (period-sheet problems included).
        let ws = book.add_worksheet();
        ws.set_name("problems").map_err(&err)?;
        for (col, width) in [
            (0u16, 14.0),
            (3, 20.0),
            (4, 20.0),
            (5, 24.0),
            (6, 70.0),
            (7, 60.0),
        ] {
            ws.set_column_width(col, width).map_err(&err)?;
        }
        for (i, h) in [
            "sheet", "row", "cell", "column", "code", "value", "message", "hint",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, i as u16, *h, &f.header)
                .map_err(&err)?;
        }
        let mut r = 0;
        for o in &self.rows {
            for p in o.errors.iter().chain(&o.warnings) {
                r += 1;
                ws.write_string(r, 0, o.sheet).map_err(&err)?;
                ws.write_number(r, 1, o.row as f64).map_err(&err)?;
                ws.write_string(r, 2, &p.cell).map_err(&err)?;
                ws.write_string(r, 3, &p.column).map_err(&err)?;
                ws.write_string(r, 4, p.code.as_str()).map_err(&err)?;
                ws.write_string(r, 5, &p.value).map_err(&err)?;
                ws.write_string(r, 6, &p.message).map_err(&err)?;
                ws.write_string(r, 7, p.hint.as_deref().unwrap_or(""))
                    .map_err(&err)?;
            }
        }

        // The rows to fix, in template form, ready to import again with `--sheet retry`.
        let ws = book.add_worksheet();
        ws.set_name("retry").map_err(&err)?;
        for (i, col) in COLUMNS.iter().enumerate() {
            ws.set_column_width(i as u16, (col.key.len() + 2).clamp(10, 32) as f64)
                .map_err(&err)?;
        }
        // Where each template column was in the input, as the validator mapped it.
        let source_of = &summary.columns;
        for (i, col) in COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, col.key, &f.header)
                .map_err(&err)?;
        }
        let mut r = 0;
        let mut retried = std::collections::HashSet::new();
        for o in self
            .rows
            .iter()
            .filter(|o| !o.is_period_row && matches!(o.status, Status::Invalid | Status::Failed))
        {
            r += 1;
            retried.extend(o.name_key);
            let Some(cells) = &o.cells else { continue };
            for (i, src) in source_of.iter().enumerate() {
                let cell = src.and_then(|s| cells.get(s));
                let value = match &summary.mapping {
                    Some(map) => map.template_value(COLUMNS[i].col, cell),
                    None => cell.cloned(),
                };
                if let Some(v) = value {
                    write_value(ws, r, i as u16, &v, false, &f).map_err(&err)?;
                }
            }
        }

        // The explicit periods of the rows to fix, so that `import REPORT.xlsx --sheet retry`
        // finds them in the workbook's own `periods` sheet.
        let ws = book.add_worksheet();
        ws.set_name(crate::sheet::PERIODS_SHEET).map_err(&err)?;
        for (i, col) in PERIOD_COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, i as u16, col.key, &f.header)
                .map_err(&err)?;
            ws.set_column_width(i as u16, (col.key.len() + 4).clamp(12, 32) as f64)
                .map_err(&err)?;
        }
        let mut r = 0;
        for (_, cells) in summary
            .period_rows
            .iter()
            .filter(|(key, _)| retried.contains(&crate::outcome::NameKey::of(key)))
        {
            r += 1;
            for (i, v) in cells.iter().enumerate() {
                write_value(ws, r, i as u16, v, false, &f).map_err(&err)?;
            }
        }

        book.save(&self.path).map_err(&err)
    }
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
    parts.extend(
        o.api_errors
            .iter()
            .map(|a| format!("API {}: {}", a.code, a.message)),
    );
    parts.extend(o.note.clone());
    parts.join("; ")
}
