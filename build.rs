//! Build-time facts the tests need: whether LibreOffice (`soffice`) and Chromium with its
//! chromedriver are on the PATH, and whether
//! the build runs as root (the tests that mount a tmpfs need it). Without one, the tests that
//! need it are compiled as ignored, so `cargo test` shows them as ignored with the reason, not
//! as passing; under `CI=true` they are never ignored (and fail without what they need).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(soffice_missing)");
    println!("cargo::rustc-check-cfg=cfg(not_root)");
    println!("cargo::rustc-check-cfg=cfg(chromium_missing)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("soffice").is_file()));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !on_path && !ci {
        println!("cargo::rustc-cfg=soffice_missing");
    }
    // tests/ui.rs drives Debian's chromium through its chromedriver.
    let both = ["chromium", "chromedriver"].iter().all(|tool| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
    });
    if !both && !ci {
        println!("cargo::rustc-cfg=chromium_missing");
    }
    // The effective uid, as the kernel reports it (no libc needed in a build script).
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    });
    if !root && !ci {
        println!("cargo::rustc-cfg=not_root");
    }
}
