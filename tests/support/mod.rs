//! What the import suites share: the binary with a clean environment, generated sheets, the
//! sandbox on a free loopback port, and checks of the report against the server's state.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use streak_import::sandbox::{Sandbox, SandboxConfig};

pub const NOW: &str = "2026-07-01T09:00:00";
pub const PASSWORD: &str = "Tr0ub4dor&3-sandbox";

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_streak-import"));
    c.env("STREAK_IMPORT_NOW", NOW)
        .env_remove("CAPILLARY_BASE_URL")
        .env_remove("CAPILLARY_USERNAME")
        .env_remove("CAPILLARY_PASSWORD")
        .env_remove("CAPILLARY_OAUTH_KEY")
        .env_remove("CAPILLARY_OAUTH_SECRET");
    c
}

pub fn show(cmd: &Command, out: &Output) -> String {
    format!(
        "command: {cmd:?}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `n` valid weekly streaks named `Streak NNNN`.
pub fn write_rows(dir: &Path, n: usize) -> PathBuf {
    let mut csv = String::from("name,frequency_type,total_periods,start_date,target_entity,target_type,default_value,streak_levels\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Streak {i:04},WEEKLY,4,2026-08-03,TRANSACTION,SALES,{},2;3\n",
            100 + i
        ));
    }
    let path = dir.join("rows.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

pub async fn sandbox(config: SandboxConfig) -> Sandbox {
    let config = SandboxConfig {
        username: "till".into(),
        password: PASSWORD.into(),
        ..config
    };
    Sandbox::start(config, "127.0.0.1:0".parse::<SocketAddr>().unwrap())
        .await
        .unwrap()
}

pub fn import(base: &str, input: &Path, dir: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.current_dir(dir)
        .arg("import")
        .arg(input)
        .args(["--base-url", base, "--state-dir"])
        .arg(dir.join("state"))
        .args([
            "--report", "out.json", "--report", "out.csv", "--report", "out.xlsx", "--quiet",
        ])
        .args(extra)
        .env("CAPILLARY_USERNAME", "till")
        .env("CAPILLARY_PASSWORD", PASSWORD);
    c
}

pub async fn run(mut cmd: Command) -> (Command, Output) {
    tokio::task::spawn_blocking(move || {
        let out = cmd.output().unwrap();
        (cmd, out)
    })
    .await
    .unwrap()
}

pub fn report_rows(dir: &Path) -> Vec<Value> {
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out.json")).unwrap()).unwrap();
    report["rows"].as_array().unwrap().clone()
}

pub fn names_on(sandbox: &Sandbox) -> HashMap<String, Vec<i64>> {
    let mut by_name: HashMap<String, Vec<i64>> = HashMap::new();
    for g in sandbox.groups() {
        by_name
            .entry(g["name"].as_str().unwrap().to_lowercase())
            .or_default()
            .push(g["id"].as_i64().unwrap());
    }
    by_name
}

/// Every row of the report is `created` with the id the sandbox holds for its name, and the
/// sandbox holds each name exactly once.
pub fn assert_exactly_once(dir: &Path, sandbox: &Sandbox, n: usize) {
    let on_server = names_on(sandbox);
    assert_eq!(
        on_server.len(),
        n,
        "the sandbox should hold {n} distinct names"
    );
    for (name, ids) in &on_server {
        assert_eq!(ids.len(), 1, "{name} exists {} times", ids.len());
    }
    let rows = report_rows(dir);
    assert_eq!(rows.len(), n);
    for r in rows {
        let name = r["name"].as_str().unwrap().to_lowercase();
        assert_eq!(r["status"], "created", "{r}");
        assert_eq!(
            r["target_group_id"].as_i64(),
            Some(on_server[&name][0]),
            "{r}"
        );
    }
}

/// Every file under `dir`, but the input sheet.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !p.ends_with("rows.csv") {
            out.push(p);
        }
    }
    out
}

/// Runs `cmd` to its end and returns its output with its peak memory (`ru_maxrss`, KiB) as
/// the kernel counted it for that process alone.
pub fn run_measured(mut cmd: Command, dir: &Path) -> (Output, u64) {
    let out_path = dir.join("measured.stdout");
    let err_path = dir.join("measured.stderr");
    cmd.stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    // Reaped by wait4 below, which `Child` cannot do while also reading the usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the child is reaped here, not by `Child`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    use std::os::unix::process::ExitStatusExt;
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    (output, usage.ru_maxrss as u64)
}

/// Sends SIGINT (Ctrl-C) to `child` and waits for its output.
pub async fn interrupt(child: std::process::Child) -> Output {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// A tmpfs mounted for one test, unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs with `options` (e.g. `size=32k`, `ro,size=64k`) at `at`. The tests that
    /// call it are ignored when built without root (see build.rs), so a failure here is one.
    pub fn mount(at: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "cannot mount a tmpfs at {} ({status:?}): this test needs root",
            at.display()
        );
        Tmpfs(at.to_path_buf())
    }

    pub fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Polls `ready` every few milliseconds until it holds or `limit` passes; whether it held.
pub async fn wait_until(limit: std::time::Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while !ready() {
        if started.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    true
}
