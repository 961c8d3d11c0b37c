//! The runner: validate, dry-run and import from plain options, returning a typed result. It
//! prints nothing and picks no exit code; it reports progress through [`Progress`]; it runs
//! inside whatever tokio runtime calls it (the import is `async`, and its CPU-bound validation
//! goes to a blocking thread). Every face — the command line, and later a web page — turns its
//! input into these options, calls [`validate`] or [`import`], and presents the [`RunResult`].

mod connect;
mod error;
mod export;
mod live;
mod payloads;
pub(crate) mod pipeline;
mod prepare;
mod preview;
mod undo;

use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

pub use crate::check::InputSummary;
pub use crate::post::Ended;
pub use connect::{cluster_url, parse_base_url, ClientOptions, SandboxInfo, Target};
pub use error::RunError;
pub use export::{export, periods_path, ExportOptions, ExportResult};
pub use live::LiveCounts;
pub use pipeline::{validate_file, ReadOptions, Sink};
pub use prepare::parse_time_zone;
pub use preview::PlanCounts;
pub use undo::{undo, UndoCounts, UndoOptions, UndoOutcome, UndoResult, UndoRow};

use crate::outcome::{RowOutcome, Status};
use crate::post::journal::Journal;
use crate::post::{post_all, PostCounts};
use crate::progress::Progress;
use crate::report::{ApiBlock, InputBlock, Landed, Records, Tally};
use prepare::Prepared;

/// How a run reads its sheet and where its reports go.
#[derive(Debug, Clone, Default)]
pub struct SheetOptions {
    pub file: PathBuf,
    /// The worksheet: default the sheet named `streaks`, else the first.
    pub sheet: Option<String>,
    /// Explicit periods for a CSV (a workbook uses its `periods` sheet).
    pub periods: Option<PathBuf>,
    /// Reports to write; none means the default ones beside the input.
    pub reports: Vec<PathBuf>,
    /// A chrono format for dates written as text other than ISO.
    pub date_format: Option<String>,
    /// The zone of rows without one.
    pub time_zone: Option<Tz>,
    /// A legacy export's map (TOML).
    pub map: Option<PathBuf>,
    /// What the tool remembers between runs (journals, the record of written reports).
    pub state_dir: PathBuf,
}

/// What a run does with the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Validate,
    /// Everything but the requests: validation, reports, the request bodies; with an API, the
    /// server's plan too.
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

/// Where and how an import (or a dry run's preview) talks to the API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub target: Target,
    pub client: ClientOptions,
    /// Post nothing when any row is invalid.
    pub strict: bool,
    /// Ignore earlier runs of the same file (their journal is moved aside).
    pub fresh: bool,
    /// Apply what differs from a live streak and can change (`import --update`).
    pub update: bool,
}

/// What a run did. Every count and every fact a summary shows is here, typed.
#[derive(Debug)]
pub struct RunResult {
    pub mode: Mode,
    pub input: InputSummary,
    pub block: InputBlock,
    pub tally: Tally,
    /// Where each report landed (and the edited reports it left alone).
    pub landed: Vec<Landed>,
    /// The API and how the requests went, when the run talked to one.
    pub api: Option<ApiBlock>,
    pub sandbox: Option<SandboxInfo>,
    pub ended: Ended,
    pub journal: Option<PathBuf>,
    /// Unreadable journal lines, skipped (file and line each).
    pub journal_warnings: Vec<String>,
    pub posted: PostCounts,
    /// `--strict` with invalid rows: how many, and nothing was sent.
    pub strict_held: Option<u64>,
    /// A dry run's server plan.
    pub plan: Option<PlanCounts>,
    /// A dry run's request bodies written.
    pub bodies: Option<u64>,
    /// An import's comparison of existing rows with their live streaks.
    pub live: Option<LiveCounts>,
}

impl RunResult {
    /// A run that has read its input and done nothing else yet.
    fn read(mode: Mode, input: InputSummary, block: InputBlock) -> RunResult {
        RunResult {
            mode,
            input,
            block,
            tally: Tally::default(),
            landed: Vec::new(),
            api: None,
            sandbox: None,
            ended: Ended::Done,
            journal: None,
            journal_warnings: Vec::new(),
            posted: PostCounts::default(),
            strict_held: None,
            plan: None,
            bodies: None,
            live: None,
        }
    }

    /// Every row valid, created or already there, and the run not stopped.
    pub fn all_good(&self) -> bool {
        matches!(self.ended, Ended::Done) && self.tally.all_good()
    }
}

/// Validates a sheet offline (`Validate`, or a `DryRun` without an API): the rows stream from
/// the reader to the reports, so memory stays flat however long the sheet.
pub fn validate(
    sheet: &SheetOptions,
    mode: Mode,
    progress: &dyn Progress,
) -> Result<RunResult, RunError> {
    let prepared = Prepared::new(sheet, mode)?;
    // Staged before a row is read; dropped unlanded (an error below), they leave nothing.
    let mut reports = prepared.open_reports()?;
    let mut payloads = prepared
        .payloads
        .as_ref()
        .map(payloads::PayloadWriter::create)
        .transpose()?;
    let mut tally = Tally::default();
    let mut sink = payloads::Streamed {
        reports: &mut reports,
        payloads: payloads.as_mut(),
        tally: &mut tally,
    };
    let input = validate_file(
        &sheet.file,
        &prepared.options,
        prepared.now,
        progress,
        &mut sink,
    )?;
    tally.add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    let sha = crate::input_hash::of_input(&sheet.file, input.sha256.as_deref())?;
    let block = InputBlock::new(&input, &sha);
    let mut records = Records::load(&sheet.state_dir);
    let mut landed = reports.finish(&block, &input, &tally, None, &mut records)?;
    let bodies = payloads.is_some().then_some(tally.counts.valid);
    if let Some(w) = payloads {
        landed.push(w.finish(&mut records)?);
    }
    records.save()?;
    Ok(RunResult {
        tally,
        landed,
        bodies,
        ..RunResult::read(mode, input, block)
    })
}

/// Validates a sheet, then imports its valid rows (or, `dry_run`, asks the API which names
/// exist and sends nothing). `interrupt` is Ctrl-C: no new requests, every wait ends.
pub async fn import(
    sheet: &SheetOptions,
    api: &ApiOptions,
    dry_run: bool,
    progress: Arc<dyn Progress>,
    interrupt: CancellationToken,
) -> Result<RunResult, RunError> {
    let mode = if dry_run { Mode::DryRun } else { Mode::Import };
    let prepared = Prepared::new(sheet, mode)?;
    let (mut rows, input) = {
        let (file, options, now, watcher) = (
            sheet.file.clone(),
            prepared.options.clone(),
            prepared.now,
            progress.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let mut rows: Vec<RowOutcome> = Vec::new();
            let input = validate_file(&file, &options, now, watcher.as_ref(), &mut |outcomes| {
                rows.extend(outcomes);
                Ok(())
            })?;
            Ok::<_, RunError>((rows, input))
        })
        .await
        .map_err(|e| RunError::Internal(format!("the validation thread: {e}")))??
    };
    let sha = crate::input_hash::of_input(&sheet.file, input.sha256.as_deref())?;
    let invalid = rows.iter().filter(|r| r.status == Status::Invalid).count() as u64;
    // Every report is created now: one that cannot be written stops the run before anything
    // is sent (dropped unlanded, the staged files are removed).
    let mut reports = prepared.open_reports()?;
    let block = InputBlock::new(&input, &sha);
    let mut result = RunResult::read(mode, input, block);
    let mut extra_files = Vec::new();
    if dry_run {
        if let Some(target) = &prepared.payloads {
            extra_files.push(payloads::stage_payloads(target, &rows)?);
        }
        let connection = connect::connect(&api.target, &api.client).await?;
        let plan = preview::preview(
            &mut rows,
            connection.client.clone(),
            api.client.concurrency,
            progress.as_ref(),
        )
        .await;
        result.api = Some(connection.api_block());
        result.sandbox = connection.sandbox_info.clone();
        connection.close().await;
        result.plan = Some(PlanCounts { invalid, ..plan? });
    } else if api.strict && invalid > 0 {
        for r in rows.iter_mut().filter(|r| r.status == Status::Valid) {
            r.status = Status::NotSent;
        }
        result.strict_held = Some(invalid);
    } else {
        let (journal, previous) = Journal::open(&sheet.state_dir, &sha, api.fresh)?;
        result.journal = Some(journal.path().to_path_buf());
        for w in &previous.warnings {
            progress.warning(&format!("journal {w}"));
        }
        result.journal_warnings = previous.warnings.clone();
        let connection = connect::connect(&api.target, &api.client).await?;
        let journal = Arc::new(std::sync::Mutex::new(journal));
        let (mut ended, counts) = post_all(
            &mut rows,
            connection.client.clone(),
            journal.clone(),
            &previous,
            api.client.concurrency,
            api.client.timeout,
            interrupt.clone(),
            progress.as_ref(),
        )
        .await;
        if matches!(ended, Ended::Done) {
            let apply = api.update.then(|| live::Apply {
                journal: journal.clone(),
                timeout: api.client.timeout,
            });
            let (live, stop, journal_error) = live::reconcile(
                &mut rows,
                connection.client.clone(),
                apply.as_ref(),
                &previous,
                api.client.concurrency,
                &interrupt,
                progress.as_ref(),
            )
            .await;
            result.live = Some(live);
            ended = match (journal_error, stop) {
                (Some(e), _) => Ended::Journal(e),
                (None, Some(s)) => Ended::Stopped(s),
                (None, None) if interrupt.is_cancelled() => Ended::Interrupted,
                (None, None) => Ended::Done,
            };
        }
        for r in rows.iter_mut().filter(|r| r.status == Status::Valid) {
            // Rows naming a streak by id that the run never reached.
            r.status = Status::NotSent;
            r.note = Some("the run stopped before this row was compared with its streak".into());
        }
        result.api = Some(connection.api_block());
        result.sandbox = connection.sandbox_info.clone();
        connection.close().await;
        result.ended = ended;
        result.posted = counts;
    }
    let mut records = Records::load(&sheet.state_dir);
    reports.begin(&result.input)?;
    for o in &rows {
        result.tally.add(o);
        reports.row(o)?;
    }
    let input = &result.input;
    result
        .tally
        .add_sheet_warnings(&input.info.sheet, input.header_row, &input.warnings);
    result.landed = reports.finish(
        &result.block,
        &result.input,
        &result.tally,
        result.api.as_ref(),
        &mut records,
    )?;
    for staged in extra_files {
        result.landed.push(staged.land(&mut records)?);
    }
    records.save()?;
    Ok(result)
}

#[cfg(test)]
mod tests;
