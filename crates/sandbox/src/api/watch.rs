//! Watches: a chunked stream of newline-delimited JSON events, with the resourceVersion
//! semantics of the real server (api-concepts "Semantics for watch" and "Streaming lists").
//!
//! One task per watch reads the store's bounded history from its cursor whenever the store's
//! resourceVersion moves, filters, and writes lines into a channel that is the response body.
//! Plain-JSON watchers forward each event's cached line, serialized once for all of them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::ApiError;
use crate::resources::ResId;
use crate::store::{EventType, TooOld, WatchEvent};

use super::read::{Output, TableWriter, write_json, write_partial};
use super::selectors::Filter;
use super::server::{Ctx, ResourceRequest};

/// Real servers pick 30–60 minutes when the client sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;
/// How often an idle watch that asked for bookmarks hears the current resourceVersion.
const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Synthetic ADDED for every current object, then changes; with `end_bookmark`, the
    /// `k8s.io/initial-events-end` bookmark in between (streaming lists).
    Initial { end_bookmark: bool },
    /// Changes after this resourceVersion only.
    After(u64),
}

/// Decides the start from the query, as the real server does: `resourceVersion` unset or `0`
/// replays current state; `sendInitialEvents=true` (which needs
/// `resourceVersionMatch=NotOlderThan` and bookmarks) replays it and marks its end.
pub fn start_of(
    resource_version: Option<&str>,
    resource_version_match: Option<&str>,
    send_initial_events: Option<bool>,
    allow_bookmarks: bool,
) -> Result<Start, ApiError> {
    let rv = match resource_version {
        None => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {s:?}")))?,
        ),
    };
    if let Some(send) = send_initial_events {
        if resource_version_match != Some("NotOlderThan") {
            return Err(invalid_watch(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if send && !allow_bookmarks {
            return Err(invalid_watch(
                "allowWatchBookmarks",
                "sendInitialEvents requires allowWatchBookmarks=true",
            ));
        }
        return Ok(match (send, rv) {
            (true, _) => Start::Initial { end_bookmark: true },
            (false, Some(rv)) if rv > 0 => Start::After(rv),
            // No initial events and no version: from now on.
            (false, _) => Start::After(0),
        });
    }
    if resource_version_match.is_some() {
        return Err(invalid_watch(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    Ok(match rv {
        None | Some(0) => Start::Initial {
            end_bookmark: false,
        },
        Some(rv) => Start::After(rv),
    })
}

fn invalid_watch(field: &str, message: &str) -> ApiError {
    let mut err = ApiError::new(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: Forbidden: {message}"),
    );
    err.details = Some(json!({"kind": "ListOptions", "group": "meta.k8s.io",
        "causes": [{"reason": "FieldValueForbidden", "message": format!("Forbidden: {message}"), "field": field}]}));
    err
}

pub(crate) fn serve(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let p = &req.params;
    let mut params = p.clone();
    // Watching one object (`.../pods/web?watch=true`) is a watch filtered by name.
    if let Some(name) = &r.name {
        let by_name = format!("metadata.name={name}");
        params.field_selector = Some(match &p.field_selector {
            Some(fs) => format!("{fs},{by_name}"),
            None => by_name,
        });
    }
    let filter = Filter::from_params(r.res, &params)?;
    let out = Output::negotiate(&req.accept, p.include_object.as_deref())?;
    let mut start = start_of(
        p.resource_version.as_deref(),
        p.resource_version_match.as_deref(),
        p.send_initial_events,
        p.allow_watch_bookmarks,
    )?;
    if start == Start::After(0) {
        start = Start::After(ctx.cluster.store.resource_version());
    }
    let timeout = match p.timeout_seconds {
        None | Some(0) => DEFAULT_TIMEOUT,
        // Bounded, so a huge value cannot overflow the deadline arithmetic.
        Some(s) => Duration::from_secs(s.min(MAX_TIMEOUT_SECS)),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let watcher = Watcher {
        ctx: ctx.clone(),
        res: r.res,
        namespace: r.namespace.clone(),
        filter,
        out,
        bookmarks: p.allow_watch_bookmarks,
        tx,
        sent_columns: false,
    };
    tokio::spawn(watcher.run(start, Instant::now() + timeout));
    let mut response = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

struct Watcher {
    ctx: Arc<Ctx>,
    res: ResId,
    namespace: Option<String>,
    filter: Filter,
    out: Output,
    bookmarks: bool,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    sent_columns: bool,
}

/// The client went away (or the server is stopping): end the task.
struct Gone;

impl Watcher {
    async fn run(mut self, start: Start, deadline: Instant) {
        let _ = self.stream(start, deadline).await;
    }

    async fn stream(&mut self, start: Start, deadline: Instant) -> Result<(), Gone> {
        let store = self.ctx.cluster.store.clone();
        // Subscribe before reading, so no change between the two goes unnoticed.
        let mut changes = store.subscribe();
        let mut cursor = match start {
            Start::Initial { end_bookmark } => {
                let (items, rv) = store.list(self.res, self.namespace.as_deref());
                for obj in &items {
                    if !self.filter.matches(obj) {
                        continue;
                    }
                    let line = self.line(EventType::Added, obj, None);
                    self.send(line).await?;
                }
                if end_bookmark {
                    let line = self.bookmark(rv, true);
                    self.send(line).await?;
                }
                rv
            }
            Start::After(rv) => rv,
        };
        let mut bookmarked = cursor;
        let mut ticker = tokio::time::interval_at(Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            let head = store.resource_version();
            match store.events_since(self.res, cursor) {
                Err(too_old) => {
                    let line = expired_line(too_old);
                    let _ = self.send(line).await;
                    return Ok(());
                }
                Ok(events) => {
                    for event in &events {
                        if let Some(line) = self.render(event) {
                            self.send(line).await?;
                        }
                    }
                    // Events up to `head` were all in the history read after it was taken.
                    let last = events.last().map_or(0, |e| e.rv);
                    cursor = cursor.max(head).max(last);
                }
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if self.bookmarks {
                        let line = self.bookmark(cursor, false);
                        let _ = self.send(line).await;
                    }
                    return Ok(());
                }
                _ = ticker.tick(), if self.bookmarks => {
                    if cursor > bookmarked {
                        let line = self.bookmark(cursor, false);
                        self.send(line).await?;
                        bookmarked = cursor;
                    }
                }
                _ = self.ctx.shutdown.cancelled() => return Ok(()),
                _ = self.tx.closed() => return Err(Gone),
            }
        }
    }

    async fn send(&self, line: Bytes) -> Result<(), Gone> {
        tokio::select! {
            sent = self.tx.send(Ok(line)) => sent.map_err(|_| Gone),
            _ = self.ctx.shutdown.cancelled() => Err(Gone),
        }
    }

    /// The line for a stored change as this watcher sees it, or `None` when it does not
    /// concern the watcher. Against a selector, an object that stops matching is DELETED and
    /// one that starts matching is ADDED, as the real server's watch cache reports them.
    fn render(&mut self, event: &Arc<WatchEvent>) -> Option<Bytes> {
        if let Some(ns) = &self.namespace
            && *ns != event.namespace
        {
            return None;
        }
        let kind = if self.filter.is_empty() {
            event.kind
        } else {
            let now = self.filter.matches(&event.object);
            let before = event
                .prev
                .as_deref()
                .is_some_and(|p| self.filter.matches(p));
            match (event.kind, before, now) {
                (EventType::Added, _, true) => EventType::Added,
                (EventType::Deleted, true, _) | (EventType::Deleted, _, true) => EventType::Deleted,
                (EventType::Modified, true, true) => EventType::Modified,
                (EventType::Modified, false, true) => EventType::Added,
                (EventType::Modified, true, false) => EventType::Deleted,
                _ => return None,
            }
        };
        if kind == event.kind && self.out == Output::Plain {
            return Some(event.json_line());
        }
        Some(self.line(kind, &event.object, Some(event.rv)))
    }

    fn line(&mut self, kind: EventType, obj: &Value, rv: Option<u64>) -> Bytes {
        let mut buf = Vec::with_capacity(1024);
        buf.extend_from_slice(br#"{"type":""#);
        buf.extend_from_slice(kind.as_str().as_bytes());
        buf.extend_from_slice(br#"","object":"#);
        match self.out {
            Output::Plain => write_json(&mut buf, obj),
            Output::Metadata => write_partial(&mut buf, obj),
            Output::Table { version, include } => {
                let now = self.ctx.cluster.clock.now();
                let table = TableWriter::new(self.res, version, include, now);
                let rv = rv.unwrap_or_else(|| crate::store::rv_of(obj));
                // kubectl prints headers again only when the columns change; sending them
                // once is what the real server does.
                table.write(&mut buf, std::iter::once(obj), rv, !self.sent_columns);
                self.sent_columns = true;
            }
        }
        buf.extend_from_slice(b"}\n");
        Bytes::from(buf)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let rt = self.res.get();
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let event = json!({"type": "BOOKMARK", "object": {
            "kind": rt.kind, "apiVersion": rt.api_version(), "metadata": metadata}});
        line_of(&event)
    }
}

fn line_of(value: &Value) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    write_json(&mut buf, value);
    buf.push(b'\n');
    Bytes::from(buf)
}

/// The 410 a too-old watch gets: an ERROR event in a 200 stream, which is what makes kube's
/// watcher re-list (an HTTP 410 would leave it retrying the same version).
fn expired_line(too_old: TooOld) -> Bytes {
    let err = ApiError::expired(format!(
        "too old resource version: {} ({})",
        too_old.requested, too_old.oldest
    ));
    line_of(&json!({"type": "ERROR", "object": err.to_status()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_rules() {
        let initial = Start::Initial {
            end_bookmark: false,
        };
        assert_eq!(start_of(None, None, None, false), Ok(initial));
        assert_eq!(start_of(Some("0"), None, None, true), Ok(initial));
        assert_eq!(start_of(Some("42"), None, None, true), Ok(Start::After(42)));
        assert_eq!(
            start_of(Some("0"), Some("NotOlderThan"), Some(true), true),
            Ok(Start::Initial { end_bookmark: true })
        );
        assert_eq!(
            start_of(None, Some("NotOlderThan"), Some(false), false),
            Ok(Start::After(0))
        );
        assert_eq!(
            start_of(Some("x"), None, None, false)
                .expect_err("an error")
                .code,
            400
        );
        // Streaming lists without the required companions fail loudly instead of hanging.
        assert_eq!(
            start_of(None, None, Some(true), true)
                .expect_err("an error")
                .code,
            422
        );
        assert_eq!(
            start_of(None, Some("NotOlderThan"), Some(true), false)
                .expect_err("an error")
                .code,
            422
        );
        assert_eq!(
            start_of(None, Some("Exact"), None, false)
                .expect_err("an error")
                .code,
            422
        );
    }

    #[test]
    fn expired_is_an_error_event() {
        let line = expired_line(TooOld {
            requested: 3,
            oldest: 9,
        });
        let v: Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["type"], "ERROR");
        assert_eq!(v["object"]["code"], 410);
        assert_eq!(v["object"]["reason"], "Expired");
        assert_eq!(v["object"]["message"], "too old resource version: 3 (9)");
        assert!(line.ends_with(b"\n"));
    }
}
