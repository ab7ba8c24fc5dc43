//! Derive functions on the demo world: exact values of what the panes show.

use crate::ui_support;

use ui_support as common;

use shipdeck::cluster::ClusterEvent;
use shipdeck::config::Strategy;
use shipdeck::model::derive::Health;
use shipdeck::model::derive::helm::helm_revisions;
use shipdeck::model::derive::index::OwnerIndex;
use shipdeck::model::derive::pods::pod_row;
use shipdeck::model::derive::revisions::{last_known_good, revisions};
use shipdeck::model::derive::rollout::status_sentence;
use shipdeck::model::derive::services::{ServiceInEnv, TrafficState, service_in_env};
use shipdeck::model::derive::tags::{RepoTags, Running, sort_repo_tags, tag_views};
use shipdeck::model::image::ImageRef;
use shipdeck::model::service::{ServiceSpec, service_specs};
use shipdeck::model::snapshot::{ClusterSnapshot, EnvSnapshot};

fn snapshot() -> ClusterSnapshot {
    let mut snapshot = ClusterSnapshot::with_envs(common::ENVS);
    for env in common::ENVS {
        for event in common::listed(env, common::env_objects(env)) {
            snapshot.apply(event);
        }
    }
    snapshot
}

fn spec(name: &str) -> ServiceSpec {
    service_specs(&common::config(), &ClusterSnapshot::default())
        .into_iter()
        .find(|s| s.name() == name)
        .expect("service in config")
}

fn state_of(snapshot: &ClusterSnapshot, service: &str, env: &str) -> (ServiceInEnv, OwnerIndex) {
    let env: &EnvSnapshot = snapshot.env(env).expect("env");
    let index = OwnerIndex::build(env);
    (service_in_env(&spec(service), env, &index), index)
}

#[test]
fn canary_weight_comes_from_the_http_route() {
    let snapshot = snapshot();
    let (orders, _) = state_of(&snapshot, "orders", "prod");
    assert_eq!(orders.health, Health::Ok);
    assert_eq!(orders.phase, "canary 25%");
    assert_eq!(orders.tag().as_deref(), Some("v1.4.2"));
    assert_eq!(orders.canary_tag().as_deref(), Some("v1.5.0"));
    match &orders.traffic {
        TrafficState::Canary { weight: Some(w) } => {
            assert_eq!(w.percent, 25.0);
            assert_eq!(w.source, "HTTPRoute orders");
        }
        other => panic!("unexpected traffic {other:?}"),
    }
    let (dev, _) = state_of(&snapshot, "orders", "dev");
    assert_eq!(dev.phase, "complete");
    assert_eq!(dev.canary_tag(), None);
}

#[test]
fn blue_green_active_colour_comes_from_the_service_selector() {
    let snapshot = snapshot();
    let (prod, _) = state_of(&snapshot, "payments", "prod");
    assert_eq!(
        prod.traffic,
        TrafficState::BlueGreen {
            active: Some("blue".into()),
            preview: None
        }
    );
    assert_eq!(prod.tag().as_deref(), Some("v2.3.0"));
    assert_eq!(prod.phase, "blue active");
    assert_eq!(
        prod.secondary.as_ref().map(|w| w.role.as_str()),
        Some("green")
    );
    let (dev, _) = state_of(&snapshot, "payments", "dev");
    assert_eq!(dev.tag().as_deref(), Some("v2.4.0"));
}

#[test]
fn failing_rollout_health_warnings_and_sentence() {
    let snapshot = snapshot();
    let (checkout, _) = state_of(&snapshot, "checkout", "prod");
    assert_eq!(checkout.health, Health::Failing);
    assert_eq!(checkout.phase, "deadline");
    let primary = checkout.primary.as_ref().expect("deployment");
    assert_eq!(
        (
            primary.progress.desired,
            primary.progress.updated,
            primary.progress.ready,
            primary.progress.current
        ),
        (3, 1, 3, 4)
    );
    let warnings: Vec<_> = checkout
        .warnings()
        .map(|w| (w.pod.as_str(), w.reason.as_str()))
        .collect();
    assert_eq!(warnings, [("checkout-5-x2k4p", "CrashLoopBackOff")]);
    assert_eq!(
        status_sentence(&primary.progress, &primary.warnings),
        "deployment \"checkout\" exceeded its progress deadline"
    );
    let (search, _) = state_of(&snapshot, "search", "staging");
    assert_eq!(
        (search.health, search.phase.as_str()),
        (Health::Failing, "ImagePullBackOff")
    );
    let (notifications, _) = state_of(&snapshot, "notifications", "prod");
    assert_eq!(
        (notifications.health, notifications.phase.as_str()),
        (Health::Paused, "paused")
    );
    let (gateway, _) = state_of(&snapshot, "gateway", "dev");
    assert_eq!(
        (gateway.health, gateway.phase.as_str()),
        (Health::Progressing, "rolling 2/3")
    );
    let progress = &gateway.primary.as_ref().expect("gateway").progress;
    assert_eq!(
        status_sentence(progress, &[]),
        "Waiting for deployment \"gateway\" rollout to finish: 2 out of 3 new replicas have been updated..."
    );
}

#[test]
fn revisions_newest_first_with_current_and_last_known_good() {
    let snapshot = snapshot();
    let env = snapshot.env("prod").expect("prod");
    let index = OwnerIndex::build(env);
    let deployment = &env.deployments["checkout"];
    let rows = revisions(&spec("checkout"), env, &index, deployment, &|_| false);
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.revision,
                r.tag(),
                r.change_cause.as_str(),
                r.ready,
                r.desired,
                r.current,
                r.known_good,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (5, "v3.1.0".to_string(), "deploy v3.1.0", 0, 1, true, false),
            (4, "v3.0.2".to_string(), "deploy v3.0.2", 3, 3, false, true),
            (3, "v3.0.1".to_string(), "deploy v3.0.1", 0, 0, false, false),
        ]
    );
    assert_eq!(last_known_good(&rows).map(|r| r.revision), Some(4));
    // A revision seen fully rolled out earlier counts even after it scaled down.
    let rows = revisions(&spec("checkout"), env, &index, deployment, &|rs| {
        rs == "checkout-3"
    });
    assert!(rows[2].known_good);
}

#[test]
fn helm_history_decodes_double_base64_gzip() {
    let snapshot = snapshot();
    let (revisions, errors) = helm_revisions(snapshot.env("prod").expect("prod"), "catalog");
    assert!(errors.is_empty(), "{errors:?}");
    let summary: Vec<_> = revisions
        .iter()
        .map(|r| {
            (
                r.revision,
                r.status.as_str(),
                r.chart.as_str(),
                r.chart_version.as_str(),
                r.app_version.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, "deployed", "catalog", "0.3.0", "0.8.0"),
            (2, "superseded", "catalog", "0.2.0", "0.7.5"),
            (1, "superseded", "catalog", "0.1.0", "0.7.0"),
        ]
    );
    assert_eq!(revisions[0].description, "Upgrade complete");
    assert_eq!(
        revisions[0].updated,
        Some(common::now() - jiff::SignedDuration::from_secs(86400 * 2))
    );
}

#[test]
fn pod_cells_match_kubectl() {
    let snapshot = snapshot();
    let env = snapshot.env("prod").expect("prod");
    let row = pod_row(&env.pods["checkout-5-x2k4p"]);
    assert_eq!(
        (
            row.ready.as_str(),
            row.status.as_str(),
            row.restarts_cell(common::now()).as_str(),
            row.node.as_str()
        ),
        ("0/1", "CrashLoopBackOff", "6 (95s ago)", "node-a")
    );
    assert!(row.warning && !row.healthy);
    let row = pod_row(&env.pods["checkout-4-x2k4p"]);
    assert_eq!(
        (
            row.ready.as_str(),
            row.status.as_str(),
            row.restarts_cell(common::now())
        ),
        ("1/1", "Running", "0".to_string())
    );
    let staging = snapshot.env("staging").expect("staging");
    let row = pod_row(&staging.pods["search-3-x2k4p"]);
    assert_eq!(
        (row.ready.as_str(), row.status.as_str()),
        ("0/1", "ImagePullBackOff")
    );
}

#[test]
fn tags_sort_by_semver_and_mark_where_they_run() {
    let mut repo = RepoTags {
        tags: [
            "v1.4.0",
            "latest",
            "v1.10.0",
            "v1.10.0-rc.1",
            "1.9.0",
            "main",
            "v2.0.0-alpha",
            "abc123",
        ]
        .map(String::from)
        .to_vec(),
        ..RepoTags::default()
    };
    // A non-semver tag with a known creation time sorts by it, before tags known by name only.
    repo.details.insert(
        "main".into(),
        Ok(shipdeck::registry::TagDetails {
            created: Some(common::now()),
            ..Default::default()
        }),
    );
    sort_repo_tags(&mut repo);
    assert_eq!(
        repo.tags,
        [
            "v2.0.0-alpha",
            "v1.10.0",
            "v1.10.0-rc.1",
            "1.9.0",
            "v1.4.0",
            "main",
            "abc123",
            "latest"
        ]
    );

    let mut repo = RepoTags {
        // Kept in display order by the console as pages arrive.
        tags: vec!["v3".into(), "v2".into(), "v1".into()],
        complete: true,
        ..RepoTags::default()
    };
    for tag in ["v1", "v2", "v3"] {
        repo.details.insert(
            tag.into(),
            Ok(shipdeck::registry::TagDetails {
                tag: tag.into(),
                digest: common::digest(tag),
                ..Default::default()
            }),
        );
    }
    let mut prod = repo.clone();
    prod.tags.retain(|t| t != "v3");
    // v1 was re-pushed in prod with other content: not the same image.
    prod.details.insert(
        "v1".into(),
        Ok(shipdeck::registry::TagDetails {
            digest: "sha256:other".into(),
            ..Default::default()
        }),
    );
    let running = [
        Running {
            tags: ["v3".to_string()].into(),
            digests: Default::default(),
        },
        // Runs by digest only (deployed as repo@sha256:...).
        Running {
            tags: Default::default(),
            digests: [common::digest("v2")].into(),
        },
    ];
    let lkg = ImageRef::parse("r/orders:v1");
    let views = tag_views(&repo, &running, Some(&prod), Some(&lkg));
    let summary: Vec<_> = views
        .iter()
        .map(|v| (v.tag.as_str(), v.runs.clone(), v.in_prod, v.last_known_good))
        .collect();
    assert_eq!(
        summary,
        [
            ("v3", vec![true, false], false, false),
            ("v2", vec![false, true], true, false),
            ("v1", vec![false, false], false, true),
        ]
    );
}

#[test]
fn without_config_services_are_discovered_and_repositories_inferred() {
    let snapshot = snapshot();
    let config = shipdeck::config::Config::default();
    let specs = service_specs(&config, &snapshot);
    let names: Vec<&str> = specs.iter().map(|s| s.name()).collect();
    assert!(names.contains(&"orders-canary") && names.contains(&"payments-blue"));
    assert!(
        specs
            .iter()
            .all(|s| s.discovered && s.strategy() == Strategy::Rolling)
    );
    let orders = specs.iter().find(|s| s.name() == "orders").expect("orders");
    assert_eq!(
        orders
            .repository_in(None, snapshot.env("prod").expect("prod"))
            .as_deref(),
        Some("127.0.0.1:5000/prod/orders")
    );
}

#[test]
fn deleted_and_relisted_objects_update_the_snapshot() {
    let mut snapshot = snapshot();
    let pod = snapshot.env("prod").expect("prod").pods["checkout-5-x2k4p"].clone();
    snapshot.apply(ClusterEvent::Deleted {
        env: "prod".into(),
        object: shipdeck::cluster::KubeObject::Pod(pod),
    });
    let (checkout, _) = state_of(&snapshot, "checkout", "prod");
    assert_eq!(checkout.warnings().count(), 0);
    assert_eq!(
        checkout.health,
        Health::Failing,
        "the deadline is still exceeded"
    );
}
