//! Deployment strategies (`rolling.go`, `recreate.go`, `sync.go` `scale`/`cleanupDeployment`):
//! how many replicas each ReplicaSet gets at each step.

use serde_json::{Value, json};

use super::Ctx;
use super::deployment::{
    DESIRED_REPLICAS, MAX_REPLICAS, Rs, all_replicasets, annotation, is_rolling, max_surge,
    max_unavailable, replicas, set_replicas_annotations,
};
use super::events::{Ev, Source};
use super::progress::{complete, sync_deployment_status, sync_rollout_status};
use super::state::State;
use super::util::{i64_at, int_or_percent, is_terminating, name_of, ns_of, str_at};
use crate::ops::{DeleteOpts, Propagation};
use crate::resources::kinds;

/// `NewRSNewReplicas`: the new ReplicaSet's size for this step. Rolling: grow into the surge
/// room left by all ReplicaSets, never past `spec.replicas`. Recreate: everything at once.
pub fn new_rs_new_replicas(d: &Value, all: &[&Rs], new_replicas: i64) -> i64 {
    if !is_rolling(d) {
        return replicas(d);
    }
    let surge_v = &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"];
    let surge_v = if surge_v.is_null() {
        json!(0)
    } else {
        surge_v.clone()
    };
    let surge = int_or_percent(&surge_v, replicas(d), true);
    let current: i64 = all.iter().map(|rs| rs.replicas()).sum();
    let max_total = replicas(d) + surge;
    if current >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - current).min(replicas(d) - new_replicas)
}

/// `rolloutRolling`: scale the new ReplicaSet up if there is room; otherwise scale old ones
/// down as far as availability allows; then report.
pub fn rolling(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &mut Vec<Rs>) {
    let (new_i, old) = all_replicasets(ctx, st, d, rs_list, true);
    let Some(new_i) = new_i else {
        // The new ReplicaSet could not be created (collision or error): status says why.
        return;
    };
    let scaled = reconcile_new(ctx, st, d, rs_list, new_i)
        || reconcile_old(ctx, st, d, rs_list, new_i, &old);
    if !scaled && complete(d, &d["status"]) {
        cleanup(ctx, d, rs_list, &old);
    }
    report(ctx, st, d, rs_list, Some(new_i));
}

fn report(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &[Rs], new_i: Option<usize>) {
    let all: Vec<&Rs> = rs_list.iter().collect();
    sync_rollout_status(ctx, st, d, &all, new_i.map(|i| &rs_list[i]));
}

fn reconcile_new(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &Value,
    rs_list: &mut [Rs],
    new_i: usize,
) -> bool {
    let want = replicas(d);
    let current = rs_list[new_i].replicas();
    if current == want {
        return false;
    }
    let target = if current > want {
        want
    } else {
        let all: Vec<&Rs> = rs_list.iter().collect();
        new_rs_new_replicas(d, &all, current)
    };
    scale_and_record(ctx, st, d, &mut rs_list[new_i], target)
}

/// `reconcileOldReplicaSets`: how far old ReplicaSets may shrink without dropping below
/// `replicas - maxUnavailable` available pods, counting the new ReplicaSet's unavailable pods.
fn reconcile_old(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &Value,
    rs_list: &mut [Rs],
    new_i: usize,
    old: &[usize],
) -> bool {
    let mut active: Vec<usize> = old
        .iter()
        .copied()
        .filter(|&i| rs_list[i].replicas() > 0)
        .collect();
    if active.is_empty() {
        return false;
    }
    let all_pods: i64 = rs_list.iter().map(Rs::replicas).sum();
    let min_available = replicas(d) - max_unavailable(d);
    let new_rs = &rs_list[new_i];
    let new_unavailable = new_rs.replicas() - new_rs.status("availableReplicas");
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    active.sort_by_key(|&i| rs_list[i].age_key());
    // Unhealthy old replicas go first: removing them costs no availability.
    let mut cleaned = 0;
    for &i in &active {
        if cleaned >= max_scaled_down {
            break;
        }
        let rs = &rs_list[i];
        let unhealthy = rs.replicas() - rs.status("availableReplicas");
        if rs.replicas() == 0 || unhealthy <= 0 {
            continue;
        }
        let n = (max_scaled_down - cleaned).min(unhealthy);
        let target = rs.replicas() - n;
        scale_and_record(ctx, st, d, &mut rs_list[i], target);
        cleaned += n;
    }
    // Then healthy ones, oldest first, down to the availability floor.
    // Upstream counts the active old ReplicaSets (as listed before this step) and the new one.
    let available: i64 = active
        .iter()
        .chain(std::iter::once(&new_i))
        .map(|&i| rs_list[i].status("availableReplicas"))
        .sum();
    let mut scaled = 0;
    if available > min_available {
        let budget = available - min_available;
        for &i in &active {
            if scaled >= budget {
                break;
            }
            let current = rs_list[i].replicas();
            if current == 0 {
                continue;
            }
            let n = current.min(budget - scaled);
            scale_and_record(ctx, st, d, &mut rs_list[i], current - n);
            scaled += n;
        }
    }
    cleaned + scaled > 0
}

/// `rolloutRecreate`: old ReplicaSets to zero, wait until their pods are gone, then the new
/// ReplicaSet at full size.
pub fn recreate(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &mut Vec<Rs>) {
    let (mut new_i, mut old) = all_replicasets(ctx, st, d, rs_list, false);
    let mut scaled_down = false;
    for &i in &old {
        if rs_list[i].replicas() > 0 {
            scaled_down |= scale_and_record(ctx, st, d, &mut rs_list[i], 0);
        }
    }
    if scaled_down || old_pods_running(ctx, st, rs_list, new_i, &old) {
        return report(ctx, st, d, rs_list, new_i);
    }
    if new_i.is_none() {
        (new_i, old) = all_replicasets(ctx, st, d, rs_list, true);
    }
    if let Some(i) = new_i {
        let want = replicas(d);
        scale_and_record(ctx, st, d, &mut rs_list[i], want);
    }
    if complete(d, &d["status"]) {
        cleanup(ctx, d, rs_list, &old);
    }
    report(ctx, st, d, rs_list, new_i);
}

/// `oldPodsRunning`: any old pod that has not finished, terminating ones included.
fn old_pods_running(
    ctx: &Ctx<'_>,
    st: &State,
    rs_list: &[Rs],
    new_i: Option<usize>,
    old: &[usize],
) -> bool {
    if old.iter().any(|&i| rs_list[i].status("replicas") > 0) {
        return true;
    }
    rs_list
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_i)
        .flat_map(|(_, rs)| st.pods_by_owner.owned(rs.uid()))
        .filter_map(|(ns, n)| ctx.cluster.store.get(*kinds::PODS, &ns, &n))
        .any(|p| !matches!(str_at(&p, "/status/phase"), "Failed" | "Succeeded"))
}

/// `sync`: scaling events and paused Deployments — resize without rolling, then report
/// counters only (no progress estimation).
pub fn sync_scale(ctx: &Ctx<'_>, st: &mut State, d: &mut Value, rs_list: &mut Vec<Rs>) {
    let (new_i, old) = all_replicasets(ctx, st, d, rs_list, false);
    scale(ctx, st, d, rs_list, new_i, &old);
    if d["spec"]["paused"].as_bool() == Some(true) {
        cleanup(ctx, d, rs_list, &old);
    }
    let all: Vec<&Rs> = rs_list.iter().collect();
    sync_deployment_status(ctx, d, &all, new_i.map(|i| &rs_list[i]));
}

/// `scale`: one active ReplicaSet takes the whole size; a saturated new one retires the old
/// ones; otherwise the change is spread proportionally (`GetProportion`), larger ReplicaSets
/// first, leftovers to the largest.
fn scale(
    ctx: &Ctx<'_>,
    st: &mut State,
    d: &Value,
    rs_list: &mut [Rs],
    new_i: Option<usize>,
    old: &[usize],
) {
    let want = replicas(d);
    let mut candidates: Vec<usize> = old.to_vec();
    candidates.sort_by_key(|&i| std::cmp::Reverse(rs_list[i].age_key()));
    let active: Vec<usize> = candidates
        .iter()
        .copied()
        .chain(new_i)
        .filter(|&i| rs_list[i].replicas() > 0)
        .collect();
    let only = match active.len() {
        0 => new_i.or(candidates.first().copied()),
        1 => Some(active[0]),
        _ => None,
    };
    if let Some(i) = only {
        if rs_list[i].replicas() != want {
            scale_and_record(ctx, st, d, &mut rs_list[i], want);
        }
        return;
    }
    if let Some(n) = new_i
        && saturated(d, &rs_list[n])
    {
        for &i in old {
            if rs_list[i].replicas() > 0 {
                scale_and_record(ctx, st, d, &mut rs_list[i], 0);
            }
        }
        return;
    }
    if !is_rolling(d) {
        return;
    }
    let total: i64 = active.iter().map(|&i| rs_list[i].replicas()).sum();
    let allowed = if want > 0 { want + max_surge(d) } else { 0 };
    let to_add = allowed - total;
    let mut order = active;
    // Larger first; on equal size newer first when growing, older first when shrinking.
    order.sort_by(|&a, &b| {
        let size = rs_list[b].replicas().cmp(&rs_list[a].replicas());
        let age = rs_list[a].age_key().cmp(&rs_list[b].age_key());
        size.then(if to_add > 0 { age.reverse() } else { age })
    });
    let mut added = 0;
    let mut sizes: Vec<i64> = Vec::with_capacity(order.len());
    for &i in &order {
        let p = if to_add != 0 {
            proportion(d, &rs_list[i], to_add, added)
        } else {
            0
        };
        sizes.push(rs_list[i].replicas() + p);
        added += p;
    }
    for (pos, &i) in order.iter().enumerate() {
        let mut size = sizes[pos];
        if pos == 0 && to_add != 0 {
            size = (size + to_add - added).max(0);
        }
        scale_rs(ctx, st, d, &mut rs_list[i], size);
    }
}

/// `IsSaturated`: the new ReplicaSet alone holds every desired replica, all available.
fn saturated(d: &Value, rs: &Rs) -> bool {
    let want = replicas(d);
    annotation(&rs.obj, DESIRED_REPLICAS)
        .parse::<i64>()
        .is_ok_and(|desired| desired == want)
        && rs.replicas() == want
        && rs.status("availableReplicas") == want
}

/// `GetProportion` / `getReplicaSetFraction`.
fn proportion(d: &Value, rs: &Rs, to_add: i64, added: i64) -> i64 {
    if rs.replicas() == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if replicas(d) == 0 {
        -rs.replicas()
    } else {
        let target = replicas(d) + max_surge(d);
        let annotated = annotation(&rs.obj, MAX_REPLICAS)
            .parse::<i64>()
            .unwrap_or_else(|_| i64_at(d, "/status/replicas"));
        if annotated == 0 {
            return 0;
        }
        let size = (rs.replicas() * target) as f64 / annotated as f64;
        size.round() as i64 - rs.replicas()
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// `cleanupDeployment`: delete the oldest revisions beyond `revisionHistoryLimit`, only those
/// fully scaled down and observed.
fn cleanup(ctx: &Ctx<'_>, d: &Value, rs_list: &[Rs], old: &[usize]) {
    let Some(limit) = d["spec"]["revisionHistoryLimit"].as_i64() else {
        return;
    };
    if limit == i64::from(i32::MAX) {
        return;
    }
    let mut cleanable: Vec<&Rs> = old
        .iter()
        .map(|&i| &rs_list[i])
        .filter(|rs| !is_terminating(&rs.obj))
        .collect();
    let diff = cleanable.len() as i64 - limit;
    if diff <= 0 {
        return;
    }
    cleanable.sort_by_key(|rs| (rs.revision(), rs.age_key()));
    for rs in cleanable.into_iter().take(diff as usize) {
        let observed = rs.status("observedGeneration") >= i64_at(&rs.obj, "/metadata/generation");
        if rs.status("replicas") != 0 || rs.replicas() != 0 || !observed {
            continue;
        }
        let opts = DeleteOpts {
            propagation: Propagation::Background,
            ..DeleteOpts::default()
        };
        let _ = ctx
            .cluster
            .delete(*kinds::REPLICASETS, ns_of(&rs.obj), rs.name(), &opts);
    }
}

/// `scaleReplicaSetAndRecordEvent`: nothing to do when the size is already right.
fn scale_and_record(ctx: &Ctx<'_>, st: &mut State, d: &Value, rs: &mut Rs, to: i64) -> bool {
    rs.replicas() != to && scale_rs(ctx, st, d, rs, to)
}

/// `scaleReplicaSet`: sets the size and the desired/max-replicas annotations; returns whether
/// the size changed. The event uses the 1.31+ wording ("from N to M").
fn scale_rs(ctx: &Ctx<'_>, st: &mut State, d: &Value, rs: &mut Rs, to: i64) -> bool {
    let from = rs.replicas();
    let mut probe = rs.obj.clone();
    if from == to && !set_replicas_annotations(d, &mut probe) {
        return false;
    }
    let updated = ctx
        .cluster
        .modify(*kinds::REPLICASETS, ns_of(&rs.obj), rs.name(), false, |r| {
            r["spec"]["replicas"] = json!(to);
            set_replicas_annotations(d, r);
        });
    let Ok(Some(obj)) = updated else {
        return false;
    };
    rs.obj = (*obj).clone();
    if from == to {
        return false;
    }
    let op = if from < to { "up" } else { "down" };
    let msg = format!(
        "Scaled {op} replica set {} from {from} to {to}",
        name_of(&rs.obj)
    );
    st.record(
        ctx,
        d,
        Ev::normal(Source::Deployment, "ScalingReplicaSet", msg),
    );
    true
}
