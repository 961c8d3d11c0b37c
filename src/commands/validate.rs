//! `validate FILE` and `import FILE --dry-run`: read, validate, report; the dry run also writes
//! the exact request bodies, one JSON line per valid row.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{print_summary, Mode, Prepared};
use crate::cli::SheetArgs;
use crate::error::{exit, InputError};
use crate::input_hash;
use crate::outcome::RowOutcome;
use crate::pipeline::validate_file;
use crate::progress::Progress;
use crate::report::{InputBlock, Reports, Tally};

pub fn run(args: &SheetArgs, mode: Mode) -> Result<i32, InputError> {
    let prepared = Prepared::new(args, mode)?;
    let report_paths = &prepared.report_paths;

    let mut reports = Reports::open(report_paths, &prepared.meta)?;
    let payload_path = (mode == Mode::DryRun).then(|| payloads_path(&report_paths[0]));
    let mut payloads = match &payload_path {
        Some(p) => Some(PayloadWriter::create(p)?),
        None => None,
    };
    let progress = if args.quiet || args.json {
        Progress::hidden()
    } else {
        Progress::new(false)
    };
    let mut tally = Tally::default();
    let result = validate_file(
        &args.file,
        &prepared.options,
        prepared.now,
        &progress,
        &mut |outcomes: Vec<RowOutcome>| {
            for o in &outcomes {
                tally.add(o);
                if let Some(w) = payloads.as_mut() {
                    w.row(o)?;
                }
                reports.row(o)?;
            }
            Ok(())
        },
    );
    let input = match result {
        Ok(input) => input,
        Err(e) => {
            // Nothing half-written is left behind to be mistaken for a result.
            drop(reports);
            drop(payloads);
            for p in report_paths.iter().chain(payload_path.iter()) {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    tally.add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    let sha = input_hash::of_input(&args.file, input.sha256.as_deref())?;
    let block = InputBlock::new(&input, &sha);
    let mut written: Vec<PathBuf> = reports.paths().to_vec();
    reports.finish(&block, &input, &tally)?;
    if let (Some(w), Some(p)) = (payloads, &payload_path) {
        w.finish()?;
        written.push(p.clone());
    }
    let mut extra = Vec::new();
    if mode == Mode::DryRun {
        extra.push(format!(
            "dry run: nothing was sent; {} request bodies written",
            tally.counts.valid
        ));
    }
    print_summary(
        mode.as_str(),
        args,
        &input,
        &block,
        &tally,
        &written,
        &extra,
        serde_json::json!({}),
    );
    Ok(if tally.all_good() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    })
}

/// `<stem>.payloads.jsonl` beside the first report.
pub fn payloads_path(report: &Path) -> PathBuf {
    let name = report
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("input");
    let stem = name.split(".report.").next().unwrap_or(name);
    let stem = stem
        .strip_suffix(".json")
        .or_else(|| stem.strip_suffix(".csv"))
        .or_else(|| stem.strip_suffix(".xlsx"))
        .unwrap_or(stem);
    report.with_file_name(format!("{stem}.payloads.jsonl"))
}

/// Writes the request bodies of rows held in memory (the dry run with a server preview).
pub fn write_payloads(path: &Path, rows: &[RowOutcome]) -> Result<(), InputError> {
    let mut w = PayloadWriter::create(path)?;
    for o in rows {
        w.row(o)?;
    }
    w.finish()
}

/// The dry run's request bodies: `{"row": 7, "body": {…}}` per valid row, in input order.
struct PayloadWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl PayloadWriter {
    fn create(path: &Path) -> Result<Self, InputError> {
        let file = File::create(path).map_err(|source| InputError::ReportWrite {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(PayloadWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let Some(body) = &o.payload else {
            return Ok(());
        };
        let line = serde_json::json!({ "row": o.row, "body": body });
        writeln!(self.out, "{line}").map_err(|source| InputError::ReportWrite {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(mut self) -> Result<(), InputError> {
        self.out.flush().map_err(|source| InputError::ReportWrite {
            path: self.path.clone(),
            source,
        })
    }
}
