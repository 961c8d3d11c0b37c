//! Rows against live streaks: read each matched streak, compare it with the row's body, and —
//! when asked — apply what can change, one journaled request per changed part (the target's
//! editable fields; the group's name). A re-run compares again first, so a change that landed
//! is never sent twice, and one an earlier run may still be landing is waited for.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::live::{verdict, Change, Verdict, CONFLICT_NOTE};
use crate::outcome::{ApiError, Plan, RowOutcome, Status};
use crate::payload::TargetGroup;
use crate::post::api::{Changed, Client, Halt, LiveError, Stop};
use crate::post::journal::{ChangeEntry, Journal, JournalError, Previous};
use crate::progress::Progress;

/// The longest wait for an earlier run's change request to land.
const LANDING_LIMIT: Duration = Duration::from_secs(120);

/// What a row's live streak came to.
pub(super) enum Compared {
    /// No streak has the id.
    Missing,
    Live {
        verdict: Verdict,
        /// The live target's id (for a target edit).
        target_id: Option<i64>,
    },
}

/// Reads streak `id` and compares it with `body`.
pub(super) async fn compare(
    client: &Client,
    id: i64,
    body: &TargetGroup,
    by_id: bool,
    cancel: &CancellationToken,
) -> Result<Compared, LiveError> {
    let Some(live) = client.group(id, cancel).await? else {
        return Ok(Compared::Missing);
    };
    let target_id = live
        .pointer("/targets/0/id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let parsed: TargetGroup = serde_json::from_value(live).map_err(|e| {
        LiveError::Failed(format!(
            "streak {id} as the API gave it cannot be read ({e})"
        ))
    })?;
    Ok(Compared::Live {
        verdict: verdict(body, &parsed, by_id),
        target_id,
    })
}

/// A row naming, by `target_group_id`, a streak the server does not have: said on the row.
fn mark_missing(row: &mut RowOutcome, id: i64) {
    row.target_group_id = None;
    row.changes = vec![Change {
        field: "target_group_id".into(),
        old: "(no such streak on the server)".into(),
        new: id.to_string(),
        editable: false,
    }];
    row.note =
        Some("no streak has this target_group_id: clear it to create the streak anew".into());
}

/// Marks a row with its plan from a comparison (dry run).
pub(super) fn mark_plan(row: &mut RowOutcome, id: i64, compared: Compared) -> Plan {
    row.target_group_id = Some(id);
    let plan = match compared {
        Compared::Missing => {
            mark_missing(row, id);
            Plan::Conflict
        }
        Compared::Live { verdict, .. } => match verdict {
            Verdict::Unchanged => Plan::Unchanged,
            Verdict::Update(changes) => {
                row.changes = changes;
                Plan::Update
            }
            Verdict::Conflict(changes) => {
                row.changes = changes;
                row.note = Some(CONFLICT_NOTE.into());
                Plan::Conflict
            }
        },
    };
    row.plan = Some(plan);
    plan
}

/// Where an import's changes are recorded.
#[derive(Clone)]
pub(super) struct Apply {
    pub journal: Arc<Mutex<Journal>>,
    pub timeout: Duration,
}

/// What `reconcile` did.
#[derive(Debug, Default, Clone, Copy)]
pub struct LiveCounts {
    pub unchanged: u64,
    pub differs: u64,
    pub updated: u64,
    pub conflict: u64,
    pub failed: u64,
    /// Change requests sent.
    pub sent: u64,
}

/// The rows an import compares with their live streaks: found existing by name (with the body
/// they would have created), or naming a streak by `target_group_id`.
fn matched(row: &RowOutcome) -> Option<(i64, bool)> {
    if row.payload.is_none() || row.done_earlier && row.status != Status::Existing {
        return None;
    }
    match (row.status, row.given_id, row.target_group_id) {
        (Status::Valid, Some(id), _) => Some((id, true)),
        (Status::Existing, None, Some(id)) => Some((id, false)),
        _ => None,
    }
}

/// How one row's comparison ended, for the counts and for stopping the run.
#[derive(Default)]
struct RowEnd {
    sent: u64,
    stop: Option<Stop>,
    journal_error: Option<JournalError>,
    /// Ctrl-C (or another row's stop) cut it short.
    halted: bool,
}

/// What earlier runs left for a row's streak: until when a change may still be landing, and
/// whether an update of it was recorded done.
#[derive(Clone, Copy)]
struct Earlier {
    landing_until: Option<SystemTime>,
    updated: bool,
}

/// Compares every matched row with its live streak, `concurrency` at a time; with `apply`,
/// updates those that differ only in what can change. Rows end `existing` (unchanged),
/// `differs`, `updated`, `conflict` or `failed`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn reconcile(
    rows: &mut [RowOutcome],
    client: Arc<Client>,
    apply: Option<&Apply>,
    previous: &Previous,
    concurrency: usize,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> (LiveCounts, Option<Stop>, Option<JournalError>) {
    let todo: Vec<usize> = (0..rows.len())
        .filter(|&i| matched(&rows[i]).is_some())
        .collect();
    let total = todo.len();
    let mut todo = todo.into_iter();
    let mut counts = LiveCounts::default();
    if total == 0 {
        return (counts, None, None);
    }
    let phase = progress.phase("comparing with live streaks", Some(total as u64));
    let cancel = cancel.child_token();
    let (mut stop, mut journal_error) = (None, None);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while !cancel.is_cancelled() && tasks.len() < concurrency.max(1) {
            let Some(i) = todo.next() else { break };
            let Some((id, by_id)) = matched(&rows[i]) else {
                continue;
            };
            let earlier = Earlier {
                landing_until: ["target", "name"]
                    .iter()
                    .filter_map(|p| previous.change_landing(id, p))
                    .max(),
                updated: previous.row_changed(id),
            };
            let placeholder = RowOutcome::new(rows[i].sheet, rows[i].row);
            let row = std::mem::replace(&mut rows[i], placeholder);
            let (client, apply, cancel) = (client.clone(), apply.cloned(), cancel.clone());
            tasks.spawn(async move {
                let mut row = row;
                let end = one_row(
                    &client,
                    apply.as_ref(),
                    &mut row,
                    id,
                    by_id,
                    earlier,
                    &cancel,
                )
                .await;
                (i, row, end)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, row, end)) = joined else { continue };
        counts.sent += end.sent;
        match row.status {
            Status::Existing => counts.unchanged += 1,
            Status::Differs => counts.differs += 1,
            Status::Updated => counts.updated += 1,
            Status::Conflict => counts.conflict += 1,
            Status::Failed => counts.failed += 1,
            _ => {}
        }
        if end.stop.is_some() || end.journal_error.is_some() {
            cancel.cancel();
        }
        stop = stop.or(end.stop);
        journal_error = journal_error.or(end.journal_error);
        rows[i] = row;
        if !end.halted {
            phase.inc(1);
            progress.landed(&rows[i]);
        }
    }
    phase.finish(&format!(
        "{} unchanged, {} to update, {} updated, {} in conflict",
        counts.unchanged, counts.differs, counts.updated, counts.conflict
    ));
    (counts, stop, journal_error)
}

/// One row against its live streak: compare, and (with `apply`) update.
async fn one_row(
    client: &Client,
    apply: Option<&Apply>,
    row: &mut RowOutcome,
    id: i64,
    by_id: bool,
    earlier: Earlier,
    cancel: &CancellationToken,
) -> RowEnd {
    row.target_group_id = Some(id);
    let Some(body) = row.payload.take().map(|b| *b) else {
        return RowEnd::default();
    };
    let mut compared = compare(client, id, &body, by_id, cancel).await;
    let still_landing = earlier
        .landing_until
        .and_then(|t| t.duration_since(SystemTime::now()).ok());
    if let (
        Some(_),
        Ok(Compared::Live {
            verdict: Verdict::Update(_),
            ..
        }),
        Some(left),
    ) = (apply, &compared, still_landing)
    {
        // An earlier run's change to this streak may still be landing: wait it out, then look
        // again, rather than send it a second time.
        tokio::select! {
            _ = tokio::time::sleep(left.min(LANDING_LIMIT)) => {}
            _ = cancel.cancelled() => {}
        }
        compared = compare(client, id, &body, by_id, cancel).await;
    }
    let compared = match compared {
        Ok(c) => c,
        Err(LiveError::Halt(Halt::Stop(stop))) => {
            row.status = Status::NotSent;
            row.note = Some(format!("not compared with its streak: {stop}"));
            return RowEnd {
                stop: Some(stop),
                ..Default::default()
            };
        }
        Err(LiveError::Halt(_)) => {
            row.status = Status::NotSent;
            row.note = Some("the run stopped before this row was compared with its streak".into());
            return RowEnd {
                halted: true,
                ..Default::default()
            };
        }
        Err(LiveError::Failed(detail)) => {
            fail(row, detail);
            return RowEnd::default();
        }
    };
    match compared {
        Compared::Missing => {
            row.status = Status::Failed;
            mark_missing(row, id);
        }
        // Recorded done, or sent by a run that stopped before it could record the answer.
        Compared::Live {
            verdict: Verdict::Unchanged,
            ..
        } if earlier.updated || earlier.landing_until.is_some() => {
            row.status = Status::Updated;
            row.done_earlier = true;
            row.note = Some("updated by an earlier run of this file".into());
        }
        Compared::Live {
            verdict: Verdict::Unchanged,
            ..
        } => row.status = Status::Existing,
        Compared::Live {
            verdict: Verdict::Conflict(changes),
            ..
        } => {
            row.status = Status::Conflict;
            row.changes = changes;
            row.note = Some(CONFLICT_NOTE.into());
        }
        Compared::Live {
            verdict: Verdict::Update(changes),
            target_id,
        } => match apply {
            None => {
                row.status = Status::Differs;
                row.changes = changes;
                row.note = Some("run import with --update to apply these changes".into());
            }
            Some(apply) => {
                // Changed by this run, whatever an earlier one did with the row.
                row.done_earlier = false;
                let sent = update(client, apply, row, id, target_id, &body, &changes, cancel).await;
                row.changes = changes;
                return match sent {
                    Ok(n) => RowEnd {
                        sent: n,
                        ..Default::default()
                    },
                    Err(Err(e)) => RowEnd {
                        journal_error: Some(e),
                        ..Default::default()
                    },
                    Err(Ok(stop)) => RowEnd {
                        halted: stop.is_none(),
                        stop,
                        ..Default::default()
                    },
                };
            }
        },
    }
    RowEnd::default()
}

fn fail(row: &mut RowOutcome, detail: String) {
    row.status = Status::Failed;
    row.api_errors = vec![ApiError {
        code: 0,
        message: detail,
    }];
}

/// Sends the changed parts of one row: the target's editable fields, then the name.
/// `Ok(requests)`; `Err(Ok(stop))` when the run must stop (the row is marked), `Err(Err)` when
/// the journal cannot record.
#[allow(clippy::too_many_arguments)]
async fn update(
    client: &Client,
    apply: &Apply,
    row: &mut RowOutcome,
    id: i64,
    target_id: Option<i64>,
    body: &TargetGroup,
    changes: &[Change],
    cancel: &CancellationToken,
) -> Result<u64, Result<Option<Stop>, JournalError>> {
    let mut parts: Vec<(&str, Value)> = Vec::new();
    if changes.iter().any(|c| c.field.starts_with("targets[0].")) {
        let t = &body.targets[0];
        parts.push((
            "target",
            json!({
                "expression": t.expression,
                "expressionJson": t.expression_json,
                "filters": t.filters,
                "defaultValues": t.default_values,
            }),
        ));
    }
    if changes.iter().any(|c| c.field == "name") {
        parts.push(("name", serde_json::to_value(body).unwrap_or(Value::Null)));
    }
    let mut sent = 0;
    for (part, request) in parts {
        let record = |e: &ChangeEntry| {
            apply
                .journal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append_change(e)
        };
        record(&ChangeEntry::intent(
            row.row,
            &row.name,
            id,
            part,
            apply.timeout,
        ))
        .map_err(Err)?;
        sent += 1;
        let answer = match (part, target_id) {
            ("target", Some(tid)) => client.edit_target(id, tid, &request, cancel).await,
            ("target", None) => Err(LiveError::Failed(format!(
                "streak {id} as the API gave it has no target id to edit"
            ))),
            _ => client.edit_group(id, &request, cancel).await,
        };
        let (result, detail) = match answer {
            Ok(Changed::Done) => ("done", None),
            Ok(Changed::NotFound) => ("gone", Some(format!("streak {id} was deleted meanwhile"))),
            Ok(Changed::Refused { status, errors }) => {
                ("refused", Some(Changed::refusal(status, &errors)))
            }
            Err(LiveError::Failed(detail)) => ("refused", Some(detail)),
            Err(LiveError::Halt(Halt::Stop(stop))) => {
                // Unknown whether it landed: the intent stays open; the next run compares first.
                fail(
                    row,
                    format!("the {part} change may not have reached the server ({stop})"),
                );
                return Err(Ok(Some(stop)));
            }
            Err(LiveError::Halt(_)) => {
                fail(row, format!("the run stopped while changing the {part}; the next run compares again before sending"));
                return Err(Ok(None));
            }
        };
        record(&ChangeEntry::Changed {
            row: row.row,
            name: row.name.clone(),
            id,
            part: part.to_string(),
            result: result.to_string(),
            detail: detail.clone(),
        })
        .map_err(Err)?;
        if result != "done" {
            fail(
                row,
                format!(
                    "the {part} change was refused: {}",
                    detail.unwrap_or_default()
                ),
            );
            return Err(Ok(None));
        }
    }
    row.status = Status::Updated;
    Ok(sent)
}
