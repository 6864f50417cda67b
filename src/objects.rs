//! Object storage through the `object_store` crate: a local directory or any
//! S3-compatible service. Objects live under `uploads/{object_key}`; what
//! they are and whose is kept in Redis (`store::uploads`).
//!
//! Bytes always stream: a write holds at most a few parts in memory, a read
//! hands out the store's own stream.

use crate::config::ObjectStoreSettings;
use crate::domain::ObjectKey;
use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, WriteMultipart};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Parts of a local write; at most [`LOCAL_PARTS_IN_FLIGHT`] wait to be written.
const LOCAL_PART: usize = 1 << 20;
const LOCAL_PARTS_IN_FLIGHT: usize = 4;
/// Parts of an S3 multipart upload (S3 wants at least 5 MiB but the last).
const S3_PART: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the store refused or did not answer")]
    Store(#[from] object_store::Error),
    #[error("more than the {limit} bytes allowed")]
    TooLarge { limit: u64 },
    #[error("the upload's body broke off")]
    Interrupted(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("object storage could not be set up: {0}")]
    Setup(String),
}

impl ObjectError {
    /// The store answered "no such object".
    pub fn is_not_found(&self) -> bool {
        matches!(self, ObjectError::Store(object_store::Error::NotFound { .. }))
    }
}

#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Local,
    /// Kept typed for what only S3 has: presigned URLs, explicit multipart uploads.
    S3(Arc<AmazonS3>),
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Local => "Objects(local)",
            Backend::S3(_) => "Objects(s3)",
        })
    }
}

impl Objects {
    pub fn connect(settings: &ObjectStoreSettings) -> Result<Self, ObjectError> {
        match settings {
            ObjectStoreSettings::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| ObjectError::Setup(format!("cannot create {}: {e}", root.display())))?;
                let store = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
                Ok(Self { store: Arc::new(store), backend: Backend::Local })
            }
            ObjectStoreSettings::S3 { bucket, endpoint, region, access_key_id, secret_access_key, session_token } => {
                // object_store's HTTP client uses rustls with the process's
                // provider; ring is the one Keyhold builds with.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_region(region);
                if let Some(endpoint) = endpoint {
                    let endpoint = endpoint.as_str().trim_end_matches('/');
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_client_options(ClientOptions::new().with_allow_http(endpoint.starts_with("http://")));
                }
                if let Some(id) = access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose_secret());
                }
                if let Some(token) = session_token {
                    builder = builder.with_token(token.expose_secret());
                }
                let s3 = Arc::new(builder.build()?);
                Ok(Self { store: s3.clone(), backend: Backend::S3(s3) })
            }
        }
    }

    fn path(key: &ObjectKey) -> Path {
        Path::from(format!("uploads/{key}"))
    }

    /// Starts a streamed write of `key`, refusing more than `limit` bytes.
    pub async fn writer(&self, key: &ObjectKey, limit: u64) -> Result<Writer, ObjectError> {
        let path = Self::path(key);
        let inner = match &self.backend {
            Backend::Local => {
                let upload = self.store.put_multipart(&path).await?;
                Inner::Local(WriteMultipart::new_with_chunk_size(upload, LOCAL_PART))
            }
            Backend::S3(s3) => {
                let id = s3.create_multipart(&path).await?;
                Inner::S3 { s3: s3.clone(), path, id, parts: Vec::new(), buffer: BytesMut::new() }
            }
        };
        Ok(Writer { inner, written: 0, limit })
    }

    /// Streams `body` into `key`; on any failure nothing is left behind.
    pub async fn write_stream<S, E>(&self, mut writer: Writer, body: S) -> Result<u64, ObjectError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let result = match chunk {
                Ok(bytes) => writer.put(bytes).await,
                Err(e) => Err(ObjectError::Interrupted(Box::new(e))),
            };
            if let Err(e) = result {
                writer.abort().await;
                return Err(e);
            }
        }
        writer.finish().await
    }

    /// The object's size, `None` when there is no such object.
    pub async fn size(&self, key: &ObjectKey) -> Result<Option<u64>, ObjectError> {
        match self.store.head(&Self::path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Up to `n` bytes from the start of the object (for type sniffing).
    pub async fn first_bytes(&self, key: &ObjectKey, size: u64, n: u64) -> Result<Bytes, ObjectError> {
        if size == 0 {
            return Ok(Bytes::new());
        }
        Ok(self.store.get_range(&Self::path(key), 0..n.min(size)).await?)
    }

    /// The object's bytes as a stream.
    pub async fn read(&self, key: &ObjectKey) -> Result<BoxStream<'static, Result<Bytes, ObjectError>>, ObjectError> {
        let result = self.store.get(&Self::path(key)).await?;
        Ok(result.into_stream().map_err(ObjectError::from).boxed())
    }

    /// Deletes the object; an object that is not there is no error.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), ObjectError> {
        match self.store.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends an S3 multipart upload left open (its parts cost storage until then).
    pub async fn abort_multipart(&self, key: &ObjectKey, id: &str) -> Result<(), ObjectError> {
        match &self.backend {
            Backend::S3(s3) => match s3.abort_multipart(&Self::path(key), &id.to_owned()).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
            Backend::Local => Ok(()),
        }
    }

    /// A presigned S3 `PUT` of `content_type` that only creates: `If-None-Match:
    /// *` is signed, so once complete checked the object, the URL cannot
    /// replace it. S3 cannot be made to check a presigned length; complete
    /// does. `None` for the local store, whose uploads go through Keyhold.
    pub async fn presigned_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        ttl: Duration,
    ) -> Result<Option<(Url, Vec<(String, String)>)>, ObjectError> {
        let Backend::S3(s3) = &self.backend else { return Ok(None) };
        let headers =
            vec![("content-type".to_owned(), content_type.to_owned()), ("if-none-match".to_owned(), "*".to_owned())];
        let mut options = SignedUrlOptions::new();
        for (name, value) in &headers {
            let (Ok(name), Ok(value)) = (name.parse(), value.parse()) else {
                return Err(ObjectError::Setup(format!("unsignable header {name}")));
            };
            options = options.with_signed_header(name, value);
        }
        let url = s3.signed_url_opts(reqwest::Method::PUT, &Self::path(key), ttl, &options).await?;
        Ok(Some((url, headers)))
    }

    /// A presigned S3 `GET` that downloads as an attachment named `file_name`.
    pub async fn presigned_get(
        &self,
        key: &ObjectKey,
        disposition: &str,
        content_type: &str,
        ttl: Duration,
    ) -> Result<Option<Url>, ObjectError> {
        let Backend::S3(s3) = &self.backend else { return Ok(None) };
        let options = SignedUrlOptions::new()
            .with_query([("response-content-disposition", disposition), ("response-content-type", content_type)]);
        Ok(Some(s3.signed_url_opts(reqwest::Method::GET, &Self::path(key), ttl, &options).await?))
    }
}

/// A write in progress; see [`Objects::writer`].
pub struct Writer {
    inner: Inner,
    written: u64,
    limit: u64,
}

enum Inner {
    Local(WriteMultipart),
    S3 { s3: Arc<AmazonS3>, path: Path, id: String, parts: Vec<PartId>, buffer: BytesMut },
}

impl Writer {
    /// The S3 multipart upload's id, to be recorded so an abandoned upload
    /// can be aborted by the cleanup.
    pub fn multipart_id(&self) -> Option<&str> {
        match &self.inner {
            Inner::S3 { id, .. } => Some(id),
            Inner::Local(_) => None,
        }
    }

    pub async fn put(&mut self, bytes: Bytes) -> Result<(), ObjectError> {
        self.written += bytes.len() as u64;
        if self.written > self.limit {
            return Err(ObjectError::TooLarge { limit: self.limit });
        }
        match &mut self.inner {
            Inner::Local(upload) => {
                upload.wait_for_capacity(LOCAL_PARTS_IN_FLIGHT).await?;
                upload.put(bytes);
            }
            Inner::S3 { s3, path, id, parts, buffer } => {
                buffer.extend_from_slice(&bytes);
                if buffer.len() >= S3_PART {
                    let part = buffer.split().freeze();
                    parts.push(s3.put_part(path, id, parts.len(), part.into()).await?);
                }
            }
        }
        Ok(())
    }

    pub async fn finish(self) -> Result<u64, ObjectError> {
        let written = self.written;
        match self.inner {
            Inner::Local(upload) => {
                upload.finish().await?;
            }
            Inner::S3 { s3, path, id, mut parts, buffer } => {
                let result = async {
                    if !buffer.is_empty() || parts.is_empty() {
                        parts.push(s3.put_part(&path, &id, parts.len(), buffer.freeze().into()).await?);
                    }
                    s3.complete_multipart(&path, &id, parts).await
                }
                .await;
                if let Err(e) = result {
                    let _ = s3.abort_multipart(&path, &id).await;
                    return Err(e.into());
                }
            }
        }
        Ok(written)
    }

    pub async fn abort(self) {
        match self.inner {
            Inner::Local(upload) => {
                let _ = upload.abort().await;
            }
            Inner::S3 { s3, path, id, .. } => {
                let _ = s3.abort_multipart(&path, &id).await;
            }
        }
    }
}
