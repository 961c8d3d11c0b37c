//! The sandbox's target groups, their case-insensitive name index, and the state file.
//!
//! The state file is `{"version": 1, "nextId": N, "groups": [...]}`. It is rewritten whole after
//! each change, into a temporary file beside it that is then renamed over it, so a reader (or a
//! sandbox killed mid-write) sees either the old or the new state, never half of one. Writes are
//! coalesced: a writer task writes the latest state, and every request that changed something
//! waits until a write that includes its change has finished before it is answered. OAuth tokens
//! and the `received` log are not persisted.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::sync::{watch, Notify};

use super::{lock, Shared};

/// The first id the sandbox hands out; later ones count up from here.
pub(crate) const FIRST_ID: u64 = 1000;

/// The key names are compared by: "unique ignoring case".
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub(crate) struct Store {
    groups: BTreeMap<u64, Value>,
    names: HashMap<String, u64>,
    next_id: u64,
    /// Counts changes, so a request can wait for the write that includes its change.
    generation: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            groups: BTreeMap::new(),
            names: HashMap::new(),
            next_id: FIRST_ID,
            generation: 0,
        }
    }
}

/// What `PUT /v3/targetGroups/{groupId}/targets/{targetId}` may change (reference §8).
pub(crate) const EDITABLE_TARGET_FIELDS: &[&str] =
    &["expression", "expressionJson", "filters", "defaultValues"];

/// Gives each target of group `id` an id of its own (`id`·100 + its place, from 1), as the API
/// does, unless it has one (a state file keeps them).
fn number_targets(group: &mut Value, id: u64) {
    let Some(targets) = group.get_mut("targets").and_then(Value::as_array_mut) else {
        return;
    };
    for (k, t) in targets.iter_mut().enumerate() {
        if let Some(t) = t.as_object_mut() {
            t.entry("id")
                .or_insert_with(|| json!(id * 100 + k as u64 + 1));
        }
    }
}

/// `insert` refused: the name is taken (ignoring case) by the group with this id.
pub(crate) struct NameTaken;

impl Store {
    /// Reads a state file; a missing or empty file is an empty store.
    pub(crate) fn load(path: &Path) -> io::Result<Store> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read the sandbox state file {}: {e}", path.display()),
                ))
            }
        };
        if text.trim().is_empty() {
            return Ok(Store::default());
        }
        let bad = |detail: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a sandbox state file ({detail}). Pass another --state file, or delete this one to start empty.",
                    path.display()
                ),
            )
        };
        let state: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let groups = state
            .get("groups")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"groups\" array".into()))?;
        let mut store = Store::default();
        for (i, group) in groups.iter().enumerate() {
            let id = group.get("id").and_then(Value::as_u64);
            let name = group.get("name").and_then(Value::as_str);
            let (Some(id), Some(name)) = (id, name) else {
                return Err(bad(format!(
                    "groups[{i}] has no numeric \"id\" or no \"name\""
                )));
            };
            if store.names.insert(name_key(name), id).is_some() {
                return Err(bad(format!("the name {name:?} appears twice")));
            }
            let mut group = group.clone();
            number_targets(&mut group, id);
            if store.groups.insert(id, group).is_some() {
                return Err(bad(format!("the id {id} appears twice")));
            }
        }
        let saved_next = state
            .get("nextId")
            .and_then(Value::as_u64)
            .unwrap_or(FIRST_ID);
        let after_last = store
            .groups
            .keys()
            .next_back()
            .map_or(FIRST_ID, |id| id + 1);
        store.next_id = saved_next.max(after_last).max(FIRST_ID);
        Ok(store)
    }

    /// Stores a validated body under a new id; the stored group is `{"id": …, …body…}`.
    pub(crate) fn insert(&mut self, body: &Value) -> Result<(Value, u64), NameTaken> {
        let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
        let key = name_key(name);
        if self.names.contains_key(&key) {
            return Err(NameTaken);
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut group = Map::new();
        group.insert("id".into(), json!(id));
        if let Some(fields) = body.as_object() {
            for (k, v) in fields {
                if k != "id" {
                    group.insert(k.clone(), v.clone());
                }
            }
        }
        let mut group = Value::Object(group);
        number_targets(&mut group, id);
        self.names.insert(key, id);
        self.groups.insert(id, group.clone());
        self.generation += 1;
        Ok((group, self.generation))
    }

    /// Removes a group; `Some(generation)` when it existed.
    pub(crate) fn remove(&mut self, id: u64) -> Option<u64> {
        let group = self.groups.remove(&id)?;
        if let Some(name) = group.get("name").and_then(Value::as_str) {
            self.names.remove(&name_key(name));
        }
        self.generation += 1;
        Some(self.generation)
    }

    /// Renames group `id`; `Ok(None)` when there is no such group, `Err` when another group has
    /// the name (ignoring case).
    pub(crate) fn rename(&mut self, id: u64, name: &str) -> Result<Option<u64>, NameTaken> {
        let key = name_key(name);
        if self.names.get(&key).is_some_and(|owner| *owner != id) {
            return Err(NameTaken);
        }
        let Some(group) = self.groups.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(old) = group.get("name").and_then(Value::as_str) {
            self.names.remove(&name_key(old));
        }
        group["name"] = Value::String(name.to_string());
        self.names.insert(key, id);
        self.generation += 1;
        Ok(Some(self.generation))
    }

    /// Replaces the editable fields of target `target` of group `group` with those `fields`
    /// has; `None` when there is no such group or target.
    pub(crate) fn edit_target(
        &mut self,
        group: u64,
        target: u64,
        fields: &Map<String, Value>,
    ) -> Option<u64> {
        let targets = self
            .groups
            .get_mut(&group)?
            .get_mut("targets")?
            .as_array_mut()?;
        let t = targets
            .iter_mut()
            .find(|t| t.get("id").and_then(Value::as_u64) == Some(target))?;
        for key in EDITABLE_TARGET_FIELDS {
            if let Some(v) = fields.get(*key) {
                t[*key] = v.clone();
            }
        }
        self.generation += 1;
        Some(self.generation)
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Value> {
        self.groups.get(&id)
    }

    pub(crate) fn all(&self) -> Vec<Value> {
        self.groups.values().cloned().collect()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Value> {
        self.groups.values()
    }

    pub(crate) fn group_name_taken(&self, name: &str) -> bool {
        self.names.contains_key(&name_key(name))
    }

    /// Whether any group has an element of `list` whose `field` equals `name` ignoring case
    /// (target names, streak level names, period refCodes).
    pub(crate) fn nested_name_taken(&self, list: &str, field: &str, name: &str) -> bool {
        let key = name_key(name);
        self.groups.values().any(|g| {
            g.get(list).and_then(Value::as_array).is_some_and(|items| {
                items.iter().any(|item| match item.get(field) {
                    Some(Value::String(s)) => name_key(s) == key,
                    Some(Value::Number(n)) => n.to_string() == key,
                    _ => false,
                })
            })
        })
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    fn state_text(&self) -> String {
        let groups: Vec<&Value> = self.groups.values().collect();
        let state = json!({ "version": 1, "nextId": self.next_id, "groups": groups });
        // Serializing a `Value` cannot fail; an empty string would only mean "start empty".
        serde_json::to_string_pretty(&state).unwrap_or_default() + "\n"
    }
}

/// The state file's writer side: where to write, a wake-up for the writer task, and the
/// generation last written.
pub(crate) struct Persister {
    path: PathBuf,
    wake: Notify,
    written: watch::Sender<u64>,
    warned: AtomicBool,
}

impl Persister {
    pub(crate) fn new(path: PathBuf) -> Persister {
        Persister {
            path,
            wake: Notify::new(),
            written: watch::channel(0).0,
            warned: AtomicBool::new(false),
        }
    }

    fn report(&self, result: io::Result<()>) {
        if let Err(e) = result {
            if !self.warned.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "sandbox: cannot write the state file {}: {e} (the sandbox keeps serving from memory)",
                    self.path.display()
                );
            }
        }
    }
}

impl Shared {
    /// Waits until the state file holds generation `generation` (at once without a state file).
    pub(crate) async fn persisted(&self, generation: u64) {
        let Some(p) = &self.persist else { return };
        let mut written = p.written.subscribe();
        p.wake.notify_one();
        let _ = written.wait_for(|w| *w >= generation).await;
    }
}

/// The writer task: on each wake-up, writes the current state once, however many changes it holds.
pub(crate) async fn write_loop(shared: Arc<Shared>) {
    let Some(p) = &shared.persist else { return };
    loop {
        p.wake.notified().await;
        write_snapshot(&shared, p).await;
    }
}

/// The last write at shutdown, when something changed since the last one.
pub(crate) async fn flush(shared: &Arc<Shared>) {
    let Some(p) = &shared.persist else { return };
    let generation = lock(&shared.store).generation();
    if generation == 0 || generation <= *p.written.borrow() {
        return;
    }
    write_snapshot(shared, p).await;
}

/// Writes the store as it is now (off the async threads) and records which generation that was.
async fn write_snapshot(shared: &Shared, p: &Persister) {
    let (generation, text) = {
        let store = lock(&shared.store);
        (store.generation(), store.state_text())
    };
    let path = p.path.clone();
    let result = tokio::task::spawn_blocking(move || write_atomically(&path, &text))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    p.report(result);
    p.written.send_replace(generation);
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sandbox-state.json".into());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.flush()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
