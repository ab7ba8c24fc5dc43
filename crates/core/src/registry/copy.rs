//! The write half of the distribution API that promotion needs: blob existence, cross-
//! repository mount (201 mounted; 202 means "not here, upload instead" and hands us a
//! session), streamed blob upload, manifest PUT and DELETE.

use oci_client::manifest::OciDescriptor;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use super::auth::Scope;
use super::client::{RegistryClient, Req, digest_header, error_summary};
use super::error::RegistryError;

/// How one blob reached the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobCopy {
    Present,
    Mounted,
    Copied,
}

enum Mount {
    Mounted,
    Session(Url),
    Refused,
}

/// Blobs a registry must not be asked to serve (Windows base layers live elsewhere).
pub(crate) fn is_foreign(desc: &OciDescriptor) -> bool {
    let has_urls = desc.urls.as_ref().is_some_and(|u| !u.is_empty());
    has_urls
        && (desc.media_type.contains("foreign") || desc.media_type.contains("nondistributable"))
}

impl RegistryClient {
    pub(crate) async fn blob_exists(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.object_url(repository, "blobs", digest)?;
        let response = self
            .send(Req::new(
                Method::HEAD,
                url,
                repository,
                vec![Scope::pull(repository)],
            ))
            .await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => {
                let summary = error_summary(response).await;
                Err(self.protocol(repository, format!("HEAD blob {digest}: {summary}")))
            }
        }
    }

    /// Asks to mount `digest` from `from` (same registry). `Mounted`, or the upload session
    /// the registry opened instead, or `Refused` for a registry that answers a mount with an
    /// error rather than the 202 the spec asks for (then a plain upload follows).
    async fn mount(
        &self,
        repository: &str,
        from: &str,
        digest: &str,
    ) -> Result<Mount, RegistryError> {
        let mut url = self.url(repository, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", from);
        // One token must cover both repositories, or a token service refuses the mount.
        let scopes = vec![Scope::push(repository), Scope::pull(from)];
        let response = self
            .send(Req::new(Method::POST, url, repository, scopes))
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => self.location(repository, &response).map(Mount::Session),
            status => {
                tracing::debug!(%status, digest, "mount refused, uploading instead");
                Ok(Mount::Refused)
            }
        }
    }

    async fn start_upload(&self, repository: &str) -> Result<Url, RegistryError> {
        let url = self.url(repository, "blobs/uploads/")?;
        let response = self
            .send(Req::new(
                Method::POST,
                url,
                repository,
                vec![Scope::push(repository)],
            ))
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            let summary = error_summary(response).await;
            return Err(self.protocol(repository, format!("starting blob upload: {summary}")));
        }
        self.location(repository, &response)
    }

    fn location(
        &self,
        repository: &str,
        response: &reqwest::Response,
    ) -> Result<Url, RegistryError> {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.protocol(repository, "upload answer without Location".into()))?;
        self.resolve(repository, location)
    }

    /// Copies blob `desc` from `source`'s `from` repository into our `repository`: nothing when
    /// present, a mount within one registry, else a streamed GET→PUT (retried whole when a
    /// transient error breaks it, since a stream cannot be replayed).
    pub(crate) async fn copy_blob(
        &self,
        repository: &str,
        source: &RegistryClient,
        from: &str,
        desc: &OciDescriptor,
    ) -> Result<BlobCopy, RegistryError> {
        if self.blob_exists(repository, &desc.digest).await? {
            return Ok(BlobCopy::Present);
        }
        let mut session = None;
        if source.registry() == self.registry() {
            match self.mount(repository, from, &desc.digest).await? {
                Mount::Mounted => return Ok(BlobCopy::Mounted),
                Mount::Session(url) => session = Some(url),
                Mount::Refused => {}
            }
        }
        let policy = self.options().retry.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let location = match session.take() {
                Some(url) => url,
                None => self.start_upload(repository).await?,
            };
            match self
                .stream_blob(repository, source, from, desc, location)
                .await
            {
                Ok(()) => return Ok(BlobCopy::Copied),
                Err(e) if e.is_transient() => match policy.next_delay(attempt, None) {
                    Some(wait) => {
                        tracing::debug!(digest = %desc.digest, ?wait, error = %e, "blob copy failed, retrying");
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }

    async fn stream_blob(
        &self,
        repository: &str,
        source: &RegistryClient,
        from: &str,
        desc: &OciDescriptor,
        location: Url,
    ) -> Result<(), RegistryError> {
        let url = source.object_url(from, "blobs", &desc.digest)?;
        let response = source
            .send(Req::new(Method::GET, url, from, vec![Scope::pull(from)]))
            .await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                repo: source.repo_name(from),
                what: format!("blob {}", desc.digest),
            });
        }
        if !status.is_success() {
            let summary = error_summary(response).await;
            return Err(source.protocol(from, format!("GET blob {}: {summary}", desc.digest)));
        }
        let length = response
            .content_length()
            .or_else(|| u64::try_from(desc.size).ok());
        let mut put = location;
        put.query_pairs_mut().append_pair("digest", &desc.digest);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if let Some(length) = length {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        let body = reqwest::Body::wrap_stream(response.bytes_stream());
        // The target checks the digest of what arrives; a corrupted stream is refused there.
        let response = self
            .send_stream(
                Method::PUT,
                put,
                repository,
                &[Scope::push(repository)],
                headers,
                body,
            )
            .await?;
        if response.status() == StatusCode::CREATED || response.status().is_success() {
            Ok(())
        } else {
            let summary = error_summary(response).await;
            Err(self.protocol(
                repository,
                format!("uploading blob {}: {summary}", desc.digest),
            ))
        }
    }

    /// Stores manifest `bytes` under `reference` (a tag or its digest); the registry's digest.
    pub(crate) async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: &bytes::Bytes,
        media_type: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = self.object_url(repository, "manifests", reference)?;
        let req = Req::new(Method::PUT, url, repository, vec![Scope::push(repository)])
            .header(header::CONTENT_TYPE, media_type)
            .body(bytes.clone());
        let response = self.send(req).await?;
        if response.status().is_success() {
            return Ok(digest_header(response.headers()));
        }
        let summary = error_summary(response).await;
        Err(self.protocol(repository, format!("PUT manifest {reference}: {summary}")))
    }

    /// Deletes the manifest `digest` (distribution deletes by digest only, and with it every
    /// tag pointing at it). Already gone counts as done.
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<(), RegistryError> {
        let url = self.object_url(repository, "manifests", digest)?;
        let response = self
            .send(Req::new(
                Method::DELETE,
                url,
                repository,
                vec![Scope::push(repository)],
            ))
            .await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => {
                let summary = error_summary(response).await;
                Err(self.protocol(repository, format!("DELETE manifest {digest}: {summary}")))
            }
        }
    }

    /// The digest `reference` points at now: HEAD, else GET and hash. `None` if absent.
    pub async fn digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        match self.head_manifest(repository, reference).await? {
            None => Ok(None),
            Some(Some(digest)) => Ok(Some(digest)),
            Some(None) => Ok(self
                .get_manifest(repository, reference)
                .await?
                .map(|m| m.digest)),
        }
    }
}
