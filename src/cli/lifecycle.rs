//! `export` and `undo` on the command line: flags → options → the runner → a summary.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::api::api_options;
use super::args::{ConnectArgs, ExportArgs, UiArgs, UndoArgs};
use super::{on_ctrl_c, runtime, Bars};
use crate::progress::Progress;
use crate::run::{
    self, ExportOptions, ExportResult, RunError, UndoOptions, UndoOutcome, UndoResult,
};
use crate::text::{plural, printable};

fn api(c: &ConnectArgs) -> Result<run::ApiOptions, RunError> {
    Ok(api_options(c.sandbox, &c.api, &c.state_dir)?)
}

pub fn export(args: &ExportArgs) -> Result<ExportResult, RunError> {
    let api = api(&args.connect)?;
    let options = ExportOptions {
        output: args.output.clone(),
        name: args.name.clone(),
        statuses: args.status.clone(),
        with_ids: !args.without_ids,
        state_dir: args.connect.state_dir.clone(),
    };
    let progress: Arc<dyn Progress> = Arc::new(Bars::new(args.connect.json));
    let result = runtime()?.block_on(async {
        let interrupt = CancellationToken::new();
        on_ctrl_c(interrupt.clone());
        run::export(&options, &api, progress, interrupt).await
    })?;
    if args.connect.json {
        let notes: Vec<_> = result
            .notes
            .iter()
            .map(|(id, name, note)| serde_json::json!({"target_group_id": id, "name": name, "note": note}))
            .collect();
        let skipped: Vec<_> = result
            .skipped
            .iter()
            .map(|(id, why)| serde_json::json!({"target_group_id": id, "why": why}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": result.path.display().to_string(),
                "periods_file": result.periods_path.as_ref().map(|p| p.display().to_string()),
                "streaks": result.streaks,
                "period_rows": result.period_rows,
                "notes": notes,
                "skipped": skipped,
                "api": result.api,
            })
        );
        return Ok(result);
    }
    println!(
        "exported {} to {}{}",
        plural(result.streaks, "streak", "streaks"),
        result.path.display(),
        match (&result.periods_path, result.period_rows) {
            (Some(p), n) => format!(
                " (their {} in {})",
                plural(n, "period", "periods"),
                p.display()
            ),
            (None, 0) => String::new(),
            (None, n) => format!(" ({} on its periods sheet)", plural(n, "period", "periods")),
        }
    );
    for (id, name, note) in &result.notes {
        println!("  streak {id} {:?}: {}", printable(name), printable(note));
    }
    for (id, why) in &result.skipped {
        let id = id.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
        println!("  streak {id} not exported: {}", printable(why));
    }
    if !result.notes.is_empty() || !result.skipped.is_empty() {
        println!("the lines above are what the file does not hold as the server has it (exit 1)");
    }
    println!("{} requests", result.api.requests);
    Ok(result)
}

pub fn undo(args: &UndoArgs) -> Result<UndoResult, RunError> {
    let api = api(&args.connect)?;
    let options = UndoOptions {
        source: args.run.clone(),
        dry_run: args.dry_run,
        state_dir: args.connect.state_dir.clone(),
        report: args.report.clone(),
    };
    let progress: Arc<dyn Progress> = Arc::new(Bars::new(args.connect.json));
    let result = runtime()?.block_on(async {
        let interrupt = CancellationToken::new();
        on_ctrl_c(interrupt.clone());
        run::undo(&options, &api, progress, interrupt).await
    })?;
    if let Some(stop) = &result.stopped {
        eprintln!("error: {}", printable(&stop.to_string()));
    }
    if let Some(e) = &result.journal_error {
        eprintln!("error: {}", printable(&e.to_string()));
    }
    if args.connect.json {
        println!(
            "{}",
            serde_json::json!({
                "summary": result.counts,
                "rows": result.rows,
                "report": result.report.as_ref().map(|l| l.path.display().to_string()),
            })
        );
        return Ok(result);
    }
    for r in &result.rows {
        let what = match &r.outcome {
            UndoOutcome::Deleted => "deleted".to_string(),
            UndoOutcome::WouldDelete => "would be deleted".to_string(),
            UndoOutcome::DeletedEarlier => "deleted by an earlier undo".to_string(),
            UndoOutcome::AlreadyGone => "already gone".to_string(),
            UndoOutcome::Refused(why) => format!("refused: {why}"),
            UndoOutcome::Failed(why) => format!("failed: {why}"),
            UndoOutcome::NotDone => "not done: the undo stopped first".to_string(),
        };
        println!(
            "  row {} {:?} (id {}): {}",
            r.row,
            printable(&r.name),
            r.target_group_id,
            printable(&what)
        );
    }
    let c = &result.counts;
    if result.rows.is_empty() {
        println!("the run created no streaks (its rows were existing, updated or not sent): nothing to undo");
    }
    let of = plural(
        result.rows.len() as u64,
        "streak the run created",
        "streaks the run created",
    );
    let rest = format!(
        "{} already gone, {} refused, {} failed",
        c.already_gone, c.refused, c.failed
    );
    if args.dry_run {
        println!(
            "undo dry run, nothing deleted: would delete {} of the {of}; {rest}",
            c.would_delete
        );
    } else {
        let earlier = if c.deleted_earlier > 0 {
            format!(" ({} by an earlier undo)", c.deleted_earlier)
        } else {
            String::new()
        };
        println!(
            "deleted {} of the {of}{earlier}; {rest}",
            c.deleted + c.deleted_earlier
        );
    }
    if c.not_done > 0 {
        println!(
            "{} not done: the undo stopped first; run the same command again to go on",
            c.not_done
        );
    }
    if let Some(l) = &result.report {
        println!("report: {}", l.path.display());
    }
    Ok(result)
}

/// `ui`: the page's server until Ctrl-C. Without credentials for a remote API the page asks for
/// them (kept in this process's memory only).
pub fn ui(args: &UiArgs) -> Result<(), RunError> {
    use crate::ui::{serve, ApiChoice, UiOptions};
    let c = &args.connect;
    let api = match api_options(c.sandbox, &c.api, &c.state_dir) {
        Ok(o) => ApiChoice::Ready(o),
        Err(why) => match super::api::base_url_of(&c.api) {
            Ok(base_url) => ApiChoice::NeedsCredentials {
                base_url,
                client: super::api::client_options(&c.api),
                why: why.to_string(),
            },
            Err(_) => ApiChoice::None(format!("{why}")),
        },
    };
    let options = UiOptions {
        port: args.port,
        state_dir: c.state_dir.clone(),
        api,
    };
    let open = !args.no_open;
    runtime()?.block_on(async {
        // Ctrl-C stops the server, and an import in flight as it would in the terminal.
        let stop = CancellationToken::new();
        on_ctrl_c(stop.clone());
        serve(
            options,
            |ui| {
                use std::io::Write;
                println!("{}", ui.url);
                let _ = std::io::stdout().flush();
                eprintln!("streak-import ui: serving on 127.0.0.1 only; Ctrl-C stops it");
                if open && webbrowser::open(&ui.url).is_err() {
                    eprintln!("could not open a browser: open the URL above yourself");
                }
            },
            stop,
        )
        .await
    })
}
