//! The sandbox as `shipdeck sandbox serve` runs it — real time, controllers following every
//! write — on an ephemeral port, with nodes named like the real cluster's kwok nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shipdeck::sandbox::api::{ApiServer, ServeOptions, serve};
use shipdeck::sandbox::clock::Clock;
use shipdeck::sandbox::controllers::{Controllers, SimConfig};
use shipdeck::sandbox::images::AllImagesPresent;
use shipdeck::sandbox::kubeconfig::{KubeContext, write_kubeconfig};
use shipdeck::sandbox::ops::Cluster;
use shipdeck::sandbox::store::Store;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::scenario::NAMESPACE;
use crate::common::real_cluster::NODES;

/// A running sandbox and the kubeconfig that reaches it (current context in [`NAMESPACE`]).
pub struct LiveSandbox {
    server: Option<ApiServer>,
    /// The control loop holds the controllers weakly: they run as long as this lives.
    _controllers: Arc<Controllers>,
    control_loop: JoinHandle<()>,
    pub kubeconfig: PathBuf,
}

impl LiveSandbox {
    pub fn start(runtime: &Runtime, dir: &Path) -> LiveSandbox {
        runtime.block_on(async {
            let cluster = Arc::new(Cluster::new(
                "fidelity",
                Arc::new(Store::default()),
                Clock::real(1.0),
            ));
            cluster
                .ensure_namespace("default")
                .expect("default namespace");
            let sim = SimConfig {
                nodes: NODES.iter().map(|n| n.to_string()).collect(),
                // No log lines: nothing here reads logs, and they are writes to wait for.
                log_interval: Duration::ZERO,
                ..SimConfig::default()
            };
            let controllers = Controllers::new(cluster.clone(), Arc::new(AllImagesPresent), sim);
            let control_loop = controllers.spawn();
            let server = serve(
                cluster,
                ServeOptions {
                    addr: "127.0.0.1:0".parse().expect("address"),
                    token: None,
                },
            )
            .await
            .expect("sandbox serves");
            let kubeconfig = dir.join("sandbox.kubeconfig");
            write_kubeconfig(
                &kubeconfig,
                &[KubeContext {
                    name: "sandbox".into(),
                    server: server.url(),
                    token: None,
                    namespace: Some(NAMESPACE.into()),
                }],
            )
            .expect("kubeconfig written");
            LiveSandbox {
                server: Some(server),
                _controllers: controllers,
                control_loop,
                kubeconfig,
            }
        })
    }

    pub fn stop(mut self, runtime: &Runtime) {
        self.control_loop.abort();
        if let Some(server) = self.server.take() {
            runtime.block_on(server.shutdown());
        }
    }
}
