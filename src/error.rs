//! Errors that stop a run before or while reading (each face maps them to its exit code).
//! Problems in the data are not errors: they are [`crate::problem::Problem`]s.

use std::path::PathBuf;

/// Something about the input or the command line that no row-level report can express.
/// Each message says what is wrong, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: file not found. Check the path (the current folder is {cwd}).")]
    NotFound { path: PathBuf, cwd: String },
    #[error("{path}: cannot read the file: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the file is empty. Export the sheet again, or pick the right file.")]
    Empty { path: PathBuf },
    #[error(
        "{path}: unsupported file type `{ext}`. Use .csv, .tsv, .xlsx, .xlsm, .xls, .xlsb or .ods."
    )]
    UnsupportedFormat { path: PathBuf, ext: String },
    #[error("{path}: not a readable {format} workbook ({detail}). Open it in Excel and save it again, or export the sheet as CSV.")]
    CorruptWorkbook {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },
    #[error("{path}: no sheet named `{sheet}`. The workbook has: {available}. Pass one of them with --sheet.")]
    NoSuchSheet {
        path: PathBuf,
        sheet: String,
        available: String,
    },
    #[error("{path}: the sheet `{sheet}` has no header row (it is empty). Put the column names on the first row; `streak-import template -o template.xlsx` makes a blank template.")]
    NoHeader { path: PathBuf, sheet: String },
    #[error("{path}: the sheet `{sheet}` has a header row but no data rows. Add one row per streak below the header.")]
    NoRows { path: PathBuf, sheet: String },
    #[error("{path}: required column `{column}` is missing from the header row{closest}. Add the column (see `streak-import template`) or rename the header.")]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        closest: String,
    },
    #[error("{path}: header `{header}` ({cell}) appears twice; which one holds `{column}` is unclear. Remove or rename one of them.")]
    DuplicateHeader {
        path: PathBuf,
        header: String,
        cell: String,
        column: &'static str,
    },
    #[error("{path}: row {row}, {cell}: a cell of {size} is larger than the {limit} a streak cell can hold. This usually means a quote (\") that is never closed earlier in the file; check row {row} and the rows above it.")]
    CellTooLarge {
        path: PathBuf,
        row: u32,
        cell: String,
        size: String,
        limit: String,
    },
    /// A workbook that would take more memory or time to read than any real sheet needs: what
    /// calamine would unpack or expand is measured before it does.
    #[error("{path}: {place}: {what}, over the limit of {limit}. {fix}")]
    WorkbookLimit {
        path: PathBuf,
        /// The sheet or the zip entry, e.g. "sheet `streaks` (xl/worksheets/sheet1.xml)".
        place: String,
        what: String,
        limit: String,
        fix: &'static str,
    },
    #[error("{path}: the header row (row {row}) has {cells} cells, more than the {limit} this tool reads; a streak sheet has about 30 columns. Check that the delimiter is right and that this is the sheet of streaks, or delete the empty columns.")]
    HeaderTooWide {
        path: PathBuf,
        row: u32,
        cells: usize,
        limit: usize,
    },
    #[error("{path}: the CSV cannot be read at row {row}: {detail}")]
    MalformedCsv {
        path: PathBuf,
        row: u32,
        detail: String,
    },
    #[error("{path}: cannot write the report: {source}. Check that the folder exists and the file is not open in Excel.")]
    ReportWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write the report: {detail}")]
    ReportXlsx { path: PathBuf, detail: String },
    #[error("{report}: the report would be written over {what} ({input}), which is the same file once links and `..` are followed; that would destroy it. Pick another --report path.")]
    ReportOverInput {
        report: PathBuf,
        what: &'static str,
        input: PathBuf,
    },
    #[error("--report {path}: unknown report type. Use a path ending in .json, .csv or .xlsx.")]
    ReportType { path: PathBuf },
    #[error("{0}")]
    Usage(String),
}

/// `1234567` → `1.2 MB`: sizes in messages are read by people.
pub fn human_size(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}
