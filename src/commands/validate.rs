//! `validate FILE` and `import FILE --dry-run`: read, validate, report; the dry run also writes
//! the exact request bodies, one JSON line per valid row.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{landed_lines, print_summary, Mode, Prepared};
use crate::cli::SheetArgs;
use crate::error::{exit, InputError};
use crate::input_hash;
use crate::outcome::RowOutcome;
use crate::pipeline::{validate_file, InputSummary, Sink};
use crate::progress::Progress;
use crate::report::{InputBlock, Landed, Records, Reports, Staged, Tally, Target};

pub fn run(args: &SheetArgs, mode: Mode) -> Result<i32, InputError> {
    let prepared = Prepared::new(args, mode)?;
    // Staged before a row is read; dropped unlanded (an error below), they leave nothing.
    let mut reports = prepared.open_reports()?;
    let mut payloads = prepared
        .payloads
        .as_ref()
        .map(PayloadWriter::create)
        .transpose()?;
    let progress = if args.quiet || args.json {
        Progress::hidden()
    } else {
        Progress::new(false)
    };
    let mut tally = Tally::default();
    let mut sink = Streamed {
        reports: &mut reports,
        payloads: payloads.as_mut(),
        tally: &mut tally,
    };
    let input = validate_file(
        &args.file,
        &prepared.options,
        prepared.now,
        &progress,
        &mut sink,
    )?;
    tally.add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    let sha = input_hash::of_input(&args.file, input.sha256.as_deref())?;
    let block = InputBlock::new(&input, &sha);
    let mut records = Records::load(&args.state_dir);
    let mut landed = reports.finish(&block, &input, &tally, None, &mut records)?;
    if let Some(w) = payloads {
        landed.push(w.finish(&mut records)?);
    }
    records.save()?;
    let (written, mut extra) = landed_lines(&landed);
    if mode == Mode::DryRun {
        extra.insert(
            0,
            format!(
                "dry run: nothing was sent; {} written",
                crate::text::plural(tally.counts.valid, "request body", "request bodies")
            ),
        );
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

/// Where a streamed run's outcomes go as they come: the tally, the reports, the dry run's bodies.
struct Streamed<'a> {
    reports: &'a mut Reports,
    payloads: Option<&'a mut PayloadWriter>,
    tally: &'a mut Tally,
}

impl Sink for Streamed<'_> {
    fn header(&mut self, summary: &InputSummary) -> Result<(), InputError> {
        self.reports.begin(summary)
    }

    fn rows(&mut self, outcomes: Vec<RowOutcome>) -> Result<(), InputError> {
        for o in &outcomes {
            self.tally.add(o);
            if let Some(w) = self.payloads.as_mut() {
                w.row(o)?;
            }
            self.reports.row(o)?;
        }
        Ok(())
    }
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

/// Writes the request bodies of rows held in memory (the dry run with a server preview) to a
/// staged file, landed with the reports at the end.
pub fn stage_payloads(target: &Target, rows: &[RowOutcome]) -> Result<Staged, InputError> {
    let mut w = PayloadWriter::create(target)?;
    for o in rows {
        w.row(o)?;
    }
    w.close()
}

/// The dry run's request bodies: `{"row": 7, "body": {…}}` per valid row, in input order.
struct PayloadWriter {
    staged: Staged,
    out: BufWriter<File>,
}

impl PayloadWriter {
    fn create(target: &Target) -> Result<Self, InputError> {
        let (staged, file) = Staged::create(target)?;
        Ok(PayloadWriter {
            staged,
            out: BufWriter::new(file),
        })
    }

    fn error(&self) -> impl Fn(std::io::Error) -> InputError + '_ {
        |source| InputError::ReportWrite {
            path: self.staged.target().to_path_buf(),
            source,
        }
    }

    fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let Some(body) = &o.payload else {
            return Ok(());
        };
        let line = serde_json::json!({ "row": o.row, "body": body });
        writeln!(self.out, "{line}").map_err(|source| InputError::ReportWrite {
            path: self.staged.target().to_path_buf(),
            source,
        })
    }

    /// The finished file, still staged.
    fn close(mut self) -> Result<Staged, InputError> {
        self.out.flush().map_err(self.error())?;
        drop(self.out);
        Ok(self.staged)
    }

    fn finish(self, records: &mut Records) -> Result<Landed, InputError> {
        self.close()?.land(records)
    }
}
