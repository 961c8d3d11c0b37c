//! The journal (SPEC §6): what an import did, so that a crash, a kill or Ctrl-C never creates a
//! streak twice and never loses an outcome. One file per input (keyed by its sha256) under
//! `--state-dir`; one JSON line per event, appended and flushed before the run goes on:
//! `intent` before a row's request, `outcome` after it. No credentials are ever written.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::outcome::{ApiError, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    Intent {
        row: u32,
        name: String,
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
    },
}

/// What earlier runs of the same input left.
#[derive(Debug, Default)]
pub struct Previous {
    /// The last outcome of each row.
    pub outcomes: HashMap<u32, Entry>,
    /// Rows whose request was sent (or about to be) with no outcome recorded: the run died.
    pub in_flight: HashMap<u32, String>,
}

pub struct Journal {
    path: PathBuf,
    file: File,
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
            _ => Status::NotSent,
        })
    }
}

pub fn path_for(state_dir: &Path, sha256: &str) -> PathBuf {
    state_dir.join(format!("{sha256}.journal.jsonl"))
}

impl Journal {
    /// Opens (creating) the journal of an input and reads what earlier runs recorded. With
    /// `fresh`, an existing journal is moved aside (kept, never deleted) and the run starts over.
    pub fn open(
        state_dir: &Path,
        sha256: &str,
        fresh: bool,
    ) -> Result<(Journal, Previous), InputError> {
        let io = |source| InputError::ReportWrite {
            path: state_dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let path = path_for(state_dir, sha256);
        let mut previous = Previous::default();
        if path.exists() {
            if fresh {
                let aside = path.with_extension(format!(
                    "jsonl.{}",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ));
                std::fs::rename(&path, aside).map_err(io)?;
            } else {
                previous = read(&path).map_err(io)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok((Journal { path, file }, previous))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and flushes it to the OS before returning: once this returns, a kill
    /// of the process cannot lose it.
    pub fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

/// Reads a journal; a torn last line (the process died mid-write) is ignored.
fn read(path: &Path) -> std::io::Result<Previous> {
    let mut previous = Previous::default();
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
            continue;
        };
        match &entry {
            Entry::Intent { row, name } => {
                previous.in_flight.insert(*row, name.clone());
            }
            Entry::Outcome { row, .. } => {
                previous.in_flight.remove(row);
                previous.outcomes.insert(*row, entry);
            }
        }
    }
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert!(prev.outcomes.is_empty());
        j.append(&Entry::Intent {
            row: 2,
            name: "A".into(),
        })
        .unwrap();
        j.append(&Entry::Outcome {
            row: 2,
            name: "A".into(),
            status: Status::Created,
            target_group_id: Some(7),
            http_status: Some(200),
            api_errors: vec![],
            attempts: 1,
        })
        .unwrap();
        j.append(&Entry::Intent {
            row: 3,
            name: "B".into(),
        })
        .unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"outc")
            .unwrap();
        let (_, prev) = Journal::open(dir.path(), "abc", false).unwrap();
        assert_eq!(prev.in_flight.get(&3).map(String::as_str), Some("B"));
        assert!(matches!(
            prev.outcomes.get(&2),
            Some(Entry::Outcome {
                target_group_id: Some(7),
                ..
            })
        ));
        let (_, prev) = Journal::open(dir.path(), "abc", true).unwrap();
        assert!(prev.outcomes.is_empty() && prev.in_flight.is_empty());
    }
}
