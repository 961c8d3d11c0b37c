//! Progress (SPEC §6): bars on a terminal; plain lines elsewhere, nothing with `--quiet`.
//!
//! - A bar never wraps: its variable part (the counts) is a `wide_msg`, which indicatif cuts
//!   to what the terminal has left, so the line fits 80 columns and any width.
//! - Off a terminal (a CI log, a pipe), a long phase is not silent: a line with rows, rate
//!   and ETA every [`PLAIN_EVERY`], and one when it ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::progress::{Phase, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often a phase prints a line off a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The run's progress on stderr: the terminal's face of [`Progress`].
#[derive(Clone)]
pub struct Bars {
    multi: Option<MultiProgress>,
    /// Print plain phase lines (non-terminal); nothing at all with `--quiet` or `--json`.
    plain: bool,
}

/// What a phase has done, shared with the thread that prints plain lines.
struct Count {
    label: &'static str,
    pos: AtomicU64,
    total: Option<u64>,
    message: Mutex<String>,
    started: Instant,
}

impl Count {
    /// `   posting 1200/5000 rows, 20/s, ETA 3m 10s, created 1180, …`
    fn line(&self) -> String {
        let pos = self.pos.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64();
        let rate = pos as f64 / secs.max(1e-3);
        let mut line = match self.total {
            Some(total) => format!("{:>10} {pos}/{total} rows", self.label),
            None => format!("{:>10} {pos} rows", self.label),
        };
        line += &format!(", {rate:.0}/s");
        if let Some(total) = self.total.filter(|_| rate > 0.0) {
            let left = Duration::from_secs_f64(total.saturating_sub(pos) as f64 / rate);
            line += &format!(", ETA {}", crate::post::api::human_duration(left));
        }
        let message = self.message.lock().unwrap_or_else(|e| e.into_inner());
        if !message.is_empty() {
            line += &format!(", {message}");
        }
        line
    }
}

/// One phase: a bar on a terminal, lines every [`PLAIN_EVERY`] and at its end otherwise.
struct BarPhase {
    bar: Option<ProgressBar>,
    count: Arc<Count>,
    plain: bool,
    /// Dropping it stops the plain-line thread (in a mutex: a phase is shared across threads).
    ticker: Mutex<Option<Sender<()>>>,
}

impl Bars {
    /// Bars on a terminal, plain lines elsewhere; nothing at all when `quiet` (or `--json`).
    pub fn new(quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Bars {
            multi: (terminal && !quiet)
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            plain: !terminal && !quiet,
        }
    }

    /// Bars drawn to `target` (tests draw to a terminal of a chosen width).
    pub fn to_target(target: ProgressDrawTarget) -> Self {
        Bars {
            multi: Some(MultiProgress::with_draw_target(target)),
            plain: false,
        }
    }
}

impl Progress for Bars {
    /// A phase counting rows; `total` draws a bar with an ETA, `None` a spinner with a rate.
    fn phase(&self, label: &'static str, total: Option<u64>) -> Box<dyn Phase> {
        let count = Arc::new(Count {
            label,
            pos: AtomicU64::new(0),
            total,
            message: Mutex::new(String::new()),
            started: Instant::now(),
        });
        let bar = self.multi.as_ref().map(|m| {
            // Hidden until added: a bar drawn on its own first would leave a stray line above.
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
            let template = if total.is_some() {
                "{prefix:>10} [{bar:20}] {pos}/{len} {rate} ETA {eta} {wide_msg}"
            } else {
                "{prefix:>10} {spinner} {pos} rows {rate} {wide_msg}"
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
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let ticker = self.plain.then(|| {
            let (stop, stopped) = channel::<()>();
            let count = count.clone();
            std::thread::spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(PLAIN_EVERY) {
                    eprintln!("{}", count.line());
                }
            });
            stop
        });
        Box::new(BarPhase {
            bar,
            count,
            plain: self.plain,
            ticker: Mutex::new(ticker),
        })
    }

    /// Shown even with `--quiet`: a warning is never progress.
    fn warning(&self, text: &str) {
        let line = format!("warning: {}", crate::text::printable(text));
        match &self.multi {
            Some(m) => m.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Phase for BarPhase {
    fn inc(&self, n: u64) {
        self.count.pos.fetch_add(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn set_position(&self, n: u64) {
        self.count.pos.store(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    fn set_message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg.clone());
        }
        *self.count.message.lock().unwrap_or_else(|e| e.into_inner()) = msg;
    }

    fn finish(self: Box<Self>, summary: &str) {
        self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take();
        let secs = self.count.started.elapsed().as_secs_f64();
        let line = format!("{summary} in {secs:.2}s");
        match &self.bar {
            // The bar turns into its own summary line, so no half-drawn frame is left behind.
            Some(b) => {
                if let Ok(style) = ProgressStyle::with_template("{prefix:>10} {wide_msg}") {
                    b.set_style(style);
                }
                b.finish_with_message(line);
            }
            None if self.plain => eprintln!("{:>10} {line}", self.count.label),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal of a fixed width that keeps every line drawn on it.
    #[derive(Debug, Clone)]
    struct Screen {
        width: u16,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.lines.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.write_line(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_posting_bar_fits_80_columns() {
        let screen = Screen {
            width: 80,
            lines: Arc::default(),
        };
        let progress = Bars::to_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        let phase = progress.phase("posting", Some(1_000_000));
        phase.inc(123_456);
        phase.set_message("created 123456, existing 99999, failed 12345".into());
        std::thread::sleep(Duration::from_millis(250));
        phase.finish("123456 created, 99999 already existing, 12345 failed, and more words");
        let lines = screen.lines.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("posting") && l.contains("123456/1000000")),
            "{lines:?}"
        );
        for line in &lines {
            // The templates use no styles, so every char is one column.
            let width = line.chars().count();
            assert!(width <= 80, "{width} columns: {line:?}");
        }
    }

    #[test]
    fn a_plain_line_says_rows_rate_eta_and_counts() {
        let count = Count {
            label: "posting",
            pos: AtomicU64::new(50),
            total: Some(200),
            message: Mutex::new("created 50".into()),
            started: Instant::now() - Duration::from_secs(10),
        };
        let line = count.line();
        assert!(
            line.starts_with("   posting 50/200 rows, 5/s, ETA 30 seconds"),
            "{line}"
        );
        assert!(line.ends_with(", created 50"), "{line}");
    }
}
