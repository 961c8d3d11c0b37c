//! Posting benchmark of `streak-import import` against the sandbox (not a test: it always exits 0).
//!
//! Run: `cargo bench --bench import` (quick: `BENCH_IMPORT_ROWS=2000 cargo bench --bench import`).
//!
//! 1. Writes `BENCH_IMPORT_ROWS` (default 10,000) valid streaks to `target/bench-data/`.
//! 2. Starts the sandbox (`streak-import sandbox --port 0`, its own process, so that the importer's
//!    peak memory is its own and not a copy of a sandbox's) with 20 ms latency per request and runs
//!    the real binary against it at `--concurrency 32`; the ideal time is
//!    rows × latency ÷ concurrency, and the wall time (process start to exit, reading and reporting
//!    included) is compared with it. Target: within 1.15× the ideal.
//! 3. Runs the same file again into a fresh sandbox with no latency: requests per second.
//! 4. Takes the importer's peak RSS from `wait4`, and checks every run: exit 0 and every row
//!    `created` in the report (exactly-once against the sandbox's own state is a test:
//!    `tests/import.rs`).
//! 5. Rate control, without `--rate-limit`: against a sandbox that allows R requests a second
//!    in a sliding window, a token bucket, a fixed one-minute window whose 429 carries no
//!    `Retry-After`, and a sliding window whose limit doubles mid-run. Each prints wall ÷ ideal
//!    (N/R, or the doubling's two phases) and the share of requests the sandbox answered 429
//!    (from its own count). Targets: ≤ 1.15× (plus one window for the fixed window), ≤ 10%.
//!    `BENCH_IMPORT_LIMITS=0` skips them (they take about four minutes).
//!
//! Under `cargo test --benches` (no `--bench` argument) it does nothing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-07-01T09:00:00";
const LATENCY_MS: u64 = 20;
const CONCURRENCY: usize = 32;
const RATIO_TARGET: f64 = 1.15;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if let Err(e) = run() {
        eprintln!("benchmark failed: {e}");
    }
}

fn rows_wanted() -> usize {
    std::env::var("BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn write_rows(path: &Path, n: usize) -> Res<()> {
    let mut csv = String::from(
        "name,description,frequency_type,total_periods,start_date,target_entity,target_type,default_value,streak_levels,store_ids\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "Bench Streak {i:06},Weekly spend streak {i},WEEKLY,4,2026-08-03,TRANSACTION,SALES,{},2;3,{}\n",
            100 + i % 400,
            1000 + i % 50
        ));
    }
    std::fs::write(path, csv)?;
    Ok(())
}

struct Run {
    wall: Duration,
    peak_mb: f64,
}

/// Runs the importer against `base` and waits for it with `wait4` to read its peak RSS.
fn import(bin: &Path, input: &Path, base: &str, dir: &Path, concurrency: usize) -> Res<Run> {
    let started = Instant::now();
    let child = Command::new(bin)
        .current_dir(dir)
        .arg("import")
        .arg(input)
        .args([
            "--base-url",
            base,
            "--concurrency",
            &concurrency.to_string(),
            "--quiet",
            "--fresh",
        ])
        .args(["--report", "out.json", "--state-dir", "state"])
        .env("STREAK_IMPORT_NOW", NOW)
        .env("CAPILLARY_USERNAME", "bench")
        .env("CAPILLARY_PASSWORD", "bench-password")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the child is reaped here, not by `Child`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if got != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()).into());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("the import exited with status {status:#x}").into());
    }
    Ok(Run {
        wall,
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// A sandbox process on a free port; killed when dropped.
struct SandboxProcess {
    child: Child,
    base: String,
}

impl SandboxProcess {
    fn start(bin: &Path, latency_ms: u64, extra: &[&str]) -> Res<Self> {
        let mut child = Command::new(bin)
            .args([
                "sandbox",
                "--port",
                "0",
                "--latency-ms",
                &latency_ms.to_string(),
            ])
            .args(extra)
            .env("SANDBOX_USERNAME", "bench")
            .env("SANDBOX_PASSWORD", "bench-password")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| format!("unexpected sandbox banner: {line}"))?
            .to_string();
        Ok(SandboxProcess { child, base })
    }

    /// The sandbox's own counts (`GET /_sandbox/stats`): requests, and those answered 429.
    fn stats(&self) -> Res<(u64, u64)> {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr)?;
        write!(
            stream,
            "GET /_sandbox/stats HTTP/1.0\r\nHost: {addr}\r\n\r\n"
        )?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        let body = text
            .split("\r\n\r\n")
            .nth(1)
            .ok_or("no body in the stats answer")?;
        let stats: serde_json::Value = serde_json::from_str(body)?;
        let count = |k: &str| stats[k].as_u64().ok_or(format!("no {k} in {body}"));
        Ok((count("requests")?, count("limited")?))
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check(dir: &Path, rows: usize) -> Res<()> {
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("out.json"))?)?;
    let created = report["rows"]
        .as_array()
        .map(|r| r.iter().filter(|r| r["status"] == "created").count());
    if created != Some(rows) {
        return Err(format!("expected {rows} created; the report says {created:?}").into());
    }
    Ok(())
}

/// One rate-control run: the sandbox's limit flags, the rows, the ideal time and its slack.
struct Limited {
    label: &'static str,
    flags: &'static [&'static str],
    rows: usize,
    ideal: Duration,
    /// Added to the 1.15× target (one window, for a fixed window).
    slack: Duration,
}

const LIMITED: [Limited; 4] = [
    Limited {
        label: "sliding window 50/s",
        flags: &["--rate-limit", "50/s", "--rate-shape", "sliding"],
        rows: 1000,
        ideal: Duration::from_secs(20),
        slack: Duration::ZERO,
    },
    Limited {
        label: "token bucket 50/s",
        flags: &["--rate-limit", "50/s", "--rate-shape", "bucket"],
        rows: 1000,
        ideal: Duration::from_secs(20),
        slack: Duration::ZERO,
    },
    Limited {
        label: "fixed 600/min, no R-A",
        flags: &[
            "--rate-limit",
            "600/min",
            "--rate-shape",
            "fixed",
            "--no-retry-after",
        ],
        rows: 1200,
        ideal: Duration::from_secs(120),
        slack: Duration::from_secs(60),
    },
    // 25/s for the first 20 s (500 rows), then 50/s for the other 1,000: 40 s at best.
    Limited {
        label: "sliding 25/s, 50/s at 20 s",
        flags: &[
            "--rate-limit",
            "25/s",
            "--rate-shape",
            "sliding",
            "--rate-change",
            "20:50",
        ],
        rows: 1500,
        ideal: Duration::from_secs(40),
        slack: Duration::ZERO,
    },
];

fn run() -> Res<()> {
    let rows = rows_wanted();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_streak-import"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data)?;
    let input_of = |n: usize| -> Res<PathBuf> {
        let input = data.join(format!("import-{n}.csv"));
        if !input.exists() {
            write_rows(&input, n)?;
        }
        Ok(input)
    };
    let input = input_of(rows)?;
    let dir = tempfile::tempdir()?;
    let slow = SandboxProcess::start(&bin, LATENCY_MS, &[])?;
    let latency_run = import(&bin, &input, &slow.base, dir.path(), CONCURRENCY)?;
    check(dir.path(), rows)?;
    drop(slow);

    let dir = tempfile::tempdir()?;
    let fast = SandboxProcess::start(&bin, 0, &[])?;
    let fast_run = import(&bin, &input, &fast.base, dir.path(), CONCURRENCY)?;
    check(dir.path(), rows)?;
    drop(fast);

    let ideal = Duration::from_millis(LATENCY_MS) * rows as u32 / CONCURRENCY as u32;
    let ratio = latency_run.wall.as_secs_f64() / ideal.as_secs_f64();
    println!(
        "import benchmark: {rows} rows, concurrency {CONCURRENCY}, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<28} {:>10} {:>10} {:>8} {:>10} {:>9}",
        "run", "ideal s", "wall s", "ratio", "req/s", "peak MB"
    );
    println!(
        "{:<28} {:>10.2} {:>10.2} {:>7.3}x {:>10.0} {:>9.1}",
        format!("sandbox latency {LATENCY_MS} ms"),
        ideal.as_secs_f64(),
        latency_run.wall.as_secs_f64(),
        ratio,
        rows as f64 / latency_run.wall.as_secs_f64(),
        latency_run.peak_mb
    );
    println!(
        "{:<28} {:>10} {:>10.2} {:>8} {:>10.0} {:>9.1}",
        "sandbox latency 0 ms",
        "-",
        fast_run.wall.as_secs_f64(),
        "-",
        rows as f64 / fast_run.wall.as_secs_f64(),
        fast_run.peak_mb
    );
    println!(
        "target: wall within {RATIO_TARGET}x the ideal: {}",
        if ratio <= RATIO_TARGET {
            "PASS"
        } else {
            "MISS"
        }
    );
    if std::env::var("BENCH_IMPORT_LIMITS").as_deref() == Ok("0") {
        return Ok(());
    }
    println!();
    println!("rate control (no --rate-limit; default concurrency 8; 2 ms sandbox latency)");
    println!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7}  target",
        "server limit", "rows", "ideal s", "wall s", "ratio", "429s", "share"
    );
    for case in &LIMITED {
        let input = input_of(case.rows)?;
        let dir = tempfile::tempdir()?;
        let sandbox = SandboxProcess::start(&bin, 2, case.flags)?;
        let run = import(&bin, &input, &sandbox.base, dir.path(), 8)?;
        check(dir.path(), case.rows)?;
        let (requests, limited) = sandbox.stats()?;
        let ratio = run.wall.as_secs_f64() / case.ideal.as_secs_f64();
        let bound = (case.ideal.as_secs_f64() * RATIO_TARGET + case.slack.as_secs_f64())
            / case.ideal.as_secs_f64();
        let share = limited as f64 / requests.max(1) as f64;
        let met = ratio <= bound && share <= 0.10;
        println!(
            "{:<28} {:>6} {:>8.1} {:>8.1} {:>7.3}x {:>8} {:>6.1}%  ≤ {bound:.2}x, ≤ 10%: {}",
            case.label,
            case.rows,
            case.ideal.as_secs_f64(),
            run.wall.as_secs_f64(),
            ratio,
            limited,
            share * 100.0,
            if met { "PASS" } else { "MISS" }
        );
    }
    Ok(())
}
