//! GET and LIST, in the three shapes clients ask for through `Accept`: plain objects and lists,
//! `meta.k8s.io` Tables (what `kubectl get` prints), and `PartialObjectMetadata` (kube's
//! metadata-only API). Lists are serialized straight into the response buffer.

use std::io::Write;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::{ResId, Subresource};
use crate::store::rv_of;

use super::printers;
use super::selectors::Filter;
use super::server::{Ctx, ResourceRequest, bytes_response};

/// How much of each object a Table row carries (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// The representation negotiated from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Plain,
    Table {
        /// `v1` or `v1beta1`, whichever the client listed first.
        version: &'static str,
        include: Include,
    },
    Metadata,
}

impl Output {
    pub fn negotiate(accept: &str, include_object: Option<&str>) -> Result<Output, ApiError> {
        for media in accept.split(',') {
            let media = media.replace(' ', "");
            let is_meta_group = media.contains("g=meta.k8s.io");
            if media.contains("as=Table") && is_meta_group {
                let include = match include_object {
                    None | Some("Metadata") => Include::Metadata,
                    Some("Object") => Include::Object,
                    Some("None") => Include::None,
                    Some(other) => {
                        return Err(ApiError::bad_request(format!(
                            "includeObject: Unsupported value: \"{other}\": supported values: \"Metadata\", \"None\", \"Object\""
                        )));
                    }
                };
                let version = if media.contains("v=v1beta1") {
                    "v1beta1"
                } else {
                    "v1"
                };
                return Ok(Output::Table { version, include });
            }
            if (media.contains("as=PartialObjectMetadata") && is_meta_group)
                || media.contains("as=PartialObjectMetadataList")
            {
                return Ok(Output::Metadata);
            }
            let essence = media.split(';').next().unwrap_or_default();
            if matches!(essence, "application/json" | "*/*" | "application/*" | "") {
                return Ok(Output::Plain);
            }
        }
        // Protobuf-only or exotic clients still get JSON: every client we serve reads it.
        Ok(Output::Plain)
    }

    fn content_type(self) -> String {
        match self {
            Output::Plain => "application/json".into(),
            Output::Table { version, .. } => {
                format!("application/json;as=Table;v={version};g=meta.k8s.io")
            }
            Output::Metadata => {
                "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io".into()
            }
        }
    }
}

pub(crate) fn get(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let name = r.name.as_deref().unwrap_or_default();
    let obj = ctx.cluster.get(r.res, r.ns(), name)?;
    // `/status` reads the whole object, as the real server does.
    let out = if r.sub == Some(Subresource::Status) {
        Output::Plain
    } else {
        Output::negotiate(&req.accept, req.params.include_object.as_deref())?
    };
    let mut buf = Vec::with_capacity(4096);
    match out {
        Output::Plain => write_json(&mut buf, &obj),
        Output::Metadata => write_partial(&mut buf, &obj),
        Output::Table { version, include } => {
            let table = TableWriter::new(r.res, version, include, ctx.cluster.clock.now());
            table.write(&mut buf, std::iter::once(&*obj), rv_of(&obj), true);
        }
    }
    Ok(bytes_response(StatusCode::OK, buf, &out.content_type()))
}

/// Lists this long are rendered on the blocking pool, so a big Table does not hold up the
/// runtime threads that keep watches flowing.
const BLOCKING_LIST: usize = 500;

pub(crate) async fn list(ctx: &Arc<Ctx>, req: &ResourceRequest) -> Result<Response, ApiError> {
    let r = &req.route;
    let filter = Filter::from_params(r.res, &req.params)?;
    let out = Output::negotiate(&req.accept, req.params.include_object.as_deref())?;
    // The store hands out shared handles; nothing is deep-copied on the way to the socket.
    let (items, rv) = ctx.cluster.store.list(r.res, r.namespace.as_deref());
    let (res, now, items_len) = (r.res, ctx.cluster.clock.now(), items.len());
    let render = move || render_list(res, &items, rv, &filter, out, now);
    let buf = if items_len > BLOCKING_LIST {
        tokio::task::spawn_blocking(render)
            .await
            .map_err(|_| ApiError::internal("rendering the list failed"))?
    } else {
        render()
    };
    Ok(bytes_response(StatusCode::OK, buf, &out.content_type()))
}

fn render_list(
    res: ResId,
    items: &[Arc<Value>],
    rv: u64,
    filter: &Filter,
    out: Output,
    now: Timestamp,
) -> Vec<u8> {
    let selected = items.iter().map(|o| &**o).filter(|o| filter.matches(o));
    let rt = res.get();
    let mut buf = Vec::with_capacity(256 + items.len() * 1024);
    match out {
        Output::Plain => {
            let _ = write!(
                buf,
                r#"{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{rv}"}},"items":["#,
                rt.list_kind(),
                rt.api_version()
            );
            write_items(&mut buf, selected, write_json);
            buf.extend_from_slice(b"]}");
        }
        Output::Metadata => {
            let _ = write!(
                buf,
                r#"{{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{{"resourceVersion":"{rv}"}},"items":["#
            );
            write_items(&mut buf, selected, write_partial);
            buf.extend_from_slice(b"]}");
        }
        Output::Table { version, include } => {
            let table = TableWriter::new(res, version, include, now);
            table.write(&mut buf, selected, rv, true);
        }
    }
    buf
}

fn write_items<'a>(
    buf: &mut Vec<u8>,
    items: impl Iterator<Item = &'a Value>,
    write_one: fn(&mut Vec<u8>, &Value),
) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_one(buf, item);
    }
}

pub(crate) fn write_json(buf: &mut Vec<u8>, value: &Value) {
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *buf, value);
}

/// An object reduced to `PartialObjectMetadata`.
pub(crate) fn write_partial(buf: &mut Vec<u8>, obj: &Value) {
    buf.extend_from_slice(
        br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
    );
    write_json(buf, &obj["metadata"]);
    buf.push(b'}');
}

/// Renders Tables for one kind at one instant.
pub(crate) struct TableWriter {
    res: ResId,
    version: &'static str,
    include: Include,
    now: Timestamp,
    columns: Vec<u8>,
}

impl TableWriter {
    pub fn new(res: ResId, version: &'static str, include: Include, now: Timestamp) -> Self {
        let columns: Vec<Value> = printers::columns(res)
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "type": c.type_,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect();
        TableWriter {
            res,
            version,
            include,
            now,
            columns: serde_json::to_vec(&columns).unwrap_or_else(|_| b"[]".to_vec()),
        }
    }

    /// A whole Table; `rv` goes into its `metadata.resourceVersion`.
    pub fn write<'a>(
        &self,
        buf: &mut Vec<u8>,
        rows: impl Iterator<Item = &'a Value>,
        rv: u64,
        with_columns: bool,
    ) {
        let _ = write!(
            buf,
            r#"{{"kind":"Table","apiVersion":"meta.k8s.io/{}","metadata":{{"resourceVersion":"{rv}"}},"columnDefinitions":"#,
            self.version
        );
        if with_columns {
            buf.extend_from_slice(&self.columns);
        } else {
            buf.extend_from_slice(b"[]");
        }
        buf.extend_from_slice(br#","rows":["#);
        for (i, obj) in rows.enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            self.write_row(buf, obj);
        }
        buf.extend_from_slice(b"]}");
    }

    fn write_row(&self, buf: &mut Vec<u8>, obj: &Value) {
        buf.extend_from_slice(br#"{"cells":"#);
        let cells = printers::cells(self.res, obj, self.now);
        let _ = serde_json::to_writer(&mut *buf, &cells);
        match self.include {
            Include::None => {}
            Include::Metadata => {
                buf.extend_from_slice(br#","object":"#);
                write_partial(buf, obj);
            }
            Include::Object => {
                buf.extend_from_slice(br#","object":"#);
                write_json(buf, obj);
            }
        }
        buf.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds;

    const KUBECTL_GET: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    #[test]
    fn negotiation() {
        assert_eq!(
            Output::negotiate(KUBECTL_GET, Some("Object")),
            Ok(Output::Table {
                version: "v1",
                include: Include::Object
            })
        );
        assert_eq!(
            Output::negotiate("application/json", None),
            Ok(Output::Plain)
        );
        assert_eq!(Output::negotiate("", None), Ok(Output::Plain));
        assert_eq!(
            Output::negotiate("application/vnd.kubernetes.protobuf,application/json", None),
            Ok(Output::Plain)
        );
        assert_eq!(
            Output::negotiate(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                None
            ),
            Ok(Output::Metadata)
        );
        assert_eq!(
            Output::negotiate(KUBECTL_GET, Some("Everything"))
                .map(|_| ())
                .expect_err("an error")
                .code,
            400
        );
    }

    #[test]
    fn table_rows_carry_partial_metadata() {
        let obj = serde_json::json!({"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
                         "creationTimestamp": "2026-11-18T11:06:40Z"},
            "spec": {"containers": []}});
        let now = crate::clock::Clock::epoch();
        let table = TableWriter::new(*kinds::PODS, "v1", Include::Metadata, now);
        let mut buf = Vec::new();
        table.write(&mut buf, std::iter::once(&obj), 7, true);
        let v: Value = serde_json::from_slice(&buf).expect("valid JSON");
        assert_eq!(v["kind"], "Table");
        assert_eq!(v["metadata"]["resourceVersion"], "7");
        assert_eq!(v["columnDefinitions"][0]["name"], "Name");
        assert_eq!(v["rows"][0]["cells"][0], "web-1");
        assert_eq!(v["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(v["rows"][0]["object"]["metadata"]["labels"]["app"], "web");
        assert!(v["rows"][0]["object"].get("spec").is_none());
    }
}
