//! The journal (SPEC §6): what an import did, so that a crash, a kill or Ctrl-C never creates a
//! streak twice and never loses an outcome. One file per input (keyed by its sha256) under
//! `--state-dir`; one JSON line per event, each handed to the OS before the run goes on:
//! `intent` right before a row's first request, `outcome` after its last. No credentials are
//! ever written.
//!
//! - One run per input and state dir: an OS lock on `<sha>.lock` (freed by the OS when the
//!   holder dies, so a crash never leaves it stuck), which also names the holder's process.
//! - A line torn by a kill is ended before anything is appended, and skipped on reading with a
//!   warning, like any unreadable line; one bad line never hides the others.
//! - `--fresh` moves the journal aside under a name that is not taken, never over another.
//! - Once a row is recorded `created`, nothing later changes that.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::outcome::{ApiError, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    Intent {
        row: u32,
        name: String,
        /// When the request went out (ms since the Unix epoch) and how long that run waited
        /// for answers: until then, a request of a killed run may still be landing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    Outcome {
        row: u32,
        name: String,
        status: Status,
        #[serde(default)]
        target_group_id: Option<i64>,
        #[serde(default)]
        http_status: Option<u16>,
        #[serde(default)]
        api_errors: Vec<ApiError>,
        #[serde(default)]
        attempts: u32,
        /// A `failed` row some attempt of which may have reached the server.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        maybe_sent: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// A change to a live streak (an update's part, or an undo's delete): its intent right before
/// the request, and its outcome after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChangeEntry {
    Change {
        row: u32,
        name: String,
        id: i64,
        /// `target`, `name` or `delete`.
        part: String,
        at_ms: u64,
        timeout_ms: u64,
    },
    Changed {
        row: u32,
        name: String,
        id: i64,
        part: String,
        /// `done`, `gone` (there was nothing to change) or `refused`.
        result: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

impl ChangeEntry {
    pub fn intent(row: u32, name: &str, id: i64, part: &str, timeout: Duration) -> Self {
        ChangeEntry::Change {
            row,
            name: name.to_string(),
            id,
            part: part.to_string(),
            at_ms: now_ms(),
            timeout_ms: timeout.as_millis() as u64,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// A journal line: a create's entry, or a change's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Line {
    Create(Entry),
    Change(ChangeEntry),
}

impl Entry {
    pub fn intent(row: u32, name: &str, timeout: Duration) -> Entry {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Entry::Intent {
            row,
            name: name.to_string(),
            at_ms: Some(now.as_millis() as u64),
            timeout_ms: Some(timeout.as_millis() as u64),
        }
    }

    fn row(&self) -> u32 {
        match self {
            Entry::Intent { row, .. } | Entry::Outcome { row, .. } => *row,
        }
    }
}

/// What earlier runs left for one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Earlier {
    /// Nothing, or nothing that reached the server.
    Fresh,
    /// Created or existing: done, not to be sent again.
    Done(Entry),
    /// A request may have reached the server without its answer being recorded. `landing_until`:
    /// until when it may still be landing (its send time plus that run's timeout).
    MaybeSent { landing_until: Option<SystemTime> },
}

/// A row an import created: its row number, its name, the streak's id.
pub type CreatedRow = (u32, String, i64);

/// What earlier runs of the same input left.
#[derive(Debug, Default)]
pub struct Previous {
    last_outcome: HashMap<u32, Entry>,
    open_intent: HashMap<u32, Entry>,
    /// Changes by (streak id, part): an open intent's landing deadline, or the outcome.
    open_change: HashMap<(i64, String), SystemTime>,
    changed: HashMap<(i64, String), String>,
    /// Unreadable lines, one message each (file and line).
    pub warnings: Vec<String>,
}

impl Previous {
    fn add_change(&mut self, entry: ChangeEntry) {
        match entry {
            ChangeEntry::Change {
                id,
                part,
                at_ms,
                timeout_ms,
                ..
            } => {
                let until = UNIX_EPOCH + Duration::from_millis(at_ms.saturating_add(timeout_ms));
                self.open_change.insert((id, part), until);
            }
            ChangeEntry::Changed {
                id, part, result, ..
            } => {
                self.open_change.remove(&(id, part.clone()));
                self.changed.insert((id, part), result);
            }
        }
    }

    /// A change to streak `id` an earlier run sent without recording its answer: until when
    /// that request may still be landing.
    pub fn change_landing(&self, id: i64, part: &str) -> Option<SystemTime> {
        self.open_change.get(&(id, part.to_string())).copied()
    }

    /// What an earlier run recorded of a change to streak `id` (`done`, `gone`, `refused`).
    pub fn change_result(&self, id: i64, part: &str) -> Option<&str> {
        self.changed
            .get(&(id, part.to_string()))
            .map(String::as_str)
    }

    /// Whether an earlier run updated streak `id` (a part done).
    pub fn row_changed(&self, id: i64) -> bool {
        ["target", "name"]
            .iter()
            .any(|p| self.change_result(id, p) == Some("done"))
    }

    /// The rows recorded `created`, with their names and ids, in row order.
    pub fn created(&self) -> Vec<CreatedRow> {
        let mut rows: Vec<CreatedRow> = self
            .last_outcome
            .values()
            .filter_map(|e| match e {
                Entry::Outcome {
                    row,
                    name,
                    status: Status::Created,
                    target_group_id: Some(id),
                    ..
                } => Some((*row, name.clone(), *id)),
                _ => None,
            })
            .collect();
        rows.sort();
        rows
    }

    fn add(&mut self, entry: Entry) {
        let row = entry.row();
        let created = matches!(
            self.last_outcome.get(&row),
            Some(Entry::Outcome {
                status: Status::Created,
                ..
            })
        );
        if created {
            // A created row stays created, whatever a later line says.
            return;
        }
        match entry {
            Entry::Intent { .. } => {
                self.open_intent.insert(row, entry);
            }
            Entry::Outcome { .. } => {
                self.open_intent.remove(&row);
                self.last_outcome.insert(row, entry);
            }
        }
    }

    /// What earlier runs left for row `row` named `name` (another name: another row).
    pub fn earlier(&self, row: u32, name: &str) -> Earlier {
        if let Some(Entry::Intent {
            name: n,
            at_ms,
            timeout_ms,
            ..
        }) = self.open_intent.get(&row)
        {
            if n == name {
                let landing_until = at_ms.map(|at| {
                    UNIX_EPOCH + Duration::from_millis(at.saturating_add(timeout_ms.unwrap_or(0)))
                });
                return Earlier::MaybeSent { landing_until };
            }
        }
        match self.last_outcome.get(&row) {
            Some(
                e @ Entry::Outcome {
                    name: n,
                    status: Status::Created | Status::Existing,
                    ..
                },
            ) if n == name => Earlier::Done(e.clone()),
            Some(Entry::Outcome {
                name: n,
                maybe_sent: true,
                ..
            }) if n == name => Earlier::MaybeSent {
                landing_until: None,
            },
            _ => Earlier::Fresh,
        }
    }
}

/// Why the journal cannot be used. Never a report error: it is about `--state-dir`.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("another streak-import run{} is importing this file with the state dir {dir} right now. Wait for it to finish (or stop it): two runs at once could send the same rows twice.", holder.map(|p| format!(" (process {p})")).unwrap_or_default())]
    Busy { dir: PathBuf, holder: Option<u32> },
    #[error("{path}: cannot {action} the journal: {source}. Nothing more is sent without its record. Free space or fix the folder's permissions (or pass another --state-dir), then run the same command again: rows already done are not sent twice.")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Held for the life of the run; the OS frees it when the process ends, however it ends.
    _lock: File,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "valid" => Status::Valid,
            "invalid" => Status::Invalid,
            "created" => Status::Created,
            "existing" => Status::Existing,
            "failed" => Status::Failed,
            "not_sent" => Status::NotSent,
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["created", "existing", "failed", "not_sent"],
                ))
            }
        })
    }
}

pub fn path_for(state_dir: &Path, sha256: &str) -> PathBuf {
    state_dir.join(format!("{sha256}.journal.jsonl"))
}

/// Takes the run's lock, or says who holds it.
fn lock(state_dir: &Path, sha256: &str) -> Result<File, JournalError> {
    let path = state_dir.join(format!("{sha256}.lock"));
    let io = |action, source| JournalError::Io {
        path: path.clone(),
        action,
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io("open the lock of", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(JournalError::Busy {
                dir: state_dir.to_path_buf(),
                holder: text.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
    }
    file.set_len(0).map_err(|e| io("write the lock of", e))?;
    file.write_all(std::process::id().to_string().as_bytes())
        .map_err(|e| io("write the lock of", e))?;
    Ok(file)
}

/// A name beside `path` that no file has: `<path>.<UTC time>`, then `.2`, `.3`, ….
fn aside_name(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let base = path.with_extension(format!("jsonl.{stamp}"));
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = PathBuf::from(format!("{}.{n}", base.display()));
    }
    candidate
}

impl Journal {
    /// Takes the lock, then opens (creating) the journal of an input and reads what earlier
    /// runs recorded. With `fresh`, an existing journal is moved aside (kept, never deleted,
    /// never over another) and the run starts over.
    pub fn open(
        state_dir: &Path,
        sha256: &str,
        fresh: bool,
    ) -> Result<(Journal, Previous), JournalError> {
        std::fs::create_dir_all(state_dir).map_err(|source| JournalError::Io {
            path: state_dir.to_path_buf(),
            action: "create the folder of",
            source,
        })?;
        let lock = lock(state_dir, sha256)?;
        let path = path_for(state_dir, sha256);
        let io = |action, source| JournalError::Io {
            path: path.clone(),
            action,
            source,
        };
        let mut previous = Previous::default();
        let mut torn = false;
        if path.exists() {
            if fresh {
                // The lock is held, so no other run of ours can take the name meanwhile.
                std::fs::rename(&path, aside_name(&path)).map_err(|e| io("move aside", e))?;
            } else {
                let bytes = std::fs::read(&path).map_err(|e| io("read", e))?;
                torn = bytes.last().is_some_and(|b| *b != b'\n');
                previous = read(&path, &bytes);
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io("open", e))?;
        if torn {
            // End the torn line, so the next entry starts a line of its own.
            file.write_all(b"\n").map_err(|e| io("write", e))?;
        }
        Ok((
            Journal {
                path,
                file,
                _lock: lock,
            },
            previous,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and hands it to the OS before returning: once this returns, a kill
    /// of the process cannot lose it.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        self.append_line(entry)
    }

    pub fn append_change(&mut self, entry: &ChangeEntry) -> Result<(), JournalError> {
        self.append_line(entry)
    }

    fn append_line<T: Serialize>(&mut self, entry: &T) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry).expect("journal entries always serialize");
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                action: "write",
                source,
            })
    }
}

/// Reads a journal's lines; an unreadable one (torn by a kill, or damaged) is skipped with a
/// warning naming the file and the line.
fn read(path: &Path, bytes: &[u8]) -> Previous {
    let mut previous = Previous::default();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Line>(line) {
            Ok(Line::Create(entry)) => previous.add(entry),
            Ok(Line::Change(entry)) => previous.add_change(entry),
            Err(e) => previous.warnings.push(format!(
                "{} line {}: unreadable ({e}); skipped",
                path.display(),
                i + 1
            )),
        }
    }
    previous
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(row: u32, name: &str, status: Status) -> Entry {
        Entry::Outcome {
            row,
            name: name.into(),
            status,
            target_group_id: Some(7),
            http_status: Some(200),
            api_errors: vec![],
            attempts: 1,
            maybe_sent: false,
            note: None,
        }
    }

    fn append_raw(path: &Path, bytes: &[u8]) {
        OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    #[test]
    fn records_survive_reopening_and_a_torn_line_is_ended_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert_eq!(prev.earlier(2, "A"), Earlier::Fresh);
        j.append(&Entry::intent(2, "A", Duration::from_secs(30)))
            .unwrap();
        j.append(&outcome(2, "A", Status::Created)).unwrap();
        j.append(&Entry::intent(3, "B", Duration::from_secs(30)))
            .unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        append_raw(&path, b"{\"event\":\"outc");
        let (mut j, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert!(matches!(
            prev.earlier(3, "B"),
            Earlier::MaybeSent {
                landing_until: Some(_)
            }
        ));
        assert!(matches!(prev.earlier(2, "A"), Earlier::Done(_)));
        assert_eq!(prev.earlier(2, "Another name"), Earlier::Fresh);
        assert_eq!(prev.warnings.len(), 1, "{:?}", prev.warnings);
        assert!(prev.warnings[0].contains("line 4"), "{:?}", prev.warnings);
        // The next entry is not swallowed by the torn line.
        j.append(&outcome(3, "B", Status::Existing)).unwrap();
        drop(j);
        let (_, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert!(matches!(prev.earlier(3, "B"), Earlier::Done(_)));
    }

    #[test]
    fn invalid_bytes_cost_one_line_not_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), "abc", false).unwrap();
        j.append(&outcome(2, "A", Status::Created)).unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        append_raw(
            &path,
            b"{\"event\":\"intent\",\"row\":9,\"name\":\"\xff\"}\n",
        );
        let (mut j, _) = Journal::open(dir.path(), "abc", false).unwrap();
        j.append(&outcome(4, "C", Status::Created)).unwrap();
        drop(j);
        let (_, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert!(matches!(prev.earlier(2, "A"), Earlier::Done(_)));
        assert!(matches!(prev.earlier(4, "C"), Earlier::Done(_)));
        assert!(prev.warnings[0].contains("line 2"), "{:?}", prev.warnings);
    }

    #[test]
    fn created_is_never_overridden() {
        let mut prev = Previous::default();
        prev.add(outcome(2, "A", Status::Created));
        prev.add(outcome(2, "A", Status::Existing));
        prev.add(Entry::intent(2, "A", Duration::ZERO));
        prev.add(outcome(2, "A", Status::Failed));
        match prev.earlier(2, "A") {
            Earlier::Done(Entry::Outcome {
                status,
                target_group_id,
                ..
            }) => {
                assert_eq!((status, target_group_id), (Status::Created, Some(7)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_sent_closes_an_intent_and_an_ambiguous_failure_keeps_it_open() {
        let mut prev = Previous::default();
        prev.add(Entry::intent(2, "A", Duration::ZERO));
        prev.add(outcome(2, "A", Status::NotSent));
        assert_eq!(prev.earlier(2, "A"), Earlier::Fresh);
        prev.add(Entry::intent(3, "B", Duration::ZERO));
        let mut ambiguous = outcome(3, "B", Status::Failed);
        if let Entry::Outcome { maybe_sent, .. } = &mut ambiguous {
            *maybe_sent = true;
        }
        prev.add(ambiguous);
        assert_eq!(
            prev.earlier(3, "B"),
            Earlier::MaybeSent {
                landing_until: None
            }
        );
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Journal::open(dir.path(), "abc", false).unwrap();
        match Journal::open(dir.path(), "abc", false) {
            Err(JournalError::Busy { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a second run got the lock"),
        }
        // Another input in the same state dir is not blocked.
        assert!(Journal::open(dir.path(), "def", false).is_ok());
        drop(first);
        assert!(Journal::open(dir.path(), "abc", false).is_ok());
    }

    #[test]
    fn fresh_twice_in_one_second_keeps_both_earlier_journals() {
        let dir = tempfile::tempdir().unwrap();
        for run in 0..3u32 {
            let (mut j, prev) = Journal::open(dir.path(), "abc", run > 0).unwrap();
            assert_eq!(prev.earlier(2, "A"), Earlier::Fresh);
            j.append(&outcome(2, "A", Status::Created)).unwrap();
            j.append(&outcome(100 + run, "run", Status::Created))
                .unwrap();
        }
        let mut kept: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .filter(|text| text.contains("\"run\""))
            .collect();
        kept.sort();
        assert_eq!(kept.len(), 3, "every run's journal is kept");
        for run in 0..3 {
            assert!(kept
                .iter()
                .any(|t| t.contains(&format!("\"row\":{}", 100 + run))));
        }
    }
}
