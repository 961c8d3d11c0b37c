//! The JSON report, streamed: the rows are written as they come, the totals after them, so a
//! million-row report never sits in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};

use super::{write_error, ApiBlock, InputBlock, RunMeta, Tally};
use crate::check::InputSummary;
use crate::error::InputError;
use crate::outcome::RowOutcome;

pub struct JsonReport {
    path: PathBuf,
    out: BufWriter<File>,
    rows: u64,
    /// The line being written, reused.
    line: Vec<u8>,
    /// The last sheet name seen and its JSON form: every row of a sheet shares it.
    sheet: (&'static str, String),
}

impl JsonReport {
    /// Starts the report in `file` (its staged file); `path` is where it will land.
    pub fn create(file: File, path: &Path, meta: &RunMeta) -> Result<Self, InputError> {
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
            line: Vec::with_capacity(512),
            sheet: ("", json("")),
        })
    }

    pub fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        self.line.clear();
        self.line
            .extend_from_slice(if self.rows == 0 { b"\n" } else { b",\n" });
        self.rows += 1;
        if !std::ptr::eq(self.sheet.0, o.sheet) {
            self.sheet = (o.sheet, json(o.sheet));
        }
        write_row(&mut self.line, o, &self.sheet.1);
        self.out
            .write_all(&self.line)
            .map_err(write_error(&self.path))
    }

    pub fn finish(
        mut self,
        input: &InputBlock,
        summary: &InputSummary,
        tally: &Tally,
        api: Option<&ApiBlock>,
    ) -> Result<(), InputError> {
        let tail = serde_json::json!({
            "input": input,
            "api": api,
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

/// A row as serde would write it (a test holds the two equal), by hand because it is done for
/// every row on the one writing thread: no field names escaped again and again, and the sheet
/// name (`sheet_json`) escaped once per sheet.
fn write_row(out: &mut Vec<u8>, o: &RowOutcome, sheet_json: &str) {
    fn list<T: serde::Serialize>(out: &mut Vec<u8>, items: &[T]) {
        if items.is_empty() {
            out.extend_from_slice(b"[]");
        } else {
            serde_json::to_writer(&mut *out, items).expect("serializing to memory cannot fail");
        }
    }
    fn int(out: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
        match n {
            Some(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b"{\"sheet\":");
    out.extend_from_slice(sheet_json.as_bytes());
    out.extend_from_slice(b",\"row\":");
    int(out, Some(o.row));
    out.extend_from_slice(b",\"name\":");
    serde_json::to_writer(&mut *out, &o.name).expect("serializing to memory cannot fail");
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(o.status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"errors\":");
    list(out, &o.errors);
    out.extend_from_slice(b",\"warnings\":");
    list(out, &o.warnings);
    out.extend_from_slice(b",\"target_group_id\":");
    int(out, o.target_group_id);
    out.extend_from_slice(b",\"http_status\":");
    int(out, o.http_status);
    out.extend_from_slice(b",\"api_errors\":");
    list(out, &o.api_errors);
    out.extend_from_slice(b",\"attempts\":");
    int(out, Some(o.attempts));
    if let Some(note) = &o.note {
        out.extend_from_slice(b",\"note\":");
        serde_json::to_writer(&mut *out, note).expect("serializing to memory cannot fail");
    }
    if o.done_earlier {
        out.extend_from_slice(b",\"done_earlier\":true");
    }
    if let Some(plan) = o.plan {
        out.extend_from_slice(b",\"plan\":");
        serde_json::to_writer(&mut *out, &plan).expect("serializing to memory cannot fail");
    }
    if o.given_id.is_some() {
        out.extend_from_slice(b",\"given_id\":");
        int(out, o.given_id);
    }
    if !o.changes.is_empty() {
        out.extend_from_slice(b",\"changes\":");
        list(out, &o.changes);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ApiError, Plan, Status};
    use crate::problem::{Code, Problem};

    #[test]
    fn rows_are_written_as_serde_writes_them() {
        let sheet = crate::outcome::sheet_name("Streaks \"Q3\" ünï");
        let valid = RowOutcome::new(sheet, 2);
        let mut invalid = RowOutcome::new(sheet, 3);
        invalid.name = "Caf\u{e9} \"quoted\"\n\t\u{1}".into();
        invalid.push(Problem {
            column: "frequency".into(),
            cell: "G3".into(),
            value: "x".into(),
            code: Code::InvalidNumber,
            message: "not a number".into(),
            hint: Some("write a whole number".into()),
        });
        invalid.push(Problem {
            column: "name".into(),
            cell: "A3".into(),
            value: " a ".into(),
            code: Code::Trimmed,
            message: "trimmed".into(),
            hint: None,
        });
        let mut created = RowOutcome::new(sheet, u32::MAX);
        created.status = Status::Created;
        created.target_group_id = Some(i64::MIN);
        created.http_status = Some(200);
        created.attempts = 3;
        created.note = Some("found by \"name\"".into());
        created.done_earlier = true;
        created.api_errors = vec![ApiError {
            code: 310069,
            message: "exists".into(),
        }];
        let mut planned = RowOutcome::new(sheet, 9);
        planned.plan = Some(Plan::Update);
        planned.given_id = Some(1234);
        planned.changes = vec![crate::outcome::Change {
            field: "targets[0].defaultValues".into(),
            old: "500".into(),
            new: "\"600\"".into(),
            editable: true,
        }];
        for o in [valid, invalid, created, planned] {
            let mut line = Vec::new();
            write_row(&mut line, &o, &json(o.sheet));
            assert_eq!(
                String::from_utf8(line).unwrap(),
                serde_json::to_string(&o).unwrap()
            );
        }
    }
}
