//! `GET /v2/<name>/tags/list` and `GET /v2/_catalog`, paginated with `n` and `last`, and a
//! `Link: <…?last=X&n=N>; rel="next"` header while more remain.

use axum::response::Response;
use http::StatusCode;
use http::header::LINK;
use serde_json::json;

use super::{Ctx, json_type, reply};
use crate::registry::error::OciError;
use crate::registry::store::Page;

pub(super) fn tags(ctx: &Ctx, name: &str) -> Result<Response, OciError> {
    let (last, limit) = page_request(ctx, ctx.registry().faults().tags_page_size())?;
    let page = ctx.registry().store.read().tags_page(name, last, limit)?;
    let link = next_link(&format!("/v2/{name}/tags/list"), &page, limit);
    let body = json!({ "name": name, "tags": page.items });
    Ok(listing(body, link))
}

pub(super) fn catalog(ctx: &Ctx) -> Result<Response, OciError> {
    let (last, limit) = page_request(ctx, None)?;
    let page = ctx.registry().store.read().catalog_page(last, limit);
    let link = next_link("/v2/_catalog", &page, limit);
    Ok(listing(json!({ "repositories": page.items }), link))
}

/// `last` and the page size: the client's `n`, else the registry's default; a forced page size
/// (a fault) caps either.
fn page_request(
    ctx: &Ctx,
    forced: Option<usize>,
) -> Result<(Option<&str>, Option<usize>), OciError> {
    let n = match ctx.param("n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            OciError::unsupported(
                StatusCode::BAD_REQUEST,
                format!("invalid number of results requested: {n:?}"),
            )
        })?),
    };
    let limit = n.or(ctx.registry().config().default_page_size);
    let limit = match (limit, forced) {
        (Some(limit), Some(forced)) => Some(limit.min(forced)),
        (limit, forced) => limit.or(forced),
    };
    let last = ctx.param("last").filter(|l| !l.is_empty());
    Ok((last, limit))
}

fn next_link(path: &str, page: &Page, limit: Option<usize>) -> Option<String> {
    let (Some(last), Some(n), true) = (page.items.last(), limit, page.more) else {
        return None;
    };
    Some(format!("<{path}?last={last}&n={n}>; rel=\"next\""))
}

fn listing(body: serde_json::Value, link: Option<String>) -> Response {
    let mut headers = vec![json_type()];
    headers.extend(link.map(|link| (LINK, link)));
    reply(StatusCode::OK, headers, body.to_string().into())
}
