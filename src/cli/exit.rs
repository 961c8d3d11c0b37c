//! Exit codes (SPEC §2), a contract with the scripts and CI jobs that call the tool, chosen in
//! this one place from what a command ended with.

use std::process::ExitCode;

use crate::run::{Ended, ExportResult, RunError, RunResult, UndoResult};

/// Every row valid, created or already existing.
pub const OK: u8 = 0;
/// Some rows invalid or failed; reports were written.
pub const ROWS_FAILED: u8 = 1;
/// A usage or input error (a flag, a file, the state dir).
pub const INPUT: u8 = 2;
/// The API side stopped the run.
pub const API: u8 = 3;
/// A failure inside the tool (a bug, or the machine out of resources).
pub const INTERNAL: u8 = 4;
/// Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// How a command ended.
pub enum Finished {
    /// A validation, dry run or import with its result.
    Run(Box<RunResult>),
    /// An export: 1 when some streak could not be written as the server has it.
    Exported(Box<ExportResult>),
    /// An undo: 1 when some streak was refused or failed, 3 when the API stopped it.
    Undone(Box<UndoResult>),
    /// A command with nothing to count (template, sandbox, `--help`).
    Done,
    /// Flags clap refused (it has printed why).
    BadFlags,
    Failed(RunError),
}

/// The exit code of a command's end.
pub fn code(finished: &Finished) -> ExitCode {
    ExitCode::from(number(finished))
}

fn number(finished: &Finished) -> u8 {
    match finished {
        Finished::Run(result) => match &result.ended {
            Ended::Stopped(_) => API,
            Ended::Journal(_) => INPUT,
            Ended::Interrupted => INTERRUPTED,
            Ended::Done if result.tally.all_good() => OK,
            Ended::Done => ROWS_FAILED,
        },
        Finished::Exported(e) if e.notes.is_empty() && e.skipped.is_empty() => OK,
        Finished::Exported(_) => ROWS_FAILED,
        Finished::Undone(u) if u.journal_error.is_some() => INPUT,
        Finished::Undone(u) if u.stopped.is_some() => API,
        Finished::Undone(u) if u.interrupted => INTERRUPTED,
        Finished::Undone(u) if u.all_good() => OK,
        Finished::Undone(_) => ROWS_FAILED,
        Finished::Done => OK,
        Finished::BadFlags => INPUT,
        Finished::Failed(e) => match e {
            RunError::Input(_) | RunError::Journal(_) => INPUT,
            RunError::Api(_) => API,
            RunError::Internal(_) => INTERNAL,
            RunError::Interrupted => INTERRUPTED,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InputError;
    use crate::post::api::Stop;

    #[test]
    fn each_failure_has_its_own_code() {
        let failed = |e: RunError| number(&Finished::Failed(e));
        assert_eq!(
            failed(RunError::Input(InputError::Usage("x".into()))),
            INPUT
        );
        assert_eq!(failed(RunError::Internal("x".into())), INTERNAL);
        assert_eq!(
            failed(RunError::Api(Stop::AuthRefused {
                status: 401,
                message: "x".into()
            })),
            API
        );
        assert_eq!(number(&Finished::BadFlags), INPUT);
        assert_eq!(number(&Finished::Done), OK);
    }
}
