//! Builders of typed objects for the planners' unit tests.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
    ReplicaSetStatus,
};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use crate::config::{EnvConfig, ServiceConfig, Strategy};

use super::input::PlanInput;
use super::objects::{POD_TEMPLATE_HASH, REVISION};

pub fn env(name: &str, protected: bool) -> EnvConfig {
    EnvConfig {
        name: name.into(),
        context: Some(format!("sandbox-{name}")),
        namespace: "shop".into(),
        registry: Some(format!("reg:5000/{name}")),
        protected,
        read_only: false,
    }
}

pub fn service(name: &str) -> ServiceConfig {
    ServiceConfig {
        name: name.into(),
        deployment: None,
        container: None,
        repository: None,
        strategy: Strategy::Rolling,
        canary: None,
        blue_green: None,
        build: None,
        analysis: None,
        helm_release: None,
    }
}

pub fn input<'a>(cfg: &'a ServiceConfig, env: &'a EnvConfig) -> PlanInput<'a> {
    PlanInput {
        cfg,
        env,
        context: "sandbox-prod",
        who: "alice",
        now: "2025-01-01T12:00:00Z".parse().expect("timestamp"),
    }
}

pub fn template(app: &str, image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(BTreeMap::from([("app".to_string(), app.to_string())])),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: app.into(),
                image: Some(image.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

/// A Deployment of `replicas`, fully rolled out (status matches spec).
pub fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("shop".into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("100".into()),
            generation: Some(3),
            annotations: Some(BTreeMap::from([(REVISION.to_string(), "1".to_string())])),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([("app".to_string(), name.to_string())])),
                ..Default::default()
            },
            template: template(name, image),
            ..Default::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(3),
            replicas: Some(replicas),
            updated_replicas: Some(replicas),
            ready_replicas: Some(replicas),
            available_replicas: Some(replicas),
            conditions: Some(vec![DeploymentCondition {
                type_: "Progressing".into(),
                status: "True".into(),
                reason: Some("NewReplicaSetAvailable".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// A ReplicaSet of `deploy` at `revision` running `image`, with `ready` of `replicas` ready.
pub fn replica_set(
    deploy: &Deployment,
    revision: i64,
    image: &str,
    replicas: i32,
    ready: i32,
) -> ReplicaSet {
    let name = deploy.metadata.name.clone().unwrap_or_default();
    let hash = format!("h{revision}");
    let mut template = template(&name, image);
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.insert(POD_TEMPLATE_HASH.into(), hash.clone());
    }
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: Some("shop".into()),
            resource_version: Some(format!("{}", 50 + revision)),
            labels: Some(BTreeMap::from([
                ("app".to_string(), name.clone()),
                (POD_TEMPLATE_HASH.to_string(), hash),
            ])),
            annotations: Some(BTreeMap::from([(
                REVISION.to_string(),
                revision.to_string(),
            )])),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name,
                uid: deploy.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            template: Some(template),
            ..Default::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas,
            ready_replicas: Some(ready),
            available_replicas: Some(ready),
            ..Default::default()
        }),
    }
}

pub fn set_annotation(meta: &mut ObjectMeta, key: &str, value: &str) {
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
}
