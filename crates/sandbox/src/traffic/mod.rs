//! The traffic and metrics simulator: client requests per service, split the way the
//! cluster's routing objects and ready pods say, answered as each pod's image dictates
//! (healthy, or failing a share of requests per its `shipdeck.sandbox/fault` label), and
//! counted as a Prometheus-instrumented service would count them.
//!
//! - [`Traffic`] integrates request rates over the world's clock (rate × Δt, so a manual
//!   clock moved in jumps gives the same counts as one moving smoothly) and keeps a bounded
//!   history sampled on a fixed grid. Randomness is a hash of (seed, entry, grid instant):
//!   the same world gives the same series.
//! - [`serve`] exposes `GET /metrics` (text format 0.0.4, for a real Prometheus to scrape)
//!   and answers the Prometheus HTTP query API (`/api/v1/query`, `/api/v1/query_range`,
//!   `/api/v1/status/buildinfo`) for the PromQL subset in [`promql`], evaluated over that
//!   history.
//! - As the API server's [`ServiceBackend`], it answers service-proxy requests per the
//!   chosen pod's fault.
//!
//! The simulation starts where the world is when the simulator is created, with a backfill
//! (the last minutes replayed with the state of that moment) so the demo opens with history.

mod exposition;
mod model;
mod profile;
pub mod promql;
mod routing;
mod server;
mod tsdb;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::api::{ProxyReply, ServiceBackend};
use super::clock::Clock;
use super::images::{Fault, ImageResolver};
use super::ops::Cluster;
use model::{FaultCache, Observation, fault_of, group_labels};
use promql::Labels;
use tsdb::Tsdb;

pub use exposition::CONTENT_TYPE as EXPOSITION_CONTENT_TYPE;
pub use model::{demand, image_version};
pub use profile::BUCKETS;
pub use server::{MetricsServer, serve};
pub use tsdb::{DURATION as DURATION_METRIC, REQUESTS as REQUESTS_METRIC};

#[derive(Debug, Clone)]
pub struct TrafficOptions {
    /// Spacing of the sampled history (a scrape interval).
    pub resolution: Duration,
    /// How much history the query API can see.
    pub retention: Duration,
    /// History replayed at creation with the state of that moment.
    pub backfill: Duration,
    pub seed: u64,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        TrafficOptions {
            resolution: Duration::from_secs(5),
            retention: Duration::from_secs(3600),
            backfill: Duration::from_secs(600),
            seed: 0x5eed,
        }
    }
}

pub struct Traffic {
    clusters: Vec<Arc<Cluster>>,
    images: Arc<dyn ImageResolver>,
    clock: Clock,
    opts: TrafficOptions,
    state: Mutex<State>,
}

struct State {
    /// Unix milliseconds the counters are integrated up to.
    last: i64,
    db: Tsdb,
    faults: FaultCache,
    /// Groups with ready pods at the last look (what `/metrics` shows).
    present: BTreeSet<Labels>,
    /// Per pod UID, how many proxied requests it answered (see [`Traffic::respond`]).
    proxy_served: HashMap<String, u64>,
}

fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

impl Traffic {
    /// A simulator over `clusters` (which share `clock`), starting now with a backfill.
    pub fn new(
        clusters: Vec<Arc<Cluster>>,
        images: Arc<dyn ImageResolver>,
        clock: Clock,
        opts: TrafficOptions,
    ) -> Arc<Traffic> {
        let now = ms(clock.now());
        let state = State {
            last: now - opts.backfill.as_millis() as i64,
            db: Tsdb::new(opts.retention.as_millis() as i64),
            faults: FaultCache::new(),
            present: BTreeSet::new(),
            proxy_served: HashMap::new(),
        };
        let traffic = Arc::new(Traffic {
            clusters,
            images,
            clock,
            opts,
            state: Mutex::new(state),
        });
        traffic.catch_up();
        traffic
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn options(&self) -> &TrafficOptions {
        &self.opts
    }

    /// Integrates traffic from the last catch-up to the clock's now with the cluster state as
    /// it is. The world calls it before every move of its clock, so each interval is counted
    /// with the state that held during it; readers call it to see up-to-date counts.
    pub fn catch_up(&self) {
        let now = ms(self.clock.now());
        let mut st = self.state.lock();
        if now <= st.last {
            return;
        }
        let st = &mut *st;
        let mut obs = Observation::default();
        for cluster in &self.clusters {
            let o = model::observe(cluster, self.images.as_ref(), &mut st.faults);
            obs.flows.extend(o.flows);
            obs.present.extend(o.present);
        }
        self.integrate(st, &obs, now);
        st.present = obs.present;
    }

    fn integrate(&self, st: &mut State, obs: &Observation, now: i64) {
        let res = (self.opts.resolution.as_millis() as i64).max(1);
        let keep_from = now - self.opts.retention.as_millis() as i64;
        let mut from = st.last;
        if from < keep_from {
            // Samples before the retention would be dropped at once: count that span in one go.
            self.add(st, obs, from, keep_from, keep_from.div_euclid(res));
            from = keep_from;
        }
        loop {
            let grid = (from.div_euclid(res) + 1) * res;
            if grid > now {
                self.add(st, obs, from, now, grid / res);
                break;
            }
            self.add(st, obs, from, grid, grid / res);
            st.db.record(grid, &obs.present);
            from = grid;
        }
        st.last = now;
    }

    /// Adds the requests of `[from, to]`; `step` (the grid slot) picks the jitter.
    fn add(&self, st: &mut State, obs: &Observation, from: i64, to: i64, step: i64) {
        let dt = (to - from) as f64 / 1000.0;
        if dt <= 0.0 {
            return;
        }
        for flow in &obs.flows {
            let u = unit(self.opts.seed, flow.entry_seed, step);
            let v = unit(self.opts.seed ^ 0x9e37_79b9, flow.entry_seed, step);
            let mut profile = flow.profile;
            profile.error_ratio = (profile.error_ratio * (0.8 + 0.4 * v)).min(1.0);
            let requests = flow.rps * (0.85 + 0.3 * u) * dt;
            st.db.group(&flow.group).now.add(requests, &profile);
        }
    }

    /// `GET /metrics`: the current counters of every group with ready pods.
    pub fn exposition(&self) -> String {
        self.catch_up();
        let st = self.state.lock();
        let groups: Vec<_> = st
            .present
            .iter()
            .filter_map(|l| st.db.groups.get(l).map(|g| (l, &g.now)))
            .collect();
        exposition::render(groups.iter().copied())
    }

    /// Evaluates `query` at `t_ms` over the sampled history.
    pub fn query(&self, query: &str, t_ms: i64) -> Result<promql::Value, QueryError> {
        let expr = promql::parse(query).map_err(QueryError::Parse)?;
        self.catch_up();
        let st = self.state.lock();
        promql::eval(&expr, &st.db, t_ms).map_err(QueryError::Eval)
    }

    /// Evaluates `query` at every `step_ms` from `start_ms` to `end_ms`, as a range query does.
    pub fn query_range(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<promql::Series>, QueryError> {
        let expr = promql::parse(query).map_err(QueryError::Parse)?;
        if matches!(expr, promql::Expr::Range(..)) {
            return Err(QueryError::Parse(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        self.catch_up();
        let st = self.state.lock();
        let mut series: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        let mut t = start_ms;
        while t <= end_ms {
            match promql::eval(&expr, &st.db, t).map_err(QueryError::Eval)? {
                promql::Value::Scalar(v) => series.entry(Labels::new()).or_default().push((t, v)),
                promql::Value::Vector(v) => {
                    for s in v {
                        series.entry(s.labels).or_default().push((t, s.value));
                    }
                }
                promql::Value::Matrix(_) => {
                    return Err(QueryError::Eval("range vectors cannot be graphed".into()));
                }
            }
            t += step_ms.max(1);
        }
        Ok(series
            .into_iter()
            .map(|(labels, samples)| promql::Series { labels, samples })
            .collect())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// The query is not in the supported subset, or malformed (Prometheus' `bad_data`).
    Parse(String),
    /// It parsed but could not be evaluated (Prometheus' `execution`).
    Eval(String),
}

/// A uniform value in `[0, 1)` from a seed, an entry and a grid slot (splitmix64 finaliser).
fn unit(seed: u64, entry: u64, step: i64) -> f64 {
    let mut z = seed ^ entry.rotate_left(17) ^ (step as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl ServiceBackend for Traffic {
    /// A pod answers as its image's fault says: a faulty pod fails its share of requests,
    /// spread evenly, so `errors=0.2` fails every fifth request, deterministically.
    fn respond(&self, cluster: &str, pod: &Value, method: &Method, path: &str) -> ProxyReply {
        let (fault, fail) = {
            let mut st = self.state.lock();
            let st = &mut *st;
            let fault = fault_of(pod, self.images.as_ref(), &mut st.faults);
            let share = match fault {
                Some(Fault::Errors(f)) => f,
                Some(Fault::Crash) => 1.0,
                None => 0.0,
            };
            let uid = pod["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let served = st.proxy_served.entry(uid).or_insert(0);
            *served += 1;
            // The n-th request fails when it completes another whole failure's worth
            // (the epsilon keeps 5 × 0.2 at one, not 0.999…).
            let owed = |n: u64| (n as f64 * share + 1e-9).floor();
            (fault, owed(*served) > owed(*served - 1))
        };
        let group = group_labels(cluster, pod);
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let health = matches!(path, "/healthz" | "/readyz" | "/livez" | "/health");
        let text = "text/plain; charset=utf-8";
        match (health, fail) {
            (true, false) => ProxyReply {
                status: 200,
                content_type: text,
                body: "ok".into(),
            },
            (true, true) => ProxyReply {
                status: 500,
                content_type: text,
                body: format!("unhealthy: {}\n", describe(fault.as_ref())),
            },
            (false, false) => ProxyReply {
                status: 200,
                content_type: "application/json",
                body: json!({
                    "service": group.get("service"),
                    "version": group.get("version"),
                    "pod": pod_name,
                    "method": method.as_str(),
                    "path": path,
                })
                .to_string(),
            },
            (false, true) => ProxyReply {
                status: 500,
                content_type: "application/json",
                body: json!({"error": "internal server error", "pod": pod_name}).to_string(),
            },
        }
    }
}

fn describe(fault: Option<&Fault>) -> String {
    match fault {
        Some(Fault::Errors(f)) => format!("failing {:.0}% of requests", f * 100.0),
        Some(Fault::Crash) => "crashing".into(),
        None => "degraded".into(),
    }
}
