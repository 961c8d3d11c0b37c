//! Where report files land, without ever harming a file the user owns.
//!
//! - **Never onto an input.** A report path that resolves (symlinks, `..`, hard links) to the
//!   input sheet, its periods file or the map is refused before anything is read or written.
//! - **Staged.** Each report is written to a hidden temporary file beside its target, created
//!   before the run reads (or, for an import, before the first request), so a report that
//!   cannot be written stops the run before anything is sent. When the run ends it is moved
//!   into place; when the run fails it is removed: the only file the tool ever deletes is one
//!   it created in the same run.
//! - **An edited report is kept.** For default report paths the state dir records a hash of
//!   what was last written there. A default report on disk that does not match (the user fixed
//!   rows in it, or it is not ours) is left as it is and the new one lands beside it under the
//!   next free name (`x.report.2.xlsx`, …); the summary says so. A path given with `--report`
//!   is the user's explicit choice and is replaced.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::InputError;

/// A report's destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub path: PathBuf,
    /// A default path (not given with `--report`): an edited file there is kept.
    pub default: bool,
}

/// A file that a report must never be written over, and what it is to the run.
pub struct Protected<'a> {
    pub path: &'a Path,
    pub what: &'static str,
}

/// The file `path` would be once it exists: the real path of its folder, plus its name.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Some(real);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Refuses any target that is, after symlinks, `..` and hard links, one of the protected files.
pub fn check_targets(targets: &[Target], protected: &[Protected<'_>]) -> Result<(), InputError> {
    for t in targets {
        let report = resolved(&t.path);
        for p in protected {
            let same =
                same_inode(&t.path, p.path) || (report.is_some() && report == resolved(p.path));
            if same {
                return Err(InputError::ReportOverInput {
                    report: t.path.clone(),
                    what: p.what,
                    input: p.path.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// A report being written: a temporary file beside its target until [`Staged::land`].
pub struct Staged {
    target: Target,
    temp: PathBuf,
    landed: bool,
}

impl Staged {
    /// Creates the temporary file (never over an existing one); the report is written to it.
    pub fn create(target: &Target) -> Result<(Staged, File), InputError> {
        let name = target
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        let mut n = 0u32;
        loop {
            let temp = target
                .path
                .with_file_name(format!(".{name}.partial-{}-{n}", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    let staged = Staged {
                        target: target.clone(),
                        temp,
                        landed: false,
                    };
                    return Ok((staged, file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(source) => {
                    return Err(InputError::ReportWrite {
                        path: target.path.clone(),
                        source,
                    })
                }
            }
        }
    }

    /// Where the report is being written until it lands.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    pub fn target(&self) -> &Path {
        &self.target.path
    }

    /// Moves the finished report into place: onto its target, unless the target is a default
    /// report edited since this tool wrote it; then under the next free name beside it.
    pub fn land(mut self, records: &mut Records) -> Result<Landed, InputError> {
        // Only default reports are recorded: a `--report` path is replaced whatever it holds.
        let written = self
            .target
            .default
            .then(|| hash_file(&self.temp))
            .transpose()
            .map_err(|source| InputError::ReportWrite {
                path: self.target.path.clone(),
                source,
            })?;
        let mut path = self.target.path.clone();
        let mut kept = None;
        if self.target.default {
            let mut n = 1;
            while path.exists() && !records.is_ours(&path) {
                kept.get_or_insert_with(|| path.clone());
                n += 1;
                path = numbered(&self.target.path, n);
            }
        }
        std::fs::rename(&self.temp, &path).map_err(|source| InputError::ReportWrite {
            path: path.clone(),
            source,
        })?;
        self.landed = true;
        if let Some(written) = written {
            records.wrote(&path, written);
        }
        Ok(Landed { path, kept })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.landed {
            // Ours, made by this run: the only kind of file the tool removes.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Where a report landed, and the edited file it left alone, if any.
#[derive(Debug, Clone)]
pub struct Landed {
    pub path: PathBuf,
    pub kept: Option<PathBuf>,
}

/// `x.report.xlsx`, 2 → `x.report.2.xlsx`.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match path.extension() {
        Some(ext) => path.with_file_name(format!("{stem}.{n}.{}", ext.to_string_lossy())),
        None => path.with_file_name(format!("{stem}.{n}")),
    }
}

/// A fast content hash (xxh3-128, hex): a record of what was written, not a signature.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// What this tool last wrote at each default report path: `<state-dir>/reports.json`.
pub struct Records {
    file: Option<PathBuf>,
    written: BTreeMap<String, String>,
    changed: bool,
}

fn key(path: &Path) -> String {
    resolved(path)
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

impl Records {
    /// Reads the records; a missing or unreadable file is no records (then an existing default
    /// report counts as not ours, and is kept).
    pub fn load(state_dir: &Path) -> Records {
        let file = state_dir.join("reports.json");
        let written = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| {
                serde_json::from_value::<BTreeMap<String, String>>(v.get("reports")?.clone()).ok()
            })
            .unwrap_or_default();
        Records {
            file: Some(file),
            written,
            changed: false,
        }
    }

    /// Whether `path` holds exactly what this tool last wrote there.
    fn is_ours(&self, path: &Path) -> bool {
        match self.written.get(&key(path)) {
            Some(hash) => hash_file(path).is_ok_and(|h| &h == hash),
            None => false,
        }
    }

    fn wrote(&mut self, path: &Path, hash: String) {
        self.written.insert(key(path), hash);
        self.changed = true;
    }

    /// Writes the records back (temp file + rename, so a reader never sees half of them).
    pub fn save(&self) -> Result<(), InputError> {
        let Some(file) = self.file.as_ref().filter(|_| self.changed) else {
            return Ok(());
        };
        let io = |source| InputError::ReportWrite {
            path: file.clone(),
            source,
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let body = serde_json::json!({ "version": 1, "reports": self.written });
        let temp = file.with_extension(format!("json.partial-{}", std::process::id()));
        std::fs::write(&temp, body.to_string()).map_err(io)?;
        std::fs::rename(&temp, file).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &Path, default: bool) -> Target {
        Target {
            path: path.to_path_buf(),
            default,
        }
    }

    #[test]
    fn a_report_over_an_input_is_refused_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("campaign.csv");
        std::fs::write(&input, "name\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&input, &hard).unwrap();
        let protected = [Protected {
            path: &input,
            what: "the input sheet",
        }];
        for spelled in [
            input.clone(),
            dir.path().join("sub/../campaign.csv"),
            link,
            hard,
        ] {
            let err = check_targets(&[target(&spelled, false)], &protected).unwrap_err();
            assert!(err.to_string().contains("the input sheet"), "{err}");
        }
        assert!(check_targets(&[target(&dir.path().join("out.csv"), true)], &protected).is_ok());
    }

    #[test]
    fn an_edited_default_report_is_kept_and_the_new_one_lands_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.report.json");
        let mut records = Records::load(&dir.path().join("state"));
        let write = |records: &mut Records, text: &str, default: bool| {
            let (staged, mut file) = Staged::create(&target(&path, default)).unwrap();
            std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
            staged.land(records).unwrap()
        };
        let first = write(&mut records, "one", true);
        assert_eq!((first.path.clone(), first.kept), (path.clone(), None));
        // Unchanged since: replaced.
        let second = write(&mut records, "two", true);
        assert_eq!(second.path, path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        // Edited: kept, and the new report goes beside it, and stays there on later runs.
        std::fs::write(&path, "my fixes").unwrap();
        let third = write(&mut records, "three", true);
        assert_eq!(third.kept.as_deref(), Some(path.as_path()));
        assert_eq!(third.path, dir.path().join("c.report.2.json"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "my fixes");
        records.save().unwrap();
        let mut records = Records::load(&dir.path().join("state"));
        let fourth = write(&mut records, "four", true);
        assert_eq!(fourth.path, dir.path().join("c.report.2.json"));
        assert_eq!(std::fs::read_to_string(&fourth.path).unwrap(), "four");
        // An explicit --report path is replaced: the user chose it.
        let explicit = write(&mut records, "five", false);
        assert_eq!(std::fs::read_to_string(&explicit.path).unwrap(), "five");
        // A report never landed leaves nothing behind.
        drop(Staged::create(&target(&dir.path().join("x.json"), true)).unwrap());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial") || n == "x.json")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
