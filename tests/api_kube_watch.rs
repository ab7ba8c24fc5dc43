//! Watches through the kube crate: `Api::watch` semantics, and `kube::runtime::watcher`
//! (list-then-watch with re-list after expiry, streaming lists), and shutdown ending watches.

use crate::common;

use std::time::Duration;

use common::{Sandbox, deployment, next};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;
use shipdeck::sandbox::resources::kinds;

/// Next watcher event that is not an error (errors are logged by the watcher and retried).
async fn next_event<S>(stream: &mut S) -> watcher::Event<Deployment>
where
    S: futures::Stream<Item = Result<watcher::Event<Deployment>, watcher::Error>> + Unpin,
{
    loop {
        if let Ok(event) = next(stream).await {
            return event;
        }
    }
}

fn name_of(event: &watcher::Event<Deployment>) -> (&'static str, String) {
    let (tag, obj) = match event {
        watcher::Event::Init => return ("Init", String::new()),
        watcher::Event::InitDone => return ("InitDone", String::new()),
        watcher::Event::InitApply(d) => ("InitApply", d),
        watcher::Event::Apply(d) => ("Apply", d),
        watcher::Event::Delete(d) => ("Delete", d),
    };
    (tag, obj.metadata.name.clone().unwrap_or_default())
}

#[tokio::test]
async fn watch_stream_semantics() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");

    // resourceVersion "0": current objects as ADDED, then live changes.
    let mut all = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .expect("watch")
        .boxed();
    // Only objects labelled tier=front: leaving the selector is a DELETED.
    let mut front = api
        .watch(
            &WatchParams::default().labels("tier=front").timeout(30),
            "0",
        )
        .await
        .expect("watch")
        .boxed();
    match next(&mut all).await.expect("event") {
        WatchEvent::Added(d) => assert_eq!(d.metadata.name.as_deref(), Some("web")),
        other => panic!("{other:?}"),
    }
    let label = |tier: Option<&str>| {
        sb.cluster
            .modify(*kinds::DEPLOYMENTS, "shop", "web", false, |d| match tier {
                Some(t) => d["metadata"]["labels"]["tier"] = json!(t),
                None => {
                    if let Some(labels) = d["metadata"]["labels"].as_object_mut() {
                        labels.remove("tier");
                    }
                }
            })
            .expect("modify")
    };
    label(Some("front"));
    match next(&mut all).await.expect("event") {
        WatchEvent::Modified(d) => assert_eq!(d.metadata.labels.expect("labels")["tier"], "front"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next(&mut front).await.expect("event"),
        WatchEvent::Added(_)
    ));
    label(None);
    assert!(matches!(
        next(&mut all).await.expect("event"),
        WatchEvent::Modified(_)
    ));
    assert!(matches!(
        next(&mut front).await.expect("event"),
        WatchEvent::Deleted(_)
    ));

    sb.cluster
        .delete(*kinds::DEPLOYMENTS, "shop", "web", &Default::default())
        .expect("delete");
    assert!(matches!(
        next(&mut all).await.expect("event"),
        WatchEvent::Deleted(_)
    ));

    // A watch from a compacted version gets one ERROR event with 410, then the end.
    sb.cluster
        .store
        .compact(sb.cluster.store.resource_version());
    let mut old = api
        .watch(&WatchParams::default(), "2")
        .await
        .expect("watch")
        .boxed();
    match next(&mut old).await {
        Err(kube::Error::Api(status)) | Ok(WatchEvent::Error(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(5), old.next())
            .await
            .expect("closed")
            .is_none()
    );

    // Bookmarks carry the latest resourceVersion; the server closes at timeoutSeconds.
    let rv = sb.cluster.store.resource_version().to_string();
    let mut quiet = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watch")
        .boxed();
    match next(&mut quiet).await.expect("event") {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
        other => panic!("{other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(5), quiet.next())
            .await
            .expect("closed")
            .is_none()
    );
    sb.shutdown().await;
}

/// Single-threaded, so a write and the compaction that follows it happen with no watch task
/// running in between: the live watch is then behind the compaction and must be told 410.
#[tokio::test(flavor = "current_thread")]
async fn runtime_watcher_relists_after_expiry() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");
    let mut events = watcher(api, watcher::Config::default()).boxed();
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("Init", String::new())
    );
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("InitApply", "web".into())
    );
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("InitDone", String::new())
    );

    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("api", "registry.local/api:1.0", 1),
    );
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("Apply", "api".into())
    );

    // Another change, immediately compacted away: the watch is too old and the watcher re-lists.
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("db", "registry.local/db:1.0", 1),
    );
    sb.cluster
        .store
        .compact(sb.cluster.store.resource_version());
    let mut relisted = Vec::new();
    loop {
        let event = name_of(&next_event(&mut events).await);
        let done = event.0 == "InitDone";
        relisted.push(event);
        if done {
            break;
        }
    }
    assert_eq!(
        relisted,
        [
            ("Init", String::new()),
            ("InitApply", "api".into()),
            ("InitApply", "db".into()),
            ("InitApply", "web".into()),
            ("InitDone", String::new()),
        ]
    );
    // And it keeps watching from the new list.
    sb.cluster
        .delete(*kinds::DEPLOYMENTS, "shop", "db", &Default::default())
        .expect("delete");
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("Delete", "db".into())
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn runtime_watcher_streaming_lists() {
    let sb = Sandbox::start().await;
    sb.create(
        *kinds::DEPLOYMENTS,
        "shop",
        deployment("web", "registry.local/web:1.0", 1),
    );
    sb.create(
        *kinds::DEPLOYMENTS,
        "default",
        deployment("elsewhere", "registry.local/x:1", 1),
    );
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");
    let mut events = watcher(api, watcher::Config::default().streaming_lists()).boxed();
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("Init", String::new())
    );
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("InitApply", "web".into())
    );
    assert_eq!(
        name_of(&next_event(&mut events).await),
        ("InitDone", String::new())
    );
    sb.cluster
        .modify(*kinds::DEPLOYMENTS, "shop", "web", false, |d| {
            d["spec"]["replicas"] = json!(2)
        })
        .expect("modify");
    match next_event(&mut events).await {
        watcher::Event::Apply(d) => assert_eq!(d.spec.expect("spec").replicas, Some(2)),
        other => panic!("{other:?}"),
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_watches() {
    let sb = Sandbox::start().await;
    let api: Api<Deployment> = Api::namespaced(sb.client().await, "shop");
    let rv = sb.cluster.store.resource_version().to_string();
    let mut stream = api
        .watch(&WatchParams::default().timeout(290), &rv)
        .await
        .expect("watch")
        .boxed();
    let started = std::time::Instant::now();
    sb.shutdown().await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(item) = stream.next().await {
            if item.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch outlived the server");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
}
