//! A dry run's request bodies, `{"row": 7, "body": {…}}` per valid row in input order, and the
//! sink that streams a validation's outcomes to the tally, the reports and those bodies.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::pipeline::Sink;
use crate::check::InputSummary;
use crate::error::InputError;
use crate::outcome::RowOutcome;
use crate::report::{Landed, Records, Reports, Staged, Tally, Target};

/// `<stem>.payloads.jsonl` beside the first report.
pub(super) fn payloads_path(report: &Path) -> PathBuf {
    let name = report
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("input");
    let stem = name.split(".report.").next().unwrap_or(name);
    let stem = stem
        .strip_suffix(".json")
        .or_else(|| stem.strip_suffix(".csv"))
        .or_else(|| stem.strip_suffix(".xlsx"))
        .unwrap_or(stem);
    report.with_file_name(format!("{stem}.payloads.jsonl"))
}

/// Writes the request bodies of rows held in memory (the dry run with a server preview) to a
/// staged file, landed with the reports at the end.
pub(super) fn stage_payloads(target: &Target, rows: &[RowOutcome]) -> Result<Staged, InputError> {
    let mut w = PayloadWriter::create(target)?;
    for o in rows {
        w.row(o)?;
    }
    w.close()
}

/// The request bodies file, staged until the run lands its reports.
pub(super) struct PayloadWriter {
    staged: Staged,
    out: BufWriter<File>,
}

impl PayloadWriter {
    pub fn create(target: &Target) -> Result<Self, InputError> {
        let (staged, file) = Staged::create(target)?;
        Ok(PayloadWriter {
            staged,
            out: BufWriter::new(file),
        })
    }

    fn write_error(&self, source: std::io::Error) -> InputError {
        InputError::ReportWrite {
            path: self.staged.target().to_path_buf(),
            source,
        }
    }

    fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let Some(body) = &o.payload else {
            return Ok(());
        };
        let line = serde_json::json!({ "row": o.row, "body": body });
        writeln!(self.out, "{line}").map_err(|e| self.write_error(e))
    }

    /// The finished file, still staged.
    fn close(mut self) -> Result<Staged, InputError> {
        if let Err(e) = self.out.flush() {
            return Err(self.write_error(e));
        }
        drop(self.out);
        Ok(self.staged)
    }

    pub fn finish(self, records: &mut Records) -> Result<Landed, InputError> {
        self.close()?.land(records)
    }
}

/// Where a streamed run's outcomes go as they come: the tally, the reports, the dry run's bodies.
pub(super) struct Streamed<'a> {
    pub reports: &'a mut Reports,
    pub payloads: Option<&'a mut PayloadWriter>,
    pub tally: &'a mut Tally,
}

impl Sink for Streamed<'_> {
    fn header(&mut self, summary: &InputSummary) -> Result<(), InputError> {
        self.reports.begin(summary)
    }

    fn rows(&mut self, outcomes: Vec<RowOutcome>) -> Result<(), InputError> {
        for o in &outcomes {
            self.tally.add(o);
            if let Some(w) = self.payloads.as_mut() {
                w.row(o)?;
            }
            self.reports.row(o)?;
        }
        Ok(())
    }
}
