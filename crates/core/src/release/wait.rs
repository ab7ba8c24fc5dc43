//! Following a rollout like `kubectl rollout status`: same conditions, same messages, from a
//! watch on the Deployment (and its pods, for the `(Warning: …)` suffix).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;

use crate::cluster::EnvClient;

use super::error::ReleaseError;
use super::execute::Progress;
use super::objects::{current_replica_set, name_of, owned_replica_sets};
use super::observe::api_error;
use super::plan::ObjectRef;

/// Where a rollout stands (kubectl `DeploymentStatusViewer.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutStatus {
    Waiting(String),
    Done(String),
    Failed(String),
}

pub fn rollout_status(d: &Deployment) -> RolloutStatus {
    let name = name_of(&d.metadata);
    let generation = d.metadata.generation.unwrap_or(0);
    let status = d.status.clone().unwrap_or_default();
    if generation > status.observed_generation.unwrap_or(0) {
        return RolloutStatus::Waiting(
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let timed_out = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if timed_out {
        return RolloutStatus::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let prefix = format!("Waiting for deployment {name:?} rollout to finish");
    if updated < wanted {
        RolloutStatus::Waiting(format!(
            "{prefix}: {updated} out of {wanted} new replicas have been updated..."
        ))
    } else if replicas > updated {
        RolloutStatus::Waiting(format!(
            "{prefix}: {} old replicas are pending termination...",
            replicas - updated
        ))
    } else if available < updated {
        RolloutStatus::Waiting(format!(
            "{prefix}: {available} of {updated} updated replicas are available..."
        ))
    } else {
        RolloutStatus::Done(format!("deployment {name:?} successfully rolled out"))
    }
}

const WAITING_REASONS: [&str; 5] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// kubectl's warning for a waiting rollout: an unschedulable pod or a container stuck waiting.
pub fn pod_warning<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Option<String> {
    for pod in pods {
        let name = name_of(&pod.metadata);
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        if status.conditions.iter().flatten().any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        }) {
            return Some(format!("pod {name} is unschedulable"));
        }
        for cs in status.container_statuses.iter().flatten() {
            if let Some(reason) = cs
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                && WAITING_REASONS.contains(&reason)
            {
                return Some(format!("pod {name} container {}: {reason}", cs.name));
            }
        }
    }
    None
}

/// Follows the rollout of Deployment `name` until it completes, fails, or `timeout` passes.
/// Returns the ReplicaSet that completed (for the rolled-out marker).
pub async fn follow(
    env: &EnvClient,
    name: &str,
    timeout: Option<Duration>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<ReplicaSet>, ReleaseError> {
    let ns = env.env.namespace.as_str();
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), ns);
    let target = ObjectRef::deployment(ns, name);
    let first = deployments
        .get(name)
        .await
        .map_err(|e| api_error(env, "get", &target, e))?;
    let selector = first
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), ns);
    let deploy_events = watcher(
        deployments,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .map_ok(|e| Watched::Deployment(Box::new(e)));
    let pod_events = watcher(pods, watcher::Config::default().labels(&selector))
        .map_ok(|e| Watched::Pod(Box::new(e)));
    let mut events = futures::stream::select(deploy_events.boxed(), pod_events.boxed());

    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut deploy = first;
    let mut pod_map: BTreeMap<String, Pod> = BTreeMap::new();
    let mut last = String::new();
    loop {
        match rollout_status(&deploy) {
            RolloutStatus::Done(message) => {
                progress(Progress::Rollout {
                    deployment: name.into(),
                    message,
                    done: true,
                });
                break;
            }
            RolloutStatus::Failed(message) => {
                progress(Progress::Rollout {
                    deployment: name.into(),
                    message: message.clone(),
                    done: true,
                });
                return Err(ReleaseError::Rollout(format!(
                    "{message}; see `kubectl describe deployment/{name} -n {ns}`, then roll back with \
                     `shipdeck rollback SERVICE --env {}`",
                    env.env.name
                )));
            }
            RolloutStatus::Waiting(mut message) => {
                if let Some(warning) = pod_warning(pod_map.values()) {
                    message = format!("{message} (Warning: {warning})");
                }
                if message != last {
                    last = message.clone();
                    progress(Progress::Rollout {
                        deployment: name.into(),
                        message,
                        done: false,
                    });
                }
            }
        }
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(ReleaseError::Rollout(format!(
                        "timed out waiting for deployment {name:?}: {last}"
                    )));
                }
            },
            None => events.next().await,
        };
        match next {
            Some(Ok(Watched::Deployment(event))) => match *event {
                watcher::Event::Apply(d) | watcher::Event::InitApply(d) => deploy = d,
                watcher::Event::Delete(_) => {
                    return Err(ReleaseError::Rollout(format!(
                        "deployment {name:?} was deleted during the rollout"
                    )));
                }
                _ => {}
            },
            Some(Ok(Watched::Pod(event))) => match *event {
                watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                    pod_map.insert(name_of(&p.metadata).to_string(), p);
                }
                watcher::Event::Delete(p) => {
                    pod_map.remove(name_of(&p.metadata));
                }
                watcher::Event::Init => pod_map.clear(),
                watcher::Event::InitDone => {}
            },
            Some(Err(e)) => {
                return Err(ReleaseError::Unreachable {
                    env: env.env.name.clone(),
                    context: env.context.clone(),
                    message: format!("watching deployment {name}: {e}"),
                });
            }
            None => {
                return Err(ReleaseError::Other(format!(
                    "the watch on deployment {name} ended"
                )));
            }
        }
    }
    // The ReplicaSet that now runs the template: the one to mark as rolled out.
    let replica_sets: Api<ReplicaSet> = Api::namespaced(env.client.clone(), ns);
    let list = replica_sets
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error(env, "list", &ObjectRef::replica_set(ns, ""), e))?;
    let owned = owned_replica_sets(&deploy, &list.items);
    Ok(current_replica_set(&deploy, &owned).cloned())
}

enum Watched {
    Deployment(Box<watcher::Event<Deployment>>),
    Pod(Box<watcher::Event<Pod>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::testkit::deployment;
    use k8s_openapi::api::apps::v1::DeploymentCondition;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus,
    };

    #[test]
    fn messages_match_kubectl() {
        let mut d = deployment("web", "x:v2", 4);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Done("deployment \"web\" successfully rolled out".into())
        );
        d.metadata.generation = Some(4);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Waiting("Waiting for deployment spec update to be observed...".into())
        );
        let status = d.status.as_mut().expect("status");
        status.observed_generation = Some(4);
        status.updated_replicas = Some(1);
        status.replicas = Some(5);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Waiting(
                "Waiting for deployment \"web\" rollout to finish: 1 out of 4 new replicas have been updated...".into()
            )
        );
        let status = d.status.as_mut().expect("status");
        status.updated_replicas = Some(4);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Waiting(
                "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...".into()
            )
        );
        let status = d.status.as_mut().expect("status");
        status.replicas = Some(4);
        status.available_replicas = Some(3);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Waiting(
                "Waiting for deployment \"web\" rollout to finish: 3 of 4 updated replicas are available...".into()
            )
        );
        d.status.as_mut().expect("status").conditions = Some(vec![DeploymentCondition {
            type_: "Progressing".into(),
            status: "False".into(),
            reason: Some("ProgressDeadlineExceeded".into()),
            ..Default::default()
        }]);
        assert_eq!(
            rollout_status(&d),
            RolloutStatus::Failed("deployment \"web\" exceeded its progress deadline".into())
        );
    }

    #[test]
    fn warns_about_stuck_containers() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("web-abc".into());
        pod.status = Some(PodStatus {
            container_statuses: Some(vec![ContainerStatus {
                name: "web".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("ImagePullBackOff".into()),
                        message: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert_eq!(
            pod_warning([&pod]).as_deref(),
            Some("pod web-abc container web: ImagePullBackOff")
        );
        assert_eq!(pod_warning([&Pod::default()]), None);
    }
}
