//! The demo shop: which services exist, how each is released, and which version each
//! environment runs. Pure data; `demo.rs` turns it into cluster objects and images.

use shipdeck_shared::config::Router;

/// Environments of the sandbox, in column order. Staging pulls from the dev registry; prod
/// has its own registry that holds only promoted images.
pub const ENVS: [&str; 3] = ["dev", "staging", "prod"];

pub fn registry_prefix(env: &str) -> &'static str {
    if env == "prod" { "prod" } else { "dev" }
}

pub const NAMESPACE: &str = "shop";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Release {
    Rolling,
    /// Stable and canary Deployments behind their own Services, weighted by a router object.
    /// `weights` = canary weight per environment; `canary_version` per environment (index into
    /// `versions`; `None` = canary scaled to zero).
    Canary {
        router: Router,
        weights: [u32; 3],
        canary_version: [Option<usize>; 3],
    },
    /// Blue and green Deployments; the Service selects `version: <active>`.
    BlueGreen,
    /// A Helm release named after the service, with release Secrets per revision.
    Helm {
        chart_version_base: (u64, u64),
    },
}

#[derive(Debug, Clone, Copy)]
pub struct DemoService {
    pub name: &'static str,
    pub versions: &'static [&'static str],
    /// Index into `versions` of what each environment (dev, staging, prod) runs at the end.
    pub heads: [usize; 3],
    pub replicas: [i64; 3],
    pub release: Release,
    /// A version whose image carries `shipdeck.sandbox/fault` (label value).
    pub fault: Option<(&'static str, &'static str)>,
    /// Pre-release or extra tags built but never deployed (shown in the tags pane).
    pub extra_tags: &'static [&'static str],
    pub team: &'static str,
}

pub const DEMO: &[DemoService] = &[
    DemoService {
        name: "gateway",
        versions: &["v2.0.0", "v2.1.0", "v2.1.1", "v2.2.0"],
        heads: [3, 3, 2],
        replicas: [1, 2, 4],
        release: Release::Rolling,
        fault: None,
        extra_tags: &[],
        team: "edge",
    },
    DemoService {
        name: "orders",
        versions: &["v1.2.0", "v1.3.0", "v1.4.0", "v1.4.1", "v1.4.2", "v1.5.0"],
        heads: [5, 5, 4],
        replicas: [1, 2, 4],
        release: Release::Canary {
            router: Router::GatewayApi,
            weights: [0, 0, 25],
            canary_version: [None, None, Some(5)],
        },
        fault: None,
        extra_tags: &["v1.6.0-rc.1"],
        team: "checkout",
    },
    DemoService {
        name: "payments",
        versions: &["v3.0.0", "v3.1.0", "v3.2.0", "v3.2.1"],
        heads: [3, 3, 2],
        replicas: [1, 2, 3],
        release: Release::BlueGreen,
        fault: None,
        extra_tags: &[],
        team: "checkout",
    },
    DemoService {
        name: "inventory",
        versions: &["v0.9.0", "v1.0.0", "v1.1.0"],
        heads: [2, 2, 1],
        replicas: [1, 2, 3],
        release: Release::Canary {
            router: Router::Smi,
            weights: [0, 0, 0],
            canary_version: [None, None, None],
        },
        fault: None,
        extra_tags: &[],
        team: "fulfilment",
    },
    DemoService {
        name: "users",
        versions: &["v4.3.0", "v4.4.0", "v4.4.1", "v4.5.0", "v4.6.0"],
        heads: [4, 3, 3],
        replicas: [1, 2, 3],
        release: Release::Rolling,
        fault: None,
        extra_tags: &["v4.7.0-beta.2"],
        team: "identity",
    },
    DemoService {
        name: "delivery",
        versions: &["v2.1.0", "v2.2.0", "v2.2.1", "v2.3.0", "v2.3.1"],
        heads: [4, 4, 3],
        replicas: [1, 2, 4],
        release: Release::Rolling,
        fault: Some(("v2.3.0", "crash")),
        extra_tags: &[],
        team: "fulfilment",
    },
    DemoService {
        name: "notifications",
        versions: &["v1.0.0", "v1.1.0", "v1.2.0"],
        heads: [2, 2, 1],
        replicas: [1, 1, 2],
        release: Release::Canary {
            router: Router::Nginx,
            weights: [0, 0, 0],
            canary_version: [None, None, None],
        },
        fault: None,
        extra_tags: &[],
        team: "engagement",
    },
    DemoService {
        name: "search",
        versions: &["v3.0.0", "v3.1.0", "v3.2.0"],
        heads: [1, 1, 1],
        replicas: [2, 2, 3],
        release: Release::Canary {
            router: Router::Istio,
            weights: [10, 0, 0],
            canary_version: [Some(2), None, None],
        },
        fault: Some(("v3.2.0", "errors=0.2")),
        extra_tags: &[],
        team: "discovery",
    },
    DemoService {
        name: "catalog",
        versions: &["v5.0.0", "v5.1.0", "v5.1.1", "v5.2.0"],
        heads: [3, 3, 2],
        replicas: [1, 2, 3],
        release: Release::Helm {
            chart_version_base: (1, 3),
        },
        fault: None,
        extra_tags: &[],
        team: "discovery",
    },
];

/// A commit SHA for a service version, stable across runs (40 hex digits).
pub fn commit_of(service: &str, version: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{service}@{version}").as_bytes());
    hex::encode(&digest[..20])
}

/// What made each rollout, as the change-cause annotation records it.
pub fn change_cause(service: &str, version: &str, env: &str, n: usize) -> String {
    let pr = 300 + (crate::ops::fnv64(format!("{service}{version}").as_bytes()) % 400);
    match (env, n % 3) {
        ("dev", _) => format!("CI: build {version} from main (#{pr})"),
        ("staging", 0) => format!("promote {version} from dev"),
        ("staging", _) => format!("shipdeck deploy {version}"),
        (_, 0) => format!("release {version} (CHG-{})", 1000 + pr),
        (_, 1) => format!("shipdeck deploy {version} (approved)"),
        _ => format!("kubectl set image deployment/{service} {service}=…:{version}"),
    }
}
