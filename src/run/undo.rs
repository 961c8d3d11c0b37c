//! `undo RUN`: deletes the streaks one import created — and only those. RUN is that import's
//! JSON report, or its input file (whose journal holds the run). Each id is read first and
//! deleted only while it still carries the name the run created; each delete is journaled
//! (intent, outcome) in an undo journal of its own, so an undo resumes after a kill and a second
//! undo deletes nothing more. Rows the run found `existing`, or updated, are never touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{connect, ApiOptions, RunError, SandboxInfo};
use crate::error::InputError;
use crate::post::api::{Changed, Halt, LiveError, Stop};
use crate::post::journal::{ChangeEntry, CreatedRow, Journal, JournalError};
use crate::progress::Progress;
use crate::report::landing::{Landed, Records, Staged, Target};
use crate::report::ApiBlock;

#[derive(Debug, Clone)]
pub struct UndoOptions {
    /// The import's JSON report, or its input file.
    pub source: PathBuf,
    pub dry_run: bool,
    pub state_dir: PathBuf,
    /// Where the undo's JSON report goes (default `<source stem>.undo.json` beside the source).
    pub report: Option<PathBuf>,
}

/// What became of one streak the run created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum UndoOutcome {
    Deleted,
    /// `--dry-run`: it would be deleted.
    WouldDelete,
    /// Deleted by an earlier undo of the same run.
    DeletedEarlier,
    /// No streak has the id any more.
    AlreadyGone,
    /// Not deleted, and why (the id now carries another name).
    Refused(String),
    Failed(String),
    /// The undo stopped before this one.
    NotDone,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndoRow {
    pub row: u32,
    pub name: String,
    pub target_group_id: i64,
    #[serde(flatten)]
    pub outcome: UndoOutcome,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct UndoCounts {
    pub deleted: u64,
    pub would_delete: u64,
    pub deleted_earlier: u64,
    pub already_gone: u64,
    pub refused: u64,
    pub failed: u64,
    pub not_done: u64,
}

#[derive(Debug)]
pub struct UndoResult {
    pub rows: Vec<UndoRow>,
    pub counts: UndoCounts,
    pub report: Option<Landed>,
    pub journal: Option<PathBuf>,
    pub api: ApiBlock,
    pub sandbox: Option<SandboxInfo>,
    pub stopped: Option<Stop>,
    /// The undo journal could not be written: the undo stopped (exit 2).
    pub journal_error: Option<JournalError>,
    pub interrupted: bool,
}

impl UndoResult {
    pub fn all_good(&self) -> bool {
        let c = &self.counts;
        self.stopped.is_none()
            && !self.interrupted
            && c.refused == 0
            && c.failed == 0
            && c.not_done == 0
    }
}

/// What the run to undo created: the input's sha256, its created rows, and — for an input file
/// — its import journal, held (with its lock) while the undo runs, so no import of the same
/// file can run meanwhile.
struct Created {
    sha: String,
    rows: Vec<CreatedRow>,
    _import_journal: Option<Journal>,
}

/// The streaks a run created, from its JSON report or its input file's journal.
fn created_by(source: &Path, state_dir: &Path) -> Result<Created, RunError> {
    let unreadable = |why: String| {
        InputError::Usage(format!(
            "{}: {why}. Pass the import's JSON report (<input>.report.json) or the input file it imported.",
            source.display()
        ))
    };
    crate::sheet::check_file(source)?;
    let is_json = source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let text = std::fs::read_to_string(source).map_err(|e| unreadable(e.to_string()))?;
        let report: Value = serde_json::from_str(&text)
            .map_err(|e| unreadable(format!("not a JSON report ({e})")))?;
        let sha = report
            .pointer("/input/sha256")
            .and_then(Value::as_str)
            .ok_or_else(|| unreadable("not a streak-import report (no input.sha256)".into()))?
            .to_string();
        let rows = report
            .get("rows")
            .and_then(Value::as_array)
            .ok_or_else(|| unreadable("not a streak-import report (no rows)".into()))?;
        let created = rows
            .iter()
            .filter(|r| r.get("status").and_then(Value::as_str) == Some("created"))
            .filter_map(|r| {
                Some((
                    r.get("row")?.as_u64()? as u32,
                    r.get("name")?.as_str()?.to_string(),
                    r.get("target_group_id")?.as_i64()?,
                ))
            })
            .collect();
        return Ok(Created {
            sha,
            rows: created,
            _import_journal: None,
        });
    }
    let sha = crate::input_hash::sha256_file(source).map_err(|e| unreadable(e.to_string()))?;
    if !crate::post::journal::path_for(state_dir, &sha).exists() {
        return Err(unreadable(format!(
            "no import of this file is recorded under the state dir {} (pass the same --state-dir as the import, or its JSON report)",
            state_dir.display()
        ))
        .into());
    }
    let (journal, previous) = Journal::open(state_dir, &sha, false)?;
    Ok(Created {
        sha,
        rows: previous.created(),
        _import_journal: Some(journal),
    })
}

pub async fn undo(
    options: &UndoOptions,
    api: &ApiOptions,
    progress: Arc<dyn Progress>,
    interrupt: CancellationToken,
) -> Result<UndoResult, RunError> {
    let Created {
        sha,
        rows: created,
        _import_journal,
    } = created_by(&options.source, &options.state_dir)?;
    let report_path = options.report.clone().unwrap_or_else(|| {
        let stem = options
            .source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        options.source.with_file_name(format!("{stem}.undo.json"))
    });
    let target = Target {
        path: report_path,
        default: options.report.is_none(),
    };
    crate::report::landing::check_targets(
        std::slice::from_ref(&target),
        &[crate::report::landing::Protected {
            path: &options.source,
            what: "the run to undo",
        }],
    )?;
    let (staged, file) = Staged::create(&target)?;
    let (journal, previous) = Journal::open(&options.state_dir, &format!("undo-{sha}"), false)?;
    let journal_path = journal.path().to_path_buf();
    let journal = Some(Arc::new(std::sync::Mutex::new(journal))).filter(|_| !options.dry_run);
    let connection = connect::connect(&api.target, &api.client).await?;
    let client = connection.client.clone();
    let phase = progress.phase(
        if options.dry_run {
            "checking"
        } else {
            "deleting"
        },
        Some(created.len() as u64),
    );
    // Up to --concurrency at once; each slot is its run row's outcome, in the run's order.
    let cancel = interrupt.child_token();
    let mut slots: Vec<Option<UndoOutcome>> = vec![None; created.len()];
    let (mut stopped, mut journal_error) = (None, None);
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = created.iter().cloned().enumerate();
    loop {
        while !cancel.is_cancelled() && tasks.len() < api.client.concurrency.max(1) {
            let Some((k, (row, name, id))) = pending.next() else {
                break;
            };
            if previous.change_result(id, "delete") == Some("done") {
                slots[k] = Some(UndoOutcome::DeletedEarlier);
                phase.inc(1);
                continue;
            }
            let (client, journal, cancel) = (client.clone(), journal.clone(), cancel.clone());
            let timeout = api.client.timeout;
            tasks.spawn(async move {
                (
                    k,
                    one(&client, journal, row, &name, id, timeout, &cancel).await,
                )
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((k, result)) = joined else { continue };
        match result {
            Ok(o) => slots[k] = Some(o),
            Err(Halted::Stop(stop)) => {
                stopped.get_or_insert(stop);
                cancel.cancel();
            }
            Err(Halted::Journal(e, outcome)) => {
                slots[k] = outcome;
                journal_error.get_or_insert(e);
                cancel.cancel();
            }
            Err(Halted::Cancelled) => {}
        }
        phase.inc(1);
    }
    let rows: Vec<UndoRow> = created
        .into_iter()
        .zip(slots)
        .map(|((row, name, id), outcome)| UndoRow {
            row,
            name,
            target_group_id: id,
            outcome: outcome.unwrap_or(UndoOutcome::NotDone),
        })
        .collect();
    let mut counts = UndoCounts::default();
    for r in &rows {
        match r.outcome {
            UndoOutcome::Deleted => counts.deleted += 1,
            UndoOutcome::WouldDelete => counts.would_delete += 1,
            UndoOutcome::DeletedEarlier => counts.deleted_earlier += 1,
            UndoOutcome::AlreadyGone => counts.already_gone += 1,
            UndoOutcome::Refused(_) => counts.refused += 1,
            UndoOutcome::Failed(_) => counts.failed += 1,
            UndoOutcome::NotDone => counts.not_done += 1,
        }
    }
    phase.finish(&format!(
        "{} deleted, {} already gone, {} refused",
        counts.deleted + counts.deleted_earlier,
        counts.already_gone,
        counts.refused
    ));
    let api_block = connection.api_block();
    let sandbox = connection.sandbox_info.clone();
    connection.close().await;
    let report = serde_json::json!({
        "undo": { "source": options.source.display().to_string(), "input_sha256": sha, "dry_run": options.dry_run },
        "api": api_block,
        "summary": counts,
        "rows": rows,
    });
    serde_json::to_writer_pretty(std::io::BufWriter::new(file), &report).map_err(|e| {
        InputError::ReportWrite {
            path: target.path.clone(),
            source: e.into(),
        }
    })?;
    let mut records = Records::load(&options.state_dir);
    let landed = staged.land(&mut records)?;
    records.save()?;
    Ok(UndoResult {
        rows,
        counts,
        report: Some(landed),
        journal: (!options.dry_run).then_some(journal_path),
        api: api_block,
        sandbox,
        stopped,
        journal_error,
        interrupted: interrupt.is_cancelled(),
    })
}

/// Why an undo stops before its end.
enum Halted {
    Stop(Stop),
    /// The undo journal cannot record: nothing more is deleted without its record (the
    /// outcome of the delete it could not record, if it was made).
    Journal(JournalError, Option<UndoOutcome>),
    Cancelled,
}

/// One streak: read it, check its name, delete it (journaled).
async fn one(
    client: &crate::post::api::Client,
    journal: Option<Arc<std::sync::Mutex<Journal>>>,
    row: u32,
    name: &str,
    id: i64,
    timeout: std::time::Duration,
    cancel: &CancellationToken,
) -> Result<UndoOutcome, Halted> {
    let halt = |e: LiveError| match e {
        LiveError::Halt(Halt::Stop(s)) => Err(Halted::Stop(s)),
        LiveError::Halt(_) => Err(Halted::Cancelled),
        LiveError::Failed(d) => Ok(UndoOutcome::Failed(d)),
    };
    let live = match client.group(id, cancel).await {
        Ok(Some(g)) => g,
        Ok(None) => return Ok(UndoOutcome::AlreadyGone),
        Err(e) => return halt(e),
    };
    let now_named = live.get("name").and_then(Value::as_str).unwrap_or_default();
    if now_named != name {
        return Ok(UndoOutcome::Refused(format!(
            "streak {id} now carries the name {now_named:?}, not {name:?} as the run created it: not deleted"
        )));
    }
    let Some(journal) = journal else {
        return Ok(UndoOutcome::WouldDelete);
    };
    let record = |e: &ChangeEntry| {
        journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append_change(e)
            .map_err(|e| Halted::Journal(e, None))
    };
    record(&ChangeEntry::intent(row, name, id, "delete", timeout))?;
    let (outcome, result) = match client.delete_group(id, cancel).await {
        Ok(Changed::Done) => (UndoOutcome::Deleted, "done"),
        Ok(Changed::NotFound) => (UndoOutcome::AlreadyGone, "gone"),
        Ok(Changed::Refused { status, errors }) => (
            UndoOutcome::Failed(Changed::refusal(status, &errors)),
            "refused",
        ),
        Err(e) => return halt(e),
    };
    let recorded = record(&ChangeEntry::Changed {
        row,
        name: name.to_string(),
        id,
        part: "delete".into(),
        result: result.into(),
        detail: None,
    });
    match recorded {
        Ok(()) => Ok(outcome),
        // Done, but unrecorded: said in the report; the next undo finds the id gone.
        Err(Halted::Journal(e, _)) => Err(Halted::Journal(e, Some(outcome))),
        Err(other) => Err(other),
    }
}
