//! Follows one pod's log for the bottom panel, in batches so a chatty pod costs few frames.

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::tui::AppEvent;

pub struct Stream {
    pub env: String,
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
}

/// Lines kept from before the stream started (the panel's buffer is bounded anyway).
const TAIL: i64 = 200;

pub fn spawn(
    client: kube::Client,
    stream: Stream,
    events: mpsc::Sender<AppEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client, &stream.namespace);
        let params = LogParams {
            follow: true,
            tail_lines: Some(TAIL),
            container: stream.container.clone(),
            ..LogParams::default()
        };
        let reason = match api.log_stream(&stream.pod, &params).await {
            Ok(reader) => {
                let mut batches = reader.lines().ready_chunks(64);
                let mut reason = "log stream ended".to_string();
                while let Some(batch) = batches.next().await {
                    let mut lines = Vec::with_capacity(batch.len());
                    for line in batch {
                        match line {
                            Ok(l) => lines.push(l),
                            Err(e) => reason = format!("log stream failed: {e}"),
                        }
                    }
                    let ev = AppEvent::Logs {
                        env: stream.env.clone(),
                        pod: stream.pod.clone(),
                        lines,
                    };
                    if events.send(ev).await.is_err() {
                        return;
                    }
                }
                reason
            }
            Err(e) => format!(
                "cannot read the log of {} in {}: {e}",
                stream.pod, stream.env
            ),
        };
        let _ = events
            .send(AppEvent::LogsEnded {
                env: stream.env,
                pod: stream.pod,
                reason,
            })
            .await;
    })
}
