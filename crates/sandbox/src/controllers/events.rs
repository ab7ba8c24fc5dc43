//! core/v1 Events, written the way client-go's event recorder does: one object per distinct
//! (source, object, type, reason, message), later repeats bump `count` and `lastTimestamp`.
//! Each namespace keeps at most a fixed number of events (oldest dropped first), standing in
//! for the API server's one-hour event TTL so memory stays bounded.

use std::collections::{HashMap, VecDeque};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::util::{name_of, ns_of, stamp, uid_of};
use crate::ops::{Cluster, WriteOpts};
use crate::resources::kinds;

/// Which component reports an event (`source.component`, `reportingComponent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    Deployment,
    ReplicaSet,
    Job,
    Scheduler,
    EndpointSlice,
    Kubelet { node: &'a str },
}

impl Source<'_> {
    fn component(&self) -> &'static str {
        match self {
            Source::Deployment => "deployment-controller",
            Source::ReplicaSet => "replicaset-controller",
            Source::Job => "job-controller",
            Source::Scheduler => "default-scheduler",
            Source::EndpointSlice => "endpoint-slice-controller",
            Source::Kubelet { .. } => "kubelet",
        }
    }

    fn host(&self) -> &str {
        match self {
            Source::Kubelet { node } => node,
            _ => "",
        }
    }
}

/// One event to record.
pub struct Ev<'a> {
    pub source: Source<'a>,
    pub warning: bool,
    pub reason: &'a str,
    pub message: String,
    /// `involvedObject.fieldPath`, e.g. `spec.containers{web}` for kubelet container events.
    pub field_path: Option<String>,
}

impl<'a> Ev<'a> {
    pub fn normal(source: Source<'a>, reason: &'a str, message: impl Into<String>) -> Self {
        Ev {
            source,
            warning: false,
            reason,
            message: message.into(),
            field_path: None,
        }
    }

    pub fn warning(source: Source<'a>, reason: &'a str, message: impl Into<String>) -> Self {
        Ev {
            warning: true,
            ..Ev::normal(source, reason, message)
        }
    }

    pub fn container(mut self, name: &str) -> Self {
        self.field_path = Some(format!("spec.containers{{{name}}}"));
        self
    }
}

pub struct Recorder {
    cap: usize,
    seq: u64,
    /// Aggregation key → (namespace, event name).
    known: HashMap<String, (String, String)>,
    /// Per namespace, event names oldest first with their aggregation key.
    order: HashMap<String, VecDeque<(String, String)>>,
}

impl Recorder {
    pub fn new(cap_per_namespace: usize) -> Self {
        Recorder {
            cap: cap_per_namespace.max(1),
            seq: 0,
            known: HashMap::new(),
            order: HashMap::new(),
        }
    }

    /// Records `ev` about `obj`. Failures are ignored: events are best effort, as upstream.
    pub fn record(&mut self, cluster: &Cluster, now: Timestamp, obj: &Value, ev: Ev<'_>) {
        let ns = match ns_of(obj) {
            "" => "default".to_string(),
            ns => ns.to_string(),
        };
        let kind = if ev.warning { "Warning" } else { "Normal" };
        let key = format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            ev.source.component(),
            ev.source.host(),
            uid_of(obj),
            ev.field_path.as_deref().unwrap_or_default(),
            kind,
            ev.reason,
            ev.message
        );
        if let Some((ens, ename)) = self.known.get(&key) {
            let bumped = cluster.modify(*kinds::EVENTS, ens, ename, false, |e| {
                let count = e["count"].as_i64().unwrap_or(1);
                e["count"] = json!(count + 1);
                e["lastTimestamp"] = stamp(now);
            });
            if matches!(bumped, Ok(Some(_))) {
                return;
            }
            self.known.remove(&key);
        }
        self.seq += 1;
        // Upstream names events `<object>.<unix nanos in hex>`; the sequence keeps them unique.
        let nanos = now.as_nanosecond().max(0) as u64;
        let name = format!("{}.{:x}", name_of(obj), nanos.wrapping_add(self.seq));
        let mut involved = json!({
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": name_of(obj),
            "namespace": ns_of(obj),
            "uid": uid_of(obj),
            "resourceVersion": obj["metadata"]["resourceVersion"],
        });
        if let Some(fp) = &ev.field_path {
            involved["fieldPath"] = json!(fp);
        }
        let mut source = json!({"component": ev.source.component()});
        if !ev.source.host().is_empty() {
            source["host"] = json!(ev.source.host());
        }
        let event = json!({
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": ev.reason,
            "message": ev.message,
            "source": source,
            "firstTimestamp": stamp(now),
            "lastTimestamp": stamp(now),
            "count": 1,
            "type": kind,
            "eventTime": null,
            "reportingComponent": ev.source.component(),
            "reportingInstance": ev.source.host(),
        });
        if cluster
            .create(*kinds::EVENTS, &ns, event, &WriteOpts::default())
            .is_err()
        {
            return;
        }
        self.known.insert(key.clone(), (ns.clone(), name.clone()));
        let queue = self.order.entry(ns.clone()).or_default();
        queue.push_back((name, key));
        while queue.len() > self.cap {
            if let Some((old, old_key)) = queue.pop_front() {
                // Events have no dependents, so the store removal skips GC scans.
                let _ = cluster.store.remove(*kinds::EVENTS, &ns, &old, None);
                self.known.remove(&old_key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::Store;
    use std::sync::Arc;

    #[test]
    fn repeats_aggregate_and_namespaces_are_capped() {
        let cluster = Cluster::new(
            "dev",
            Arc::new(Store::default()),
            Clock::manual(Clock::epoch()),
        );
        cluster.ensure_namespace("shop").expect("namespace");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "5"}});
        let mut rec = Recorder::new(3);
        let now = cluster.clock.now();
        let node = Source::Kubelet { node: "n1" };
        for _ in 0..3 {
            rec.record(
                &cluster,
                now,
                &pod,
                Ev::warning(node, "BackOff", "Back-off").container("web"),
            );
        }
        let (events, _) = cluster.store.list(*kinds::EVENTS, Some("shop"));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["count"], 3);
        assert_eq!(
            events[0]["involvedObject"]["fieldPath"],
            "spec.containers{web}"
        );
        assert_eq!(events[0]["source"]["host"], "n1");
        for i in 0..5 {
            rec.record(
                &cluster,
                now,
                &pod,
                Ev::normal(node, "Pulled", format!("m{i}")),
            );
        }
        let (events, _) = cluster.store.list(*kinds::EVENTS, Some("shop"));
        assert_eq!(events.len(), 3);
        assert!(events.iter().all(|e| e["reason"] == "Pulled"));
    }
}
