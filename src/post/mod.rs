//! The posting stage: every valid row sent once, up to `--concurrency` at a time, each request
//! bracketed by journal entries (intent right before the first send, outcome after the last)
//! so that a re-run knows exactly what was done.
//!
//! - Rows done by an earlier run are skipped. Rows an earlier run may have sent (intent without
//!   outcome, an ambiguous failure) are looked up by name first, and again until that run's
//!   request can no longer be landing, before anything is sent again; a 310069 for them means
//!   "created by us".
//! - A row is sent only after its intent is on disk. When the journal cannot be written, that
//!   row is not sent and the run stops.
//! - A 401/403 or a row never sent is recorded `not_sent`, so a re-run neither waits for it nor
//!   claims a same-named streak someone else created.
//! - A worker that panics reports its row as failed with the reason; its intent stays open, so
//!   the next run checks the server before sending it again.

pub mod api;
pub(crate) mod journal;
pub(crate) mod pace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::outcome::{ApiError, RowOutcome, Status};
use crate::payload::TargetGroup;
use crate::post::api::{Client, Halt, PostResult, RowEnd, Stop};
use crate::post::journal::{Earlier, Entry, Journal, JournalError, Previous};
use crate::progress::Progress;

/// The gap between the first workers' starts.
const STAGGER: Duration = Duration::from_millis(1);
/// How often a row an earlier run may have sent is looked up while that request may land.
const LANDING_POLL: Duration = Duration::from_secs(1);
/// The longest wait for an earlier run's request to land, whatever its timeout was.
const LANDING_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Default, Clone, Copy)]
pub struct PostCounts {
    pub sent: u64,
    pub skipped: u64,
    pub reconciled: u64,
}

/// Why posting ended early, if it did.
#[derive(Debug)]
pub enum Ended {
    Done,
    Interrupted,
    Stopped(Stop),
    Journal(JournalError),
}

/// What the stage shares with its workers.
struct Shared {
    client: Arc<Client>,
    journal: Arc<Mutex<Journal>>,
    /// The first journal failure: it stops the run.
    journal_error: Mutex<Option<JournalError>>,
    cancel: CancellationToken,
    timeout: Duration,
}

impl Shared {
    fn record(&self, entry: &Entry) -> bool {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        match journal.append(entry) {
            Ok(()) => true,
            Err(e) => {
                let mut first = self.journal_error.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(e);
                self.cancel.cancel();
                false
            }
        }
    }
}

/// How a row came out: what its report row and its journal outcome say.
#[derive(Debug, Clone)]
struct Landed {
    status: Status,
    target_group_id: Option<i64>,
    http_status: Option<u16>,
    api_errors: Vec<ApiError>,
    attempts: u32,
    note: Option<String>,
}

impl Landed {
    fn of(end: &RowEnd) -> Landed {
        let mut l = Landed {
            status: Status::Failed,
            target_group_id: None,
            http_status: None,
            api_errors: Vec::new(),
            attempts: end.attempts,
            note: None,
        };
        match &end.result {
            PostResult::Created { id, status, note } => {
                l.status = Status::Created;
                l.target_group_id = *id;
                l.http_status = Some(*status);
                l.note = note.clone();
            }
            PostResult::Existing { id, status, errors } => {
                l.status = Status::Existing;
                l.target_group_id = *id;
                l.http_status = Some(*status);
                l.api_errors = errors.clone();
            }
            PostResult::Failed { status, errors } => {
                l.http_status = *status;
                l.api_errors = errors.clone();
            }
            PostResult::NotSent { reason } => {
                l.status = Status::NotSent;
                l.note = Some(if end.maybe_sent {
                    format!("{reason}; an earlier attempt may have reached the server, so the next run looks it up before sending again")
                } else {
                    reason.clone()
                });
            }
        }
        l
    }

    /// A row restored from its journal outcome.
    fn from_entry(entry: &Entry) -> Option<Landed> {
        match entry {
            Entry::Outcome {
                status,
                target_group_id,
                http_status,
                api_errors,
                attempts,
                note,
                ..
            } => Some(Landed {
                status: *status,
                target_group_id: *target_group_id,
                http_status: *http_status,
                api_errors: api_errors.clone(),
                attempts: *attempts,
                note: note.clone(),
            }),
            Entry::Intent { .. } => None,
        }
    }

    fn entry(&self, row: u32, name: &str, maybe_sent: bool) -> Entry {
        Entry::Outcome {
            row,
            name: name.to_string(),
            status: self.status,
            target_group_id: self.target_group_id,
            http_status: self.http_status,
            api_errors: self.api_errors.clone(),
            attempts: self.attempts,
            maybe_sent: maybe_sent && self.status == Status::Failed,
            note: self.note.clone(),
        }
    }

    fn apply_to(self, row: &mut RowOutcome) {
        row.status = self.status;
        row.target_group_id = self.target_group_id;
        row.http_status = self.http_status;
        row.api_errors = self.api_errors;
        row.attempts = self.attempts;
        row.note = self.note;
        // An existing streak keeps the body it would have had: the run compares the two.
        if row.status != Status::Existing {
            row.payload = None;
        }
    }
}

/// What a row's task reports.
struct Done {
    landed: Landed,
    /// The body back, for a row whose streak existed (to compare with the live one).
    body: Option<Box<TargetGroup>>,
    halt: Option<Halt>,
    sent: bool,
    /// Found on the server for an earlier run, not sent by this one.
    reconciled: bool,
}

/// What a row's task hands back.
enum Task {
    Done(Done),
    /// An earlier run's request for this row may still be landing: look again later, after
    /// the other rows, instead of holding a worker while it lands.
    Later {
        body: Box<TargetGroup>,
        landing_until: SystemTime,
    },
}

/// When a request of an earlier run can no longer be landing, if that is still ahead.
fn still_landing(landing_until: Option<SystemTime>) -> Option<Instant> {
    landing_until
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .map(|left| Instant::now() + left.min(LANDING_LIMIT))
}

/// Looks for a row an earlier run may have sent: now, and with `patient`, every
/// [`LANDING_POLL`] until that request can no longer be landing. `Ok(None)`: not on the server.
async fn find_landed(
    shared: &Shared,
    name: &str,
    landing_until: Option<SystemTime>,
    patient: bool,
) -> Result<Option<i64>, Option<Halt>> {
    let deadline = still_landing(landing_until).filter(|_| patient);
    loop {
        let (id, halt) = shared.client.find_id(name, &shared.cancel).await;
        if id.is_some() {
            return Ok(id);
        }
        if halt.is_some() {
            return Err(halt);
        }
        let next = Instant::now() + LANDING_POLL;
        match deadline {
            Some(d) if next <= d => {}
            _ => return Ok(None),
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = shared.cancel.cancelled() => return Err(None),
        }
    }
}

/// One row's whole life: reconcile what an earlier run may have sent, create, record.
/// `second_look`: the row was put back once to let an earlier run's request land.
async fn post_row(
    shared: Arc<Shared>,
    number: u32,
    name: String,
    body: Box<TargetGroup>,
    earlier: Earlier,
    second_look: bool,
) -> Task {
    let mut maybe_sent = false;
    if let Earlier::MaybeSent { landing_until } = earlier {
        maybe_sent = true;
        let found = find_landed(&shared, &name, landing_until, second_look).await;
        let (result, halt) = match found {
            Ok(None) if !second_look && still_landing(landing_until).is_some() => {
                let landing_until = landing_until.unwrap_or_else(SystemTime::now);
                return Task::Later {
                    body,
                    landing_until,
                };
            }
            Ok(None) => (None, None),
            Ok(Some(id)) => (
                Some(PostResult::Created {
                    id: Some(id),
                    status: 200,
                    note: Some("sent by an earlier run that stopped before recording the answer; found by name".into()),
                }),
                None,
            ),
            Err(halt) => (
                Some(PostResult::NotSent {
                    reason: "the run stopped while looking up what an earlier run sent".into(),
                }),
                halt.filter(|h| !matches!(h, Halt::Cancelled)),
            ),
        };
        if let Some(result) = result {
            let reconciled = matches!(result, PostResult::Created { .. });
            let end = RowEnd {
                result,
                attempts: 0,
                maybe_sent: true,
                halt,
            };
            let landed = Landed::of(&end);
            if reconciled {
                shared.record(&landed.entry(number, &name, true));
            }
            return Task::Done(Done {
                landed,
                body: None,
                halt: end.halt,
                sent: false,
                reconciled,
            });
        }
    }
    let mut intent_written = false;
    let intent = Entry::intent(number, &name, shared.timeout);
    let mut gate = || {
        intent_written = shared.record(&intent);
        intent_written
    };
    let end = shared
        .client
        .create(&body, maybe_sent, &shared.cancel, &mut gate)
        .await;
    let landed = Landed::of(&end);
    let record = match end.result {
        // Never sent in this run: close this run's intent, unless some attempt (this run's
        // or an earlier one's) may have reached the server; then it stays open.
        PostResult::NotSent { .. } => intent_written && !end.maybe_sent,
        _ => true,
    };
    if record {
        shared.record(&landed.entry(number, &name, end.maybe_sent));
    }
    let body = (landed.status == Status::Existing).then_some(body);
    Task::Done(Done {
        landed,
        body,
        halt: end.halt,
        sent: intent_written,
        reconciled: false,
    })
}

/// Posts the valid rows of `rows` (in input order). Outcomes are written into `rows`; rows not
/// reached are `not_sent`. `interrupt` is Ctrl-C: no new rows start, waits end at once.
#[allow(clippy::too_many_arguments)]
pub async fn post_all(
    rows: &mut [RowOutcome],
    client: Arc<Client>,
    journal: Arc<Mutex<Journal>>,
    previous: &Previous,
    concurrency: usize,
    timeout: Duration,
    interrupt: CancellationToken,
    progress: &dyn Progress,
) -> (Ended, PostCounts) {
    let shared = Arc::new(Shared {
        client,
        journal,
        journal_error: Mutex::new(None),
        cancel: interrupt.child_token(),
        timeout,
    });
    let mut counts = PostCounts::default();
    let mut todo = std::collections::VecDeque::new();
    for (i, row) in rows.iter_mut().enumerate() {
        // A row naming its streak by id is compared with it, never created.
        if row.status != Status::Valid || row.payload.is_none() || row.given_id.is_some() {
            continue;
        }
        match previous.earlier(row.row, &row.name) {
            Earlier::Done(entry) => {
                if let Some(landed) = Landed::from_entry(&entry) {
                    landed.apply_to(row);
                }
                row.done_earlier = true;
                counts.skipped += 1;
            }
            earlier => todo.push_back((i, earlier, false)),
        }
    }
    let phase = progress.phase("posting", Some(todo.len() as u64));
    let mut tasks: JoinSet<Task> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut stop: Option<Stop> = None;
    let (mut created, mut existing, mut failed) = (0u64, 0u64, 0u64);
    let mut pending = todo;
    let mut started = 0usize;
    loop {
        while !shared.cancel.is_cancelled() && tasks.len() < concurrency.max(1) {
            let Some((i, earlier, second_look)) = pending.pop_front() else {
                break;
            };
            if started > 0 && started < concurrency {
                // Slow start: the first workers begin a moment apart, so their requests do not
                // arrive, and come back, as one burst every round trip for the rest of the run.
                tokio::time::sleep(STAGGER).await;
            }
            started += 1;
            let Some(body) = rows[i].payload.take() else {
                continue;
            };
            let (number, name) = (rows[i].row, rows[i].name.clone());
            let row = post_row(shared.clone(), number, name, body, earlier, second_look);
            let handle = tasks.spawn(row);
            running.insert(handle.id(), i);
        }
        let Some(joined) = tasks.join_next_with_id().await else {
            break;
        };
        let i = match &joined {
            Ok((id, _)) => running.remove(id),
            Err(e) => running.remove(&e.id()),
        };
        let Some(i) = i else { continue };
        match joined {
            Ok((
                _,
                Task::Later {
                    body,
                    landing_until,
                },
            )) => {
                rows[i].payload = Some(body);
                let landing_until = Some(landing_until);
                pending.push_back((i, Earlier::MaybeSent { landing_until }, true));
                continue;
            }
            Ok((_, Task::Done(done))) => {
                counts.sent += u64::from(done.sent);
                counts.reconciled += u64::from(done.reconciled);
                done.landed.apply_to(&mut rows[i]);
                if done.body.is_some() {
                    rows[i].payload = done.body;
                }
                match &done.halt {
                    Some(Halt::Stop(s)) => {
                        stop.get_or_insert_with(|| s.clone());
                        shared.cancel.cancel();
                    }
                    Some(Halt::GateClosed | Halt::Cancelled) | None => {}
                }
            }
            Err(e) => {
                // A bug, not the server: say so on the row. Its intent (if any) stays open,
                // so the next run checks the server before sending it again.
                let why = e
                    .try_into_panic()
                    .ok()
                    .and_then(|p| {
                        p.downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                    })
                    .unwrap_or_else(|| "the task was stopped".into());
                let row = &mut rows[i];
                row.status = Status::Failed;
                row.api_errors = vec![ApiError {
                    code: 0,
                    message: format!("internal error while posting this row ({why}); the next run checks the server before sending it again"),
                }];
            }
        }
        match rows[i].status {
            Status::Created => created += 1,
            Status::Existing => existing += 1,
            Status::Failed => failed += 1,
            _ => {}
        }
        phase.inc(1);
        phase.set_message(format!(
            "created {created}, existing {existing}, failed {failed}"
        ));
        progress.landed(&rows[i]);
    }
    for row in rows
        .iter_mut()
        .filter(|r| r.status == Status::Valid && r.payload.is_some() && r.given_id.is_none())
    {
        row.status = Status::NotSent;
        row.payload = None;
        row.note = Some("the run stopped before this row was sent".into());
    }
    phase.finish(&format!(
        "{created} created, {existing} already existing, {failed} failed"
    ));
    let journal_error = shared
        .journal_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let ended = match (journal_error, stop) {
        (Some(e), _) => Ended::Journal(e),
        (None, Some(s)) => Ended::Stopped(s),
        (None, None) if interrupt.is_cancelled() => Ended::Interrupted,
        (None, None) => Ended::Done,
    };
    (ended, counts)
}
