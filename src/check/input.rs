//! What reading and checking learnt about the input as a whole, beside its rows: the sheet,
//! its header and how it maps to the template, the sheet-level warnings, where the periods came
//! from. The reports and the summaries read it.

use crate::problem::Problem;

/// What the run learnt about its input, beside the rows.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub info: crate::sheet::SheetInfo,
    pub headers: Vec<String>,
    pub header_row: u32,
    /// Sheet-level warnings (unknown columns), reported once.
    pub warnings: Vec<Problem>,
    /// Where explicit periods came from, if anywhere.
    pub periods_source: Option<String>,
    /// Data rows of the main sheet.
    pub rows: u64,
    /// For each template column, its cell index in the input (as the validator mapped it).
    pub columns: Vec<Option<usize>>,
    /// The explicit period rows as read (template column order), by streak key.
    pub period_rows: Vec<(String, Vec<crate::sheet::Value>)>,
    /// The input's sha256, when reading it gave it (see `crate::input_hash`).
    pub sha256: Option<String>,
    /// `--map`, for reports that write rows back in template form.
    pub mapping: Option<super::mapping::Mapping>,
}
