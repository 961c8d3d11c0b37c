//! The CSV report: one line per problem or outcome.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::write_error;
use crate::error::InputError;
use crate::outcome::RowOutcome;

const HEADER: [&str; 9] = [
    "sheet",
    "row",
    "name",
    "status",
    "column",
    "cell",
    "code",
    "message",
    "target_group_id",
];

pub struct CsvReport {
    path: PathBuf,
    out: csv::Writer<BufWriter<File>>,
}

/// A spreadsheet opening the CSV would run `=…`, `+…`, `-…`, `@…` as a formula; a leading `'`
/// keeps it text (SPEC §5).
pub fn escape_formula(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

impl CsvReport {
    /// Starts the report in `file` (its staged file); `path` is where it will land.
    pub fn create(file: File, path: &Path) -> Result<Self, InputError> {
        let mut buffered = BufWriter::with_capacity(1 << 20, file);
        // Excel reads a CSV without a byte-order mark as the machine's old code page, and
        // accents in names come out garbled; with it, as UTF-8.
        buffered
            .write_all("\u{feff}".as_bytes())
            .map_err(write_error(path))?;
        let mut out = csv::Writer::from_writer(buffered);
        out.write_record(HEADER)
            .map_err(|e| write_error(path)(e.into()))?;
        Ok(CsvReport {
            path: path.to_path_buf(),
            out,
        })
    }

    pub fn row(&mut self, o: &RowOutcome) -> Result<(), InputError> {
        let row = o.row.to_string();
        let id = o.target_group_id.map(|i| i.to_string()).unwrap_or_default();
        let mut write = |column: &str, cell: &str, code: &str, message: &str| {
            self.out.write_record([
                escape_formula(o.sheet).as_ref(),
                &row,
                &escape_formula(&o.name),
                o.status.as_str(),
                &escape_formula(column),
                cell,
                code,
                &escape_formula(message),
                &id,
            ])
        };
        let mut wrote = false;
        for p in o.errors.iter().chain(&o.warnings) {
            let message = match &p.hint {
                Some(h) => format!("{} ({h})", p.message),
                None => p.message.clone(),
            };
            write(&p.column, &p.cell, p.code.as_str(), &message)
                .map_err(|e| write_error(&self.path)(e.into()))?;
            wrote = true;
        }
        for a in &o.api_errors {
            // Code 0 is the tool's own word (a redirect, out of attempts), not an API code.
            let code = if a.code == 0 {
                String::new()
            } else {
                a.code.to_string()
            };
            write("", "", &code, &a.message).map_err(|e| write_error(&self.path)(e.into()))?;
            wrote = true;
        }
        for (field, code, message) in o.live_lines() {
            write(&field, "", code, &message).map_err(|e| write_error(&self.path)(e.into()))?;
            wrote = true;
        }
        if let Some(note) = &o.note {
            write("", "", "note", note).map_err(|e| write_error(&self.path)(e.into()))?;
            wrote = true;
        }
        if !wrote {
            write("", "", "", "").map_err(|e| write_error(&self.path)(e.into()))?;
        }
        Ok(())
    }

    /// Sheet-level warnings (unknown columns) close the report, one line each.
    pub fn finish(
        mut self,
        sheet: &str,
        warnings: &[crate::problem::Problem],
    ) -> Result<(), InputError> {
        for p in warnings {
            let message = match &p.hint {
                Some(h) => format!("{} ({h})", p.message),
                None => p.message.clone(),
            };
            let row = crate::problem::row_of(&p.cell)
                .map(|r| r.to_string())
                .unwrap_or_default();
            self.out
                .write_record([
                    escape_formula(sheet).as_ref(),
                    &row,
                    "",
                    "",
                    &escape_formula(&p.column),
                    &p.cell,
                    p.code.as_str(),
                    &escape_formula(&message),
                    "",
                ])
                .map_err(|e| write_error(&self.path)(e.into()))?;
        }
        self.out.flush().map_err(write_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_are_prefixed() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_formula("+1"), "'+1");
        assert_eq!(escape_formula("-1"), "'-1");
        assert_eq!(escape_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_formula("\tx"), "'\tx");
        assert_eq!(escape_formula("Weekend streak"), "Weekend streak");
    }
}
