//! The simulated kubelet (and a round-robin scheduler). Each pod gets a small runtime state
//! machine per container — pull, create, run, become ready, crash or complete, back off — whose
//! transitions happen at exact instants, so the pod status it writes is the same however the
//! clock was advanced. The image resolver decides whether a pull succeeds and whether the
//! container crashes.

mod lifecycle;
mod logs;
mod status;

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::events::{Ev, Source};
use super::state::{State, Task};
use super::util::{Key, controller_ref, dur, is_terminating, name_of, ns_of, secs, str_at, uid_of};
use super::{Ctx, SimConfig};
use crate::images::{Fault, ImageVerdict};
use crate::resources::kinds;

/// Per-pod annotation overriding how long a finite (Job) container runs, in seconds.
pub const RUN_SECONDS: &str = "shipdeck.sandbox/run-seconds";

pub struct Kubelet {
    nodes: Vec<String>,
    next_node: usize,
    next_ip: u32,
    /// Images already pulled, per node (IfNotPresent skips the pull).
    images: HashSet<(String, String)>,
    /// UIDs of pods this scheduler bound (their Scheduled event is already recorded).
    scheduled: HashSet<String>,
    pods: HashMap<Key, PodRt>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Policy {
    Always,
    OnFailure,
    Never,
}

struct PodRt {
    uid: String,
    node: String,
    host_ip: String,
    ip: String,
    started: Timestamp,
    policy: Policy,
    /// A Job's pod (or one with a run-time annotation): containers exit after a while.
    run_for: Option<SignedDuration>,
    containers: Vec<Ctr>,
    /// Set once the pod is terminating: when it disappears.
    remove_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Term {
    exit: i64,
    reason: &'static str,
    started: Timestamp,
    finished: Timestamp,
    container_id: String,
}

#[derive(Debug, Clone)]
enum Stage {
    /// Pulling; `retry` keeps showing ImagePullBackOff as the waiting reason.
    Pulling {
        until: Timestamp,
        retry: Option<String>,
    },
    /// ErrImagePull, shown until the kubelet's next sync turns it into a back-off.
    PullFailed {
        until: Timestamp,
        message: String,
    },
    PullBackOff {
        until: Timestamp,
        message: String,
    },
    Creating {
        until: Timestamp,
    },
    Running {
        since: Timestamp,
        ready_at: Option<Timestamp>,
        exit: Option<(Timestamp, i64)>,
    },
    CrashBackOff {
        until: Timestamp,
        backoff: i64,
    },
    Done(Term),
}

struct Ctr {
    name: String,
    image: String,
    fault: Option<Fault>,
    stage: Stage,
    restarts: i64,
    crashes: u32,
    pull_failures: u32,
    last: Option<Term>,
    container_id: String,
    log_seq: u64,
}

/// Events and log lines produced while stepping a pod; applied once the runtime is put back.
#[derive(Default)]
struct Out {
    events: Vec<(bool, &'static str, String, Option<String>)>,
    logs: Vec<(String, Vec<String>)>,
}

impl Out {
    fn ev(&mut self, warning: bool, reason: &'static str, msg: String, ctr: &str) {
        self.events
            .push((warning, reason, msg, Some(ctr.to_string())));
    }
    fn log(&mut self, ctr: &str, lines: Vec<String>) {
        self.logs.push((ctr.to_string(), lines));
    }
}

impl Kubelet {
    pub fn new(sim: &SimConfig) -> Self {
        Kubelet {
            nodes: sim.nodes.clone(),
            next_node: 0,
            next_ip: 0,
            images: HashSet::new(),
            scheduled: HashSet::new(),
            pods: HashMap::new(),
        }
    }

    /// The scheduler: round-robin over the nodes.
    pub fn pick_node(&mut self) -> String {
        let node = self.nodes[self.next_node % self.nodes.len().max(1)].clone();
        self.next_node += 1;
        node
    }

    fn host_ip(&self, node: &str) -> String {
        let i = self.nodes.iter().position(|n| n == node).unwrap_or(0);
        super::nodes::node_ip(i)
    }

    /// Pod IPs from 10.244.0.0/16, one after the other.
    fn next_pod_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip = self.next_ip.wrapping_add(1) % (256 * 254);
        format!("10.244.{}.{}", n / 254, n % 254 + 1)
    }
}

/// Reconciles one pod: schedules it, advances its containers to now, writes its status, and
/// finishes its termination.
pub fn sync_pod(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    let Some(pod) = ctx.cluster.store.get(*kinds::PODS, ns, name) else {
        st.kubelet.pods.remove(key);
        return;
    };
    if str_at(&pod, "/spec/nodeName").is_empty() {
        schedule(ctx, st, &pod);
        return;
    }
    let mut rt = match st.kubelet.pods.remove(key) {
        Some(rt) if rt.uid == uid_of(&pod) => rt,
        _ => {
            if matches!(str_at(&pod, "/status/phase"), "Succeeded" | "Failed") {
                // Finished before we knew it (e.g. after a resync): nothing left to run.
                return;
            }
            admit(ctx, st, &pod)
        }
    };
    let mut out = Out::default();
    if is_terminating(&pod) {
        if terminate(ctx, &pod, &mut rt, &mut out) {
            apply_out(ctx, st, &pod, &rt, out);
            return;
        }
    } else {
        for i in 0..rt.containers.len() {
            lifecycle::step(ctx, &pod, &mut rt, i, &mut out);
        }
        // A container's last lines are in its log before its status says it ended, as on a
        // node: whoever follows the log until the pod finishes reads them all.
        for (ctr, lines) in std::mem::take(&mut out.logs) {
            ctx.cluster.store.append_log(ns, name, &ctr, &lines);
        }
        let status = status::render(ctx, &pod, &rt);
        if pod.get("status") != Some(&status)
            && let Ok(Some(written)) = ctx.cluster.modify(*kinds::PODS, ns, name, true, |p| {
                p["status"] = status.clone()
            })
        {
            st.wrote(*kinds::PODS, &written);
        }
    }
    if let Some(at) = next_deadline(&rt, ctx.now) {
        st.wake(at, Task::Pod(key.clone()));
    }
    apply_out(ctx, st, &pod, &rt, out);
    st.kubelet.pods.insert(key.clone(), rt);
}

/// Binds a pod nobody scheduled (one created directly, e.g. `kubectl run`).
fn schedule(ctx: &Ctx<'_>, st: &mut State, pod: &Value) {
    let node = st.kubelet.pick_node();
    let bound = ctx
        .cluster
        .modify(*kinds::PODS, ns_of(pod), name_of(pod), false, |p| {
            if str_at(p, "/spec/nodeName").is_empty() {
                p["spec"]["nodeName"] = json!(node);
            }
        });
    if let Ok(Some(pod)) = bound {
        let msg = format!(
            "Successfully assigned {}/{} to {}",
            ns_of(&pod),
            name_of(&pod),
            str_at(&pod, "/spec/nodeName")
        );
        st.kubelet.scheduled.insert(uid_of(&pod).to_string());
        st.record(ctx, &pod, Ev::normal(Source::Scheduler, "Scheduled", msg));
    }
}

/// First sight of a bound pod: the sandbox is up (IP assigned), image pulls start.
fn admit(ctx: &Ctx<'_>, st: &mut State, pod: &Value) -> PodRt {
    let node = str_at(pod, "/spec/nodeName").to_string();
    // Pods bound at creation (ReplicaSets pick a node) get the scheduler's event here.
    if !st.kubelet.scheduled.remove(uid_of(pod)) {
        let msg = format!(
            "Successfully assigned {}/{} to {node}",
            ns_of(pod),
            name_of(pod)
        );
        st.record(ctx, pod, Ev::normal(Source::Scheduler, "Scheduled", msg));
    }
    let policy = match str_at(pod, "/spec/restartPolicy") {
        "Never" => Policy::Never,
        "OnFailure" => Policy::OnFailure,
        _ => Policy::Always,
    };
    let annotated = pod["metadata"]["annotations"][RUN_SECONDS]
        .as_str()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let owned_by_job = controller_ref(pod).is_some_and(|r| r["kind"] == "Job");
    let run_for = match annotated {
        Some(s) => Some(secs(s)),
        None if owned_by_job => Some(dur(ctx.sim.job_duration)),
        None => None,
    };
    let mut rt = PodRt {
        uid: uid_of(pod).to_string(),
        host_ip: st.kubelet.host_ip(&node),
        ip: st.kubelet.next_pod_ip(),
        node,
        started: ctx.now,
        policy,
        run_for,
        containers: Vec::new(),
        remove_at: None,
    };
    let mut out = Out::default();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let image = c["image"].as_str().unwrap_or_default().to_string();
        let cached = st
            .kubelet
            .images
            .contains(&(rt.node.clone(), image.clone()));
        let mut fault = None;
        let stage = if cached && c["imagePullPolicy"] != "Always" {
            // No pull, but the image still behaves as it is: a cached copy runs even if the
            // registry has lost it since, and keeps its fault.
            if let ImageVerdict::Present { fault: f } = ctx.images.resolve(&image) {
                fault = f;
            }
            let msg = format!("Container image \"{image}\" already present on machine");
            out.ev(false, "Pulled", msg, &name);
            Stage::Creating {
                until: ctx.now + dur(ctx.sim.container_start),
            }
        } else {
            out.ev(
                false,
                "Pulling",
                format!("Pulling image \"{image}\""),
                &name,
            );
            Stage::Pulling {
                until: ctx.now + dur(ctx.sim.image_pull),
                retry: None,
            }
        };
        rt.containers.push(Ctr {
            name,
            image,
            fault,
            stage,
            restarts: 0,
            crashes: 0,
            pull_failures: 0,
            last: None,
            container_id: String::new(),
            log_seq: 0,
        });
    }
    apply_out(ctx, st, pod, &rt, out);
    rt
}

/// Handles a terminating pod; returns true once it is gone.
fn terminate(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRt, out: &mut Out) -> bool {
    let remove_at = match rt.remove_at {
        Some(t) => t,
        None => {
            let grace = pod["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30)
                .max(0);
            let t = ctx.now + dur(ctx.sim.termination).min(secs(grace));
            rt.remove_at = Some(t);
            for c in &rt.containers {
                if matches!(c.stage, Stage::Running { .. }) {
                    out.ev(
                        false,
                        "Killing",
                        format!("Stopping container {}", c.name),
                        &c.name,
                    );
                    out.log(&c.name, logs::stopping(ctx.now));
                }
            }
            t
        }
    };
    let finalized = pod["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|f| f.is_empty());
    if remove_at > ctx.now || !finalized {
        return false;
    }
    let (ns, name) = (ns_of(pod), name_of(pod));
    let _ = ctx.cluster.store.remove(*kinds::PODS, ns, name, None);
    ctx.cluster.store.drop_logs(ns, name);
    true
}

fn next_deadline(rt: &PodRt, now: Timestamp) -> Option<Timestamp> {
    let mut times: Vec<Timestamp> = rt.remove_at.into_iter().collect();
    if rt.remove_at.is_none() {
        for c in &rt.containers {
            match &c.stage {
                Stage::Pulling { until, .. }
                | Stage::PullFailed { until, .. }
                | Stage::PullBackOff { until, .. }
                | Stage::Creating { until }
                | Stage::CrashBackOff { until, .. } => times.push(*until),
                Stage::Running { ready_at, exit, .. } => {
                    times.extend(ready_at.iter().copied());
                    times.extend(exit.iter().map(|(t, _)| *t));
                }
                Stage::Done(_) => {}
            }
        }
    }
    times.into_iter().filter(|t| *t > now).min()
}

fn apply_out(ctx: &Ctx<'_>, st: &mut State, pod: &Value, rt: &PodRt, out: Out) {
    let node = rt.node.clone();
    for (warning, reason, msg, ctr) in out.events {
        let source = Source::Kubelet { node: &node };
        let mut ev = if warning {
            Ev::warning(source, reason, msg)
        } else {
            Ev::normal(source, reason, msg)
        };
        if let Some(c) = ctr {
            ev = ev.container(&c);
        }
        st.record(ctx, pod, ev);
    }
    let ns = ns_of(pod);
    for (ctr, lines) in out.logs {
        ctx.cluster.store.append_log(ns, name_of(pod), &ctr, &lines);
    }
    // Pulled images stay on the node.
    for c in &rt.containers {
        if !matches!(
            c.stage,
            Stage::Pulling { .. } | Stage::PullFailed { .. } | Stage::PullBackOff { .. }
        ) {
            st.kubelet.images.insert((node.clone(), c.image.clone()));
        }
    }
}

/// Every running container writes a request line (the error share follows its fault).
pub fn log_tick(ctx: &Ctx<'_>, st: &mut State) {
    for ((ns, name), rt) in st.kubelet.pods.iter_mut() {
        if rt.remove_at.is_some() || rt.run_for.is_some() {
            continue;
        }
        for c in &mut rt.containers {
            let Stage::Running { ready_at, .. } = c.stage else {
                continue;
            };
            if ready_at.is_none_or(|t| t > ctx.now) {
                continue;
            }
            c.log_seq += 1;
            let errors = match c.fault {
                Some(Fault::Errors(f)) => f,
                _ => 0.0,
            };
            let line = logs::request(&rt.uid, &c.name, c.log_seq, ctx.now, errors);
            ctx.cluster.store.append_log(ns, name, &c.name, &[line]);
        }
    }
}
