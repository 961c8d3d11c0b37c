//! The posting stage: every valid row sent once, up to `--concurrency` at a time, each request
//! bracketed by journal entries (intent before, outcome after) so that a re-run knows exactly
//! what was done. Rows already done by an earlier run are skipped; rows an earlier run left in
//! flight are looked up before anything is sent again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use crate::api::{Client, PostResult, Posted, Stop};
use crate::journal::{Entry, Journal, Previous};
use crate::outcome::{RowOutcome, Status};
use crate::progress::Progress;

/// The gap between the first workers' starts.
const STAGGER: std::time::Duration = std::time::Duration::from_millis(1);

#[derive(Debug, Default, Clone, Copy)]
pub struct PostCounts {
    pub sent: u64,
    pub skipped: u64,
    pub reconciled: u64,
}

/// Why posting ended early, if it did.
#[derive(Debug, Clone)]
pub enum Ended {
    Done,
    Interrupted,
    Stopped(Stop),
}

fn apply(row: &mut RowOutcome, entry: &Entry) {
    if let Entry::Outcome {
        status,
        target_group_id,
        http_status,
        api_errors,
        attempts,
        ..
    } = entry
    {
        row.status = *status;
        row.target_group_id = *target_group_id;
        row.http_status = *http_status;
        row.api_errors = api_errors.clone();
        row.attempts = *attempts;
    }
}

fn outcome_entry(row: u32, name: &str, posted: &Posted) -> Entry {
    let (status, target_group_id, http_status, api_errors) = match &posted.result {
        PostResult::Created { id, status } => (Status::Created, *id, Some(*status), Vec::new()),
        PostResult::Existing { status, errors } => {
            (Status::Existing, None, Some(*status), errors.clone())
        }
        PostResult::Failed { status, errors } => (Status::Failed, None, *status, errors.clone()),
    };
    Entry::Outcome {
        row,
        name: name.to_string(),
        status,
        target_group_id,
        http_status,
        api_errors,
        attempts: posted.attempts,
    }
}

/// Posts the valid rows of `rows` (in input order). Outcomes are written into `rows`; rows not
/// reached are `not_sent`.
pub async fn post_all(
    rows: &mut [RowOutcome],
    client: Arc<Client>,
    journal: Journal,
    previous: Previous,
    concurrency: usize,
    interrupted: Arc<AtomicBool>,
    progress: &Progress,
) -> (Ended, PostCounts) {
    let journal = Arc::new(Mutex::new(journal));
    let mut counts = PostCounts::default();
    let mut todo = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        if row.status != Status::Valid || row.payload.is_none() {
            continue;
        }
        match previous.outcomes.get(&row.row) {
            Some(
                e @ Entry::Outcome {
                    name,
                    status: Status::Created | Status::Existing,
                    ..
                },
            ) if *name == row.name => {
                apply(row, e);
                counts.skipped += 1;
            }
            _ => todo.push((i, previous.in_flight.contains_key(&row.row))),
        }
    }
    let phase = progress.phase("posting", Some(todo.len() as u64));
    // Each task answers with its row index and what happened (the bool: found by reconciling).
    type Done = (usize, Result<(Posted, bool), Stop>);
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut stop: Option<Stop> = None;
    let (mut created, mut existing, mut failed) = (0u64, 0u64, 0u64);
    let mut pending = todo.into_iter();
    let mut started = 0usize;
    loop {
        // Start rows while there is room; stop starting once interrupted or stopped.
        while stop.is_none()
            && !interrupted.load(Ordering::Relaxed)
            && tasks.len() < concurrency.max(1)
        {
            let Some((i, in_flight)) = pending.next() else {
                break;
            };
            if started > 0 && started < concurrency {
                // Slow start: the first workers begin a moment apart, so their requests do not
                // arrive, and come back, as one burst every round trip for the rest of the run.
                tokio::time::sleep(STAGGER).await;
            }
            started += 1;
            let row = &rows[i];
            let Some(body) = row.payload.clone() else {
                continue;
            };
            let (number, name) = (row.row, row.name.clone());
            let client = client.clone();
            let journal = journal.clone();
            tasks.spawn(async move {
                if in_flight {
                    // An earlier run sent this row and died before recording the answer.
                    if let Some(id) = client.find_id(&name).await {
                        let posted = Posted {
                            result: PostResult::Created {
                                id: Some(id),
                                status: 200,
                            },
                            attempts: 0,
                        };
                        if let Ok(mut j) = journal.lock() {
                            let _ = j.append(&outcome_entry(number, &name, &posted));
                        }
                        return (i, Ok((posted, true)));
                    }
                }
                if let Ok(mut j) = journal.lock() {
                    let _ = j.append(&Entry::Intent {
                        row: number,
                        name: name.clone(),
                    });
                }
                let result = client.create(&body).await;
                if let Ok(posted) = &result {
                    if let Ok(mut j) = journal.lock() {
                        let _ = j.append(&outcome_entry(number, &name, posted));
                    }
                }
                (i, result.map(|p| (p, false)))
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, result)) = joined else { continue };
        match result {
            Ok((posted, reconciled)) => {
                counts.sent += u64::from(!reconciled);
                counts.reconciled += u64::from(reconciled);
                let entry = outcome_entry(rows[i].row, &rows[i].name, &posted);
                apply(&mut rows[i], &entry);
                match rows[i].status {
                    Status::Created => created += 1,
                    Status::Existing => existing += 1,
                    _ => failed += 1,
                }
            }
            Err(s) => {
                stop.get_or_insert(s);
            }
        }
        phase.inc(1);
        phase.set_message(format!(
            "created {created}, existing {existing}, failed {failed}"
        ));
    }
    for row in rows
        .iter_mut()
        .filter(|r| r.status == Status::Valid && r.payload.is_some())
    {
        row.status = Status::NotSent;
    }
    phase.finish(&format!(
        "{created} created, {existing} already existing, {failed} failed"
    ));
    let ended = match stop {
        Some(s) => Ended::Stopped(s),
        None if interrupted.load(Ordering::Relaxed) => Ended::Interrupted,
        None => Ended::Done,
    };
    (ended, counts)
}
