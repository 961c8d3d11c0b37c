//! Reports (SPEC §5): JSON and CSV stream row by row; the annotated workbook and the terminal
//! summary are written at the end. All of them read the same [`RowOutcome`]s.

mod csv_report;
mod json_report;
pub(crate) mod landing;
mod xlsx_report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::check::InputSummary;
use crate::error::InputError;
use crate::outcome::{RowOutcome, Status};
use crate::problem::{Code, Problem};

pub use landing::{Landed, Records, Staged, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Json,
    Csv,
    Xlsx,
}

impl ReportKind {
    pub fn of(path: &Path) -> Result<Self, InputError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(ReportKind::Json),
            Some("csv") => Ok(ReportKind::Csv),
            Some("xlsx") => Ok(ReportKind::Xlsx),
            _ => Err(InputError::ReportType {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The reports of a run: the `--report` paths, or without any, the default ones.
pub fn targets(input: &Path, explicit: &[PathBuf]) -> Vec<Target> {
    if explicit.is_empty() {
        default_paths(input)
            .into_iter()
            .map(|path| Target {
                path,
                default: true,
            })
            .collect()
    } else {
        explicit
            .iter()
            .map(|path| Target {
                path: path.clone(),
                default: false,
            })
            .collect()
    }
}

/// Without `--report`: `<stem>.report.json` beside the input, plus `.report.xlsx` for a workbook
/// or `.report.csv` for a CSV.
pub fn default_paths(input: &Path) -> Vec<PathBuf> {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("input");
    let beside = |ext: &str| input.with_file_name(format!("{stem}.report.{ext}"));
    let second = match crate::sheet::format_of(input) {
        Ok(crate::sheet::Format::Csv { .. }) => "csv",
        _ => "xlsx",
    };
    vec![beside("json"), beside(second)]
}

/// Row counts for the main sheet. `valid` is every row that passed validation, in every mode;
/// the outcome counts are this run's: `created` now, `already_done` by earlier runs of the same
/// file (their journal), `existing` there before anything was sent.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub created: u64,
    pub already_done: u64,
    pub existing: u64,
    pub failed: u64,
    pub not_sent: u64,
    /// Matched a live streak that differs in what can change (not applied without `--update`).
    #[serde(skip_serializing_if = "is_zero")]
    pub differs: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub updated: u64,
    /// Matched a live streak that differs in what is fixed after creation.
    #[serde(skip_serializing_if = "is_zero")]
    pub conflict: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The API a run talked to and how it went, for every summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApiBlock {
    pub base_url: String,
    pub sandbox: bool,
    pub requests: u64,
    pub rate_limited: u64,
    pub retries: u64,
    /// The pace at the end (requests per second) when the server's limit was met or
    /// `--rate-limit` set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pace_per_sec: Option<f64>,
}

/// What the summary shows of one code: how many problems, on how many rows, the first examples.
#[derive(Debug, Clone, Default)]
pub struct CodeTally {
    pub count: u64,
    pub examples: Vec<(String, u32, Problem)>,
}

/// Everything the end-of-run summaries need, gathered as rows go by.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub counts: Counts,
    /// Rows of the periods sheet with problems.
    pub period_rows_invalid: u64,
    pub errors: BTreeMap<Code, CodeTally>,
    pub warnings: BTreeMap<Code, CodeTally>,
    /// The first rows that differ from their live streaks: (row, name, plan or status, changes).
    pub differences: Vec<(u32, String, &'static str, Vec<crate::outcome::Change>)>,
}

/// How many examples of each code the summary shows.
pub const EXAMPLES_PER_CODE: usize = 3;

impl Tally {
    pub fn add(&mut self, o: &RowOutcome) {
        if !o.is_period_row {
            let c = &mut self.counts;
            c.rows += 1;
            if o.status == Status::Invalid {
                c.invalid += 1;
            } else {
                c.valid += 1;
            }
            match o.status {
                Status::Created | Status::Existing if o.done_earlier => c.already_done += 1,
                Status::Created => c.created += 1,
                Status::Existing => c.existing += 1,
                Status::Failed => c.failed += 1,
                Status::NotSent => c.not_sent += 1,
                Status::Updated if o.done_earlier => c.already_done += 1,
                Status::Differs => c.differs += 1,
                Status::Updated => c.updated += 1,
                Status::Conflict => c.conflict += 1,
                Status::Valid | Status::Invalid => {}
            }
        } else if o.status == Status::Invalid {
            self.period_rows_invalid += 1;
        }
        if !o.changes.is_empty() && self.differences.len() < EXAMPLES_PER_CODE * 2 {
            let what = o.plan.map_or(o.status.as_str(), |p| p.as_str());
            self.differences
                .push((o.row, o.name.clone(), what, o.changes.clone()));
        }
        for (list, map) in [
            (&o.errors, &mut self.errors),
            (&o.warnings, &mut self.warnings),
        ] {
            for p in list {
                let t = map.entry(p.code).or_default();
                t.count += 1;
                if t.examples.len() < EXAMPLES_PER_CODE {
                    t.examples.push((o.sheet.to_string(), o.row, p.clone()));
                }
            }
        }
    }

    /// Sheet-level warnings (unknown columns) count once each.
    pub fn add_sheet_warnings(&mut self, sheet: &str, row: u32, warnings: &[Problem]) {
        for p in warnings {
            let t = self.warnings.entry(p.code).or_default();
            t.count += 1;
            if t.examples.len() < EXAMPLES_PER_CODE {
                t.examples.push((sheet.to_string(), row, p.clone()));
            }
        }
    }

    pub fn all_good(&self) -> bool {
        let c = &self.counts;
        c.invalid == 0
            && c.failed == 0
            && c.not_sent == 0
            && c.differs == 0
            && c.conflict == 0
            && self.period_rows_invalid == 0
    }
}

/// The facts about a run that every report's header carries.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub mode: &'static str,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputBlock {
    pub path: String,
    pub sha256: String,
    pub sheet: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periods: Option<String>,
}

impl InputBlock {
    pub fn new(input: &InputSummary, sha256: &str) -> Self {
        InputBlock {
            path: input.info.path.display().to_string(),
            sha256: sha256.to_string(),
            sheet: input.info.sheet.clone(),
            format: input.info.format.clone(),
            dialect: input.info.dialect.clone(),
            periods: input.periods_source.clone(),
        }
    }
}

/// The open report files of a run, each written to its staged file until [`Reports::finish`]
/// lands them.
pub struct Reports {
    json: Vec<json_report::JsonReport>,
    csv: Vec<csv_report::CsvReport>,
    xlsx: Vec<xlsx_report::XlsxReport>,
    staged: Vec<Staged>,
}

impl Reports {
    /// Creates every report's staged file: a report that cannot be written fails here, before
    /// the run reads a row or sends a request.
    pub fn open(targets: &[Target], meta: &RunMeta) -> Result<Self, InputError> {
        let mut r = Reports {
            json: Vec::new(),
            csv: Vec::new(),
            xlsx: Vec::new(),
            staged: Vec::new(),
        };
        for t in targets {
            let kind = ReportKind::of(&t.path)?;
            let (staged, file) = Staged::create(t)?;
            match kind {
                ReportKind::Json => r
                    .json
                    .push(json_report::JsonReport::create(file, &t.path, meta)?),
                ReportKind::Csv => r.csv.push(csv_report::CsvReport::create(file, &t.path)?),
                ReportKind::Xlsx => r
                    .xlsx
                    .push(xlsx_report::XlsxReport::new(&t.path, staged.temp_path())),
            }
            r.staged.push(staged);
        }
        Ok(r)
    }

    /// The header is read: the workbook reports open the sheets rows are written to as they
    /// come. Called before the first row.
    pub fn begin(&mut self, summary: &InputSummary) -> Result<(), InputError> {
        for x in &mut self.xlsx {
            x.begin(summary)?;
        }
        Ok(())
    }

    pub fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        for j in &mut self.json {
            j.row(o)?;
        }
        for c in &mut self.csv {
            c.row(o)?;
        }
        for x in &mut self.xlsx {
            x.row(o)?;
        }
        Ok(())
    }

    /// Finishes every report and moves each into place (see `landing`).
    pub fn finish(
        self,
        input: &InputBlock,
        summary: &InputSummary,
        tally: &Tally,
        api: Option<&ApiBlock>,
        records: &mut Records,
    ) -> Result<Vec<Landed>, InputError> {
        for j in self.json {
            j.finish(input, summary, tally, api)?;
        }
        for c in self.csv {
            c.finish(&summary.info.sheet, &summary.warnings)?;
        }
        for x in self.xlsx {
            x.finish(summary, tally, api)?;
        }
        self.staged.into_iter().map(|s| s.land(records)).collect()
    }
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> InputError + '_ {
    move |source| InputError::ReportWrite {
        path: path.to_path_buf(),
        source,
    }
}
