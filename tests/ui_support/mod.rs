//! A demo-like world for UI tests and the render benchmark: 8 services × dev/staging/prod
//! built from typed k8s-openapi objects (via their JSON form, which reads like a manifest),
//! fed to the console through the same events the watchers send, on a fixed clock.
#![allow(dead_code)]

mod world;

use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub use world::*;

use shipdeck::cluster::{ClusterEvent, ConnHealth, KubeObject, ObjectKind};
use shipdeck::config::Config;
use shipdeck::registry::{RegistryEvent, TagDetails};
use shipdeck::theme::ColorDepth;
use shipdeck::tui::{AppEvent, ConsoleOptions, State, initial_state, update};

pub const ENVS: [&str; 3] = ["dev", "staging", "prod"];

pub fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().expect("fixed clock")
}

pub fn ago(seconds: i64) -> String {
    (now() - SignedDuration::from_secs(seconds)).to_string()
}

pub const CONFIG: &str = r#"
[console]
theme = "dark"

[[env]]
name = "dev"
context = "sandbox-dev"
namespace = "shop"
registry = "127.0.0.1:5000/dev"

[[env]]
name = "staging"
context = "sandbox-staging"
namespace = "shop"
registry = "127.0.0.1:5000/dev"

[[env]]
name = "prod"
context = "sandbox-prod"
namespace = "shop"
registry = "127.0.0.1:5000/prod"
protected = true

[[service]]
name = "orders"
strategy = "canary"
[service.canary]
router = "gateway-api"
route = "orders"
stable = "orders"
canary = "orders-canary"

[[service]]
name = "payments"
strategy = "blue-green"
[service.blue_green]
service = "payments"
label = "version"
deployments = { blue = "payments-blue", green = "payments-green" }

[[service]]
name = "catalog"

[[service]]
name = "checkout"
[service.build]
runner = "command"
command = "make image TAG={tag}"

[[service]]
name = "inventory"

[[service]]
name = "search"

[[service]]
name = "notifications"

[[service]]
name = "gateway"
"#;

pub fn config() -> Config {
    shipdeck::config::parse_str(CONFIG, std::path::Path::new("shipdeck.toml"))
        .expect("fixture config parses")
}

/// `Listed` events per kind, as the watchers send after their initial list.
pub fn listed(env: &str, objects: Vec<KubeObject>) -> Vec<ClusterEvent> {
    let kinds = [
        ObjectKind::Deployment,
        ObjectKind::ReplicaSet,
        ObjectKind::Pod,
        ObjectKind::Service,
        ObjectKind::Event,
        ObjectKind::HelmRelease,
        ObjectKind::HttpRoute,
    ];
    let kind_of = |o: &KubeObject| match o {
        KubeObject::Deployment(_) => ObjectKind::Deployment,
        KubeObject::ReplicaSet(_) => ObjectKind::ReplicaSet,
        KubeObject::Pod(_) => ObjectKind::Pod,
        KubeObject::Service(_) => ObjectKind::Service,
        KubeObject::Event(_) => ObjectKind::Event,
        KubeObject::HelmRelease(_) => ObjectKind::HelmRelease,
        KubeObject::Ingress(_) => ObjectKind::Ingress,
        KubeObject::Route(kind, _) => *kind,
    };
    let mut events: Vec<ClusterEvent> = kinds
        .iter()
        .map(|kind| ClusterEvent::Listed {
            env: env.into(),
            kind: *kind,
            objects: objects
                .iter()
                .filter(|o| kind_of(o) == *kind)
                .cloned()
                .collect(),
        })
        .collect();
    events.push(ClusterEvent::Health {
        env: env.into(),
        health: ConnHealth::Connected,
    });
    events
}

/// Registry answers for one repository: every tag with a digest and an age.
pub fn registry_events(repository: &str, tags: &[(&str, i64)]) -> Vec<RegistryEvent> {
    let mut events = vec![RegistryEvent::TagsPage {
        repository: repository.into(),
        tags: tags.iter().map(|(t, _)| t.to_string()).collect(),
        complete: true,
    }];
    for (tag, age) in tags {
        events.push(RegistryEvent::Details {
            repository: repository.into(),
            tag: tag.to_string(),
            result: Ok(TagDetails {
                tag: tag.to_string(),
                digest: digest(tag),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                is_index: false,
                size: 48_200_000,
                created: Some(now() - SignedDuration::from_secs(*age)),
                revision: Some(format!("{:07x}", age)),
                version: Some(tag.trim_start_matches('v').into()),
                source: Some("https://git.example/shop/orders".into()),
            }),
        });
    }
    events
}

pub const ORDERS_DEV_TAGS: [(&str, i64); 8] = [
    ("v1.4.0", 86400 * 14),
    ("v1.5.0", 7300),
    ("latest", 3000),
    ("v1.4.2", 86400 * 3 + 600),
    ("v1.3.0", 86400 * 30),
    ("v1.4.1", 86400 * 9 + 600),
    ("v1.5.1-rc.1", 3000),
    ("v1.10.0-alpha", 600),
];
pub const ORDERS_PROD_TAGS: [(&str, i64); 3] = [
    ("v1.4.1", 86400 * 9),
    ("v1.4.2", 86400 * 3),
    ("v1.5.0", 7200),
];

pub fn options() -> ConsoleOptions {
    ConsoleOptions {
        theme: None,
        read_only: false,
        color_depth: Some(ColorDepth::TrueColor),
        ascii: Some(false),
        context_label: None,
        insecure_envs: Vec::new(),
    }
}

/// The demo world as the console sees it after watchers and the registry answered.
pub fn demo_state(width: u16, height: u16) -> State {
    demo_state_with(config(), options(), width, height)
}

pub fn demo_state_with(config: Config, options: ConsoleOptions, width: u16, height: u16) -> State {
    let mut state = initial_state(config, &options, now()).expect("initial state");
    update(
        &mut state,
        AppEvent::Input(ratatui::crossterm::event::Event::Resize(width, height)),
    );
    for env in ENVS {
        for event in listed(env, env_objects(env)) {
            update(&mut state, AppEvent::Cluster(event));
        }
    }
    for event in registry_events("127.0.0.1:5000/dev/orders", &ORDERS_DEV_TAGS)
        .into_iter()
        .chain(registry_events(
            "127.0.0.1:5000/prod/orders",
            &ORDERS_PROD_TAGS,
        ))
    {
        update(&mut state, AppEvent::Registry(event));
    }
    state
}

/// The screen as text, one line per row (what insta stores).
pub fn render(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| shipdeck::tui::view::render(frame, state))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A large world for the render benchmark: `services` rolling services over dev/staging/prod
/// with about `pods` pods in all, and `tags` registry tags for the selected service.
pub fn big_state(services: usize, pods: usize, tags: usize, width: u16, height: u16) -> State {
    let mut text = String::from(CONFIG.split("[[service]]").next().expect("config head"));
    for i in 0..services {
        text.push_str(&format!("[[service]]\nname = \"svc-{i:03}\"\n"));
    }
    let config =
        shipdeck::config::parse_str(&text, std::path::Path::new("big.toml")).expect("big config");
    let mut state = initial_state(config, &options(), now()).expect("state");
    update(
        &mut state,
        AppEvent::Input(ratatui::crossterm::event::Event::Resize(width, height)),
    );
    // Exactly `pods` in all: the first deployments take one more each for the remainder.
    let deployments = services * ENVS.len();
    let replicas_of =
        |n: usize| ((pods / deployments + usize::from(n < pods % deployments)).max(1)) as i32;
    for (e, env) in ENVS.into_iter().enumerate() {
        let mut objects_of_env = Vec::new();
        for i in 0..services {
            let name = format!("svc-{i:03}");
            let per_deployment = replicas_of(e * services + i);
            let d = deploy(
                &name,
                "app",
                per_deployment,
                vec![
                    rev(
                        2,
                        "v1.2.0",
                        "deploy v1.2.0",
                        86400,
                        per_deployment,
                        per_deployment - (i % 7 == 0) as i32,
                    ),
                    rev(1, "v1.1.0", "deploy v1.1.0", 86400 * 3, 0, 0),
                ],
            );
            objects_of_env.extend(objects(env, &d));
        }
        for event in listed(env, objects_of_env) {
            update(&mut state, AppEvent::Cluster(event));
        }
    }
    let tag_list: Vec<(String, i64)> = (0..tags)
        .map(|i| {
            (
                format!("v{}.{}.{}", i / 100, (i / 10) % 10, i % 10),
                (tags - i) as i64 * 600,
            )
        })
        .collect();
    let refs: Vec<(&str, i64)> = tag_list.iter().map(|(t, a)| (t.as_str(), *a)).collect();
    for event in registry_events("127.0.0.1:5000/dev/svc-000", &refs) {
        update(&mut state, AppEvent::Registry(event));
    }
    state
}
