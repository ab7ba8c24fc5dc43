//! Registry listings for the tags pane: pages and details as they arrive.

use tokio::sync::mpsc;

use crate::registry::{Registries, RegistryEvent};
use crate::tui::AppEvent;

/// `127.0.0.1:5000/dev/orders` → (`127.0.0.1:5000`, `dev/orders`).
fn split(repository: &str) -> Option<(&str, &str)> {
    repository.split_once('/')
}

fn failed(repository: String, error: String) -> AppEvent {
    AppEvent::Registry(RegistryEvent::Failed { repository, error })
}

pub fn fetch_tags(registries: &Registries, repository: String, events: mpsc::Sender<AppEvent>) {
    let Some((host, path)) = split(&repository) else {
        let _ = events.try_send(failed(
            repository.clone(),
            format!("{repository}: not a registry/repository reference"),
        ));
        return;
    };
    let client = match registries.client(host) {
        Ok(c) => c,
        Err(e) => {
            let _ = events.try_send(failed(repository, e.to_string()));
            return;
        }
    };
    let path = path.to_string();
    tokio::spawn(async move {
        let (tx, mut rx) = mpsc::channel(16);
        let forward = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if events.send(AppEvent::Registry(ev)).await.is_err() {
                    return;
                }
            }
        });
        client.send_tags(&path, tx).await;
        let _ = forward.await;
    });
}

pub fn fetch_details(
    registries: &Registries,
    repository: String,
    tag: String,
    events: mpsc::Sender<AppEvent>,
) {
    let Some((host, path)) = split(&repository) else {
        return;
    };
    let Ok(client) = registries.client(host) else {
        return;
    };
    let path = path.to_string();
    tokio::spawn(async move {
        let (tx, mut rx) = mpsc::channel(1);
        client.send_details(&path, &tag, tx).await;
        while let Some(ev) = rx.recv().await {
            let _ = events.send(AppEvent::Registry(ev)).await;
        }
    });
}
