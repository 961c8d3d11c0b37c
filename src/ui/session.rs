//! The page's sheet: the uploaded file, its rows as the grid shows them (template columns), the
//! edits made in the grid, and each row's outcome. Every validation — on upload and after each
//! edit — runs the CLI's own `validate_file` on the sheet as it now stands, so one rule set
//! judges the page and the terminal, duplicate names and periods across rows included.
//!
//! Until the first edit the sheet is the uploaded file itself (byte for byte the user's file, so
//! an import from the page shares its journal with `streak-import import` on that file). After
//! an edit it is `work.csv` (and `work-periods.csv`) in the page's folder, in template form.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::columns::{COLUMNS, PERIOD_COLUMNS};
use crate::outcome::{RowOutcome, Status};
use crate::problem::column_index;
use crate::run::{validate_file, InputSummary, ReadOptions, RunError};

/// One problem as the grid shows it on its cell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CellProblem {
    /// The template column (an index into [`COLUMNS`]); `None`: about the row.
    pub column: Option<usize>,
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    pub warning: bool,
}

/// One grid row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GridRow {
    /// The row number in the uploaded sheet.
    pub row: u32,
    pub cells: Vec<String>,
    pub status: String,
    pub message: String,
    pub problems: Vec<CellProblem>,
    pub target_group_id: Option<i64>,
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GridCounts {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub warnings: u64,
}

pub struct Session {
    /// Where this session's files live (`<state dir>/ui`).
    pub dir: PathBuf,
    /// The name the file was uploaded under.
    pub name: String,
    pub upload: PathBuf,
    pub periods_upload: Option<PathBuf>,
    pub sheet_name: String,
    pub rows: Vec<GridRow>,
    /// The explicit period rows (template period columns), for the work files.
    periods: Vec<Vec<String>>,
    pub edited: bool,
    /// For each template column, its column in the uploaded sheet.
    columns: Vec<Option<usize>>,
    header_row: u32,
    headers: usize,
    /// The cells edited: (grid row, template column).
    edits: std::collections::BTreeSet<(usize, usize)>,
}

/// The template column keys, the grid's columns.
pub fn columns() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.key).collect()
}

/// Validates `file` (with `periods`) the CLI's way, keeping each row's cells.
fn validate(
    file: &Path,
    periods: Option<&Path>,
) -> Result<(InputSummary, Vec<RowOutcome>), RunError> {
    let options = ReadOptions {
        periods_file: periods.map(Path::to_path_buf),
        keep_cells: true,
        build_payload: false,
        ..Default::default()
    };
    let now = crate::clock::Now::from_env()?;
    let mut rows = Vec::new();
    let summary = validate_file(file, &options, now, &crate::progress::Silent, &mut |o| {
        rows.extend(o);
        Ok(())
    })?;
    Ok((summary, rows))
}

fn problems_of(o: &RowOutcome, columns: &[Option<usize>]) -> Vec<CellProblem> {
    let template_col = |cell: &str, key: &str| {
        COLUMNS.iter().position(|c| c.key == key).or_else(|| {
            let sheet_col = column_index(cell)?;
            columns.iter().position(|c| *c == Some(sheet_col))
        })
    };
    let list = |ps: &[crate::problem::Problem], warning: bool| -> Vec<CellProblem> {
        ps.iter()
            .map(|p| CellProblem {
                column: template_col(&p.cell, &p.column),
                code: p.code.as_str().to_string(),
                message: p.message.clone(),
                hint: p.hint.clone(),
                warning,
            })
            .collect()
    };
    let mut all = list(&o.errors, false);
    all.extend(list(&o.warnings, true));
    all
}

fn message_of(o: &RowOutcome) -> String {
    let mut parts: Vec<String> = o
        .errors
        .iter()
        .map(|p| format!("{}: {}", p.column, p.message))
        .collect();
    parts.extend(o.api_errors.iter().map(|a| a.message.clone()));
    parts.extend(o.note.clone());
    parts.join("; ")
}

/// A row's status, problems and message from its outcome (cells untouched).
pub fn apply_outcome(row: &mut GridRow, o: &RowOutcome, columns: &[Option<usize>]) {
    row.status = o.status.as_str().to_string();
    row.problems = problems_of(o, columns);
    row.message = message_of(o);
    row.target_group_id = o.target_group_id;
    row.plan = o.plan.map(|p| p.as_str().to_string());
}

impl Session {
    /// Reads an uploaded sheet into the grid.
    pub fn open(
        dir: &Path,
        name: &str,
        upload: PathBuf,
        periods_upload: Option<PathBuf>,
    ) -> Result<Session, RunError> {
        let (summary, outcomes) = validate(&upload, periods_upload.as_deref())?;
        let mut rows = Vec::new();
        for o in outcomes.iter().filter(|o| !o.is_period_row) {
            let cells: Vec<String> = summary
                .columns
                .iter()
                .map(|c| {
                    c.and_then(|i| o.cells.as_ref()?.get(i).map(crate::template::csv_text))
                        .unwrap_or_default()
                })
                .collect();
            let mut row = GridRow {
                row: o.row,
                cells,
                status: String::new(),
                message: String::new(),
                problems: Vec::new(),
                target_group_id: None,
                plan: None,
            };
            apply_outcome(&mut row, o, &summary.columns);
            rows.push(row);
        }
        let periods = summary
            .period_rows
            .iter()
            .map(|(_, cells)| cells.iter().map(crate::template::csv_text).collect())
            .collect();
        Ok(Session {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            upload,
            periods_upload,
            sheet_name: summary.info.sheet.clone(),
            rows,
            periods,
            edited: false,
            columns: summary.columns.clone(),
            header_row: summary.header_row,
            headers: summary.headers.len(),
            edits: Default::default(),
        })
    }

    /// The uploaded file's name without its extension (the reports are named after it).
    pub fn stem(&self) -> String {
        Path::new(&self.name)
            .file_stem()
            .map(|x| x.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn counts(&self) -> GridCounts {
        let mut c = GridCounts {
            rows: self.rows.len() as u64,
            ..Default::default()
        };
        for r in &self.rows {
            if r.status == Status::Invalid.as_str() {
                c.invalid += 1;
            } else {
                c.valid += 1;
            }
            if r.problems.iter().any(|p| p.warning) {
                c.warnings += 1;
            }
        }
        c
    }

    /// The sheet as it stands: the upload until the first edit, then the work files.
    pub fn sheet_files(&self) -> (PathBuf, Option<PathBuf>) {
        if self.edited {
            let periods = self.dir.join("work-periods.csv");
            (
                self.dir.join("work.csv"),
                (!self.periods.is_empty()).then_some(periods),
            )
        } else {
            (self.upload.clone(), self.periods_upload.clone())
        }
    }

    /// Writes the work files: every grid row in template form, and the period rows.
    fn write_work(&self) -> Result<(), RunError> {
        let io = |e: std::io::Error| {
            RunError::Internal(format!("cannot write the page's work file: {e}"))
        };
        let mut out =
            csv::Writer::from_path(self.dir.join("work.csv")).map_err(|e| io(e.into()))?;
        out.write_record(COLUMNS.iter().map(|c| c.key))
            .map_err(|e| io(e.into()))?;
        for r in &self.rows {
            out.write_record(&r.cells).map_err(|e| io(e.into()))?;
        }
        out.flush().map_err(io)?;
        if !self.periods.is_empty() {
            let mut out = csv::Writer::from_path(self.dir.join("work-periods.csv"))
                .map_err(|e| io(e.into()))?;
            out.write_record(PERIOD_COLUMNS.iter().map(|c| c.key))
                .map_err(|e| io(e.into()))?;
            for p in &self.periods {
                out.write_record(p).map_err(|e| io(e.into()))?;
            }
            out.flush().map_err(io)?;
        }
        Ok(())
    }

    /// Sets one cell and validates the sheet again; returns the indexes of the rows whose
    /// status, problems or message changed (the edited row among them).
    pub fn edit(
        &mut self,
        index: usize,
        column: usize,
        value: String,
    ) -> Result<Vec<usize>, RunError> {
        let row = self.rows.get_mut(index).ok_or_else(|| {
            RunError::Input(crate::error::InputError::Usage(format!(
                "there is no grid row {index}"
            )))
        })?;
        let cell = row.cells.get_mut(column).ok_or_else(|| {
            RunError::Input(crate::error::InputError::Usage(format!(
                "there is no column {column}"
            )))
        })?;
        *cell = value;
        self.edited = true;
        self.edits.insert((index, column));
        self.write_work()?;
        let (summary, outcomes) =
            validate(&self.dir.join("work.csv"), self.sheet_files().1.as_deref())?;
        let mut changed = vec![index];
        for o in outcomes.iter().filter(|o| !o.is_period_row) {
            // work.csv: the header on line 1, grid row i on line i + 2.
            let Some(i) = (o.row as usize).checked_sub(2) else {
                continue;
            };
            let Some(r) = self.rows.get_mut(i) else {
                continue;
            };
            let before = (r.status.clone(), r.problems.clone(), r.message.clone());
            apply_outcome(r, o, &summary.columns);
            r.target_group_id = None;
            r.plan = None;
            if before != (r.status.clone(), r.problems.clone(), r.message.clone()) && i != index {
                changed.push(i);
            }
        }
        Ok(changed)
    }

    /// A CSV upload with the edits written into its own cells: its columns, its other cells,
    /// its delimiter kept (a column it lacked is added at the end).
    pub fn fixed_csv(&self) -> Result<Vec<u8>, RunError> {
        let fail = |e: String| RunError::Internal(format!("cannot write the fixed sheet: {e}"));
        let bytes = std::fs::read(&self.upload).map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let first = text.lines().next().unwrap_or_default();
        let delimiter = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|d| first.bytes().filter(|b| b == d).count())
            .unwrap_or(b',');
        let mut records: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let mut place = self.columns.clone();
        for &(index, column) in &self.edits {
            let sheet_col = match place[column] {
                Some(c) => c,
                None => {
                    let c = records.first().map_or(0, Vec::len);
                    if let Some(h) = records.first_mut() {
                        h.push(COLUMNS[column].key.to_string());
                    }
                    place[column] = Some(c);
                    c
                }
            };
            let row = &self.rows[index];
            // Row n of the sheet is record n − 1 (the header is row 1).
            let Some(record) = records.get_mut(row.row as usize - 1) else {
                continue;
            };
            if record.len() <= sheet_col {
                record.resize(sheet_col + 1, String::new());
            }
            record[sheet_col] = row.cells[column].clone();
        }
        let mut out = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(Vec::new());
        for r in &records {
            out.write_record(r).map_err(|e| fail(e.to_string()))?;
        }
        out.into_inner().map_err(|e| fail(e.to_string()))
    }

    /// The grid in template form, for a workbook whose format cannot be written back.
    pub fn template_csv(&self) -> Result<Vec<u8>, RunError> {
        let io = |e: csv::Error| RunError::Internal(format!("cannot write the fixed sheet: {e}"));
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(COLUMNS.iter().map(|c| c.key))
            .map_err(io)?;
        for r in &self.rows {
            out.write_record(&r.cells).map_err(io)?;
        }
        out.into_inner()
            .map_err(|e| RunError::Internal(format!("cannot write the fixed sheet: {e}")))
    }

    /// Whether the upload is a workbook (the fixed sheet then keeps its other sheets).
    pub fn is_workbook(&self) -> bool {
        !matches!(
            crate::sheet::format_of(&self.upload),
            Ok(crate::sheet::Format::Csv { .. })
        )
    }
}

impl Session {
    /// An XLSX or XLSM upload with the edits written into its own cells: every other sheet, cell
    /// and format kept. A column the sheet lacked gets its header after the last one. Other
    /// workbook formats (xls, xlsb, ods) cannot be written back and come as CSV.
    pub fn fixed_workbook(&self) -> Result<Vec<u8>, RunError> {
        let fail =
            |what: String| RunError::Internal(format!("cannot write the fixed workbook: {what}"));
        let mut book =
            umya_spreadsheet::reader::xlsx::read(&self.upload).map_err(|e| fail(e.to_string()))?;
        let sheet = book
            .get_sheet_by_name_mut(&self.sheet_name)
            .ok_or_else(|| fail(format!("its sheet {:?} is gone", self.sheet_name)))?;
        let mut added = 0usize;
        let mut place: Vec<Option<usize>> = self.columns.clone();
        for &(index, column) in &self.edits {
            let sheet_col = match place[column] {
                Some(c) => c,
                None => {
                    let c = self.headers + added;
                    added += 1;
                    place[column] = Some(c);
                    sheet
                        .get_cell_mut(((c + 1) as u32, self.header_row))
                        .set_value(COLUMNS[column].key);
                    c
                }
            };
            let row = &self.rows[index];
            let value = &row.cells[column];
            let cell = sheet.get_cell_mut(((sheet_col + 1) as u32, row.row));
            match value.parse::<f64>() {
                // A number typed into a text column (ids) stays text, as the template formats it.
                Ok(n)
                    if !matches!(
                        COLUMNS[column].kind,
                        crate::columns::Kind::Text { .. } | crate::columns::Kind::IdList
                    ) && n.is_finite() =>
                {
                    cell.set_value_number(n);
                }
                _ => {
                    cell.set_value(value.as_str());
                }
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out)
            .map_err(|e| fail(e.to_string()))?;
        Ok(out.into_inner())
    }

    /// Whether the fixed sheet can keep the upload's format (CSV and XLSX/XLSM can).
    pub fn keeps_format(&self) -> bool {
        let ext = self
            .upload
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        matches!(ext.as_deref(), Some("csv" | "tsv" | "xlsx" | "xlsm"))
    }
}
