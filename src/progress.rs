//! Progress: bars on a terminal; plain lines elsewhere and with `--quiet` (SPEC §6).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How the run reports its progress on stderr.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    /// Print plain phase lines (non-terminal); nothing at all with `--quiet` or `--json`.
    plain: bool,
}

/// One phase: a bar on a terminal, one line at its end otherwise.
pub struct Phase {
    bar: Option<ProgressBar>,
    label: &'static str,
    plain: bool,
    started: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            multi: (terminal && !quiet)
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            plain: !terminal && !quiet,
        }
    }

    pub fn hidden() -> Self {
        Progress {
            multi: None,
            plain: false,
        }
    }

    /// A phase counting `unit`s; `total` draws a bar with an ETA, `None` a spinner with a rate.
    pub fn phase(&self, label: &'static str, total: Option<u64>) -> Phase {
        let bar = self.multi.as_ref().map(|m| {
            // Hidden until added: a bar drawn on its own first would leave a stray line above.
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
            let template = if total.is_some() {
                "{prefix:>10} [{bar:30}] {pos}/{len} rows {rate} ETA {eta} {msg}"
            } else {
                "{prefix:>10} {spinner} {pos} rows {rate} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                let style = style
                    .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", s.per_sec());
                    })
                    .progress_chars("=> ");
                bar.set_style(style);
            }
            bar.set_prefix(label);
            let bar = m.add(bar);
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Phase {
            bar,
            label,
            plain: self.plain,
            started: Instant::now(),
        }
    }
}

impl Phase {
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn set_position(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    pub fn set_message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    /// Ends the phase with a one-line account of it.
    pub fn finish(self, summary: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        let line = format!("{summary} in {secs:.2}s");
        match &self.bar {
            // The bar turns into its own summary line, so no half-drawn frame is left behind.
            Some(b) => {
                if let Ok(style) = ProgressStyle::with_template("{prefix:>10} {msg}") {
                    b.set_style(style);
                }
                b.finish_with_message(line);
            }
            None if self.plain => eprintln!("{:>10} {line}", self.label),
            None => {}
        }
    }
}
