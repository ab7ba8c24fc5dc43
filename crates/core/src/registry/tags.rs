//! Tag listing, page by page (`n`/`last`, `Link: <…>; rel="next"`), as a stream so the first
//! page of a 10,000-tag repository shows at once. Registries that ignore `n` (distribution
//! 2.x) or never send `Link` still work: a page shorter than `n` ends the listing, a page of
//! exactly `n` without `Link` is followed by one `last=` probe, and a page with nothing new
//! ends it (a registry that also ignores `last` would otherwise loop forever).

use std::collections::HashSet;

use futures::Stream;
use reqwest::{Method, StatusCode, header};
use tokio::sync::mpsc;
use url::Url;

use super::auth::Scope;
use super::client::{RegistryClient, Req, error_summary};
use super::error::RegistryError;
use super::types::RegistryEvent;

/// Upper bound on pages, against a registry whose `Link` leads in circles.
const MAX_PAGES: usize = 10_000;

/// Where a listing is.
struct Cursor {
    repository: String,
    next: Option<Url>,
    seen: HashSet<String>,
    pages: usize,
}

impl RegistryClient {
    /// Tags of `repository` (`dev/orders`), one `Vec` per page, in the registry's order.
    pub fn list_tags(
        &self,
        repository: &str,
    ) -> impl Stream<Item = Result<Vec<String>, RegistryError>> + Send + 'static {
        let client = self.clone();
        let start = self.first_page_url(repository);
        let cursor = start.map(|url| Cursor {
            repository: repository.to_string(),
            next: Some(url),
            seen: HashSet::new(),
            pages: 0,
        });
        futures::stream::unfold(Some(cursor), move |state| {
            let client = client.clone();
            async move {
                match state? {
                    Err(e) => Some((Err(e), None)),
                    Ok(mut cursor) => match client.next_page(&mut cursor).await {
                        Ok(None) => None,
                        Ok(Some(tags)) => Some((Ok(tags), Some(Ok(cursor)))),
                        Err(e) => Some((Err(e), None)),
                    },
                }
            }
        })
    }

    /// Every tag of `repository`, all pages collected.
    pub async fn all_tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        use futures::TryStreamExt;
        let pages: Vec<Vec<String>> = self.list_tags(repository).try_collect().await?;
        Ok(pages.concat())
    }

    /// Lists `repository` into `events` as `TagsPage`s (the last with `complete`), or one
    /// `Failed`. Stops early when the receiver is gone. Meant to be spawned as a task.
    pub async fn send_tags(&self, repository: &str, events: mpsc::Sender<RegistryEvent>) {
        let name = self.repo_name(repository);
        let mut cursor = match self.first_page_url(repository) {
            Ok(url) => Cursor {
                repository: repository.to_string(),
                next: Some(url),
                seen: HashSet::new(),
                pages: 0,
            },
            Err(e) => {
                let _ = events
                    .send(RegistryEvent::Failed {
                        repository: name,
                        error: e.to_string(),
                    })
                    .await;
                return;
            }
        };
        loop {
            let event = match self.next_page(&mut cursor).await {
                Ok(page) => RegistryEvent::TagsPage {
                    repository: name.clone(),
                    complete: page.is_none() || cursor.next.is_none(),
                    tags: page.unwrap_or_default(),
                },
                Err(e) => RegistryEvent::Failed {
                    repository: name.clone(),
                    error: e.to_string(),
                },
            };
            let done = !matches!(
                event,
                RegistryEvent::TagsPage {
                    complete: false,
                    ..
                }
            );
            if events.send(event).await.is_err() || done {
                return;
            }
        }
    }

    fn first_page_url(&self, repository: &str) -> Result<Url, RegistryError> {
        let mut url = self.url(repository, "tags/list")?;
        url.query_pairs_mut()
            .append_pair("n", &self.options().page_size.max(1).to_string());
        Ok(url)
    }

    /// The next page's new tags, or `None` when the listing is over.
    async fn next_page(&self, cursor: &mut Cursor) -> Result<Option<Vec<String>>, RegistryError> {
        let Some(url) = cursor.next.take() else {
            return Ok(None);
        };
        cursor.pages += 1;
        let repository = cursor.repository.clone();
        let req = Req::new(
            Method::GET,
            url.clone(),
            &repository,
            vec![Scope::pull(&repository)],
        )
        .header(header::ACCEPT, "application/json");
        let response = self.send(req).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                repo: self.repo_name(&repository),
                what: "repository".into(),
            });
        }
        if !status.is_success() {
            let summary = error_summary(response).await;
            return Err(self.protocol(&repository, format!("listing tags: {summary}")));
        }
        let link = response
            .headers()
            .get_all(header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link)
            .map(str::to_string);
        let body = response.bytes().await.map_err(|e| RegistryError::Network {
            repo: self.repo_name(&repository),
            message: super::error::describe_reqwest(e),
        })?;
        let page: TagList = serde_json::from_slice(&body)
            .map_err(|e| self.protocol(&repository, format!("bad tag list: {e}")))?;
        let tags = page.tags.unwrap_or_default();
        let returned = tags.len();
        let fresh: Vec<String> = tags
            .into_iter()
            .filter(|t| cursor.seen.insert(t.clone()))
            .collect();

        let page_size = self.options().page_size.max(1);
        cursor.next = if fresh.is_empty() || cursor.pages >= MAX_PAGES {
            None
        } else if let Some(link) = link {
            let next = self.resolve(&repository, &link)?;
            (next != url).then_some(next)
        } else if returned == page_size {
            // No `Link` on a full page: ask once more after the last tag we got.
            fresh.last().map(|last| {
                let mut next = url.clone();
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "last")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                next.query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs)
                    .append_pair("last", last);
                next
            })
        } else {
            None
        };
        if fresh.is_empty() {
            return Ok(None);
        }
        Ok(Some(fresh))
    }
}

#[derive(serde::Deserialize)]
struct TagList {
    /// distribution answers `null` when a repository has no tags left.
    tags: Option<Vec<String>>,
}

/// The target of the `rel="next"` link in a `Link` header value, if any.
pub(crate) fn next_link(value: &str) -> Option<&str> {
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
        let params = &after[close + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target);
        }
        rest = &after[params_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_link() {
        assert_eq!(
            next_link(r#"</v2/dev/orders/tags/list?n=2&last=b>; rel="next""#),
            Some("/v2/dev/orders/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://a/prev>; rel="prev", <https://a/next?x=1>; rel=next"#),
            Some("https://a/next?x=1")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="prev""#), None);
        for junk in [
            "",
            "<",
            ">",
            "<<>>;",
            "<a>;rel",
            "rel=next",
            "<a; rel=\"next\"",
        ] {
            let _ = next_link(junk);
        }
    }
}
