//! Progress: bars on a terminal; plain lines elsewhere and with `--quiet` (SPEC §6).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    pub fn phase(&self, label: &'static str, total: Option<u64>, bytes: bool) -> Phase {
        let bar = self.multi.as_ref().map(|m| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let template = match (total.is_some(), bytes) {
                (true, true) => {
                    "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}"
                }
                (true, false) => {
                    "{prefix:>10} [{bar:30}] {pos}/{len} rows {per_sec} ETA {eta} {msg}"
                }
                _ => "{prefix:>10} {spinner} {pos} rows {per_sec} {msg}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label);
            m.add(bar)
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
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.bar.is_some() || self.plain {
            eprintln!("{:>10} {summary} in {secs:.2}s", self.label);
        }
    }
}
