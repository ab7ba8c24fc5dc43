//! The whole simulated world: one cluster (store, API semantics, controllers, API server)
//! per environment, the OCI registry, and the clock they share.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use shipdeck_shared::config::Config;
use tokio::task::JoinHandle;

use super::api::{ApiServer, ServeOptions};
use super::clock::Clock;
use super::controllers::{Controllers, SimConfig};
use super::kubeconfig::{KubeContext, write_kubeconfig};
use super::ops::Cluster;
use super::registry::{Registry, RegistryImages, RegistryServer};
use super::scenario::Scenario;
use super::scenario::catalog::ENVS;
use super::store::Store;
use super::traffic::{MetricsServer, Traffic, TrafficOptions};

#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub scenario: Scenario,
    /// Deterministic time: the clock stands still unless [`World::advance`] moves it, and
    /// "now" is [`Clock::epoch`]. Otherwise real time at `speed`.
    pub manual_clock: bool,
    pub speed: f64,
    /// API servers on `port_base`, `+1`, `+2`; the registry on `+3`; metrics on `+4` when
    /// free (else an ephemeral port). `None`: ephemeral ports.
    pub port_base: Option<u16>,
    /// Bearer token the API servers require (none by default).
    pub token: Option<String>,
    pub sim: SimConfig,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            scenario: Scenario::Demo,
            manual_clock: false,
            speed: 1.0,
            port_base: None,
            token: None,
            sim: SimConfig::default(),
        }
    }
}

/// One environment's simulated cluster.
pub struct SimEnv {
    pub name: String,
    pub cluster: Arc<Cluster>,
    pub controllers: Arc<Controllers>,
    server: Option<ApiServer>,
    control_loop: Option<JoinHandle<()>>,
}

impl SimEnv {
    /// `http://127.0.0.1:PORT` of this environment's API server.
    pub fn url(&self) -> String {
        self.server.as_ref().map(ApiServer::url).unwrap_or_default()
    }

    pub fn context(&self) -> String {
        format!("sandbox-{}", self.name)
    }
}

pub struct World {
    pub clock: Clock,
    pub envs: Vec<SimEnv>,
    pub registry: Arc<Registry>,
    /// `127.0.0.1:PORT`; images in the clusters reference it.
    pub registry_host: String,
    registry_server: Option<RegistryServer>,
    pub scenario: Scenario,
    pub token: Option<String>,
    /// The traffic simulator (started once the scenario is in place) and its query API.
    traffic: Option<Arc<Traffic>>,
    metrics_server: Option<MetricsServer>,
}

fn loopback(port_base: Option<u16>, offset: u16) -> SocketAddr {
    let port = port_base.map_or(0, |p| p.saturating_add(offset));
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl World {
    /// Builds the world, plays the scenario's history, then starts serving.
    pub async fn start(opts: WorldOptions) -> std::io::Result<World> {
        let registry = Registry::new();
        let registry_server =
            super::registry::serve(registry.clone(), loopback(opts.port_base, 3)).await?;
        let registry_host = registry_server.host();
        let now = if opts.manual_clock {
            Clock::epoch()
        } else {
            Timestamp::now()
        };
        let clock = Clock::manual(now - opts.scenario.history());
        let images = Arc::new(RegistryImages::new(registry.clone(), registry_host.clone()));
        let envs = ENVS
            .iter()
            .map(|name| {
                let cluster = Arc::new(Cluster::new(
                    *name,
                    Arc::new(Store::default()),
                    clock.clone(),
                ));
                let controllers =
                    Controllers::new(cluster.clone(), images.clone(), opts.sim.clone());
                SimEnv {
                    name: name.to_string(),
                    cluster,
                    controllers,
                    server: None,
                    control_loop: None,
                }
            })
            .collect();
        let mut world = World {
            clock: clock.clone(),
            envs,
            registry,
            registry_host,
            registry_server: Some(registry_server),
            scenario: opts.scenario.clone(),
            token: opts.token.clone(),
            traffic: None,
            metrics_server: None,
        };
        let started = std::time::Instant::now();
        opts.scenario.populate(&world);
        // Build Jobs in dev "push" their image when they complete, like a CI builder.
        world.registry.seed(
            super::scenario::sources::BUILDER_REPO,
            &["v1"],
            &super::registry::ImageSpec::new(world.clock.now()),
        );
        if let Some(dev) = world.try_env("dev") {
            dev.controllers.on_job_complete(super::builds::build_hook(
                world.registry.clone(),
                world.registry_host.clone(),
            ));
        }
        tracing::info!(scenario = ?opts.scenario, took = ?started.elapsed(), "sandbox populated");
        let clusters = world.envs.iter().map(|e| e.cluster.clone()).collect();
        let traffic = Traffic::new(clusters, images, clock.clone(), TrafficOptions::default());
        world.traffic = Some(traffic.clone());
        if !opts.manual_clock {
            clock.switch_to_real(opts.speed);
        }
        for (i, env) in world.envs.iter_mut().enumerate() {
            let serve = ServeOptions {
                addr: loopback(opts.port_base, i as u16),
                token: opts.token.clone(),
            };
            let backend = traffic.clone();
            env.server = Some(super::api::serve_with(env.cluster.clone(), serve, backend).await?);
            env.control_loop = Some(env.controllers.spawn());
        }
        // The metrics port is a convenience for `sandbox serve`; a taken one is no reason to fail.
        let metrics =
            match super::traffic::serve(traffic.clone(), loopback(opts.port_base, 4)).await {
                Err(_) if opts.port_base.is_some() => {
                    super::traffic::serve(traffic, loopback(None, 0)).await?
                }
                other => other?,
            };
        world.metrics_server = Some(metrics);
        Ok(world)
    }

    pub fn env(&self, name: &str) -> &SimEnv {
        self.try_env(name)
            .unwrap_or_else(|| panic!("the sandbox has no environment {name:?}"))
    }

    pub fn try_env(&self, name: &str) -> Option<&SimEnv> {
        self.envs.iter().find(|e| e.name == name)
    }

    /// Runs every environment's controllers at the current time.
    pub fn settle(&self) -> Option<Timestamp> {
        let envs: Vec<&SimEnv> = self.envs.iter().collect();
        settle_all(&envs)
    }

    /// The traffic simulator (absent only while the scenario is being played).
    pub fn traffic(&self) -> Option<&Arc<Traffic>> {
        self.traffic.as_ref()
    }

    /// `http://127.0.0.1:PORT` of the Prometheus-compatible query API and `/metrics`.
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics_server.as_ref().map(MetricsServer::url)
    }

    /// Moves the clock to `t` (never backwards) and settles, without stopping on the way.
    pub fn jump_to(&self, t: Timestamp) {
        if let Some(traffic) = &self.traffic {
            traffic.catch_up();
        }
        self.clock.set(t);
        self.settle();
    }

    /// Moves time forward by `by`, stopping at every instant a controller asked to run.
    pub fn advance(&self, by: Duration) {
        let targets: Vec<&SimEnv> = self.envs.iter().collect();
        step_through(&self.clock, &targets, by, self.traffic.as_deref());
    }

    /// Like [`World::advance`] but only runs one environment's controllers (the others catch
    /// up when next settled); scenarios use it to play one rollout quickly.
    pub fn advance_env(&self, env: &str, by: Duration) {
        step_through(&self.clock, &[self.env(env)], by, self.traffic.as_deref());
    }

    /// The `shipdeck.toml` describing this world.
    pub fn config(&self) -> Config {
        self.scenario
            .config(&self.registry_host, self.metrics_url())
    }

    /// Writes `kubeconfig` and `shipdeck.toml` (which points at the kubeconfig beside it).
    pub fn write_files(&self, kubeconfig: &Path) -> std::io::Result<PathBuf> {
        if let Some(dir) = kubeconfig.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let contexts: Vec<KubeContext> = self
            .envs
            .iter()
            .map(|e| KubeContext {
                name: e.context(),
                server: e.url(),
                token: self.token.clone(),
                namespace: Some(super::scenario::catalog::NAMESPACE.to_string()),
            })
            .collect();
        write_kubeconfig(kubeconfig, &contexts)?;
        let mut config = self.config();
        config.kubeconfig = kubeconfig.file_name().map(PathBuf::from);
        if self.scenario == Scenario::Demo
            && let Some(dir) = kubeconfig.parent()
        {
            super::scenario::sources::write(dir, &mut config);
        }
        let toml_path = kubeconfig.with_file_name("shipdeck.toml");
        std::fs::write(&toml_path, header() + &config.to_toml())?;
        Ok(toml_path)
    }

    /// Stops servers and controller loops (open watches end).
    pub async fn shutdown(mut self) {
        for env in &mut self.envs {
            if let Some(handle) = env.control_loop.take() {
                handle.abort();
            }
            if let Some(server) = env.server.take() {
                server.shutdown().await;
            }
        }
        if let Some(server) = self.registry_server.take() {
            server.shutdown().await;
        }
        if let Some(server) = self.metrics_server.take() {
            server.shutdown().await;
        }
    }
}

fn header() -> String {
    "# Written by `shipdeck sandbox serve`: the simulated world's environments, services and\n\
     # registry. Point any shipdeck command at it with --config.\n\n"
        .to_string()
}

/// `traffic` is caught up before every move of the clock, so each interval's requests are
/// counted with the routing and pods that held during it.
fn step_through(clock: &Clock, envs: &[&SimEnv], by: Duration, traffic: Option<&Traffic>) {
    let catch_up = || {
        if let Some(t) = traffic {
            t.catch_up();
        }
    };
    let target = clock.now() + SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
    // Bounded so a controller that keeps asking for "now" cannot spin forever.
    for _ in 0..100_000 {
        let next = settle_all(envs);
        let now = clock.now();
        match next {
            Some(t) if t < target => {
                catch_up();
                clock.set(t.max(now + SignedDuration::from_millis(1)));
            }
            _ => {
                catch_up();
                clock.set(target);
                settle_all(envs);
                return;
            }
        }
    }
}

/// Settles every environment at the current time, each on its own thread: environments share
/// nothing but the clock (which does not move meanwhile) and the registry, so starting the
/// large scenario's three 5,000-pod clusters takes about as long as the slowest one rather
/// than the sum. Returns the earliest next wake-up.
fn settle_all(envs: &[&SimEnv]) -> Option<Timestamp> {
    if let [env] = envs {
        return env.controllers.settle();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = envs
            .iter()
            .map(|env| scope.spawn(|| env.controllers.settle()))
            .collect();
        handles
            .into_iter()
            // A panicking reconcile is a bug; it resurfaces here as it would have inline.
            .filter_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .min()
    })
}
