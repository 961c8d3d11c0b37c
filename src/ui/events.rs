//! The page's view of a run: a [`Progress`] that keeps the run's state (phase, counts, each
//! landed row) and broadcasts every change to the page's event stream, so a page that reloads
//! mid-import picks the run up where it is.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::outcome::{RowOutcome, Status};
use crate::progress::{Phase, Progress};

/// What the page is told.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Phase {
        /// `plan` or `import`.
        kind: String,
        label: String,
        position: u64,
        total: Option<u64>,
    },
    /// `index`: the grid row (None when the run's row is not in the grid).
    Row {
        index: Option<usize>,
        row: u32,
        status: String,
        target_group_id: Option<i64>,
        plan: Option<String>,
        message: String,
    },
    Counts {
        created: u64,
        existing: u64,
        failed: u64,
        other: u64,
    },
    Done {
        summary: String,
        ok: bool,
    },
    Warning {
        text: String,
    },
}

/// A run's state now, for a page that (re)connects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunState {
    pub running: bool,
    pub kind: String,
    pub label: String,
    pub position: u64,
    pub total: Option<u64>,
    pub created: u64,
    pub existing: u64,
    pub failed: u64,
    pub other: u64,
    pub summary: Option<String>,
}

pub struct Hub {
    pub state: Mutex<RunState>,
    pub tx: broadcast::Sender<Event>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            state: Mutex::new(RunState::default()),
            tx: broadcast::channel(4096).0,
        })
    }

    pub fn state(&self) -> RunState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut RunState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn send(&self, e: Event) {
        let _ = self.tx.send(e);
    }

    pub fn start(&self, kind: &str) {
        self.update(|s| {
            *s = RunState {
                running: true,
                kind: kind.into(),
                ..Default::default()
            }
        });
    }

    pub fn finish(&self, summary: String, ok: bool) {
        self.update(|s| {
            s.running = false;
            s.summary = Some(summary.clone());
        });
        self.send(Event::Done { summary, ok });
    }
}

/// Records a landed row in the grid; its grid row, when it has one.
pub type OnRow = Box<dyn Fn(&RowOutcome) -> Option<usize> + Send + Sync>;

/// The run's progress, as the page sees it.
pub struct PageProgress {
    pub hub: Arc<Hub>,
    /// Called with each landed row (the grid's rows are updated from it).
    pub on_row: OnRow,
}

struct PagePhase {
    hub: Arc<Hub>,
    label: String,
    total: Option<u64>,
    position: Mutex<u64>,
}

impl PagePhase {
    fn tell(&self, position: u64) {
        self.hub.update(|s| {
            s.label = self.label.clone();
            s.position = position;
            s.total = self.total;
        });
        self.hub.send(Event::Phase {
            kind: self.hub.state().kind,
            label: self.label.clone(),
            position,
            total: self.total,
        });
    }
}

impl Phase for PagePhase {
    fn inc(&self, n: u64) {
        let p = {
            let mut p = self.position.lock().unwrap_or_else(|e| e.into_inner());
            *p += n;
            *p
        };
        self.tell(p);
    }
    fn set_position(&self, n: u64) {
        *self.position.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.tell(n);
    }
    fn set_message(&self, _: String) {}
    fn finish(self: Box<Self>, _: &str) {}
}

impl Progress for PageProgress {
    fn phase(&self, label: &'static str, total: Option<u64>) -> Box<dyn Phase> {
        let phase = PagePhase {
            hub: self.hub.clone(),
            label: label.into(),
            total,
            position: Mutex::new(0),
        };
        phase.tell(0);
        Box::new(phase)
    }

    fn landed(&self, row: &RowOutcome) {
        let index = (self.on_row)(row);
        self.hub.update(|s| match row.status {
            Status::Created => s.created += 1,
            Status::Existing => s.existing += 1,
            Status::Failed => s.failed += 1,
            _ => s.other += 1,
        });
        let s = self.hub.state();
        self.hub.send(Event::Row {
            index,
            row: row.row,
            status: row.status.as_str().into(),
            target_group_id: row.target_group_id,
            plan: row.plan.map(|p| p.as_str().into()),
            message: row.note.clone().unwrap_or_default(),
        });
        self.hub.send(Event::Counts {
            created: s.created,
            existing: s.existing,
            failed: s.failed,
            other: s.other,
        });
    }

    fn warning(&self, text: &str) {
        self.hub.send(Event::Warning { text: text.into() });
    }
}
