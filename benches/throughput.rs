//! Speed and memory benchmark of `streak-import validate` (not a test: it always exits 0).
//!
//! Run: `cargo bench --bench throughput`
//! Quick run: `BENCH_ROWS_CSV=100000 BENCH_ROWS_XLSX=10000 cargo bench --bench throughput`
//!
//! What it does:
//! 1. Generates realistic, all-valid streak sheets into `target/bench-data/` (kept and reused while
//!    the row count and the generator's DATA_VERSION are the same): a CSV of `BENCH_ROWS_CSV` rows (default 1,000,000), a CSV of a
//!    quarter of that (250,000) to show that memory does not grow with the row count, and an XLSX
//!    of `BENCH_ROWS_XLSX` rows (default 100,000) written by rust_xlsxwriter in constant-memory
//!    mode, with real date cells for `start_date`.
//! 2. Runs the binary: Cargo sets `CARGO_BIN_EXE_streak-import` for bench targets and builds the
//!    binary first with the `bench` profile, which inherits `release`, so it is
//!    `target/release/streak-import` (`STREAK_IMPORT_BIN` overrides it).
//! 3. Times `validate FILE --report out.json --quiet` (with `STREAK_IMPORT_NOW=2026-07-01T09:00:00`)
//!    against a baseline measured in the same run on the same file: a bare `csv::ByteRecord` loop
//!    for CSV, a bare calamine `worksheet_range` for XLSX. Each is run `BENCH_RUNS` times
//!    (default 3) after a warm-up read of the file into the page cache; the median is reported.
//! 4. Takes each tool run's peak RSS from `wait4`'s `ru_maxrss`, in a small helper process (see
//!    `run_tool` for why not from here).
//! 5. Checks the first report of each file (the JSON parses, `summary.rows` and the `rows` array
//!    both equal the input rows, every row valid, exit code 0), so a broken run is never timed.
//!
//! Targets: CSV ratio ≤ 3×, XLSX ratio ≤ 1.5×, peak RSS ≤ 300 MB for the 1M-row CSV, and (to show
//! that memory is flat) the median peak from 250k to 1M rows growing by no more than the
//! duplicate-name index does, within 16 MB. The index is the one thing that must grow: a 16-byte
//! entry and a control byte per bucket, in a hashbrown table of the next power of two ≥ 8/7 of the
//! rows (19–39 bytes a row). Each is printed as PASS or MISS.
//!
//! Under `cargo test --benches` (no `--bench` argument) it does nothing.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use rust_xlsxwriter::{Format, Workbook};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

const NOW: &str = "2026-07-01T09:00:00";
/// Part of the data files' names: bump it when the generator changes, so old files are not reused.
// 2: a share of names and descriptions carry non-ASCII text (accents, en dashes, emoji).
const DATA_VERSION: u32 = 2;
const SHEET: &str = "streaks";

const CSV_RATIO_TARGET: f64 = 3.0;
const XLSX_RATIO_TARGET: f64 = 1.5;
const PEAK_MB_TARGET: f64 = 300.0;
/// How much more than the duplicate-name index peak memory may grow (see the top). What is in
/// flight (blocks, outcomes, the allocator's not yet reclaimed pages) is bounded but fluctuates,
/// and a run four times longer meets higher peaks of it: 5–15 MB more were measured (mimalloc's
/// own peak-commit count agrees). 16 MB over 750,000 extra rows is 22 bytes a row, so state kept
/// per row beyond the index would still show.
const FLAT_SLACK_MB: f64 = 16.0;

/// The duplicate-name index's size for `rows` names, in MB: hashbrown's bucket count for that
/// capacity, 16 bytes of entry and 1 control byte each.
fn name_index_mb(rows: usize) -> f64 {
    let buckets = (rows * 8).div_ceil(7).next_power_of_two();
    (buckets * 17) as f64 / (1024.0 * 1024.0)
}

/// The template's header (src/columns.rs order).
const HEADER: [&str; 29] = [
    "name",
    "description",
    "active",
    "tracking_type",
    "evaluation_type",
    "frequency_type",
    "frequency",
    "total_periods",
    "recurring_cycles",
    "start_date",
    "time_zone",
    "preferred_till_id",
    "user_created",
    "target_name",
    "target_entity",
    "target_type",
    "enrolment_method",
    "default_value",
    "expression",
    "expression_json",
    "event_name",
    "alternate_currency_id",
    "program_id",
    "attribute_name",
    "aggregate_function",
    "store_ids",
    "zone_ids",
    "concept_ids",
    "streak_levels",
];
const C_NAME: usize = 0;
const C_DESCRIPTION: usize = 1;
const C_ACTIVE: usize = 2;
const C_TRACKING: usize = 3;
const C_EVALUATION: usize = 4;
const C_FREQ_TYPE: usize = 5;
const C_FREQ: usize = 6;
const C_TOTAL: usize = 7;
const C_START: usize = 9;
const C_ZONE: usize = 10;
const C_TILL: usize = 11;
const C_ENTITY: usize = 14;
const C_TYPE: usize = 15;
const C_ENROLMENT: usize = 16;
const C_DEFAULT: usize = 17;
const C_EVENT: usize = 20;
const C_CURRENCY: usize = 21;
const C_PROGRAM: usize = 22;
const C_STORES: usize = 25;
const C_ZONES: usize = 26;
const C_LEVELS: usize = 28;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os(HELPER_ENV).is_some() {
        std::process::exit(match measure_child(&args[1..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("measuring helper: {e}");
                1
            }
        });
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("throughput: a benchmark; run it with `cargo bench --bench throughput`");
        return;
    }
    if let Err(e) = run() {
        // A benchmark reports, it does not fail the build.
        eprintln!("throughput benchmark could not run: {e}");
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.replace('_', "").parse().unwrap_or_else(|_| {
            eprintln!("{name}={v} is not a number; using {default}");
            default
        }),
        Err(_) => default,
    }
}

fn binary() -> PathBuf {
    std::env::var_os("STREAK_IMPORT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_streak-import")))
}

fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BENCH_DATA_DIR") {
        return PathBuf::from(d);
    }
    // CARGO_TARGET_TMPDIR is `<target>/tmp`; the data goes beside it.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("bench-data")
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn run() -> Res<()> {
    let csv_rows = env_usize("BENCH_ROWS_CSV", 1_000_000).max(8);
    let small_rows = (csv_rows / 4).max(2);
    let xlsx_rows = env_usize("BENCH_ROWS_XLSX", 100_000).max(2);
    let runs = env_usize("BENCH_RUNS", 3).max(1);
    let bin = binary();
    let dir = data_dir();
    fs::create_dir_all(&dir)?;
    println!("streak-import throughput benchmark");
    println!("  binary : {}", bin.display());
    println!("  data   : {}", dir.display());
    println!(
        "  runs   : {runs} per measurement (median reported); {} cores",
        cores()
    );
    println!("  load   : {} (before)", load_average());
    if !bin.is_file() {
        return Err(format!(
            "{} does not exist; run `cargo build --release`",
            bin.display()
        )
        .into());
    }

    let csv_big = ensure(
        &dir.join(format!("streaks-v{DATA_VERSION}-{csv_rows}.csv")),
        csv_rows,
        write_csv,
    )?;
    let csv_small = ensure(
        &dir.join(format!("streaks-v{DATA_VERSION}-{small_rows}.csv")),
        small_rows,
        write_csv,
    )?;
    let xlsx = ensure(
        &dir.join(format!("streaks-v{DATA_VERSION}-{xlsx_rows}.xlsx")),
        xlsx_rows,
        write_xlsx,
    )?;

    let mut results = Vec::new();
    for (path, rows, kind) in [
        (&csv_big, csv_rows, Kind::Csv),
        (&csv_small, small_rows, Kind::Csv),
        (&xlsx, xlsx_rows, Kind::Xlsx),
    ] {
        results.push(measure(&bin, &dir, path, rows, kind, runs)?);
    }

    let load_after = load_average();
    println!();
    println!(
        "{:<24} {:>9} {:>11} {:>9} {:>8} {:>8} {:>11} {:>11}",
        "file", "rows", "baseline s", "tool s", "ratio", "peak MB", "tool cpu s", "cpu µs/row"
    );
    for r in &results {
        println!(
            "{:<24} {:>9} {:>11.3} {:>9.3} {:>7.2}x {:>8.1} {:>11.3} {:>11.2}",
            r.file,
            r.rows,
            r.baseline,
            r.tool,
            r.ratio(),
            r.peak_mb,
            r.tool_cpu,
            r.tool_cpu * 1e6 / r.rows as f64,
        );
    }
    println!(
        "  baseline: bare csv::ByteRecord loop / calamine worksheet_range, in-process, one thread.\n  \
         tool: `validate FILE --report out.json --quiet`, whole process, wall clock; tool cpu s is\n  \
         user+sys of all its threads (from wait4), which other load on the machine does not inflate.\n  \
         Medians of {runs} runs; peak MB is the largest ru_maxrss of the runs.\n  \
         load average after: {load_after}"
    );
    let busy = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            l.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .is_some_and(|l| l > cores() as f64);
    if busy {
        println!(
            "  WARNING: the machine was busy with other work (load > {} cores); wall-clock times and\n  \
             ratios are inflated. Re-run on an idle machine for the real numbers.",
            cores()
        );
    }

    let (big, small, book) = (&results[0], &results[1], &results[2]);
    println!();
    println!("targets");
    let full = csv_rows == 1_000_000;
    let note = if full {
        String::new()
    } else {
        format!(" [at {csv_rows} rows, not 1,000,000]")
    };
    verdict(
        &format!("CSV  ratio ≤ {CSV_RATIO_TARGET}x"),
        format!("{:.2}x", big.ratio()),
        big.ratio() <= CSV_RATIO_TARGET,
    );
    verdict(
        &format!("XLSX ratio ≤ {XLSX_RATIO_TARGET}x"),
        format!("{:.2}x", book.ratio()),
        book.ratio() <= XLSX_RATIO_TARGET,
    );
    verdict(
        &format!("peak RSS ≤ {PEAK_MB_TARGET} MB (CSV, {csv_rows} rows){note}"),
        format!("{:.1} MB", big.peak_mb),
        big.peak_mb <= PEAK_MB_TARGET,
    );
    let grew = big.median_peak_mb - small.median_peak_mb;
    let index_grew = name_index_mb(csv_rows) - name_index_mb(small_rows);
    verdict(
        &format!("flat memory: growth ≤ the name index's + {FLAT_SLACK_MB} MB"),
        format!(
            "{:.1} → {:.1} MB: +{grew:.1} MB, the index +{index_grew:.1} MB ({:.0} bytes per extra row in all)",
            small.median_peak_mb,
            big.median_peak_mb,
            grew * 1024.0 * 1024.0 / (csv_rows - small_rows) as f64,
        ),
        grew <= index_grew + FLAT_SLACK_MB,
    );
    Ok(())
}

fn verdict(what: &str, got: String, pass: bool) {
    println!(
        "  {:<4}  {what:<58} {got}",
        if pass { "PASS" } else { "MISS" }
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Csv,
    Xlsx,
}

struct Measured {
    file: String,
    rows: usize,
    baseline: f64,
    tool: f64,
    peak_mb: f64,
    /// For comparing two sizes: the largest of a few runs is the noisiest statistic.
    median_peak_mb: f64,
    tool_cpu: f64,
}

impl Measured {
    fn ratio(&self) -> f64 {
        self.tool / self.baseline
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn measure(
    bin: &Path,
    dir: &Path,
    path: &Path,
    rows: usize,
    kind: Kind,
    runs: usize,
) -> Res<Measured> {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    eprint!("measuring {file}: ");
    // Warm the page cache so neither side pays for the disk.
    io::copy(&mut File::open(path)?, &mut io::sink())?;
    let report = dir.join(format!("{file}.report.json"));
    let stderr_log = dir.join(format!("{file}.stderr.txt"));

    let (mut base_t, mut tool_t, mut cpu_t, mut peaks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let (secs, counted) = match kind {
            Kind::Csv => baseline_csv(path)?,
            Kind::Xlsx => baseline_xlsx(path)?,
        };
        // Header row included.
        if counted != rows + 1 {
            return Err(format!(
                "baseline read {counted} records from {file}, expected {}",
                rows + 1
            )
            .into());
        }
        base_t.push(secs);

        let run = run_tool(bin, path, &report, &stderr_log)?;
        if run.exit != 0 {
            return Err(format!(
                "`validate {file}` exited {} (see {}); expected 0 for an all-valid sheet",
                run.exit,
                stderr_log.display()
            )
            .into());
        }
        if i == 0 {
            check_report(&report, rows)?;
        }
        tool_t.push(run.secs);
        cpu_t.push(run.cpu);
        peaks.push(run.peak_kb as f64 / 1024.0);
        eprint!("[{secs:.2}s / {:.2}s] ", run.secs);
    }
    eprintln!();
    let _ = fs::remove_file(&report);
    Ok(Measured {
        file,
        rows,
        baseline: median(base_t),
        tool: median(tool_t),
        tool_cpu: median(cpu_t),
        peak_mb: peaks.iter().cloned().fold(0.0, f64::max),
        median_peak_mb: median(peaks),
    })
}

/// The floor for CSV: parse every record and do nothing with it.
fn baseline_csv(path: &Path) -> Res<(f64, usize)> {
    let start = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0usize;
    while reader.read_byte_record(&mut record)? {
        n += 1;
    }
    Ok((start.elapsed().as_secs_f64(), n))
}

/// The floor for XLSX: calamine reads the whole sheet into a range.
fn baseline_xlsx(path: &Path) -> Res<(f64, usize)> {
    use calamine::{open_workbook, Reader, Xlsx};
    let start = Instant::now();
    let mut book: Xlsx<_> = open_workbook(path)?;
    let range = book.worksheet_range(SHEET)?;
    let n = range.height();
    Ok((start.elapsed().as_secs_f64(), n))
}

struct ToolRun {
    secs: f64,
    peak_kb: i64,
    /// user + sys seconds of the whole process.
    cpu: f64,
    exit: i32,
}

/// Set in the environment of this binary when it runs as the measuring helper.
const HELPER_ENV: &str = "STREAK_IMPORT_BENCH_HELPER";

/// Runs `validate` on `input` and measures it. The tool is started by a small helper process (this
/// binary again) rather than from here: on Linux, `exec` in a child that shares its parent's
/// memory (as `posix_spawn` does) records the parent's peak memory as the child's `ru_maxrss`, and
/// this process holds a whole calamine range after the XLSX baseline. The helper's peak is its own
/// few MB.
fn run_tool(bin: &Path, input: &Path, report: &Path, stderr_log: &Path) -> Res<ToolRun> {
    let _ = fs::remove_file(report);
    let out = Command::new(std::env::current_exe()?)
        .env(HELPER_ENV, "1")
        .arg(bin)
        .arg("validate")
        .arg(input)
        .arg("--report")
        .arg(report)
        .arg("--quiet")
        .env("STREAK_IMPORT_NOW", NOW)
        .stdin(Stdio::null())
        .stderr(File::create(stderr_log)?)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [secs, peak_kb, cpu, exit] = fields[..] else {
        return Err(format!(
            "the measuring helper said {text:?} (see {})",
            stderr_log.display()
        )
        .into());
    };
    Ok(ToolRun {
        secs: secs.parse()?,
        peak_kb: peak_kb.parse()?,
        cpu: cpu.parse()?,
        exit: exit.parse()?,
    })
}

/// The helper: runs `command` with its output discarded and its errors on this process's stderr,
/// and prints its wall seconds, peak RSS (KB), user+sys seconds and exit code.
fn measure_child(command: &[String]) -> Res<()> {
    let (program, args) = command.split_first().ok_or("no command to measure")?;
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it. The child is reaped here, not by `Child`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = loop {
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == -1 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        break got;
    };
    let secs = start.elapsed().as_secs_f64();
    if got != pid {
        return Err(format!("wait4 failed: {}", io::Error::last_os_error()).into());
    }
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    // ru_maxrss is in kilobytes on Linux.
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    println!("{secs} {} {cpu} {exit}", usage.ru_maxrss);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Report check: streamed, so a million-row report is parsed without holding it.

#[derive(Deserialize)]
struct Summary {
    rows: u64,
    valid: u64,
    invalid: u64,
}

#[derive(Default)]
struct RowsSeen {
    count: u64,
    valid: u64,
}

#[derive(Deserialize)]
struct StatusOnly {
    status: String,
}

impl<'de> Deserialize<'de> for RowsSeen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RowsSeen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowsSeen, A::Error> {
                let mut seen = RowsSeen::default();
                while let Some(row) = seq.next_element::<StatusOnly>()? {
                    seen.count += 1;
                    if row.status == "valid" {
                        seen.valid += 1;
                    }
                }
                Ok(seen)
            }
        }
        d.deserialize_seq(V)
    }
}

struct Report {
    summary: Option<Summary>,
    rows: Option<RowsSeen>,
}

impl<'de> Deserialize<'de> for Report {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Report;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the report object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Report, A::Error> {
                let mut report = Report {
                    summary: None,
                    rows: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "summary" => report.summary = Some(map.next_value()?),
                        "rows" => report.rows = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(report)
            }
        }
        d.deserialize_map(V)
    }
}

fn check_report(path: &Path, rows: usize) -> Res<()> {
    let file = io::BufReader::with_capacity(1 << 20, File::open(path)?);
    let report: Report = serde_json::from_reader(file)
        .map_err(|e| format!("{} is not a complete JSON report: {e}", path.display()))?;
    let summary = report.summary.ok_or("the report has no summary")?;
    let seen = report.rows.ok_or("the report has no rows")?;
    let rows = rows as u64;
    if summary.rows != rows || seen.count != rows {
        return Err(format!(
            "report counts {} rows in summary and {} in `rows`; the input has {rows}",
            summary.rows, seen.count
        )
        .into());
    }
    if summary.valid != rows || seen.valid != rows || summary.invalid != 0 {
        return Err(format!(
            "the generated sheet should be all valid, but the report says {} valid, {} invalid",
            summary.valid, summary.invalid
        )
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Data: deterministic, realistic, valid rows.

/// Generates `path` unless a complete file with that row count is already there.
fn ensure(path: &Path, rows: usize, write: fn(&Path, usize) -> Res<()>) -> Res<PathBuf> {
    if path.is_file() {
        eprintln!("reusing {}", path.display());
        return Ok(path.to_path_buf());
    }
    eprint!("generating {} ({rows} rows)... ", path.display());
    let start = Instant::now();
    // Written under a temporary name and renamed, so an interrupted run leaves nothing to reuse.
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("csv");
    let partial = path.with_extension(format!("partial.{ext}"));
    write(&partial, rows)?;
    fs::rename(&partial, path)?;
    eprintln!(
        "{:.1}s, {:.1} MB",
        start.elapsed().as_secs_f64(),
        fs::metadata(path)?.len() as f64 / 1e6
    );
    Ok(path.to_path_buf())
}

/// splitmix64: a small deterministic generator, seeded per row.
struct Rng(u64);

impl Rng {
    fn for_row(i: usize) -> Self {
        Rng((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED_CAFE)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as u64) as u32
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ADJECTIVES: &[&str] = &[
    "Weekend",
    "Daily",
    "Monthly",
    "Summer",
    "Festive",
    "Loyal",
    "Early Bird",
    "Midnight",
    "Golden",
    "Fresh",
    "Healthy",
    "Family",
    "Urban",
    "Green",
    "Premium",
    "Super",
    "Monsoon",
    "Winter",
];
const THEMES: &[&str] = &[
    "Coffee",
    "Fashion",
    "Grocery",
    "Fuel",
    "Beauty",
    "Electronics",
    "Dining",
    "Pharmacy",
    "Books",
    "Fitness",
    "Travel",
    "Pet Care",
    "Home Decor",
    "Bakery",
    "Footwear",
    "Toys",
];
const NOUNS: &[&str] = &[
    "Streak",
    "Run",
    "Habit",
    "Challenge",
    "Quest",
    "Marathon",
    "Club",
    "Sprint",
];
const ACCENTED: &[&str] = &[
    "Été",
    "Noël",
    "Crème brûlée",
    "Fête",
    "Ñandú",
    "Øresund",
    "Straße",
];
const REGIONS: &[&str] = &[
    "North", "South", "East", "West", "Central", "Metro", "Online",
];
const ZONES: &[&str] = &[
    "Asia/Kolkata",
    "Europe/London",
    "America/New_York",
    "Asia/Singapore",
    "Asia/Dubai",
    "Australia/Sydney",
    "Europe/Berlin",
    "America/Los_Angeles",
];
const MONTHS: &[&str] = &["Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// One generated row: the cell text by column, plus typed values for the workbook.
struct Row {
    cells: [String; 29],
    start: NaiveDate,
}

fn make_row(i: usize) -> Row {
    let mut r = Rng::for_row(i);
    let mut c: [String; 29] = Default::default();
    let n = i + 1;
    let adjective = *r.pick(ADJECTIVES);
    let theme = *r.pick(THEMES);
    let noun = *r.pick(NOUNS);
    // The row number keeps names unique; the rest makes them look like real campaign names.
    c[C_NAME] = match r.below(4) {
        0 => format!("{adjective} {theme} {noun} {n}"),
        1 => format!("{theme} {noun} {} #{n}", r.pick(REGIONS)),
        2 => format!("{adjective} {theme} {}-26 {n:07}", r.pick(MONTHS)),
        _ => format!("{theme} {noun} H2-26/{n}"),
    };
    // Real sheets are not ASCII: about a third of names carry accents, en dashes or emoji.
    match r.below(9) {
        0 => c[C_NAME] = format!("Café {theme} – {noun} {n}"),
        1 => c[C_NAME] = format!("{} {theme} {noun} ☕ {n}", r.pick(ACCENTED)),
        2 => c[C_NAME] = format!("{adjective} {noun} 🎉🏅 №{n}"),
        _ => {}
    }
    c[C_DESCRIPTION] = match r.below(5) {
        0 => String::new(),
        1 => format!("Shop {} in a row, earn a badge", theme.to_lowercase()),
        2 => format!(
            "Spend 5,000 or more on {} every period",
            theme.to_lowercase()
        ),
        3 => format!(
            "\"{adjective}\" {} streak for {} stores",
            theme.to_lowercase(),
            r.pick(REGIONS)
        ),
        _ => "Visit every period; badges at each level".to_string(),
    };
    if r.chance(30) {
        c[C_DESCRIPTION] = format!(
            "Achète {} semaines de suite – gagne un badge 🏅 ({} · Zürich · São Paulo)",
            r.range(2, 9),
            r.pick(ACCENTED)
        );
    }
    c[C_ACTIVE] = r
        .pick(&["TRUE", "TRUE", "TRUE", "yes", "FALSE", ""])
        .to_string();
    c[C_TRACKING] = r
        .pick(&["STREAKS", "STREAKS", "", "NON_CONTINUOUS_STREAKS"])
        .to_string();
    c[C_EVALUATION] = r.pick(&["FIXED_CALENDAR_WINDOW", ""]).to_string();
    let (freq_type, total) = match r.below(20) {
        0..=3 => ("DAILY", r.range(3, 30)),
        4..=10 => (*r.pick(&["WEEKLY", "Weekly"]), r.range(2, 12)),
        11..=15 => ("MONTHLY", r.range(2, 12)),
        16..=17 => ("QUARTERLY", r.range(2, 4)),
        18 => (*r.pick(&["HALF_YEARLY", "Half-yearly"]), 2),
        _ => ("YEARLY", r.range(1, 3)),
    };
    c[C_FREQ_TYPE] = freq_type.to_string();
    c[C_FREQ] = if r.chance(85) { "1".into() } else { "2".into() };
    c[C_TOTAL] = total.to_string();
    let start = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap() + Days::new(r.below(184));
    c[C_START] = start.format("%Y-%m-%d").to_string();
    if r.chance(80) {
        c[C_ZONE] = r.pick(ZONES).to_string();
    }
    if r.chance(20) {
        c[C_TILL] = (75_000_000 + r.below(100_000)).to_string();
    }
    let (entity, target_type) = match r.below(20) {
        0..=7 => (
            "TRANSACTION",
            *r.pick(&["SALES", "GROSS_SALES", "VISIT", "COUNT", "QUANTITY"]),
        ),
        8..=14 => (
            "ALTERNATE_CURRENCIES",
            *r.pick(&["ALL", "REGULAR", "PROMOTION"]),
        ),
        15..=16 => ("LINEITEM", *r.pick(&["SALES", "QUANTITY"])),
        17..=18 => ("POINTS", *r.pick(&["REGULAR_POINTS", "ALL_POINTS"])),
        _ => ("EVENT", *r.pick(&["COUNT", "VISIT"])),
    };
    c[C_ENTITY] = entity.to_string();
    c[C_TYPE] = target_type.to_string();
    c[C_ENROLMENT] = r.pick(&["TRANSACTION", ""]).to_string();
    c[C_DEFAULT] = if total <= 6 && r.chance(25) {
        let base = 500 * r.range(1, 10);
        (0..total)
            .map(|k| (base + 250 * k).to_string())
            .collect::<Vec<_>>()
            .join(";")
    } else {
        r.pick(&["1", "3", "500", "1000", "2500.5", "5000"])
            .to_string()
    };
    if entity == "EVENT" {
        c[C_EVENT] = r
            .pick(&["AppLogin", "StoreCheckIn", "ReviewPosted"])
            .to_string();
    }
    if entity == "ALTERNATE_CURRENCIES" {
        c[C_CURRENCY] = r.pick(&["STARS", "COINS", "GEMS", "BEANS"]).to_string();
        c[C_PROGRAM] = (1000 + r.below(9000)).to_string();
    }
    if r.chance(25) {
        let first = 1100 + r.below(500);
        c[C_STORES] = format!("{first};{};{}", first + 1, first + 7);
    }
    if r.chance(10) {
        c[C_ZONES] = format!("{}", 30 + r.below(20));
    }
    if total >= 2 && r.chance(40) {
        let mut levels = vec![2.min(total)];
        let mut next = levels[0] + 1 + r.range(0, 2);
        while next <= total && levels.len() < 4 {
            levels.push(next);
            next += 1 + r.range(0, 3);
        }
        c[C_LEVELS] = levels
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(";");
    }
    Row { cells: c, start }
}

fn write_csv(path: &Path, rows: usize) -> Res<()> {
    let mut w = csv::WriterBuilder::new()
        .from_writer(BufWriter::with_capacity(1 << 20, File::create(path)?));
    w.write_record(HEADER)?;
    for i in 0..rows {
        let row = make_row(i);
        w.write_record(&row.cells)?;
    }
    w.flush()?;
    Ok(())
}

/// Typed cells as Excel holds them: numbers as numbers, booleans as booleans, dates as dates.
fn write_xlsx(path: &Path, rows: usize) -> Res<()> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name(SHEET)?;
    for (j, h) in HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, j as u16, *h, &bold)?;
    }
    for i in 0..rows {
        let row = make_row(i);
        let r = (i + 1) as u32;
        for (j, text) in row.cells.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let col = j as u16;
            match j {
                C_START => {
                    sheet.write_date_with_format(r, col, row.start, &date)?;
                }
                C_FREQ | C_TOTAL | C_TILL | C_PROGRAM => {
                    sheet.write_number(r, col, text.parse::<f64>()?)?;
                }
                C_DEFAULT if !text.contains(';') => {
                    sheet.write_number(r, col, text.parse::<f64>()?)?;
                }
                C_ACTIVE if text == "TRUE" || text == "FALSE" => {
                    sheet.write_boolean(r, col, text == "TRUE")?;
                }
                _ => {
                    sheet.write_string(r, col, text)?;
                }
            }
        }
    }
    book.save(path)?;
    Ok(())
}
