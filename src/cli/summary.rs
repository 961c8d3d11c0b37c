//! The summary a person reads at the end of a run: counts, problems grouped by code with the
//! first few examples, and where the full reports are.

use std::fmt::Write;
use std::path::PathBuf;

use crate::problem::Code;
use crate::report::{CodeTally, Tally};
use crate::run::InputSummary;
use crate::text::{plural, printable};

pub fn render(
    command: &str,
    input: &InputSummary,
    tally: &Tally,
    reports: &[PathBuf],
    extra: &[String],
) -> String {
    let mut s = String::new();
    let info = &input.info;
    let dialect = info
        .dialect
        .as_ref()
        .map(|d| format!(", {d}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "{command} {} (sheet `{}`, {}{dialect})",
        info.path.display(),
        info.sheet,
        info.format
    );
    if let Some(p) = &input.periods_source {
        let _ = writeln!(s, "  periods from {p}");
    }
    let c = &tally.counts;
    let mut parts = vec![plural(c.rows, "row", "rows")];
    for (n, label) in [
        (c.valid, "valid"),
        (c.invalid, "invalid"),
        (c.created, "created"),
        (
            c.already_done,
            "already done by an earlier run of this file",
        ),
        (c.existing, "already existing"),
        (c.updated, "updated"),
        (c.differs, "differ from their live streak (not updated)"),
        (c.conflict, "in conflict with their live streak"),
        (c.failed, "failed"),
        (c.not_sent, "not sent"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let _ = writeln!(s, "  {}", parts.join(", "));
    if tally.period_rows_invalid > 0 {
        let _ = writeln!(
            s,
            "  {} of the periods sheet {} problems",
            plural(tally.period_rows_invalid, "row", "rows"),
            if tally.period_rows_invalid == 1 {
                "has"
            } else {
                "have"
            }
        );
    }
    for line in extra {
        let _ = writeln!(s, "  {line}");
    }
    section(&mut s, "Problems", &tally.errors, &info.sheet);
    section(&mut s, "Warnings", &tally.warnings, &info.sheet);
    if !reports.is_empty() {
        let _ = writeln!(s, "\nReports:");
        for r in reports {
            let _ = writeln!(s, "  {}", r.display());
        }
    }
    printable(&s).into_owned()
}

/// The `--quiet` summary: one line per problem code with its count and first place, one for
/// rows that failed or were not sent, and where the reports are; nothing when all is well.
pub fn render_quiet(tally: &Tally, reports: &[PathBuf]) -> String {
    let mut s = String::new();
    for (code, t) in &tally.errors {
        let first = t
            .examples
            .first()
            .map(|(sheet, row, p)| {
                let cell = if p.cell.is_empty() {
                    String::new()
                } else {
                    format!(" {}", p.cell)
                };
                format!(" (first: sheet {sheet}, row {row}{cell} {})", p.column)
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{code}: {}{first}",
            plural(t.count, "problem", "problems")
        );
    }
    let c = &tally.counts;
    if c.failed > 0 || c.not_sent > 0 {
        let _ = writeln!(
            s,
            "{} failed, {} not sent",
            plural(c.failed, "row", "rows"),
            c.not_sent
        );
    }
    if !s.is_empty() && !reports.is_empty() {
        let paths: Vec<String> = reports.iter().map(|r| r.display().to_string()).collect();
        let _ = writeln!(s, "details in {}", paths.join(", "));
    }
    printable(&s).into_owned()
}

fn section(
    s: &mut String,
    title: &str,
    by_code: &std::collections::BTreeMap<Code, CodeTally>,
    main_sheet: &str,
) {
    if by_code.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n{title} by code:");
    for (code, t) in by_code {
        let _ = writeln!(s, "  {code} ({})", t.count);
        for (sheet, row, p) in &t.examples {
            let place = if p.cell.is_empty() {
                format!("row {row}")
            } else {
                format!("row {row} {}", p.cell)
            };
            let col = if p.column.is_empty() {
                String::new()
            } else {
                format!(" {}", p.column)
            };
            let sheet = if sheet == main_sheet {
                String::new()
            } else {
                format!("sheet {sheet}, ")
            };
            let hint = p
                .hint
                .as_ref()
                .map(|h| format!(" — {h}"))
                .unwrap_or_default();
            let _ = writeln!(s, "    {sheet}{place}{col}: {}{hint}", p.message);
        }
        if t.count as usize > t.examples.len() {
            let _ = writeln!(s, "    … and {} more", t.count as usize - t.examples.len());
        }
    }
}
