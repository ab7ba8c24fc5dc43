//! The Deployment controller (`pkg/controller/deployment/{deployment_controller,sync,progress}.go`,
//! `util/deployment_util.go`): owned ReplicaSets, the new ReplicaSet and its revision, status
//! (the status and conditions are in [`super::progress`], the strategies in [`super::rollout`]).
//!
//! A sync works on a copy of the Deployment whose status and revision annotation accumulate
//! every change upstream would write along the way; one status write at the end stores them.

use serde_json::{Map, Value, json};

use super::Ctx;
use super::events::{Ev, Source};
use super::progress::{self, condition, new_condition, set_condition};
use super::rollout;
use super::state::{State, Task};
use super::util::{
    HASH_LABEL, Key, controller_uid, i64_at, int_or_percent, is_terminating, key_of, name_of,
    new_controller_ref, ns_of, secs, selector_is_empty, selector_matches, str_at, template_hash,
    template_sans_hash, uid_of,
};
use crate::ops::WriteOpts;
use crate::resources::kinds;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations never copied from a Deployment to its ReplicaSets (`annotationsToSkip`).
const SKIP_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// `maxRevHistoryLengthInChars`.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;
/// `math.MaxInt32`: "no deadline" / "keep every revision".
const UNLIMITED: i64 = i32::MAX as i64;

pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";

/// A ReplicaSet as the Deployment controller sees it (the latest stored version).
#[derive(Debug, Clone)]
pub struct Rs {
    pub obj: Value,
}

impl Rs {
    pub fn name(&self) -> &str {
        name_of(&self.obj)
    }
    pub fn uid(&self) -> &str {
        uid_of(&self.obj)
    }
    pub fn replicas(&self) -> i64 {
        i64_at(&self.obj, "/spec/replicas")
    }
    pub fn status(&self, field: &str) -> i64 {
        self.obj["status"][field].as_i64().unwrap_or(0)
    }
    pub fn revision(&self) -> i64 {
        annotation(&self.obj, REVISION).parse().unwrap_or(0)
    }
    /// `ReplicaSetsByCreationTimestamp` order key.
    pub fn age_key(&self) -> (String, String) {
        (
            str_at(&self.obj, "/metadata/creationTimestamp").to_string(),
            self.name().to_string(),
        )
    }
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
}

pub fn replicas(d: &Value) -> i64 {
    i64_at(d, "/spec/replicas")
}

pub fn is_rolling(d: &Value) -> bool {
    str_at(d, "/spec/strategy/type") != "Recreate"
}

/// `ResolveFenceposts`: surge rounds up, unavailable rounds down, never both zero.
fn fenceposts(d: &Value) -> (i64, i64) {
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let n = replicas(d);
    let or_zero = |v: &Value| if v.is_null() { json!(0) } else { v.clone() };
    let surge = int_or_percent(&or_zero(&ru["maxSurge"]), n, true);
    let unavailable = int_or_percent(&or_zero(&ru["maxUnavailable"]), n, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Value) -> i64 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

pub fn max_unavailable(d: &Value) -> i64 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

pub fn has_deadline(d: &Value) -> bool {
    d["spec"]["progressDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s != UNLIMITED)
}

pub fn sync(ctx: &Ctx<'_>, st: &mut State, key: &Key) {
    let (ns, name) = key;
    let Some(stored) = ctx.cluster.store.get(*kinds::DEPLOYMENTS, ns, name) else {
        return;
    };
    if is_terminating(&stored) {
        return;
    }
    let mut d = (*stored).clone();
    if selector_is_empty(&d["spec"]["selector"]) {
        let msg = "This deployment is selecting all pods. A non-empty selector is required.";
        st.record(
            ctx,
            &d,
            Ev::warning(Source::Deployment, "SelectingAll", msg),
        );
        d["status"]["observedGeneration"] = d["metadata"]["generation"].clone();
        write_status(ctx, &stored, &d);
        return;
    }
    let mut rs_list = claim_replicasets(ctx, st, &d);
    progress::check_paused_conditions(ctx, &mut d);
    if d["spec"]["paused"].as_bool() == Some(true)
        || is_scaling_event(ctx, st, &mut d, &mut rs_list)
    {
        rollout::sync_scale(ctx, st, &mut d, &mut rs_list);
    } else if is_rolling(&d) {
        rollout::rolling(ctx, st, &mut d, &mut rs_list);
    } else {
        rollout::recreate(ctx, st, &mut d, &mut rs_list);
    }
    write_status(ctx, &stored, &d);
}

/// Stores the status and revision annotation the sync arrived at (a `/status` write, which
/// does not bump the generation). Other annotations are left as stored, so a concurrent edit
/// is not undone.
fn write_status(ctx: &Ctx<'_>, stored: &Value, d: &Value) {
    let revision = annotation(d, REVISION);
    if stored.get("status") == d.get("status") && annotation(stored, REVISION) == revision {
        return;
    }
    // Unlike pod and ReplicaSet status writes, this one is not skipped as an own write: the
    // resync it causes upstream is what cleans up old ReplicaSets once the stored status says
    // the rollout is complete.
    let _ = ctx
        .cluster
        .modify(*kinds::DEPLOYMENTS, ns_of(d), name_of(d), true, |obj| {
            obj["status"] = d["status"].clone();
            if !revision.is_empty() {
                if !obj["metadata"]["annotations"].is_object() {
                    obj["metadata"]["annotations"] = json!({});
                }
                obj["metadata"]["annotations"][REVISION] = json!(revision);
            }
        });
}

/// `ClaimReplicaSets`: owned ReplicaSets that still match the selector, plus matching orphans
/// (adopted); owned ones that stopped matching are released.
fn claim_replicasets(ctx: &Ctx<'_>, st: &State, d: &Value) -> Vec<Rs> {
    let selector = &d["spec"]["selector"];
    let uid = uid_of(d);
    let mut out = Vec::new();
    for (ns, name) in st.rs_by_owner.owned(uid) {
        let Some(rs) = ctx.cluster.store.get(*kinds::REPLICASETS, &ns, &name) else {
            continue;
        };
        if selector_matches(selector, &rs["metadata"]["labels"]) {
            out.push(Rs { obj: (*rs).clone() });
        } else {
            let _ = ctx
                .cluster
                .modify(*kinds::REPLICASETS, &ns, &name, false, |r| {
                    if let Some(refs) = r["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|o| o["uid"] != uid);
                    }
                });
        }
    }
    for (ns, name) in st.rs_by_owner.orphans(ns_of(d)) {
        let Some(rs) = ctx.cluster.store.get(*kinds::REPLICASETS, &ns, &name) else {
            continue;
        };
        if is_terminating(&rs) || !selector_matches(selector, &rs["metadata"]["labels"]) {
            continue;
        }
        let controller = new_controller_ref(d);
        let adopted = ctx
            .cluster
            .modify(*kinds::REPLICASETS, &ns, &name, false, |r| {
                if !controller_uid(r).is_empty() {
                    return;
                }
                match r["metadata"]["ownerReferences"].as_array_mut() {
                    Some(refs) => refs.push(controller.clone()),
                    None => r["metadata"]["ownerReferences"] = json!([controller.clone()]),
                }
            });
        if let Ok(Some(rs)) = adopted
            && controller_uid(&rs) == uid
        {
            out.push(Rs { obj: (*rs).clone() });
        }
    }
    out.sort_by_key(Rs::age_key);
    out
}

/// `isScalingEvent`: an active ReplicaSet was sized for a different `spec.replicas`.
fn is_scaling_event(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &mut Vec<Rs>) -> bool {
    let (new_rs, old) = all_replicasets(ctx, st, d, rs_list, false);
    let want = replicas(d);
    new_rs
        .iter()
        .chain(old.iter())
        .map(|&i| &rs_list[i])
        .filter(|rs| rs.replicas() > 0)
        .any(|rs| {
            annotation(&rs.obj, DESIRED_REPLICAS)
                .parse::<i64>()
                .is_ok_and(|desired| desired != want)
        })
}

/// `getAllReplicaSetsAndSyncRevision`: indexes into `rs_list` of the new ReplicaSet (created
/// when `create` and missing) and of the old ones.
pub fn all_replicasets(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &mut Value,
    rs_list: &mut Vec<Rs>,
    create: bool,
) -> (Option<usize>, Vec<usize>) {
    let template = template_sans_hash(&d["spec"]["template"]);
    let found = rs_list
        .iter()
        .position(|rs| template_sans_hash(&rs.obj["spec"]["template"]) == template);
    let old: Vec<usize> = (0..rs_list.len()).filter(|i| Some(*i) != found).collect();
    let max_old = old
        .iter()
        .map(|&i| rs_list[i].revision())
        .max()
        .unwrap_or(0);
    let new_revision = (max_old + 1).to_string();
    if let Some(i) = found {
        let mut copy = rs_list[i].obj.clone();
        let annotations_changed = set_new_rs_annotations(d, &mut copy, &new_revision, true);
        let min_ready = d["spec"]["minReadySeconds"].clone();
        if annotations_changed || copy["spec"]["minReadySeconds"] != min_ready {
            let annotations = copy["metadata"]["annotations"].clone();
            let updated = ctx.cluster.modify(
                *kinds::REPLICASETS,
                ns_of(&copy),
                name_of(&copy),
                false,
                |r| {
                    r["metadata"]["annotations"] = annotations.clone();
                    r["spec"]["minReadySeconds"] = min_ready.clone();
                },
            );
            if let Ok(Some(rs)) = updated {
                rs_list[i].obj = (*rs).clone();
            }
            // Upstream returns here; the ReplicaSet update brings the Deployment back.
            return (Some(i), old);
        }
        let revision = annotation(&copy, REVISION).to_string();
        set_annotation(d, REVISION, &revision);
        if has_deadline(d) && condition(d, "Progressing").is_none() {
            let msg = format!("Found new replica set \"{}\"", name_of(&copy));
            set_condition(
                d,
                new_condition(ctx, "Progressing", "True", "FoundNewReplicaSet", &msg),
            );
        }
        return (Some(i), old);
    }
    if !create {
        return (None, old);
    }
    match create_new_rs(ctx, st, d, rs_list, &new_revision) {
        Some(rs) => {
            rs_list.push(rs);
            (Some(rs_list.len() - 1), old)
        }
        None => (None, old),
    }
}

fn create_new_rs(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &mut Value,
    rs_list: &[Rs],
    new_revision: &str,
) -> Option<Rs> {
    let collisions = d["status"]["collisionCount"].as_i64();
    let hash = template_hash(&d["spec"]["template"], collisions);
    let rs_name = format!("{}-{hash}", name_of(d));
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut rs = json!({
        "metadata": {
            "name": rs_name,
            "labels": template["metadata"]["labels"],
            "ownerReferences": [new_controller_ref(d)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": d["spec"]["minReadySeconds"],
            "selector": selector,
            "template": template,
        },
    });
    let all: Vec<&Rs> = rs_list.iter().collect();
    let count = rollout::new_rs_new_replicas(d, &all, 0);
    rs["spec"]["replicas"] = json!(count);
    set_new_rs_annotations(d, &mut rs, new_revision, false);
    let created = match ctx
        .cluster
        .create(*kinds::REPLICASETS, ns_of(d), rs, &WriteOpts::default())
    {
        Ok(created) => created,
        Err(e) if e.code == 409 => {
            // Same name: ours if it has our template (a stale view), else a hash collision.
            let existing = ctx
                .cluster
                .store
                .get(*kinds::REPLICASETS, ns_of(d), &rs_name)?;
            let same = controller_uid(&existing) == uid_of(d)
                && template_sans_hash(&existing["spec"]["template"])
                    == template_sans_hash(&d["spec"]["template"]);
            if same {
                return Some(Rs {
                    obj: (*existing).clone(),
                });
            }
            d["status"]["collisionCount"] = json!(collisions.unwrap_or(0) + 1);
            st.wake(ctx.now, Task::Deployment(key_of(d)));
            return None;
        }
        Err(e) => {
            let msg = format!(
                "Failed to create new replica set \"{rs_name}\": {}",
                e.message
            );
            if has_deadline(d) {
                let c = new_condition(ctx, "Progressing", "False", "ReplicaSetCreateError", &msg);
                set_condition(d, c);
            }
            st.record(
                ctx,
                d,
                Ev::warning(Source::Deployment, "ReplicaSetCreateError", msg),
            );
            // Upstream requeues with a rate limit; retry a little later.
            st.wake(ctx.now + secs(5), Task::Deployment(key_of(d)));
            return None;
        }
    };
    if count > 0 {
        let msg = format!("Scaled up replica set {rs_name} from 0 to {count}");
        st.record(
            ctx,
            d,
            Ev::normal(Source::Deployment, "ScalingReplicaSet", msg),
        );
    }
    set_annotation(d, REVISION, new_revision);
    if has_deadline(d) {
        let msg = format!("Created new replica set \"{rs_name}\"");
        let c = new_condition(ctx, "Progressing", "True", "NewReplicaSetCreated", &msg);
        set_condition(d, c);
    }
    Some(Rs {
        obj: (*created).clone(),
    })
}

fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    if !obj["metadata"]["annotations"].is_object() {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

/// `SetNewReplicaSetAnnotations`: copies the Deployment's annotations (minus the skip list),
/// raises the revision (recording the previous one in `revision-history` when an old
/// ReplicaSet comes back), and for a new ReplicaSet sets desired/max replicas.
fn set_new_rs_annotations(d: &Value, rs: &mut Value, new_revision: &str, exists: bool) -> bool {
    let mut changed = false;
    if !rs["metadata"]["annotations"].is_object() {
        rs["metadata"]["annotations"] = json!({});
    }
    let empty = Map::new();
    let from = d["metadata"]["annotations"].as_object().unwrap_or(&empty);
    let to = &mut rs["metadata"]["annotations"];
    for (k, v) in from {
        if SKIP_ANNOTATIONS.contains(&k.as_str()) || to.get(k) == Some(v) {
            continue;
        }
        to[k] = v.clone();
        changed = true;
    }
    let old = to.get(REVISION).and_then(Value::as_str).map(str::to_string);
    let old_n = match old.as_deref() {
        None | Some("") => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return changed,
        },
    };
    let Ok(new_n) = new_revision.parse::<i64>() else {
        return changed;
    };
    if old_n < new_n {
        to[REVISION] = json!(new_revision);
        changed = true;
        if let Some(old) = old {
            let history = to
                .get(REVISION_HISTORY)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut entries: Vec<&str> = history.split(',').filter(|s| !s.is_empty()).collect();
            entries.push(&old);
            // Keep the newest entries within the length limit.
            while entries.join(",").len() > MAX_REVISION_HISTORY_CHARS && entries.len() > 1 {
                entries.remove(0);
            }
            to[REVISION_HISTORY] = json!(entries.join(","));
        }
    }
    if !exists && set_replicas_annotations(d, rs) {
        changed = true;
    }
    changed
}

/// `SetReplicasAnnotations` with desired = spec.replicas, max = replicas + maxSurge.
pub fn set_replicas_annotations(d: &Value, rs: &mut Value) -> bool {
    let desired = replicas(d).to_string();
    let max = (replicas(d) + max_surge(d)).to_string();
    if annotation(rs, DESIRED_REPLICAS) == desired && annotation(rs, MAX_REPLICAS) == max {
        return false;
    }
    set_annotation(rs, DESIRED_REPLICAS, &desired);
    set_annotation(rs, MAX_REPLICAS, &max);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(replicas: i64, strategy: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": strategy}})
    }

    #[test]
    fn fenceposts_follow_resolve_fenceposts() {
        let pct = |s: &str, u: &str| {
            json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": s, "maxUnavailable": u}})
        };
        // 4 replicas, 25%/25% → 1/1; 1 replica → surge 1 (up), unavailable 0 (down).
        assert_eq!(
            (
                max_surge(&d(4, pct("25%", "25%"))),
                max_unavailable(&d(4, pct("25%", "25%")))
            ),
            (1, 1)
        );
        assert_eq!(
            (
                max_surge(&d(1, pct("25%", "25%"))),
                max_unavailable(&d(1, pct("25%", "25%")))
            ),
            (1, 0)
        );
        // Both resolve to zero → unavailable 1; unavailable never above replicas.
        assert_eq!(max_unavailable(&d(3, pct("0%", "10%"))), 1);
        assert_eq!(max_unavailable(&d(2, pct("0%", "300%"))), 2);
        // Recreate has no fenceposts.
        let recreate = d(4, json!({"type": "Recreate"}));
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn new_replicaset_annotations_record_revisions() {
        let dep = json!({
            "metadata": {"annotations": {
                "kubernetes.io/change-cause": "v2",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                REVISION: "7",
            }},
            "spec": {"replicas": 3, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}},
        });
        let mut rs = json!({"metadata": {}});
        assert!(set_new_rs_annotations(&dep, &mut rs, "1", false));
        let ann = &rs["metadata"]["annotations"];
        assert_eq!(ann["kubernetes.io/change-cause"], "v2");
        assert_eq!(ann[REVISION], "1");
        assert_eq!(ann[DESIRED_REPLICAS], "3");
        assert_eq!(ann[MAX_REPLICAS], "4");
        assert!(
            ann.get("kubectl.kubernetes.io/last-applied-configuration")
                .is_none()
        );
        assert!(ann.get(REVISION_HISTORY).is_none());
        // Coming back as the new ReplicaSet: revision raised, old one remembered.
        assert!(set_new_rs_annotations(&dep, &mut rs, "3", true));
        assert_eq!(rs["metadata"]["annotations"][REVISION], "3");
        assert_eq!(rs["metadata"]["annotations"][REVISION_HISTORY], "1");
        assert!(set_new_rs_annotations(&dep, &mut rs, "5", true));
        assert_eq!(rs["metadata"]["annotations"][REVISION_HISTORY], "1,3");
        // Never lowered.
        assert!(!set_new_rs_annotations(&dep, &mut rs, "2", true));
        assert_eq!(rs["metadata"]["annotations"][REVISION], "5");
    }
}
