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
use crate::report::landing::{self, Protected};
use crate::report::{
    self, terminal, ApiBlock, InputBlock, Landed, Records, Reports, RunMeta, Staged, Tally, Target,
};
use crate::text::plural;

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
    /// Where the reports go, checked never to be an input.
    pub targets: Vec<Target>,
    /// The dry run's request bodies, beside the first report.
    pub payloads: Option<Target>,
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
        if let Some(periods) = &args.periods {
            crate::sheet::check_file(periods)
                .map_err(|e| InputError::Usage(format!("--periods {}: {e}", periods.display())))?;
        }
        let targets = report::targets(&args.file, &args.report);
        let mut keep_cells = false;
        for t in &targets {
            keep_cells |= report::ReportKind::of(&t.path)? == report::ReportKind::Xlsx;
        }
        let payloads = (mode == Mode::DryRun).then(|| Target {
            path: validate::payloads_path(&targets[0].path),
            default: targets[0].default,
        });
        let sibling = crate::pipeline::periods_beside(&args.file);
        let mut protected = vec![Protected {
            path: &args.file,
            what: "the input sheet",
        }];
        if let Some(p) = &args.periods {
            protected.push(Protected {
                path: p,
                what: "the --periods file",
            });
        } else if sibling.is_file() {
            protected.push(Protected {
                path: &sibling,
                what: "the periods file beside the input",
            });
        }
        if let Some(m) = &args.map {
            protected.push(Protected {
                path: m,
                what: "the --map file",
            });
        }
        landing::check_targets(
            &targets
                .iter()
                .chain(payloads.iter())
                .cloned()
                .collect::<Vec<_>>(),
            &protected,
        )?;
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
            targets,
            payloads,
            meta: RunMeta {
                mode: mode.as_str(),
                started_at: started_at(),
            },
        })
    }

    /// Creates every report's staged file (see [`landing`]), before reading or sending.
    pub fn open_reports(&self) -> Result<Reports, InputError> {
        Reports::open(&self.targets, &self.meta)
    }
}

fn started_at() -> DateTime<Utc> {
    Utc::now()
}

/// Where the files of a run landed, and a line for each edited report that was kept.
pub fn landed_lines(landed: &[Landed]) -> (Vec<PathBuf>, Vec<String>) {
    let paths = landed.iter().map(|l| l.path.clone()).collect();
    let lines = landed
        .iter()
        .filter_map(|l| {
            let kept = l.kept.as_ref()?;
            Some(format!(
                "{} was changed since this tool wrote it (or was not written by it): kept as it is; this run's report is {}",
                kept.display(),
                l.path.display()
            ))
        })
        .collect();
    (paths, lines)
}

/// The summary's account of the API: where, and how the requests went.
fn api_lines(api: &ApiBlock) -> Vec<String> {
    let mut traffic = format!(
        "{}: {} answered 429 (rate limited), {}",
        plural(api.requests, "request", "requests"),
        api.rate_limited,
        plural(api.retries, "retry", "retries"),
    );
    match api.pace_per_sec {
        Some(pace) if api.rate_limited > 0 => {
            traffic += &format!("; the server's limit was met, pace at the end {pace:.1}/s")
        }
        Some(pace) => traffic += &format!("; pace {pace:.1}/s (--rate-limit)"),
        None if api.requests > 0 => traffic += "; no rate limit met",
        None => {}
    }
    let mut lines = Vec::new();
    if !api.sandbox {
        lines.push(format!("API: {}", api.base_url));
    }
    lines.push(traffic);
    lines
}

/// Writes every report from outcomes held in memory (import), and prints the summary.
#[allow(clippy::too_many_arguments)]
pub fn write_reports(
    mut reports: Reports,
    prepared: &Prepared,
    args: &SheetArgs,
    input: &InputSummary,
    sha256: &str,
    rows: &[RowOutcome],
    extra_staged: Vec<Staged>,
    extra_lines: &[String],
    api: Option<&ApiBlock>,
    mut json_extra: serde_json::Value,
) -> Result<Tally, InputError> {
    let mut records = Records::load(&args.state_dir);
    let mut tally = Tally::default();
    reports.begin(input)?;
    for o in rows {
        tally.add(o);
        reports.row(o)?;
    }
    tally.add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    let block = InputBlock::new(input, sha256);
    let mut landed = reports.finish(&block, input, &tally, api, &mut records)?;
    for staged in extra_staged {
        landed.push(staged.land(&mut records)?);
    }
    records.save()?;
    let (written, mut lines) = landed_lines(&landed);
    lines.splice(0..0, extra_lines.iter().cloned());
    if let Some(api) = api {
        lines.splice(0..0, api_lines(api));
        json_extra["api"] = serde_json::to_value(api).unwrap_or_default();
    }
    print_summary(
        prepared.meta.mode,
        args,
        input,
        &block,
        &tally,
        &written,
        &lines,
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
    if args.quiet {
        // Quiet is for CI logs: no progress, no detail, but never an exit 1 without a reason.
        eprint!("{}", terminal::render_quiet(tally, written));
    }
}
