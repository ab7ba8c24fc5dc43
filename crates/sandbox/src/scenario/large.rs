//! `--scenario large`: many identical services for scale work (list, watch and render
//! benchmarks). One revision each, created directly at full readiness speed.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use super::catalog::{ENVS, NAMESPACE, registry_prefix};
use super::objects::{self, DeploymentSpec};
use crate::ops::WriteOpts;
use crate::registry::ImageSpec;
use crate::resources::kinds;
use crate::world::World;

pub fn service_name(i: usize) -> String {
    format!("svc-{i:04}")
}

pub fn populate(world: &World, services: usize, pods_per_service: usize) {
    let built = world.clock.now() - SignedDuration::from_hours(2);
    for i in 0..services {
        let name = service_name(i);
        let mut labels = BTreeMap::new();
        labels.insert(
            "org.opencontainers.image.version".to_string(),
            "1.0.0".to_string(),
        );
        let spec = ImageSpec {
            created: built,
            labels,
            layers: 1,
            platforms: Vec::new(),
        };
        world
            .registry
            .seed(&format!("dev/{name}"), &["v1.0.0"], &spec);
        world
            .registry
            .seed(&format!("prod/{name}"), &["v1.0.0"], &spec);
    }
    for env in ENVS {
        let cluster = &world.env(env).cluster;
        if let Err(e) = cluster.ensure_namespace(NAMESPACE) {
            tracing::error!(env, error = %e, "cannot create namespace");
            continue;
        }
        for i in 0..services {
            let name = service_name(i);
            let image = format!(
                "{}/{}/{name}:v1.0.0",
                world.registry_host,
                registry_prefix(env)
            );
            let spec = DeploymentSpec {
                name: &name,
                app: &name,
                image: &image,
                replicas: pods_per_service as i64,
                extra_labels: &[],
                meta_labels: &[],
                annotations: &[("kubernetes.io/change-cause", "initial release")],
                progress_deadline_seconds: None,
            };
            let created = cluster
                .create(
                    *kinds::DEPLOYMENTS,
                    NAMESPACE,
                    objects::deployment(&spec),
                    &WriteOpts::default(),
                )
                .and_then(|_| {
                    cluster.create(
                        *kinds::SERVICES,
                        NAMESPACE,
                        objects::service(&name, &[("app", &name)]),
                        &WriteOpts::default(),
                    )
                });
            if let Err(e) = created {
                tracing::error!(env, service = %name, error = %e, "cannot create service");
            }
        }
    }
    // Pods appear, start and become ready; a few minutes of simulated time covers it.
    world.advance(std::time::Duration::from_secs(120));
}
