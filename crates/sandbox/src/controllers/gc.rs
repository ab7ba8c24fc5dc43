//! Orphan collection. Deleting an owner already cascades (see `Cluster::delete`); this catches
//! what that cannot: objects created with, or left holding, owner references whose owners are
//! all gone (the garbage collector's "dangling owner" case).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Ctx;
use super::util::Key;
use crate::ops::{DeleteOpts, Propagation};
use crate::resources::{ResId, by_kind};

pub fn collect(ctx: &Ctx<'_>, candidates: &BTreeSet<(ResId, Key)>) {
    for (res, (ns, name)) in candidates {
        let Some(obj) = ctx.cluster.store.get(*res, ns, name) else {
            continue;
        };
        let Some(refs) = obj["metadata"]["ownerReferences"].as_array() else {
            continue;
        };
        if refs.is_empty() || refs.iter().any(|r| owner_present(ctx, ns, r)) {
            continue;
        }
        let opts = DeleteOpts {
            propagation: Propagation::Background,
            ..DeleteOpts::default()
        };
        let _ = ctx.cluster.delete(*res, ns, name, &opts);
    }
}

/// An owner counts as present when an object of that kind, name and UID exists. Kinds the
/// sandbox does not serve cannot be checked and count as present, so nothing is deleted on a
/// guess.
fn owner_present(ctx: &Ctx<'_>, namespace: &str, owner: &Value) -> bool {
    let api_version = owner["apiVersion"].as_str().unwrap_or_default();
    let kind = owner["kind"].as_str().unwrap_or_default();
    let Some(res) = by_kind(api_version, kind) else {
        return true;
    };
    let ns = if res.get().namespaced { namespace } else { "" };
    let name = owner["name"].as_str().unwrap_or_default();
    ctx.cluster
        .store
        .get(res, ns, name)
        .is_some_and(|o| o["metadata"]["uid"] == owner["uid"])
}
