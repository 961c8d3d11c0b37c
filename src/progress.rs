//! How a run reports its progress: phases counting rows, and each posted row as it lands. The
//! runner talks to this trait only; the terminal's bars implement it (`cli::bars`), as a web
//! page can.

use crate::outcome::RowOutcome;

/// Whoever watches a run.
pub trait Progress: Send + Sync {
    /// A phase counting rows; `total` when it is known (a bar with an ETA), else a spinner.
    fn phase(&self, label: &'static str, total: Option<u64>) -> Box<dyn Phase>;

    /// A row's posting has ended (created, existing, failed, not sent).
    fn landed(&self, _row: &RowOutcome) {}

    /// Something the user should know while the run goes on (an unreadable journal line).
    fn warning(&self, _text: &str) {}
}

/// One phase of a run.
pub trait Phase: Send + Sync {
    fn inc(&self, n: u64);
    fn set_position(&self, n: u64);
    /// What to show beside the count (e.g. `created 120, existing 3, failed 0`).
    fn set_message(&self, msg: String);
    /// Ends the phase with a one-line account of it.
    fn finish(self: Box<Self>, summary: &str);
}

/// Progress nobody watches.
pub struct Silent;

struct SilentPhase;

impl Progress for Silent {
    fn phase(&self, _: &'static str, _: Option<u64>) -> Box<dyn Phase> {
        Box::new(SilentPhase)
    }
}

impl Phase for SilentPhase {
    fn inc(&self, _: u64) {}
    fn set_position(&self, _: u64) {}
    fn set_message(&self, _: String) {}
    fn finish(self: Box<Self>, _: &str) {}
}
