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
fn import(bin: &Path, input: &Path, base: &str, dir: &Path) -> Res<Run> {
    let started = Instant::now();
    let child = Command::new(bin)
        .current_dir(dir)
        .arg("import")
        .arg(input)
        .args([
            "--base-url",
            base,
            "--concurrency",
            &CONCURRENCY.to_string(),
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
    fn start(bin: &Path, latency_ms: u64) -> Res<Self> {
        let mut child = Command::new(bin)
            .args([
                "sandbox",
                "--port",
                "0",
                "--latency-ms",
                &latency_ms.to_string(),
            ])
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

fn run() -> Res<()> {
    let rows = rows_wanted();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_streak-import"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&data)?;
    let input = data.join(format!("import-{rows}.csv"));
    if !input.exists() {
        write_rows(&input, rows)?;
    }
    let dir = tempfile::tempdir()?;
    let slow = SandboxProcess::start(&bin, LATENCY_MS)?;
    let latency_run = import(&bin, &input, &slow.base, dir.path())?;
    check(dir.path(), rows)?;
    drop(slow);

    let dir = tempfile::tempdir()?;
    let fast = SandboxProcess::start(&bin, 0)?;
    let fast_run = import(&bin, &input, &fast.base, dir.path())?;
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
    Ok(())
}
