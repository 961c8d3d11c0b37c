//! A run's result on the terminal: the text summary, the `--json` object or the `--quiet` lines,
//! from the typed [`RunResult`] alone.

use super::args::SheetArgs;
use super::summary;
use crate::report::{ApiBlock, Landed};
use crate::run::{Ended, Mode, RunResult};
use crate::text::plural;

/// Prints the summary of a run as the flags ask.
pub fn print_summary(result: &RunResult, args: &SheetArgs) {
    let written: Vec<_> = result.landed.iter().map(|l| l.path.clone()).collect();
    if args.json {
        println!("{}", json_summary(result));
    } else if !args.quiet {
        print!(
            "{}",
            summary::render(
                result.mode.as_str(),
                &result.input,
                &result.tally,
                &written,
                &lines(result)
            )
        );
    }
    if args.quiet {
        // Quiet is for CI logs: no progress, no detail, but never an exit 1 without a reason.
        eprint!("{}", summary::render_quiet(&result.tally, &written));
    }
}

/// The `--json` summary: one object.
fn json_summary(result: &RunResult) -> serde_json::Value {
    let mut summary = serde_json::json!({
        "mode": result.mode.as_str(),
        "input": result.block,
        "summary": result.tally.counts,
        "period_rows_invalid": result.tally.period_rows_invalid,
        "reports": result.landed.iter().map(|l| l.path.display().to_string()).collect::<Vec<_>>(),
    });
    let extra = &mut summary;
    if let Some(plan) = &result.plan {
        extra["plan"] = serde_json::to_value(plan).unwrap_or_default();
    }
    match &result.ended {
        Ended::Stopped(stop) => extra["stopped"] = stop.to_string().into(),
        Ended::Journal(e) => extra["stopped"] = e.to_string().into(),
        Ended::Interrupted => extra["interrupted"] = true.into(),
        Ended::Done => {}
    }
    if let Some(api) = &result.api {
        extra["api"] = serde_json::to_value(api).unwrap_or_default();
    }
    summary
}

/// The lines of the text summary between the counts and the problems, in the order a reader
/// wants them: the API, what the run did besides the rows, and reports kept.
fn lines(result: &RunResult) -> Vec<String> {
    let mut lines = result.api.as_ref().map(api_lines).unwrap_or_default();
    if result.mode == Mode::DryRun && result.plan.is_none() {
        let bodies = result.bodies.unwrap_or_default();
        lines.push(format!(
            "dry run: nothing was sent; {} written",
            plural(bodies, "request body", "request bodies")
        ));
    }
    if let Some(invalid) = result.strict_held {
        lines.push(format!(
            "--strict: {invalid} invalid rows, so nothing was sent"
        ));
    }
    if let Some(journal) = &result.journal {
        lines.push(format!("journal: {}", journal.display()));
    }
    if let Some(s) = &result.sandbox {
        lines.push(format!(
            "sandbox: {} (state in {})",
            s.url,
            s.state_file.display()
        ));
    }
    let posted = &result.posted;
    if posted.skipped > 0 {
        lines.push(format!(
            "{} already done by an earlier run of this file: not sent again",
            plural(posted.skipped, "row was", "rows were")
        ));
    }
    if posted.reconciled > 0 {
        lines.push(format!(
            "{} left in flight by an earlier run found on the server",
            plural(posted.reconciled, "row", "rows")
        ));
    }
    if let Some(plan) = &result.plan {
        lines.push(format!(
            "plan: create {}, unchanged {}, update {}, conflict {}, invalid {}; dry run: nothing was sent",
            plan.create, plan.unchanged, plan.update, plan.conflict, plan.invalid
        ));
        if plan.update > 0 {
            lines.push("`import --update` applies the updates; conflicts are never changed by the tool (see the report for each field)".into());
        }
    }
    for (row, name, what, changes) in &result.tally.differences {
        // The terminal gets the gist; the reports hold every field in full.
        let shown: Vec<String> = changes
            .iter()
            .take(3)
            .map(|c| crate::template::truncate(&c.to_string(), 120))
            .collect();
        let more = changes.len().saturating_sub(3);
        lines.push(format!(
            "  row {row} {name:?} ({what}): {}{}",
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
    if let Some(live) = &result.live {
        if live.differs > 0 {
            lines.push(format!(
                "{} from {} live streak in what can change: run import with --update to apply (the report lists each field)",
                plural(live.differs, "row differs", "rows differ"),
                if live.differs == 1 { "its" } else { "their" }
            ));
        }
        if live.updated > 0 {
            lines.push(format!(
                "{} updated ({})",
                plural(live.updated, "streak", "streaks"),
                plural(live.sent, "change request", "change requests")
            ));
        }
        if live.conflict > 0 {
            lines.push(format!(
                "{} with {} live streak in fields fixed after creation: not changed (the report lists each field; only delete and re-create can change them, losing members' progress)",
                plural(live.conflict, "row conflicts", "rows conflict"),
                if live.conflict == 1 { "its" } else { "their" }
            ));
        }
    }
    lines.extend(result.landed.iter().filter_map(kept_line));
    lines
}

/// A line for a report left alone because it was edited since this tool wrote it.
fn kept_line(landed: &Landed) -> Option<String> {
    let kept = landed.kept.as_ref()?;
    Some(format!(
        "{} was changed since this tool wrote it (or was not written by it): kept as it is; this run's report is {}",
        kept.display(),
        landed.path.display()
    ))
}

/// The summary's account of the API: where, and how the requests went.
fn api_lines(api: &ApiBlock) -> Vec<String> {
    let mut traffic = format!(
        "{}: {} answered 429 (rate limited), {}",
        plural(api.requests, "request", "requests"),
        api.rate_limited,
        plural(api.retries, "retry", "retries"),
    );
    match api.pace_per_sec {
        Some(pace) if api.rate_limited > 0 => {
            traffic += &format!("; the server's limit was met, pace at the end {pace:.1}/s")
        }
        Some(pace) => traffic += &format!("; pace {pace:.1}/s (--rate-limit)"),
        None if api.requests > 0 => traffic += "; no rate limit met",
        None => {}
    }
    let mut lines = Vec::new();
    if !api.sandbox {
        lines.push(format!("API: {}", api.base_url));
    }
    lines.push(traffic);
    lines
}
