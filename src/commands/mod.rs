//! One module per command; each turns parsed flags into a run of the pipeline.

pub mod validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Validate,
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Validate => "validate",
            Mode::DryRun => "dry-run",
        }
    }
}
