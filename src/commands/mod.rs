//! One module per command; each turns parsed flags into a run of the pipeline. What the
//! commands share — checking the common flags, and writing reports and the summary at the end —
//! lives here.

pub mod import;
pub mod sandbox;
pub mod template;
pub mod validate;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::cli::{check_date_format, parse_time_zone, SheetArgs};
use crate::clock::Now;
use crate::error::InputError;
use crate::mapping::Mapping;
use crate::outcome::RowOutcome;
use crate::pipeline::{InputSummary, ReadOptions};
use crate::report::{self, terminal, InputBlock, Reports, RunMeta, Tally};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Validate,
    DryRun,
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Validate => "validate",
            Mode::DryRun => "dry-run",
            Mode::Import => "import",
        }
    }
}

/// The common flags, checked before any row is read so a typo is one message, not one per row.
pub struct Prepared {
    pub now: Now,
    pub options: ReadOptions,
    pub report_paths: Vec<PathBuf>,
    pub meta: RunMeta,
}

impl Prepared {
    pub fn new(args: &SheetArgs, mode: Mode) -> Result<Self, InputError> {
        let now = Now::from_env()?;
        if let Some(f) = &args.date_format {
            check_date_format(f)?;
        }
        let time_zone = args.time_zone.as_deref().map(parse_time_zone).transpose()?;
        let mapping = args
            .map
            .as_deref()
            .map(|m| Mapping::load(m, args.date_format.as_deref()))
            .transpose()?;
        crate::sheet::check_file(&args.file)?;
        let report_paths = if args.report.is_empty() {
            report::default_paths(&args.file)
        } else {
            args.report.clone()
        };
        let mut keep_cells = false;
        for p in &report_paths {
            keep_cells |= report::ReportKind::of(p)? == report::ReportKind::Xlsx;
        }
        Ok(Prepared {
            now,
            options: ReadOptions {
                sheet: args.sheet.clone(),
                periods_file: args.periods.clone(),
                date_format: args.date_format.clone(),
                time_zone,
                mapping,
                keep_cells,
                build_payload: mode != Mode::Validate,
            },
            report_paths,
            meta: RunMeta {
                mode: mode.as_str(),
                started_at: started_at(),
            },
        })
    }
}

fn started_at() -> DateTime<Utc> {
    Utc::now()
}

/// Writes every report from outcomes held in memory (import), and prints the summary.
#[allow(clippy::too_many_arguments)]
pub fn write_reports(
    prepared: &Prepared,
    args: &SheetArgs,
    input: &InputSummary,
    sha256: &str,
    rows: &[RowOutcome],
    extra_files: &[PathBuf],
    extra_lines: &[String],
    json_extra: serde_json::Value,
) -> Result<Tally, InputError> {
    let mut reports = Reports::open(&prepared.report_paths, &prepared.meta)?;
    let mut tally = Tally::default();
    for o in rows {
        tally.add(o);
        reports.row(o)?;
    }
    tally.add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    let block = InputBlock::new(input, sha256);
    let mut written = reports.paths().to_vec();
    reports.finish(&block, input, &tally)?;
    written.extend(extra_files.iter().cloned());
    print_summary(
        prepared.meta.mode,
        args,
        input,
        &block,
        &tally,
        &written,
        extra_lines,
        json_extra,
    );
    Ok(tally)
}

#[allow(clippy::too_many_arguments)]
pub fn print_summary(
    mode: &str,
    args: &SheetArgs,
    input: &InputSummary,
    block: &InputBlock,
    tally: &Tally,
    written: &[PathBuf],
    extra_lines: &[String],
    json_extra: serde_json::Value,
) {
    if args.json {
        let mut summary = serde_json::json!({
            "mode": mode,
            "input": block,
            "summary": tally.counts,
            "period_rows_invalid": tally.period_rows_invalid,
            "reports": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        if let (Some(obj), serde_json::Value::Object(extra)) = (summary.as_object_mut(), json_extra)
        {
            obj.extend(extra);
        }
        println!("{summary}");
    } else if !args.quiet {
        print!(
            "{}",
            terminal::render(mode, input, tally, written, extra_lines)
        );
    }
}
