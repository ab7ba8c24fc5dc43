//! The sandbox's etcd: versioned objects, one global resourceVersion counter, and a bounded
//! history of changes from which watches are served.
//!
//! Objects are kept as JSON values, exactly as clients see them. This layer only stores and
//! versions; API semantics (defaults, generation, preconditions, garbage collection) live in
//! [`super::ops`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::watch;

use super::resources::{RESOURCES, ResId};

/// `(namespace, name)`; the namespace is empty for cluster-scoped kinds. Ordered like etcd keys,
/// so lists come back sorted by namespace, then name, as from a real server.
pub type ObjKey = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as a watch delivers it.
#[derive(Debug)]
pub struct WatchEvent {
    pub rv: u64,
    pub kind: EventType,
    pub res: ResId,
    pub namespace: String,
    pub name: String,
    /// The object after the change (for DELETED: its last state, with a new resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change (`None` for ADDED). Filtered watches need it: an object
    /// that stops matching a selector is reported as DELETED, one that starts as ADDED.
    pub prev: Option<Arc<Value>>,
    line: OnceLock<Bytes>,
}

impl WatchEvent {
    /// The event as one `\n`-terminated JSON line, serialized once however many watchers
    /// receive it.
    pub fn json_line(&self) -> Bytes {
        self.line
            .get_or_init(|| {
                let mut buf = Vec::with_capacity(512);
                buf.extend_from_slice(br#"{"type":""#);
                buf.extend_from_slice(self.kind.as_str().as_bytes());
                buf.extend_from_slice(br#"","object":"#);
                // Serializing a Value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut buf, &*self.object);
                buf.extend_from_slice(b"}\n");
                Bytes::from(buf)
            })
            .clone()
    }
}

/// Why a watch cannot start at the requested resourceVersion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    pub requested: u64,
    pub oldest: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    #[error("resourceVersion conflict: expected {expected}, have {actual}")]
    Conflict { expected: u64, actual: u64 },
}

pub struct Store {
    inner: RwLock<Inner>,
    /// Carries the latest resourceVersion; watchers and controllers wait on it.
    changed: watch::Sender<u64>,
    /// Bumped on every log append; `pods/log?follow=true` waits on it.
    log_changed: watch::Sender<u64>,
    history_cap: usize,
}

struct Inner {
    rv: u64,
    objects: Vec<BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<WatchEvent>>,
    /// Events at or below this RV have been compacted away.
    compacted: u64,
    logs: HashMap<(String, String, String), LogBuf>,
}

/// A container's retained log lines; `dropped` counts lines rotated away, so followers can
/// address lines by absolute position.
#[derive(Default)]
struct LogBuf {
    lines: Vec<String>,
    dropped: u64,
}

/// Changes kept for watches and controllers. Every entry pins a whole version of an object, so
/// this bounds most of the store's memory beyond the live objects: going from 20,000 to 5,000
/// took the large scenario (three 5,000-pod environments) from 1.3 GiB resident to 0.9 GiB. 5,000 still leaves controllers (which
/// read it every 2,000 writes) a wide margin; a watcher further behind gets 410 Expired and
/// re-lists, as from a real server's watch cache.
pub const DEFAULT_HISTORY: usize = 5_000;

/// Log lines a store keeps for all containers together (about 50 MiB of request lines),
/// shared out per container between [`LOG_LINES_MIN`] and [`LOG_LINES_MAX`]: a small world
/// keeps long logs, 5,000 pods logging every few seconds no longer grow without bound.
const LOG_BUDGET: usize = 500_000;
const LOG_LINES_MIN: usize = 100;
const LOG_LINES_MAX: usize = 10_000;

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_HISTORY)
    }
}

impl Store {
    pub fn new(history_cap: usize) -> Self {
        let (changed, _) = watch::channel(1);
        let (log_changed, _) = watch::channel(0);
        Store {
            inner: RwLock::new(Inner {
                rv: 1,
                objects: RESOURCES.iter().map(|_| BTreeMap::new()).collect(),
                history: VecDeque::new(),
                compacted: 1,
                logs: HashMap::new(),
            }),
            changed,
            log_changed,
            history_cap: history_cap.max(1),
        }
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.read().rv
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn get(&self, res: ResId, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let key = (namespace.to_string(), name.to_string());
        self.inner.read().objects[res.0 as usize].get(&key).cloned()
    }

    /// Objects of a kind, in one namespace or all, with the resourceVersion of the snapshot.
    pub fn list(&self, res: ResId, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.inner.read();
        let map = &inner.objects[res.0 as usize];
        let items = match namespace {
            Some(ns) => map
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => map.values().cloned().collect(),
        };
        (items, inner.rv)
    }

    pub fn count(&self, res: ResId) -> usize {
        self.inner.read().objects[res.0 as usize].len()
    }

    /// Stores a new object. Stamps `metadata.resourceVersion`; everything else is the caller's.
    pub fn insert(&self, res: ResId, mut obj: Value) -> Result<Arc<Value>, StoreError> {
        let key = key_of(&obj);
        let mut inner = self.inner.write();
        if inner.objects[res.0 as usize].contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        let rv = inner.rv + 1;
        stamp(&mut obj, rv);
        let obj = Arc::new(obj);
        inner.objects[res.0 as usize].insert(key.clone(), obj.clone());
        self.commit(
            &mut inner,
            rv,
            EventType::Added,
            res,
            key,
            obj.clone(),
            None,
        );
        Ok(obj)
    }

    /// Replaces an object. With `expected_rv`, fails unless the stored object is at that version.
    pub fn replace(
        &self,
        res: ResId,
        mut obj: Value,
        expected_rv: Option<u64>,
    ) -> Result<Arc<Value>, StoreError> {
        let key = key_of(&obj);
        let mut inner = self.inner.write();
        let current = inner.objects[res.0 as usize]
            .get(&key)
            .ok_or(StoreError::NotFound)?;
        let actual = rv_of(current);
        if let Some(expected) = expected_rv
            && expected != actual
        {
            return Err(StoreError::Conflict { expected, actual });
        }
        if same_but_rv(current, &obj) {
            // A no-op write keeps the resourceVersion and emits no event, like the real server.
            return Ok(current.clone());
        }
        let prev = current.clone();
        let rv = inner.rv + 1;
        stamp(&mut obj, rv);
        let obj = Arc::new(obj);
        inner.objects[res.0 as usize].insert(key.clone(), obj.clone());
        self.commit(
            &mut inner,
            rv,
            EventType::Modified,
            res,
            key,
            obj.clone(),
            Some(prev),
        );
        Ok(obj)
    }

    pub fn remove(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        expected_rv: Option<u64>,
    ) -> Result<Arc<Value>, StoreError> {
        let key = (namespace.to_string(), name.to_string());
        let mut inner = self.inner.write();
        let current = inner.objects[res.0 as usize]
            .get(&key)
            .ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected_rv {
            let actual = rv_of(current);
            if expected != actual {
                return Err(StoreError::Conflict { expected, actual });
            }
        }
        let mut last = (**current).clone();
        let prev = inner.objects[res.0 as usize].remove(&key);
        let rv = inner.rv + 1;
        stamp(&mut last, rv);
        let last = Arc::new(last);
        self.commit(
            &mut inner,
            rv,
            EventType::Deleted,
            res,
            key,
            last.clone(),
            prev,
        );
        Ok(last)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        inner: &mut Inner,
        rv: u64,
        kind: EventType,
        res: ResId,
        (namespace, name): ObjKey,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        inner.rv = rv;
        inner.history.push_back(Arc::new(WatchEvent {
            rv,
            kind,
            res,
            namespace,
            name,
            object,
            prev,
            line: OnceLock::new(),
        }));
        while inner.history.len() > self.history_cap {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = old.rv;
            }
        }
        self.changed.send_replace(rv);
    }

    /// Events of one kind after `since`, in order. `Err` when `since` is older than the
    /// retained history (the watch must answer 410 Expired).
    pub fn events_since(&self, res: ResId, since: u64) -> Result<Vec<Arc<WatchEvent>>, TooOld> {
        let inner = self.inner.read();
        if since < inner.compacted {
            return Err(TooOld {
                requested: since,
                oldest: inner.compacted + 1,
            });
        }
        let start = inner.history.partition_point(|e| e.rv <= since);
        Ok(inner
            .history
            .range(start..)
            .filter(|e| e.res == res)
            .cloned()
            .collect())
    }

    /// Forgets history up to and including `rv`, as etcd compaction does. Tests use it to
    /// provoke 410 Expired on watches.
    pub fn compact(&self, rv: u64) {
        let mut inner = self.inner.write();
        while inner.history.front().is_some_and(|e| e.rv <= rv) {
            inner.history.pop_front();
        }
        inner.compacted = inner.compacted.max(rv.min(inner.rv));
    }

    /// Appends lines to a container's log (what `pods/log` serves).
    pub fn append_log(&self, namespace: &str, pod: &str, container: &str, lines: &[String]) {
        {
            let mut inner = self.inner.write();
            let key = (namespace.into(), pod.into(), container.into());
            // Bounded like a kubelet's log rotation, by a share of the store's budget.
            let cap = (LOG_BUDGET / (inner.logs.len() + 1)).clamp(LOG_LINES_MIN, LOG_LINES_MAX);
            let log = inner.logs.entry(key).or_default();
            log.lines.extend_from_slice(lines);
            if log.lines.len() > cap {
                let excess = log.lines.len() - cap;
                log.lines.drain(..excess);
                log.dropped += excess as u64;
            }
        }
        self.log_changed.send_modify(|n| *n += 1);
    }

    pub fn log(&self, namespace: &str, pod: &str, container: &str) -> Vec<String> {
        self.log_from(namespace, pod, container, 0).0
    }

    /// Lines from absolute position `from` on (positions count rotated-away lines too), and the
    /// position after the last one returned: what a follower asks for next.
    pub fn log_from(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        from: u64,
    ) -> (Vec<String>, u64) {
        let key = (namespace.into(), pod.into(), container.into());
        let inner = self.inner.read();
        match inner.logs.get(&key) {
            Some(log) => {
                let end = log.dropped + log.lines.len() as u64;
                let start = from.saturating_sub(log.dropped).min(log.lines.len() as u64);
                (log.lines[start as usize..].to_vec(), end)
            }
            None => (Vec::new(), from),
        }
    }

    /// Notified whenever any log grows.
    pub fn subscribe_logs(&self) -> watch::Receiver<u64> {
        self.log_changed.subscribe()
    }

    pub fn drop_logs(&self, namespace: &str, pod: &str) {
        self.inner
            .write()
            .logs
            .retain(|(ns, p, _), _| !(ns == namespace && p == pod));
    }
}

fn key_of(obj: &Value) -> ObjKey {
    let meta = &obj["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// The resourceVersion stored in an object (0 when absent or not a number).
pub fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn stamp(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

/// Whether two objects are equal apart from `metadata.resourceVersion`; compared in place,
/// because every controller write asks and cloning two pods for it cost a tenth of a
/// large world's start.
fn same_but_rv(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let fields =
        |m: &'_ serde_json::Map<String, Value>| m.len() - usize::from(m.contains_key("metadata"));
    if fields(a) != fields(b) || a.contains_key("metadata") != b.contains_key("metadata") {
        return false;
    }
    a.iter().all(|(k, va)| match (k.as_str(), b.get(k)) {
        ("metadata", Some(vb)) => same_meta(va, vb),
        (_, Some(vb)) => va == vb,
        (_, None) => false,
    })
}

fn same_meta(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let rv = "resourceVersion";
    let len = |m: &'_ serde_json::Map<String, Value>| m.len() - usize::from(m.contains_key(rv));
    len(a) == len(b)
        && a.iter()
            .filter(|(k, _)| k.as_str() != rv)
            .all(|(k, va)| b.get(k) == Some(va))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds;
    use serde_json::json;

    fn cm(name: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "shop"}, "data": {"k": data}})
    }

    #[test]
    fn equal_but_for_the_resource_version() {
        let a = json!({"metadata": {"name": "a", "resourceVersion": "3"}, "data": {"k": "1"}});
        let b = json!({"metadata": {"name": "a"}, "data": {"k": "1"}});
        assert!(same_but_rv(&a, &b) && same_but_rv(&b, &a));
        let c = json!({"metadata": {"name": "a", "resourceVersion": "3"}, "data": {"k": "2"}});
        assert!(!same_but_rv(&a, &c));
        let d = json!({"metadata": {"name": "a", "labels": {}}, "data": {"k": "1"}});
        assert!(!same_but_rv(&a, &d) && !same_but_rv(&d, &a));
        let e = json!({"data": {"k": "1"}});
        assert!(!same_but_rv(&b, &e) && !same_but_rv(&e, &b));
        let f = json!({"metadata": {"name": "a"}, "data": {"k": "1"}, "spec": {}});
        assert!(!same_but_rv(&b, &f) && !same_but_rv(&f, &b));
    }

    #[test]
    fn versions_and_history() {
        let store = Store::new(3);
        let a = store
            .insert(*kinds::CONFIGMAPS, cm("a", "1"))
            .expect("insert");
        assert_eq!(rv_of(&a), 2);
        assert_eq!(
            store.insert(*kinds::CONFIGMAPS, cm("a", "1")),
            Err(StoreError::AlreadyExists)
        );
        let conflict = store.replace(*kinds::CONFIGMAPS, cm("a", "2"), Some(1));
        assert_eq!(
            conflict,
            Err(StoreError::Conflict {
                expected: 1,
                actual: 2
            })
        );
        let b = store
            .replace(*kinds::CONFIGMAPS, cm("a", "2"), Some(2))
            .expect("replace");
        assert_eq!(rv_of(&b), 3);
        // Same content: no new version.
        let same = store
            .replace(*kinds::CONFIGMAPS, cm("a", "2"), None)
            .expect("no-op");
        assert_eq!(rv_of(&same), 3);
        let events = store.events_since(*kinds::CONFIGMAPS, 2).expect("retained");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventType::Modified);
        assert!(
            events[0]
                .json_line()
                .starts_with(br#"{"type":"MODIFIED","object":{"#)
        );
        store.insert(*kinds::CONFIGMAPS, cm("b", "1")).expect("b");
        store.insert(*kinds::CONFIGMAPS, cm("c", "1")).expect("c");
        // History holds 3 events; rv 2 fell out.
        assert!(store.events_since(*kinds::CONFIGMAPS, 1).is_err());
        assert_eq!(
            store.events_since(*kinds::CONFIGMAPS, 2).map(|e| e.len()),
            Ok(3)
        );
        let (items, rv) = store.list(*kinds::CONFIGMAPS, Some("shop"));
        assert_eq!((items.len(), rv), (3, 5));
        assert!(store.list(*kinds::CONFIGMAPS, Some("other")).0.is_empty());
        let gone = store
            .remove(*kinds::CONFIGMAPS, "shop", "b", None)
            .expect("remove");
        assert_eq!(rv_of(&gone), 6);
        store.compact(6);
        assert!(store.events_since(*kinds::CONFIGMAPS, 5).is_err());
        assert_eq!(
            store.events_since(*kinds::CONFIGMAPS, 6).map(|e| e.len()),
            Ok(0)
        );
    }

    #[test]
    fn events_carry_the_previous_object_and_logs_have_positions() {
        let store = Store::new(10);
        store
            .insert(*kinds::CONFIGMAPS, cm("a", "1"))
            .expect("insert");
        store
            .replace(*kinds::CONFIGMAPS, cm("a", "2"), None)
            .expect("replace");
        store
            .remove(*kinds::CONFIGMAPS, "shop", "a", None)
            .expect("remove");
        let events = store.events_since(*kinds::CONFIGMAPS, 1).expect("retained");
        assert!(events[0].prev.is_none());
        assert_eq!(
            events[1].prev.as_ref().map(|p| &p["data"]["k"]),
            Some(&json!("1"))
        );
        assert_eq!(
            events[2].prev.as_ref().map(|p| &p["data"]["k"]),
            Some(&json!("2"))
        );

        let mut logs = store.subscribe_logs();
        let lines: Vec<String> = (0..10_005).map(|i| i.to_string()).collect();
        store.append_log("shop", "p", "c", &lines);
        assert!(logs.has_changed().unwrap_or(false));
        // Rotation keeps the last 10,000 lines; positions still count from the first line.
        let (tail, next) = store.log_from("shop", "p", "c", 10_003);
        assert_eq!(
            (tail, next),
            (vec!["10003".to_string(), "10004".to_string()], 10_005)
        );
        let (all, _) = store.log_from("shop", "p", "c", 0);
        assert_eq!(all.first().map(String::as_str), Some("5"));
        assert_eq!(store.log_from("shop", "p", "missing", 7), (Vec::new(), 7));
        logs.mark_unchanged();
    }
}
