//! What happened to one row: the record every stage fills in and every report reads.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use serde::Serialize;

use crate::payload::TargetGroup;
use crate::problem::Problem;
use crate::sheet::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passed validation (validate, dry run).
    Valid,
    Invalid,
    Created,
    /// The name already exists on the server: skipped.
    Existing,
    /// Refused by the API, or out of attempts.
    Failed,
    /// The run stopped before this row was sent.
    NotSent,
    /// The live streak differs in what can be updated; run with `--update` to apply it.
    Differs,
    /// The live streak was updated to match the row.
    Updated,
    /// The live streak differs in something fixed after creation: never changed by the tool.
    Conflict,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Invalid => "invalid",
            Status::Created => "created",
            Status::Existing => "existing",
            Status::Failed => "failed",
            Status::NotSent => "not_sent",
            Status::Differs => "differs",
            Status::Updated => "updated",
            Status::Conflict => "conflict",
        }
    }
}

/// What a dry run with a server preview says will happen to a valid row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Create,
    /// The live streak matches the row.
    Unchanged,
    /// The live streak differs only in what the API can change (`import --update` applies it).
    Update,
    /// The live streak differs in something fixed after creation.
    Conflict,
}

/// One field that differs: its path in the body, the live value and the sheet's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: String,
    pub new: String,
    /// The API can change it in place.
    pub editable: bool,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.old, self.new)
    }
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Create => "create",
            Plan::Unchanged => "unchanged",
            Plan::Update => "update",
            Plan::Conflict => "conflict",
        }
    }
}

/// An error the API returned, as it returned it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub message: String,
}

/// A name as compared for uniqueness (trimmed, lower case), kept as 96 bits of its hash: the
/// duplicate check keeps one per row, so its size is most of the memory a long sheet adds. Two
/// different names share a key with odds of about 1 in 10^16 in a million-row sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameKey([u32; 3]);

impl NameKey {
    /// The key of a trimmed name.
    pub fn of(name: &str) -> Self {
        let h = xxhash_rust::xxh3::xxh3_128(name.to_lowercase().as_bytes());
        NameKey([h as u32, (h >> 32) as u32, (h >> 64) as u32])
    }
}

impl std::hash::Hash for NameKey {
    /// The key is a hash already: its first 64 bits are handed on as they are.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0[0]) | u64::from(self.0[1]) << 32);
    }
}

/// The first row of every name seen, for the duplicate check: one hash and one row number per
/// name, so memory stays close to flat as files grow.
#[derive(Default)]
pub struct NameIndex(HashMap<NameKey, u32, BuildHasherDefault<PreHashed>>);

/// The keys are hashes already: hashing them again would only cost time.
#[derive(Default)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl NameIndex {
    pub fn contains(&self, key: NameKey) -> bool {
        self.0.contains_key(&key)
    }

    /// The first row of `key`: `row` itself when it is the first seen.
    pub fn first_row(&mut self, key: NameKey, row: u32) -> u32 {
        *self.0.entry(key).or_insert(row)
    }

    /// Room for `names` more, made once: growing step by step would move every entry again.
    pub fn reserve(&mut self, names: usize) {
        self.0.reserve(names);
    }
}

/// The one copy of a sheet name that every outcome of the sheet points to. Kept for the life of
/// the process: a run reads one or two sheets. (A reference-counted name would be counted up by
/// every row on every core, and that shared counter costs more than the rest of a row's checks.)
pub fn sheet_name(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into());
    names.insert(leaked);
    leaked
}

#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    /// Shared by every row of a sheet (see [`sheet_name`]).
    pub sheet: &'static str,
    pub row: u32,
    pub name: String,
    pub status: Status,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub target_group_id: Option<i64>,
    pub http_status: Option<u16>,
    pub api_errors: Vec<ApiError>,
    pub attempts: u32,
    /// What the tool itself has to say about the outcome (how an id was found, why a row was
    /// not sent), apart from the API's own `api_errors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Created or found existing by an earlier run of the same file (from its journal), not
    /// by this one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub done_earlier: bool,
    /// The server preview's verdict (dry run with credentials or `--sandbox`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The `target_group_id` the sheet gives: the row is that live streak (matched by id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_id: Option<i64>,
    /// How the row differs from its live streak (plan, `differs`, `updated`, `conflict`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The request body, for valid rows (boxed: outcomes are moved between threads, and most
    /// runs have no body to carry).
    #[serde(skip)]
    pub payload: Option<Box<TargetGroup>>,
    /// The name as compared for uniqueness; None when the row has no name.
    #[serde(skip)]
    pub name_key: Option<NameKey>,
    /// The row's cells as read, kept only when a workbook report needs them.
    #[serde(skip)]
    pub cells: Option<Vec<Value>>,
    /// A row of the periods sheet rather than a streak.
    #[serde(skip)]
    pub is_period_row: bool,
}

impl RowOutcome {
    pub fn new(sheet: &'static str, row: u32) -> Self {
        RowOutcome {
            sheet,
            row,
            name: String::new(),
            status: Status::Valid,
            errors: Vec::new(),
            warnings: Vec::new(),
            target_group_id: None,
            given_id: None,
            changes: Vec::new(),
            http_status: None,
            api_errors: Vec::new(),
            attempts: 0,
            note: None,
            done_earlier: false,
            plan: None,
            payload: None,
            name_key: None,
            cells: None,
            is_period_row: false,
        }
    }

    /// The plan and each difference from the live streak as report lines: (field, code,
    /// message), the code `plan`, `update` (the API can change it) or `fixed` (it cannot).
    pub fn live_lines(&self) -> Vec<(String, &'static str, String)> {
        let mut lines = Vec::new();
        if let Some(plan) = self.plan {
            lines.push((String::new(), "plan", plan.as_str().to_string()));
        }
        for c in &self.changes {
            let code = if c.editable { "update" } else { "fixed" };
            lines.push((c.field.clone(), code, format!("{} → {}", c.old, c.new)));
        }
        lines
    }

    /// Adds a problem to the right list; an error makes the row invalid and drops its payload.
    pub fn push(&mut self, problem: Problem) {
        if problem.code.is_warning() {
            self.warnings.push(problem);
        } else {
            self.errors.push(problem);
            self.status = Status::Invalid;
            self.payload = None;
        }
    }
}
