//! Why a run ended without a result: its input, its state dir, the API, or a bug. The face maps
//! each to its exit code (see `cli::exit`).

use crate::error::InputError;
use crate::post::api::Stop;
use crate::post::journal::JournalError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A flag, a file or its contents (exit 2).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The state dir: another run holds the journal, or it cannot be written (exit 2).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The API side stopped the run before it had a result (exit 3).
    #[error(transparent)]
    Api(#[from] Stop),
    /// Ctrl-C before the command had a result (exit 130).
    #[error("interrupted: nothing more was sent; run the same command again to go on")]
    Interrupted,
    /// Something in the tool itself failed: a bug, or the machine (exit 4).
    #[error("internal error: {0}. This is a bug in streak-import, or the machine is out of resources: please report it with the command you ran.")]
    Internal(String),
}
