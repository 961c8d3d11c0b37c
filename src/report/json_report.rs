//! The JSON report, streamed: the rows are written as they come, the totals after them, so a
//! million-row report never sits in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};

use super::{write_error, InputBlock, RunMeta, Tally};
use crate::error::InputError;
use crate::outcome::RowOutcome;
use crate::pipeline::InputSummary;

pub struct JsonReport {
    path: PathBuf,
    out: BufWriter<File>,
    rows: u64,
}

impl JsonReport {
    pub fn create(path: &Path, meta: &RunMeta) -> Result<Self, InputError> {
        let file = File::create(path).map_err(write_error(path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write!(
            out,
            "{{\"tool\":\"streak-import\",\"version\":{},\"mode\":{},\"started_at\":{},\"rows\":[",
            json(env!("CARGO_PKG_VERSION")),
            json(meta.mode),
            json(&meta.started_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        )
        .map_err(write_error(path))?;
        Ok(JsonReport {
            path: path.to_path_buf(),
            out,
            rows: 0,
        })
    }

    pub fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let sep: &[u8] = if self.rows == 0 { b"\n" } else { b",\n" };
        self.rows += 1;
        self.out.write_all(sep).map_err(write_error(&self.path))?;
        serde_json::to_writer(&mut self.out, o).map_err(|e| write_error(&self.path)(e.into()))
    }

    pub fn finish(
        mut self,
        input: &InputBlock,
        summary: &InputSummary,
        tally: &Tally,
    ) -> Result<(), InputError> {
        let tail = serde_json::json!({
            "input": input,
            "summary": tally.counts,
            "period_rows_invalid": tally.period_rows_invalid,
            "warnings": summary.warnings,
            "finished_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        });
        let tail = tail.to_string();
        // `tail` is an object; splice its members after the rows array.
        let members = &tail[1..tail.len() - 1];
        write!(self.out, "\n],{members}}}\n").map_err(write_error(&self.path))?;
        self.out.flush().map_err(write_error(&self.path))
    }
}

fn json(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
