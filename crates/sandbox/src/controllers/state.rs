//! What the controllers remember between reconciles, and how store changes become work.
//!
//! The store keeps a history of changes (the one watches are served from). Each round reads
//! the changes since the last round and turns them into tasks — the changed object itself, its
//! controlling owner, adopters of orphans — the way informers' event handlers enqueue keys.
//! When the history no longer reaches back far enough, everything is resynced.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::Value;

use super::endpoints::Tracker;
use super::events::{Ev, Recorder};
use super::kubelet::Kubelet;
use super::util::{Key, controller_ref, controller_uid, key_of, ns_of, selector_matches};
use super::{Ctx, SimConfig};
use crate::resources::{self, ResId, kinds};
use crate::store::{EventType, WatchEvent, rv_of};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Task {
    Pod(Key),
    ReplicaSet(Key),
    Deployment(Key),
    Job(Key),
    Service(Key),
    /// A namespace's `default` ServiceAccount and `kube-root-ca.crt` ConfigMap.
    Namespace(String),
    /// Running containers append request lines to their logs.
    LogTick,
}

/// The work of one round.
#[derive(Default)]
pub struct Work {
    pub tasks: BTreeSet<Task>,
    /// Pods that changed, per namespace (EndpointSlices follow them).
    pub pods_changed: BTreeMap<String, BTreeSet<String>>,
    /// Objects with owner references that changed (orphan collection).
    pub gc: BTreeSet<(ResId, Key)>,
    /// The history was lost: rebuild everything derived from it.
    pub full: bool,
}

impl Work {
    pub fn merge(&mut self, other: Work) {
        self.tasks.extend(other.tasks);
        for (ns, names) in other.pods_changed {
            self.pods_changed.entry(ns).or_default().extend(names);
        }
        self.gc.extend(other.gc);
        self.full |= other.full;
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.pods_changed.is_empty() && self.gc.is_empty() && !self.full
    }
}

/// Objects by the UID of their controlling owner ("" for orphans), so a ReplicaSet finds its
/// pods without scanning the namespace.
#[derive(Default)]
pub struct OwnerIndex {
    by_owner: HashMap<String, BTreeSet<Key>>,
    owner_of: HashMap<Key, String>,
}

impl OwnerIndex {
    pub fn upsert(&mut self, key: Key, owner: &str) {
        if self.owner_of.get(&key).is_some_and(|o| o == owner) {
            return;
        }
        self.remove(&key);
        self.by_owner
            .entry(owner.to_string())
            .or_default()
            .insert(key.clone());
        self.owner_of.insert(key, owner.to_string());
    }

    pub fn remove(&mut self, key: &Key) {
        if let Some(owner) = self.owner_of.remove(key)
            && let Some(set) = self.by_owner.get_mut(&owner)
        {
            set.remove(key);
            if set.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
    }

    /// Keys owned by `uid`, in name order.
    pub fn owned(&self, uid: &str) -> Vec<Key> {
        self.by_owner
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Orphans in one namespace.
    pub fn orphans(&self, namespace: &str) -> Vec<Key> {
        self.by_owner
            .get("")
            .map(|s| {
                s.iter()
                    .filter(|(ns, _)| ns == namespace)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct State {
    /// The store resourceVersion up to which changes have been turned into work.
    pub seen_rv: u64,
    pub booted: bool,
    wakeups: BTreeMap<Timestamp, BTreeSet<Task>>,
    pub pods_by_owner: OwnerIndex,
    pub rs_by_owner: OwnerIndex,
    pub kubelet: Kubelet,
    pub events: Recorder,
    pub endpoints: Tracker,
    /// Job key → earliest time the next pod may be created after failures.
    pub job_backoff: HashMap<Key, Timestamp>,
    /// resourceVersions of each controller's own latest write to an object it reconciles:
    /// that change needs no second look by the same controller.
    own_writes: HashMap<(ResId, Key), u64>,
    /// Changes read at checkpoints during a round, handled in the next one.
    pub carry: Work,
}

impl State {
    pub fn new(sim: &SimConfig) -> Self {
        State {
            seen_rv: 0,
            booted: false,
            wakeups: BTreeMap::new(),
            pods_by_owner: OwnerIndex::default(),
            rs_by_owner: OwnerIndex::default(),
            kubelet: Kubelet::new(sim),
            events: Recorder::new(sim.events_per_namespace),
            endpoints: Tracker::default(),
            job_backoff: HashMap::new(),
            own_writes: HashMap::new(),
            carry: Work::default(),
        }
    }

    pub fn wake(&mut self, at: Timestamp, task: Task) {
        self.wakeups.entry(at).or_default().insert(task);
    }

    /// Moves every wake-up due at `now` into `work`.
    pub fn take_due(&mut self, now: Timestamp, work: &mut Work) {
        while let Some(entry) = self.wakeups.first_entry() {
            if *entry.key() > now {
                break;
            }
            work.tasks.extend(entry.remove());
        }
    }

    pub fn next_wakeup(&self, now: Timestamp) -> Option<Timestamp> {
        self.wakeups.keys().find(|t| **t > now).copied()
    }

    /// Notes a write the object's own controller made (see `own_writes`).
    pub fn wrote(&mut self, res: ResId, obj: &Value) {
        self.own_writes.insert((res, key_of(obj)), rv_of(obj));
    }

    pub fn record(&mut self, ctx: &Ctx<'_>, obj: &Value, ev: Ev<'_>) {
        self.events.record(ctx.cluster, ctx.now, obj, ev);
    }
}

/// Turns the store changes since the last round into work.
pub fn ingest(ctx: &Ctx<'_>, st: &mut State) -> Work {
    let store = &ctx.cluster.store;
    let rv_now = store.resource_version();
    let mut work = Work::default();
    if rv_now == st.seen_rv {
        return work;
    }
    let mut changes: Vec<std::sync::Arc<WatchEvent>> = Vec::new();
    for res in resources::all() {
        if res == *kinds::EVENTS {
            continue;
        }
        match store.events_since(res, st.seen_rv) {
            Ok(evs) => changes.extend(evs.into_iter().filter(|e| e.rv <= rv_now)),
            Err(_) => {
                resync(ctx, st, &mut work);
                st.seen_rv = rv_now;
                return work;
            }
        }
    }
    changes.sort_by_key(|e| e.rv);
    for ev in &changes {
        apply(ctx, st, &mut work, ev);
    }
    st.seen_rv = rv_now;
    work
}

fn apply(ctx: &Ctx<'_>, st: &mut State, work: &mut Work, ev: &WatchEvent) {
    let deleted = ev.kind == EventType::Deleted;
    let key: Key = (ev.namespace.clone(), ev.name.clone());
    let obj = &ev.object;
    let owner = controller_ref(obj);
    let owner_key = |kind: &str| {
        owner
            .filter(|r| r["kind"] == kind)
            .and_then(|r| r["name"].as_str())
            .map(|n| (ev.namespace.clone(), n.to_string()))
    };
    let res = ev.res;
    // The controller that made this very write does not need to look again.
    let own_key = (res, key.clone());
    let own = st.own_writes.get(&own_key) == Some(&ev.rv);
    if own || deleted {
        st.own_writes.remove(&own_key);
    }
    if res == *kinds::PODS {
        if deleted {
            st.pods_by_owner.remove(&key);
        } else {
            st.pods_by_owner.upsert(key.clone(), controller_uid(obj));
        }
        if !own {
            work.tasks.insert(Task::Pod(key.clone()));
        }
        if let Some(rs) = owner_key("ReplicaSet") {
            if deleted {
                // `deletePod`: a Recreate rollout waits for the old pods to be gone.
                let owner = ctx.cluster.store.get(*kinds::REPLICASETS, &rs.0, &rs.1);
                if let Some(d) = owner.as_deref().and_then(controller_ref)
                    && d["kind"] == "Deployment"
                    && let Some(name) = d["name"].as_str()
                {
                    work.tasks
                        .insert(Task::Deployment((rs.0.clone(), name.to_string())));
                }
            }
            work.tasks.insert(Task::ReplicaSet(rs));
        } else if let Some(job) = owner_key("Job") {
            work.tasks.insert(Task::Job(job));
        } else if owner.is_none() && !deleted {
            adopters(ctx, *kinds::REPLICASETS, obj, Task::ReplicaSet, work);
        }
        work.pods_changed
            .entry(ev.namespace.clone())
            .or_default()
            .insert(ev.name.clone());
    } else if res == *kinds::REPLICASETS {
        if deleted {
            st.rs_by_owner.remove(&key);
        } else {
            st.rs_by_owner.upsert(key.clone(), controller_uid(obj));
            if !own {
                work.tasks.insert(Task::ReplicaSet(key.clone()));
            }
        }
        if let Some(d) = owner_key("Deployment") {
            work.tasks.insert(Task::Deployment(d));
        } else if owner.is_none() && !deleted {
            adopters(ctx, *kinds::DEPLOYMENTS, obj, Task::Deployment, work);
        }
    } else if res == *kinds::DEPLOYMENTS {
        if !deleted && !own {
            work.tasks.insert(Task::Deployment(key.clone()));
        }
    } else if res == *kinds::JOBS {
        if !deleted && !own {
            work.tasks.insert(Task::Job(key.clone()));
        }
    } else if res == *kinds::SERVICES {
        work.tasks.insert(Task::Service(key.clone()));
    } else if res == *kinds::NAMESPACES {
        if !deleted {
            work.tasks.insert(Task::Namespace(ev.name.clone()));
        }
    } else if (res == *kinds::SERVICEACCOUNTS || res == *kinds::CONFIGMAPS) && deleted {
        work.tasks.insert(Task::Namespace(ev.namespace.clone()));
    }
    if !deleted
        && obj["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    {
        work.gc.insert((res, key));
    }
}

/// Workloads in the orphan's namespace whose selector matches it get a chance to adopt it.
fn adopters(
    ctx: &Ctx<'_>,
    kind: ResId,
    orphan: &Value,
    task: impl Fn(Key) -> Task,
    work: &mut Work,
) {
    let labels = &orphan["metadata"]["labels"];
    if !labels.is_object() {
        return;
    }
    let (candidates, _) = ctx.cluster.store.list(kind, Some(ns_of(orphan)));
    for c in candidates {
        if selector_matches(&c["spec"]["selector"], labels) {
            work.tasks.insert(task(key_of(&c)));
        }
    }
}

/// Rebuilds the indexes and marks everything dirty.
fn resync(ctx: &Ctx<'_>, st: &mut State, work: &mut Work) {
    let store = &ctx.cluster.store;
    work.full = true;
    st.pods_by_owner = OwnerIndex::default();
    st.rs_by_owner = OwnerIndex::default();
    for ns in store.list(*kinds::NAMESPACES, None).0 {
        if let Some(name) = ns["metadata"]["name"].as_str() {
            work.tasks.insert(Task::Namespace(name.to_string()));
        }
    }
    for res in resources::all() {
        if res == *kinds::EVENTS || !res.get().namespaced {
            continue;
        }
        let (items, _) = store.list(res, None);
        for obj in items {
            let key = key_of(&obj);
            if res == *kinds::PODS {
                st.pods_by_owner.upsert(key.clone(), controller_uid(&obj));
                work.tasks.insert(Task::Pod(key.clone()));
            } else if res == *kinds::REPLICASETS {
                st.rs_by_owner.upsert(key.clone(), controller_uid(&obj));
                work.tasks.insert(Task::ReplicaSet(key.clone()));
            } else if res == *kinds::DEPLOYMENTS {
                work.tasks.insert(Task::Deployment(key.clone()));
            } else if res == *kinds::JOBS {
                work.tasks.insert(Task::Job(key.clone()));
            } else if res == *kinds::SERVICES {
                work.tasks.insert(Task::Service(key.clone()));
            }
            if obj["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                work.gc.insert((res, key));
            }
        }
    }
}
