//! Watches the release analysis of the console's selection: one task per watch (the latest
//! selection wins, like log streams), observe-only. The task resolves what the service runs
//! now, backfills the sparklines from the provider's history, then checks every interval and
//! forwards every event as `AppEvent::Analysis` with the watch's id.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::metrics::runner::{Sink, Ticker};
use crate::metrics::watch;
use crate::release::ReleaseContext;
use crate::tui::{AnalysisFeed, AppEvent};

/// What to watch.
pub struct Watch {
    pub id: u64,
    pub service: String,
    pub env: String,
}

/// Starts watching; abort the handle to stop.
pub fn spawn(
    ctx: Arc<ReleaseContext>,
    ticker: Arc<dyn Ticker>,
    watch: Watch,
    events: mpsc::Sender<AppEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The analysis reports through a synchronous sink; an unbounded relay keeps every
        // event (a lost `Started` or check would leave the panel wrong) without blocking it.
        let (tx, mut rx) = mpsc::unbounded_channel::<AnalysisFeed>();
        let id = watch.id;
        let relay = async move {
            while let Some(feed) = rx.recv().await {
                let event = AppEvent::Analysis { watch: id, feed };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        };
        let work = async move {
            let events_tx = tx.clone();
            let sink: Sink = Arc::new(move |e| drop(events_tx.send(AnalysisFeed::Event(e))));
            match watch::running(&ctx, &watch.service, &watch.env, ticker, sink).await {
                Ok(runner) => {
                    let history = tx.clone();
                    watch::observe_forever(runner, move |version, series| {
                        drop(history.send(AnalysisFeed::History { version, series }))
                    })
                    .await
                }
                Err(e) => drop(tx.send(AnalysisFeed::Failed(e.to_string()))),
            }
        };
        tokio::join!(relay, work);
    })
}
