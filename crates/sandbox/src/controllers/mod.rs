//! The sandbox's controllers: Deployment, ReplicaSet, a simulated kubelet (with a trivial
//! scheduler), Nodes, EndpointSlices and Endpoints, Jobs, events, orphan garbage collection,
//! and every namespace's `default` ServiceAccount and `kube-root-ca.crt` ConfigMap.
//!
//! Every controller is a synchronous reconcile over a [`Cluster`] at the clock's current time,
//! so under a manual clock a rollout is fully deterministic. [`Controllers::settle`] feeds the
//! store's change history to the controllers until nothing changes; work is proportional to
//! what changed (owner indexes instead of namespace scans), and controllers ask to be woken at
//! the instants they care about (a pod becoming ready, a back-off ending, a progress deadline).
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use shipdeck_sandbox::{clock::Clock, images::AllImagesPresent, ops::Cluster, store::Store};
//! use shipdeck_sandbox::controllers::{Controllers, SimConfig};
//!
//! # async fn demo() {
//! // A server: controllers follow every API write and wake-up in the background.
//! let cluster = Arc::new(Cluster::new("dev", Arc::new(Store::default()), Clock::real(1.0)));
//! let controllers = Controllers::new(cluster, Arc::new(AllImagesPresent), SimConfig::default());
//! let task = controllers.spawn();
//! # task.abort();
//!
//! // A test or screenshot: a manual clock, moved explicitly.
//! let cluster = Arc::new(Cluster::new("dev", Arc::new(Store::default()), Clock::manual(Clock::epoch())));
//! let controllers = Controllers::new(cluster, Arc::new(AllImagesPresent), SimConfig::default());
//! controllers.settle(); // nodes exist, objects created so far are reconciled
//! controllers.advance(Duration::from_secs(10)); // stops at every pod transition on the way
//! # }
//! ```
//!
//! With a manual clock moved by someone else (not [`Controllers::advance`]), the background
//! loop settles once at the new time: pods still get their exact transition times, but
//! rollout steps that would have happened in between happen at once, as after a
//! controller-manager outage.

mod deployment;
mod endpoints;
mod events;
mod gc;
mod jobs;
mod kubelet;
mod namespaces;
mod nodes;
mod progress;
mod replicaset;
mod rollout;
mod state;
mod util;

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use jiff::Timestamp;
use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::images::ImageResolver;
use super::ops::Cluster;
use state::{State, Task, Work};

pub use events::{Ev, Source};

/// How the simulated world behaves. Defaults make a pod Ready about five seconds after it is
/// created (three when its image is already on the node), like a small real cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Node names; empty means `<cluster>-worker`, `<cluster>-worker2`, `<cluster>-worker3`.
    pub nodes: Vec<String>,
    /// Time to pull an image that is not on the node yet.
    pub image_pull: Duration,
    /// From image present to container running.
    pub container_start: Duration,
    /// From running to Ready (stands in for application warm-up and readiness probes; a
    /// probe's `initialDelaySeconds` wins when longer).
    pub readiness: Duration,
    /// How long a container with [`Fault::Crash`](super::images::Fault) runs before exiting 1.
    pub crash_after: Duration,
    /// Kubelet back-off for crash loops and image pulls: initial, doubled per retry, capped.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Time a deleted pod takes to terminate (capped by its grace period).
    pub termination: Duration,
    /// How long a Job's container runs before exiting 0 (a pod annotation
    /// `shipdeck.sandbox/run-seconds` overrides it per pod).
    pub job_duration: Duration,
    /// Interval of the request lines running containers append to their logs; zero disables.
    pub log_interval: Duration,
    /// Events kept per namespace; older ones are deleted.
    pub events_per_namespace: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: Vec::new(),
            image_pull: Duration::from_secs(2),
            container_start: Duration::from_secs(1),
            readiness: Duration::from_secs(2),
            crash_after: Duration::from_secs(3),
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            termination: Duration::from_secs(2),
            job_duration: Duration::from_secs(8),
            log_interval: Duration::from_secs(5),
            events_per_namespace: 1000,
        }
    }
}

/// Called when a Job's pod finishes its work, with the Job object; the returned lines are
/// appended to that pod's log before the container exits 0. A build runner uses it to do the
/// build (e.g. push an image to the sandbox registry). It runs while the controllers hold their
/// lock: it must not call back into [`Controllers`].
pub type JobHook = Box<dyn Fn(&Value) -> Vec<String> + Send + Sync>;

/// Settling stops after this many rounds even if controllers keep changing things (a bug);
/// the next settle continues where this one stopped.
const MAX_ROUNDS: usize = 10_000;

pub struct Controllers {
    cluster: Arc<Cluster>,
    images: Arc<dyn ImageResolver>,
    sim: SimConfig,
    hooks: RwLock<Vec<JobHook>>,
    /// One reconcile at a time: `settle`, `advance` and the background loop share it.
    state: Mutex<State>,
}

/// What a controller sees during one reconcile.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub images: &'a dyn ImageResolver,
    pub sim: &'a SimConfig,
    pub hooks: &'a [JobHook],
    pub now: Timestamp,
}

impl Controllers {
    pub fn new(cluster: Arc<Cluster>, images: Arc<dyn ImageResolver>, sim: SimConfig) -> Arc<Self> {
        let mut sim = sim;
        if sim.nodes.is_empty() {
            sim.nodes = ["worker", "worker2", "worker3"]
                .iter()
                .map(|n| format!("{}-{n}", cluster.name))
                .collect();
        }
        let state = State::new(&sim);
        Arc::new(Controllers {
            cluster,
            images,
            sim,
            hooks: RwLock::new(Vec::new()),
            state: Mutex::new(state),
        })
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    pub fn sim(&self) -> &SimConfig {
        &self.sim
    }

    /// Registers a hook run when a Job's pod completes (see [`JobHook`]).
    pub fn on_job_complete(&self, hook: JobHook) {
        self.hooks.write().push(hook);
    }

    /// Runs every controller until nothing changes at the current clock time; returns the next
    /// instant a controller needs to run (pod becomes ready, back-off ends, progress
    /// deadline…), if any.
    pub fn settle(&self) -> Option<Timestamp> {
        let mut st = self.state.lock();
        self.settle_locked(&mut st)
    }

    fn settle_locked(&self, st: &mut State) -> Option<Timestamp> {
        let hooks = self.hooks.read();
        let ctx = Ctx {
            cluster: &self.cluster,
            images: self.images.as_ref(),
            sim: &self.sim,
            hooks: &hooks,
            now: self.cluster.clock.now(),
        };
        if !st.booted {
            nodes::ensure(&ctx, st);
            st.booted = true;
            if !self.sim.log_interval.is_zero() {
                st.wake(ctx.now + util::dur(self.sim.log_interval), Task::LogTick);
            }
        }
        for round in 0..MAX_ROUNDS {
            let mut work = std::mem::take(&mut st.carry);
            work.merge(state::ingest(&ctx, st));
            st.take_due(ctx.now, &mut work);
            if work.is_empty() {
                break;
            }
            if round + 1 == MAX_ROUNDS {
                tracing::warn!(cluster = %self.cluster.name, "controllers did not settle");
            }
            run(&ctx, st, work);
        }
        st.next_wakeup(ctx.now)
    }

    /// Manual clock: moves time forward by `by`, stopping at every wake-up instant on the way
    /// and settling there, so the result does not depend on how time is sliced. A real clock
    /// cannot be moved: this only settles.
    pub fn advance(&self, by: Duration) {
        let clock = &self.cluster.clock;
        if !clock.is_manual() {
            self.settle();
            return;
        }
        let target = clock.now() + util::dur(by);
        let mut st = self.state.lock();
        while let Some(next) = self.settle_locked(&mut st)
            && next <= target
        {
            clock.set(next);
        }
        clock.set(target);
        self.settle_locked(&mut st);
    }

    /// Background loop for servers: settles whenever the store changes (API writes) or a
    /// wake-up is due (real clock: sleeps; manual clock: waits for the clock to move). It holds
    /// only a weak reference, so it ends when the controllers are dropped, or when aborted
    /// (dropping a tokio `JoinHandle` detaches the task; call `abort()` to stop it).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(this) = weak.upgrade() else { break };
                let mut changes = this.cluster.store.subscribe();
                let clock = this.cluster.clock.clone();
                let worker = this.clone();
                drop(this);
                // Reconciles are CPU work: keep them off the async workers.
                let Ok((next, settled_rv)) = tokio::task::spawn_blocking(move || {
                    let mut st = worker.state.lock();
                    let next = worker.settle_locked(&mut st);
                    (next, st.seen_rv)
                })
                .await
                else {
                    tracing::error!("sandbox controllers stopped: a reconcile panicked");
                    break;
                };
                // Our own writes moved the store; only changes after the settle matter.
                if *changes.borrow_and_update() != settled_rv {
                    continue;
                }
                let wait_for_time = async {
                    match next {
                        Some(at) => clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { break },
                    () = wait_for_time => {}
                }
            }
        })
    }
}

/// A round can write a lot (5,000 pods starting at once). Reading the change history whenever
/// this many writes piled up keeps it from outrunning the store's bounded history (5,000
/// changes by default), which would force a full resync.
const CHECKPOINT_WRITES: u64 = 2_000;

fn checkpoint(ctx: &Ctx<'_>, st: &mut State) {
    if ctx.cluster.store.resource_version() >= st.seen_rv + CHECKPOINT_WRITES {
        let seen = state::ingest(ctx, st);
        st.carry.merge(seen);
    }
}

/// One round: every controller handles what is dirty, in a fixed order.
fn run(ctx: &Ctx<'_>, st: &mut State, work: Work) {
    let Work {
        tasks,
        pods_changed,
        gc,
        full,
    } = work;
    let mut pods = BTreeSet::new();
    let mut replicasets = BTreeSet::new();
    let mut deployments = BTreeSet::new();
    let mut jobs = BTreeSet::new();
    let mut services = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut log_tick = false;
    for task in tasks {
        match task {
            Task::Pod(k) => {
                pods.insert(k);
            }
            Task::ReplicaSet(k) => {
                replicasets.insert(k);
            }
            Task::Deployment(k) => {
                deployments.insert(k);
            }
            Task::Job(k) => {
                jobs.insert(k);
            }
            Task::Service(k) => {
                services.insert(k);
            }
            Task::Namespace(name) => {
                namespaces.insert(name);
            }
            Task::LogTick => log_tick = true,
        }
    }
    for key in &pods {
        kubelet::sync_pod(ctx, st, key);
        checkpoint(ctx, st);
    }
    if log_tick {
        kubelet::log_tick(ctx, st);
        if !ctx.sim.log_interval.is_zero() {
            st.wake(ctx.now + util::dur(ctx.sim.log_interval), Task::LogTick);
        }
    }
    for key in &replicasets {
        replicaset::sync(ctx, st, key);
        checkpoint(ctx, st);
    }
    for key in &deployments {
        deployment::sync(ctx, st, key);
        checkpoint(ctx, st);
    }
    for key in &jobs {
        jobs::sync(ctx, st, key);
        checkpoint(ctx, st);
    }
    endpoints::sync(ctx, st, &services, &pods_changed, full);
    gc::collect(ctx, &gc);
    for ns in &namespaces {
        namespaces::reconcile(ctx, ns);
    }
}
