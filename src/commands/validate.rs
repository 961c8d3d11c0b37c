//! `validate FILE` and `import FILE --dry-run`: read, validate, report; the dry run also writes
//! the exact request bodies, one JSON line per valid row.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::Mode;
use crate::cli::{check_date_format, parse_time_zone, SheetArgs};
use crate::clock::Now;
use crate::error::{exit, InputError};
use crate::outcome::RowOutcome;
use crate::pipeline::{validate_file, ReadOptions};
use crate::progress::Progress;
use crate::report::{self, terminal, InputBlock, Reports, RunMeta, Tally};

pub fn run(args: &SheetArgs, mode: Mode) -> Result<i32, InputError> {
    let now = Now::from_env()?;
    if let Some(f) = &args.date_format {
        check_date_format(f)?;
    }
    let time_zone = args.time_zone.as_deref().map(parse_time_zone).transpose()?;
    crate::sheet::check_file(&args.file)?;
    let report_paths = if args.report.is_empty() {
        report::default_paths(&args.file)
    } else {
        args.report.clone()
    };
    for p in &report_paths {
        report::ReportKind::of(p)?;
    }
    let meta = RunMeta {
        mode: mode.as_str(),
        started_at: Utc::now(),
    };
    // Hashing runs beside the pipeline: it reads the file from the page cache on its own core.
    let hash_path = args.file.clone();
    let hasher = std::thread::spawn(move || sha256_file(&hash_path));

    let mut reports = Reports::open(&report_paths, &meta)?;
    let options = ReadOptions {
        sheet: args.sheet.clone(),
        periods_file: args.periods.clone(),
        date_format: args.date_format.clone(),
        time_zone,
        keep_cells: reports.needs_cells(),
    };
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
        &options,
        now,
        &progress,
        &mut |o: RowOutcome| {
            tally.add(&o);
            if let Some(w) = payloads.as_mut() {
                w.row(&o)?;
            }
            reports.row(&o)
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
    let sha = hasher
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("hashing thread failed")))
        .map_err(|source| InputError::Unreadable {
            path: args.file.clone(),
            source,
        })?;
    let block = InputBlock::new(&input, &sha);
    let mut written: Vec<PathBuf> = reports.paths().to_vec();
    reports.finish(&block, &input, &tally)?;
    if let (Some(w), Some(p)) = (payloads, &payload_path) {
        w.finish()?;
        written.push(p.clone());
    }

    if args.json {
        let summary = serde_json::json!({
            "mode": mode.as_str(),
            "input": block,
            "summary": tally.counts,
            "period_rows_invalid": tally.period_rows_invalid,
            "reports": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        println!("{summary}");
    } else if !args.quiet {
        let mut extra = Vec::new();
        if mode == Mode::DryRun {
            extra.push(format!(
                "dry run: nothing was sent; {} request bodies written",
                tally.counts.valid
            ));
        }
        print!(
            "{}",
            terminal::render(mode.as_str(), &input, &tally, &written, &extra)
        );
    }
    Ok(if tally.all_good() {
        exit::OK
    } else {
        exit::ROWS_FAILED
    })
}

/// `<stem>.payloads.jsonl` beside the first report.
fn payloads_path(report: &Path) -> PathBuf {
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

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
