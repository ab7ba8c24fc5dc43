//! API semantics on top of the store, shared by the HTTP layer, the controllers and the
//! scenarios: server-owned metadata, generation, status/spec separation, resourceVersion
//! preconditions, graceful pod deletion and background garbage collection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use super::clock::{Clock, rfc3339};
use super::defaults;
use super::error::ApiError;
use super::resources::{ResId, ResourceType, kinds};
use super::store::{Store, StoreError, rv_of};

/// One simulated cluster's API semantics (one per environment).
pub struct Cluster {
    /// The environment this cluster plays (`dev`, `staging`, `prod`).
    pub name: String,
    pub store: Arc<Store>,
    pub clock: Clock,
    /// Simulated RBAC denial: the API server answers every write from a client with 403
    /// (controllers, which call these methods directly, still write).
    pub deny_api_writes: AtomicBool,
    uids: AtomicU64,
}

/// Options every write takes (`?dryRun=All`, `?fieldManager=`).
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_manager: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub propagation: Propagation,
    /// `None` uses the object's own grace period; `Some(0)` deletes a pod at once.
    pub grace_period_seconds: Option<i64>,
    /// `preconditions.resourceVersion`.
    pub expected_rv: Option<u64>,
    pub dry_run: bool,
}

/// What a delete did: removed the object, or (pods) started its graceful termination.
#[derive(Debug, Clone)]
pub enum Deleted {
    Gone(Arc<Value>),
    Terminating(Arc<Value>),
}

impl Deleted {
    pub fn object(&self) -> &Arc<Value> {
        match self {
            Deleted::Gone(v) | Deleted::Terminating(v) => v,
        }
    }
}

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Cluster {
    pub fn new(name: impl Into<String>, store: Arc<Store>, clock: Clock) -> Self {
        Cluster {
            name: name.into(),
            store,
            clock,
            deny_api_writes: AtomicBool::new(false),
            uids: AtomicU64::new(0),
        }
    }

    pub fn now(&self) -> String {
        rfc3339(self.clock.now())
    }

    /// Deterministic UUID-shaped identifiers, distinct per cluster.
    pub fn next_uid(&self) -> String {
        let n = self.uids.fetch_add(1, Ordering::Relaxed) + 1;
        let seed = fnv64(self.name.as_bytes());
        let a = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a & 0xfff) as u16,
            (n >> 48) as u16 & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }

    /// Five characters for `generateName`, from the alphabet the real server uses.
    pub fn random_suffix(&self) -> String {
        let mut x = fnv64(self.next_uid().as_bytes());
        (0..5)
            .map(|_| {
                let c = GENERATE_ALPHABET[(x % GENERATE_ALPHABET.len() as u64) as usize];
                x /= GENERATE_ALPHABET.len() as u64;
                c as char
            })
            .collect()
    }

    pub fn get(&self, res: ResId, namespace: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        self.store
            .get(res, namespace, name)
            .ok_or_else(|| ApiError::not_found(res.get(), name))
    }

    /// Creates an object: fills server-owned metadata and the kind's defaults.
    pub fn create(
        &self,
        res: ResId,
        namespace: &str,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Arc<Value>, ApiError> {
        let rt = res.get();
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        obj["apiVersion"] = Value::String(rt.api_version());
        obj["kind"] = Value::String(rt.kind.to_string());
        let meta = ensure_object(&mut obj, "metadata");
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => {
                    name = format!("{prefix}{}", self.random_suffix());
                }
                _ => {
                    return Err(ApiError::invalid(
                        rt,
                        "",
                        &[(
                            "metadata.name",
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            }
        }
        if let Err(msg) = validate_name(&name) {
            return Err(ApiError::invalid(rt, &name, &[("metadata.name", msg)]));
        }
        if rt.namespaced {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() && ns != namespace => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
            if self.store.get(*kinds::NAMESPACES, "", namespace).is_none() {
                return Err(ApiError::namespace_not_found(namespace));
            }
            meta.insert("namespace".into(), Value::String(namespace.to_string()));
        } else {
            meta.remove("namespace");
        }
        meta.insert("name".into(), Value::String(name.clone()));
        meta.insert("uid".into(), Value::String(self.next_uid()));
        meta.insert("creationTimestamp".into(), Value::String(self.now()));
        meta.remove("resourceVersion");
        meta.remove("deletionTimestamp");
        meta.remove("managedFields");
        if tracks_generation(rt) {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if res == *kinds::PODS {
            defaults::admit_pod(self, &mut obj);
        }
        defaults::apply(self, res, &mut obj);
        if let Some(msg) = defaults::validate(res, &obj) {
            return Err(ApiError::invalid(rt, &name, &[(msg.0, msg.1)]));
        }
        if opts.dry_run {
            if self.store.get(res, namespace_of(&obj), &name).is_some() {
                return Err(ApiError::already_exists(rt, &name));
            }
            return Ok(Arc::new(obj));
        }
        self.store.insert(res, obj).map_err(|e| match e {
            StoreError::AlreadyExists => ApiError::already_exists(rt, &name),
            other => ApiError::internal(other.to_string()),
        })
    }

    /// Replaces the main resource (PUT). The incoming `status` is ignored; a non-empty
    /// `metadata.resourceVersion` in `obj` is a precondition.
    pub fn update(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Arc<Value>, ApiError> {
        self.write(res, namespace, name, obj, opts, Part::Main)
    }

    /// Replaces only `status` (and annotations), as writes to the `/status` subresource do.
    pub fn update_status(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Arc<Value>, ApiError> {
        self.write(res, namespace, name, obj, opts, Part::Status)
    }

    /// Controllers' read-modify-write: applies `f` to the current object and stores it,
    /// retrying on conflicts. Returns `Ok(None)` when the object is gone.
    pub fn modify(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        status: bool,
        mut f: impl FnMut(&mut Value),
    ) -> Result<Option<Arc<Value>>, ApiError> {
        for _ in 0..8 {
            let Some(current) = self.store.get(res, namespace, name) else {
                return Ok(None);
            };
            let mut next = (*current).clone();
            f(&mut next);
            if next == *current {
                return Ok(Some(current));
            }
            let part = if status { Part::Status } else { Part::Main };
            match self.write(res, namespace, name, next, &WriteOpts::default(), part) {
                Ok(v) => return Ok(Some(v)),
                Err(e) if e.code == 409 => continue,
                Err(e) if e.code == 404 => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::conflict(res.get(), name))
    }

    fn write(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        mut obj: Value,
        opts: &WriteOpts,
        part: Part,
    ) -> Result<Arc<Value>, ApiError> {
        let rt = res.get();
        // The request is checked before the store is read, like the real server's handler:
        // a mismatched name is a 400 even when the object does not exist.
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        let body_name = obj["metadata"]["name"].as_str().unwrap_or(name);
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let current = self.get(res, namespace, name)?;
        let expected_rv = match obj["metadata"]["resourceVersion"].as_str() {
            Some(s) if !s.is_empty() => Some(
                s.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {s:?}")))?,
            ),
            _ => None,
        };
        if let Some(expected) = expected_rv
            && expected != rv_of(&current)
        {
            return Err(ApiError::conflict(rt, name));
        }
        obj["apiVersion"] = Value::String(rt.api_version());
        obj["kind"] = Value::String(rt.kind.to_string());
        let next = match part {
            Part::Main => {
                // Server-owned metadata survives whatever the client sent.
                let meta = ensure_object(&mut obj, "metadata");
                for key in [
                    "uid",
                    "creationTimestamp",
                    "namespace",
                    "name",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ] {
                    match current["metadata"].get(key) {
                        Some(v) => meta.insert(key.into(), v.clone()),
                        None => meta.remove(key),
                    };
                }
                meta.remove("managedFields");
                if rt.has(super::resources::Subresource::Status) {
                    match current.get("status") {
                        Some(s) => obj["status"] = s.clone(),
                        None => {
                            if let Some(o) = obj.as_object_mut() {
                                o.remove("status");
                            }
                        }
                    }
                }
                defaults::apply(self, res, &mut obj);
                if let Some(msg) = defaults::validate(res, &obj) {
                    return Err(ApiError::invalid(rt, name, &[(msg.0, msg.1)]));
                }
                if tracks_generation(rt) {
                    let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
                    let generation = if generation_changes(rt, &obj, &current) {
                        generation + 1
                    } else {
                        generation
                    };
                    obj["metadata"]["generation"] = json!(generation);
                }
                obj
            }
            Part::Status => {
                let mut next = (*current).clone();
                match obj.get("status") {
                    Some(s) => next["status"] = s.clone(),
                    None => {
                        if let Some(o) = next.as_object_mut() {
                            o.remove("status");
                        }
                    }
                }
                match obj["metadata"].get("annotations") {
                    Some(a) => next["metadata"]["annotations"] = a.clone(),
                    None => {
                        if let Some(m) = next["metadata"].as_object_mut() {
                            m.remove("annotations");
                        }
                    }
                }
                next
            }
        };
        if opts.dry_run {
            return Ok(Arc::new(next));
        }
        let stored = self
            .store
            .replace(res, next, Some(rv_of(&current)))
            .map_err(|e| match e {
                StoreError::Conflict { .. } => ApiError::conflict(rt, name),
                StoreError::NotFound => ApiError::not_found(rt, name),
                other => ApiError::internal(other.to_string()),
            })?;
        // A terminating object whose finalizers are all gone is removed.
        if stored["metadata"].get("deletionTimestamp").is_some()
            && res != *kinds::PODS
            && stored["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty())
        {
            let _ = self.store.remove(res, namespace, name, None);
        }
        Ok(stored)
    }

    /// Deletes an object. Pods terminate gracefully (the kubelet removes them); everything else
    /// goes at once, and dependents are garbage-collected by owner UID.
    pub fn delete(
        &self,
        res: ResId,
        namespace: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<Deleted, ApiError> {
        let rt = res.get();
        let current = self.get(res, namespace, name)?;
        if let Some(expected) = opts.expected_rv
            && expected != rv_of(&current)
        {
            return Err(ApiError::conflict(rt, name));
        }
        if opts.dry_run {
            return Ok(Deleted::Gone(current));
        }
        if res == *kinds::PODS {
            let grace = opts.grace_period_seconds.unwrap_or_else(|| {
                current["spec"]["terminationGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(30)
            });
            let running = current["spec"]["nodeName"].is_string()
                && !matches!(
                    current["status"]["phase"].as_str(),
                    Some("Succeeded" | "Failed")
                );
            if grace > 0 && running {
                if current["metadata"].get("deletionTimestamp").is_some() {
                    return Ok(Deleted::Terminating(current));
                }
                // Straight to the store: `deletionTimestamp` is server-owned metadata, which
                // `write` (and so `modify`) deliberately carries over from the current object.
                let mut marked = (*current).clone();
                marked["metadata"]["deletionTimestamp"] = Value::String(self.now());
                marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                return match self.store.replace(res, marked, Some(rv_of(&current))) {
                    Ok(marked) => Ok(Deleted::Terminating(marked)),
                    // Written meanwhile by someone else: start over from the new version.
                    Err(StoreError::Conflict { .. }) if opts.expected_rv.is_none() => {
                        self.delete(res, namespace, name, opts)
                    }
                    Err(StoreError::NotFound) => Err(ApiError::not_found(rt, name)),
                    Err(_) => Err(ApiError::conflict(rt, name)),
                };
            }
            self.store.drop_logs(namespace, name);
        }
        let gone = self
            .store
            .remove(res, namespace, name, None)
            .map_err(|_| ApiError::not_found(rt, name))?;
        if let Some(uid) = gone["metadata"]["uid"].as_str() {
            self.collect_dependents(uid, namespace, opts.propagation);
        }
        if res == *kinds::NAMESPACES {
            self.delete_namespace_contents(name);
        }
        Ok(Deleted::Gone(gone))
    }

    /// Background garbage collection: dependents whose owner is gone are deleted (their own
    /// dependents follow), or with `Orphan` lose the owner reference.
    fn collect_dependents(&self, owner_uid: &str, namespace: &str, propagation: Propagation) {
        for res in super::resources::all() {
            if !res.get().namespaced {
                continue;
            }
            let (items, _) = self.store.list(res, Some(namespace));
            for item in items {
                let owned = item["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid));
                if !owned {
                    continue;
                }
                let name = item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if propagation == Propagation::Orphan {
                    let _ = self.modify(res, namespace, &name, false, |obj| {
                        if let Some(refs) = obj["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != owner_uid);
                        }
                    });
                } else {
                    let _ = self.delete(
                        res,
                        namespace,
                        &name,
                        &DeleteOpts {
                            propagation: Propagation::Background,
                            ..DeleteOpts::default()
                        },
                    );
                }
            }
        }
    }

    fn delete_namespace_contents(&self, namespace: &str) {
        for res in super::resources::all().filter(|r| r.get().namespaced) {
            let (items, _) = self.store.list(res, Some(namespace));
            for item in items {
                if let Some(name) = item["metadata"]["name"].as_str() {
                    let opts = DeleteOpts {
                        grace_period_seconds: Some(0),
                        ..DeleteOpts::default()
                    };
                    let _ = self.delete(res, namespace, name, &opts);
                }
            }
        }
    }

    /// Creates a namespace unless it exists (scenarios and tests).
    pub fn ensure_namespace(&self, name: &str) -> Result<(), ApiError> {
        if self.store.get(*kinds::NAMESPACES, "", name).is_some() {
            return Ok(());
        }
        let ns = json!({"metadata": {"name": name}});
        self.create(*kinds::NAMESPACES, "", ns, &WriteOpts::default())
            .map(|_| ())
    }
}

#[derive(Clone, Copy)]
enum Part {
    Main,
    Status,
}

/// Kinds whose `metadata.generation` counts changes: every API group's (spec changes), and pods
/// (since 1.33, for `status.observedGeneration`).
pub fn tracks_generation(rt: &ResourceType) -> bool {
    !rt.group.is_empty() || rt.kind == "Pod"
}

/// Whether an update of the main resource moves `metadata.generation` (the registries'
/// `PrepareForUpdate`): a change of `spec`; for Deployments also of annotations; for
/// EndpointSlices (which have no spec) of anything but metadata, or of labels.
fn generation_changes(rt: &ResourceType, new: &Value, old: &Value) -> bool {
    match rt.kind {
        "EndpointSlice" => {
            let sans_meta = |v: &Value| {
                let mut v = v.clone();
                if let Some(o) = v.as_object_mut() {
                    o.remove("metadata");
                }
                v
            };
            sans_meta(new) != sans_meta(old)
                || new["metadata"].get("labels") != old["metadata"].get("labels")
        }
        "Deployment" => {
            new.get("spec") != old.get("spec")
                || new["metadata"].get("annotations") != old["metadata"].get("annotations")
        }
        // Binding a pod to a node (the scheduler's `pods/binding`) writes nodeName without
        // the update strategy, so without a new generation.
        "Pod" => {
            let sans_node = |v: &Value| {
                let mut spec = v["spec"].clone();
                if let Some(o) = spec.as_object_mut() {
                    o.remove("nodeName");
                }
                spec
            };
            sans_node(new) != sans_node(old)
        }
        _ => new.get("spec") != old.get("spec"),
    }
}

fn namespace_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn ensure_object<'a>(obj: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !obj[key].is_object() {
        obj[key] = Value::Object(Map::new());
    }
    obj[key].as_object_mut().expect("just made an object")
}

/// RFC 1123 subdomain, as Kubernetes requires for most object names.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case \
             alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
