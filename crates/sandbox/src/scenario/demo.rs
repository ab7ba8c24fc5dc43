//! Plays the demo shop's release history into the world on the manual clock: every version
//! is built into the registry, rolled out in dev, promoted to staging and prod over three
//! weeks, so ReplicaSets, revisions, events and Helm history are what real ones would be.
//! The story ends "now" with a canary in progress, a blue-green ready to swap and a failing
//! prod rollout.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::catalog::{
    DEMO, DemoService, ENVS, NAMESPACE, Release, change_cause, commit_of, registry_prefix,
};
use super::helm::{HelmRevision, release_secret};
use crate::clock::rfc3339;
use crate::images::FAULT_LABEL;
use crate::ops::WriteOpts;
use crate::registry::ImageSpec;
use crate::resources::kinds;
use crate::world::World;

/// How far back the demo history starts.
pub const HISTORY: SignedDuration = SignedDuration::from_hours(24 * 21);

/// One thing that happens at one instant.
struct Step {
    at: Timestamp,
    env: usize,
    service: &'static DemoService,
    action: Action,
}

enum Action {
    /// Roll the service's main workload to `versions[i]`.
    Deploy(usize),
    /// Start a canary: canary Deployment to `versions[i]` at `weight`%.
    Canary(usize, u32),
    /// Blue-green: deploy `versions[i]` to the idle colour without switching traffic.
    StageIdle(usize),
}

pub fn populate(world: &World) {
    let start = world.clock.now();
    let end = start + HISTORY;
    seed_registry(world, start);
    let mut steps = Vec::new();
    for (si, svc) in DEMO.iter().enumerate() {
        plan_service(svc, si, start, end, &mut steps);
    }
    steps.sort_by_key(|s| (s.at, s.env));
    for env in ENVS {
        if let Err(e) = world.env(env).cluster.ensure_namespace(NAMESPACE) {
            tracing::error!(env, error = %e, "cannot create the demo namespace");
        }
    }
    for step in &steps {
        world.jump_to(step.at);
        apply(world, step);
        // Let the rollout run its course (or fail) before the next change.
        world.advance_env(ENVS[step.env], std::time::Duration::from_secs(240));
    }
    world.jump_to(end);
    world.settle();
}

fn plan_service(
    svc: &'static DemoService,
    index: usize,
    start: Timestamp,
    end: Timestamp,
    out: &mut Vec<Step>,
) {
    let n = svc.versions.len() as i64;
    // Spread releases over 18 days; services offset by a few hours so times differ.
    let spacing = SignedDuration::from_hours(24 * 18 / n);
    let offset = SignedDuration::from_mins(37 * index as i64 + 60);
    for (env_index, env) in ENVS.iter().enumerate() {
        let head = svc.heads[env_index];
        let delay = SignedDuration::from_hours(26 * env_index as i64);
        for v in 0..=head {
            let mut at = (start + offset + spacing * (v as i32) + delay)
                .min(end - SignedDuration::from_hours(2));
            // The failing prod rollout that gives on-call a story starts 20 minutes before "now".
            if *env == "prod"
                && v == head
                && svc.fault.is_some_and(|(bad, _)| bad == svc.versions[v])
            {
                at = end - SignedDuration::from_mins(20);
            }
            out.push(Step {
                at,
                env: env_index,
                service: svc,
                action: Action::Deploy(v),
            });
        }
        if let Release::Canary {
            weights,
            canary_version,
            ..
        } = svc.release
            && let Some(cv) = canary_version[env_index]
        {
            let at = end - SignedDuration::from_mins(40 - 10 * env_index as i64);
            out.push(Step {
                at,
                env: env_index,
                service: svc,
                action: Action::Canary(cv, weights[env_index]),
            });
        }
        if matches!(svc.release, Release::BlueGreen)
            && *env == "prod"
            && head + 1 < svc.versions.len()
        {
            let at = end - SignedDuration::from_mins(90);
            out.push(Step {
                at,
                env: env_index,
                service: svc,
                action: Action::StageIdle(head + 1),
            });
        }
    }
}

fn seed_registry(world: &World, start: Timestamp) {
    let spacing_for =
        |svc: &DemoService| SignedDuration::from_hours(24 * 18 / svc.versions.len() as i64);
    for (si, svc) in DEMO.iter().enumerate() {
        let offset = SignedDuration::from_mins(37 * si as i64 + 60);
        let spacing = spacing_for(svc);
        let mut latest = String::new();
        for (v, version) in svc.versions.iter().enumerate() {
            let built = start + offset + spacing * (v as i32) - SignedDuration::from_mins(25);
            let spec = image_spec(svc, version, built);
            let commit = commit_of(svc.name, version);
            let sha_tag = format!("sha-{}", &commit[..7]);
            let dev_repo = format!("dev/{}", svc.name);
            latest = world.registry.seed(&dev_repo, &[version, &sha_tag], &spec);
            let in_prod = v <= svc.heads[2]
                || matches!(svc.release, Release::Canary { canary_version, .. } if canary_version[2] == Some(v))
                || (matches!(svc.release, Release::BlueGreen) && v == svc.heads[2] + 1);
            if in_prod {
                world
                    .registry
                    .seed(&format!("prod/{}", svc.name), &[version], &spec);
            }
        }
        if let Some(newest) = svc.versions.last() {
            let built = start + offset + spacing * (svc.versions.len() as i32 - 1)
                - SignedDuration::from_mins(25);
            world.registry.seed(
                &format!("dev/{}", svc.name),
                &["latest"],
                &image_spec(svc, newest, built),
            );
        }
        for (i, extra) in svc.extra_tags.iter().enumerate() {
            let built = start + HISTORY - SignedDuration::from_hours(30 - 3 * i as i64);
            world.registry.seed(
                &format!("dev/{}", svc.name),
                &[extra],
                &image_spec(svc, extra, built),
            );
        }
        tracing::debug!(service = svc.name, latest, "seeded registry");
    }
}

pub fn image_spec(svc: &DemoService, version: &str, created: Timestamp) -> ImageSpec {
    let mut labels = BTreeMap::new();
    labels.insert("org.opencontainers.image.created".into(), rfc3339(created));
    labels.insert(
        "org.opencontainers.image.revision".into(),
        commit_of(svc.name, version),
    );
    labels.insert(
        "org.opencontainers.image.version".into(),
        version.trim_start_matches('v').to_string(),
    );
    labels.insert(
        "org.opencontainers.image.source".into(),
        format!("https://git.example.com/shop/{}", svc.name),
    );
    labels.insert(
        "org.opencontainers.image.title".into(),
        svc.name.to_string(),
    );
    labels.insert("com.example.team".into(), svc.team.to_string());
    if let Some((bad, fault)) = svc.fault
        && bad == version
    {
        labels.insert(FAULT_LABEL.into(), fault.to_string());
    }
    ImageSpec {
        created,
        labels,
        layers: 3,
        platforms: if svc.name == "gateway" {
            vec![
                ("linux".into(), "amd64".into()),
                ("linux".into(), "arm64".into()),
            ]
        } else {
            Vec::new()
        },
    }
}

pub fn image_ref(world: &World, env: &str, service: &str, version: &str) -> String {
    format!(
        "{}/{}/{}:{}",
        world.registry_host,
        registry_prefix(env),
        service,
        version
    )
}

fn apply(world: &World, step: &Step) {
    let env = ENVS[step.env];
    let svc = step.service;
    let result = match step.action {
        Action::Deploy(v) => deploy(world, env, step.env, svc, v),
        Action::Canary(v, weight) => start_canary(world, env, step.env, svc, v, weight),
        Action::StageIdle(v) => stage_idle(world, env, svc, v),
    };
    if let Err(e) = result {
        tracing::error!(env, service = svc.name, error = %e, "demo step failed");
    }
}

use super::rollouts::{
    StepResult, active_colour, ensure_router, ensure_service, roll, set_service, set_weights,
};

fn deploy(world: &World, env: &str, env_index: usize, svc: &DemoService, v: usize) -> StepResult {
    let version = svc.versions[v];
    let image = image_ref(world, env, svc.name, version);
    let cause = change_cause(svc.name, version, env, v);
    let replicas = svc.replicas[env_index];
    match svc.release {
        Release::Rolling => {
            ensure_service(world, env, svc.name, &[("app", svc.name)])?;
            roll(
                world,
                env,
                svc.name,
                svc.name,
                &[],
                &[],
                &image,
                replicas,
                &cause,
            )
        }
        Release::Canary { router, .. } => {
            let stable = format!("{}-stable", svc.name);
            let canary = format!("{}-canary", svc.name);
            ensure_service(world, env, svc.name, &[("app", svc.name)])?;
            ensure_service(
                world,
                env,
                &stable,
                &[("app", svc.name), ("track", "stable")],
            )?;
            ensure_service(
                world,
                env,
                &canary,
                &[("app", svc.name), ("track", "canary")],
            )?;
            ensure_router(world, env, svc.name, router)?;
            roll(
                world,
                env,
                svc.name,
                svc.name,
                &[("track", "stable")],
                &[],
                &image,
                replicas,
                &cause,
            )?;
            // While idle (no replicas), the canary Deployment follows the stable version, so an
            // idle canary never shows an old image.
            let idle = world
                .env(env)
                .cluster
                .store
                .get(*kinds::DEPLOYMENTS, NAMESPACE, &canary)
                .is_none_or(|d| d["spec"]["replicas"].as_i64() == Some(0));
            if idle {
                roll(
                    world,
                    env,
                    &canary,
                    svc.name,
                    &[("track", "canary")],
                    &[],
                    &image,
                    0,
                    &cause,
                )?;
            }
            Ok(())
        }
        Release::BlueGreen => {
            let active = active_colour(world, env, svc.name);
            let (target, next_active) = match active {
                None => ("blue", "blue"),
                Some(a) => {
                    let idle = if a == "blue" { "green" } else { "blue" };
                    (idle, idle)
                }
            };
            let name = format!("{}-{target}", svc.name);
            roll(
                world,
                env,
                &name,
                svc.name,
                &[("version", target)],
                &[],
                &image,
                replicas,
                &cause,
            )?;
            let other = if target == "blue" { "green" } else { "blue" };
            if world
                .env(env)
                .cluster
                .store
                .get(
                    *kinds::DEPLOYMENTS,
                    NAMESPACE,
                    &format!("{}-{other}", svc.name),
                )
                .is_none()
            {
                roll(
                    world,
                    env,
                    &format!("{}-{other}", svc.name),
                    svc.name,
                    &[("version", other)],
                    &[],
                    &image,
                    0,
                    &cause,
                )?;
            }
            // Let the new colour become ready before traffic moves (what the swap waits for).
            world.advance_env(env, std::time::Duration::from_secs(60));
            set_service(
                world,
                env,
                svc.name,
                &[("app", svc.name), ("version", next_active)],
            )?;
            set_service(
                world,
                env,
                &format!("{}-preview", svc.name),
                &[("app", svc.name), ("version", other)],
            )
        }
        Release::Helm { chart_version_base } => {
            let chart_version = format!(
                "{}.{}.0",
                chart_version_base.0,
                chart_version_base.1 + v as u64
            );
            let chart_label = format!("{}-{chart_version}", svc.name);
            let meta = [
                ("app.kubernetes.io/managed-by", "Helm"),
                ("app.kubernetes.io/instance", svc.name),
                ("helm.sh/chart", chart_label.as_str()),
            ];
            ensure_service(world, env, svc.name, &[("app", svc.name)])?;
            roll(
                world,
                env,
                svc.name,
                svc.name,
                &[],
                &meta,
                &image,
                replicas,
                &cause,
            )?;
            world.env(env).cluster.modify(
                *kinds::DEPLOYMENTS,
                NAMESPACE,
                svc.name,
                false,
                |d| {
                    d["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!(svc.name);
                    d["metadata"]["annotations"]["meta.helm.sh/release-namespace"] =
                        json!(NAMESPACE);
                },
            )?;
            helm_upgrade(world, env, svc, v, &chart_version, &image)
        }
    }
}

fn start_canary(
    world: &World,
    env: &str,
    env_index: usize,
    svc: &DemoService,
    v: usize,
    weight: u32,
) -> StepResult {
    let Release::Canary { router, .. } = svc.release else {
        return Ok(());
    };
    let version = svc.versions[v];
    let image = image_ref(world, env, svc.name, version);
    let cause = format!("canary {version} at {weight}%");
    let replicas = ((svc.replicas[env_index] * i64::from(weight) + 99) / 100).max(1);
    roll(
        world,
        env,
        &format!("{}-canary", svc.name),
        svc.name,
        &[("track", "canary")],
        &[],
        &image,
        replicas,
        &cause,
    )?;
    world.advance_env(env, std::time::Duration::from_secs(60));
    set_weights(world, env, svc.name, router, weight)
}

fn stage_idle(world: &World, env: &str, svc: &DemoService, v: usize) -> StepResult {
    let Some(active) = active_colour(world, env, svc.name) else {
        return Ok(());
    };
    let idle = if active == "blue" { "green" } else { "blue" };
    let version = svc.versions[v];
    let image = image_ref(world, env, svc.name, version);
    let replicas = svc.replicas[2];
    let cause = format!("stage {version} on {idle} for blue-green swap");
    roll(
        world,
        env,
        &format!("{}-{idle}", svc.name),
        svc.name,
        &[("version", idle)],
        &[],
        &image,
        replicas,
        &cause,
    )
}

fn helm_upgrade(
    world: &World,
    env: &str,
    svc: &DemoService,
    v: usize,
    chart_version: &str,
    image: &str,
) -> StepResult {
    let cluster = &world.env(env).cluster;
    let revision = v as u32 + 1;
    let now = cluster.now();
    let first = cluster
        .store
        .get(
            *kinds::SECRETS,
            NAMESPACE,
            &format!("sh.helm.release.v1.{}.v1", svc.name),
        )
        .and_then(|s| {
            s["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| now.clone());
    // The previous revision becomes superseded, exactly as `helm upgrade` rewrites it.
    if revision > 1 {
        let prev_version = svc.versions[v - 1];
        let prev = HelmRevision {
            release: svc.name,
            namespace: NAMESPACE,
            revision: revision - 1,
            status: "superseded",
            chart: svc.name,
            chart_version: &chart_version_for(svc, v - 1),
            app_version: prev_version.trim_start_matches('v'),
            first_deployed: &first,
            last_deployed: &first,
            description: if revision == 2 {
                "Install complete"
            } else {
                "Upgrade complete"
            },
            image: &image_ref(world, env, svc.name, prev_version),
        };
        let secret = release_secret(&prev);
        let name = format!("sh.helm.release.v1.{}.v{}", svc.name, revision - 1);
        cluster.modify(*kinds::SECRETS, NAMESPACE, &name, false, |s| {
            s["metadata"]["labels"] = secret["metadata"]["labels"].clone();
            s["data"] = secret["data"].clone();
        })?;
    }
    let current = HelmRevision {
        release: svc.name,
        namespace: NAMESPACE,
        revision,
        status: "deployed",
        chart: svc.name,
        chart_version,
        app_version: svc.versions[v].trim_start_matches('v'),
        first_deployed: &first,
        last_deployed: &now,
        description: if revision == 1 {
            "Install complete"
        } else {
            "Upgrade complete"
        },
        image,
    };
    cluster.create(
        *kinds::SECRETS,
        NAMESPACE,
        release_secret(&current),
        &WriteOpts::default(),
    )?;
    Ok(())
}

fn chart_version_for(svc: &DemoService, v: usize) -> String {
    match svc.release {
        Release::Helm { chart_version_base } => format!(
            "{}.{}.0",
            chart_version_base.0,
            chart_version_base.1 + v as u64
        ),
        _ => String::new(),
    }
}
