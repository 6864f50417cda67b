//! Uploads from the `/uploads` page with JavaScript: the same three steps
//! as the JSON API (slot, direct `PUT`, complete) with the session instead
//! of a bearer token. Without JavaScript the page posts a multipart form
//! to the server (`keyhold_server::files`).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One file in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    pub key: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// The list and the limits the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesView {
    pub files: Vec<FileRow>,
    pub used_bytes: u64,
    pub quota_bytes: u64,
    pub max_bytes: u64,
}

/// Where the browser puts a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTicket {
    pub key: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
impl From<keyhold::flows::uploads::FileView> for FileRow {
    fn from(f: keyhold::flows::uploads::FileView) -> Self {
        Self {
            key: f.key.to_string(),
            name: f.name.to_string(),
            size: f.size,
            content_type: f.content_type.to_string(),
            created_at: f.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[cfg(feature = "ssr")]
fn object_key(key: &str) -> Result<keyhold::domain::ObjectKey, keyhold::flows::FlowError> {
    keyhold::domain::ObjectKey::parse(key).map_err(|_| keyhold::flows::FlowError::NotFound)
}

#[server(prefix = "/fn", endpoint = "files")]
pub async fn files() -> Result<FilesView, AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    match keyhold::flows::uploads::list(&core, user.id).await {
        Ok((files, used)) => Ok(FilesView {
            files: files.into_iter().map(FileRow::from).collect(),
            used_bytes: used,
            quota_bytes: core.settings.uploads.quota_bytes,
            max_bytes: core.settings.uploads.max_bytes,
        }),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "open-upload")]
pub async fn open_upload(name: String, size: u64, content_type: String) -> Result<UploadTicket, AppError> {
    use keyhold::domain::UploadKind;
    use keyhold::flows::uploads::{self, UploadRequest};
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let request = UploadRequest { name: &name, size, content_type: &content_type, kind: UploadKind::File };
    match uploads::open(&core, user.id, request).await {
        Ok(t) => Ok(UploadTicket { key: t.object_key.to_string(), url: t.upload_url, headers: t.headers }),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "complete-upload")]
pub async fn complete_upload(key: String) -> Result<FileRow, AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let result = match object_key(&key) {
        Ok(key) => keyhold::flows::uploads::complete(&core, user.id, &key).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(file) => Ok(file.into()),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "cancel-upload")]
pub async fn cancel_upload(key: String) -> Result<(), AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let result = match object_key(&key) {
        Ok(key) => keyhold::flows::uploads::cancel(&core, user.id, &key).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}
