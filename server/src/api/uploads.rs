//! Uploads over the JSON API (README: "Uploads"): slot → direct `PUT` →
//! complete, then list, download and delete. Every route but the `PUT`
//! takes a bearer token; the `PUT` carries its own signed, expiring permit.

use super::{ApiError, caller, fail};
use crate::files;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::SecondsFormat;
use keyhold::domain::{ObjectKey, UploadKind};
use keyhold::flows::uploads::{self, FileView, Permit, Ticket, UploadRequest};
use keyhold::flows::{FieldErrors, FlowError};
use keyhold_app::ssr::{AppState, RequestContext};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Deserialize)]
pub struct OpenRequest {
    name: Option<String>,
    size: Option<u64>,
    content_type: Option<String>,
    /// `file` (default) or `picture`.
    kind: Option<String>,
}

#[derive(Serialize)]
pub struct TicketBody {
    object_key: String,
    upload_url: String,
    method: &'static str,
    headers: BTreeMap<String, String>,
    expires_at: String,
}

impl From<Ticket> for TicketBody {
    fn from(t: Ticket) -> Self {
        Self {
            object_key: t.object_key.to_string(),
            upload_url: t.upload_url,
            method: "PUT",
            headers: t.headers.into_iter().collect(),
            expires_at: t.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

#[derive(Serialize)]
pub struct FileBody {
    object_key: String,
    name: String,
    size: u64,
    content_type: String,
    kind: &'static str,
    created_at: String,
    url: String,
}

impl From<FileView> for FileBody {
    fn from(f: FileView) -> Self {
        let url = match f.kind {
            UploadKind::File => format!("/api/uploads/{}", f.key),
            UploadKind::Picture => uploads::picture_url(&f.key),
        };
        Self {
            object_key: f.key.to_string(),
            name: f.name.to_string(),
            size: f.size,
            content_type: f.content_type.to_string(),
            kind: f.kind.as_str(),
            created_at: f.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            url,
        }
    }
}

#[derive(Serialize)]
pub struct ListBody {
    files: Vec<FileBody>,
    used_bytes: u64,
    quota_bytes: u64,
}

/// An object key from the path; a malformed one is as absent as a missing one.
fn object_key(raw: &str) -> Result<ObjectKey, ApiError> {
    ObjectKey::parse(raw).map_err(|_| ApiError::plain(FlowError::NotFound))
}

/// The bearer's id and the object key in the path.
async fn caller_and_key(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    raw: &str,
) -> Result<(Uuid, ObjectKey), ApiError> {
    Ok((caller(state, ctx, headers).await?, object_key(raw)?))
}

/// The flow's answer, or its failure through the one mapping.
fn respond<T>(state: &AppState, ctx: &RequestContext, result: Result<T, FlowError>) -> Result<T, ApiError> {
    result.map_err(|e| fail(state, ctx, e))
}

/// `POST /api/uploads`: `{"name","size","content_type"}` → 201 and where to `PUT` the bytes.
pub async fn open(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Result<Json<OpenRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketBody>), ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let Json(body) = body?;
    let kind = match body.kind.as_deref() {
        None => UploadKind::File,
        Some(k) => UploadKind::parse(k).ok_or_else(|| {
            ApiError::plain(FlowError::Invalid(FieldErrors::single("kind", "Use `file` or `picture`.")))
        })?,
    };
    let Some(size) = body.size else {
        return Err(ApiError::plain(FlowError::Invalid(FieldErrors::single("size", "Give the file's size in bytes."))));
    };
    let request = UploadRequest {
        name: body.name.as_deref().unwrap_or_default(),
        size,
        content_type: body.content_type.as_deref().unwrap_or_default(),
        kind,
    };
    let ticket = respond(&state, &ctx, uploads::open(&state.core, user, request).await)?;
    Ok((StatusCode::CREATED, Json(ticket.into())))
}

#[derive(Deserialize)]
pub struct PermitQuery {
    user: Uuid,
    expires: i64,
    signature: String,
}

/// `PUT /api/uploads/{object_key}/content?user&expires&signature`: the
/// local store's upload URL. The body streams into the store.
pub async fn put_content(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(key): Path<String>,
    query: Result<Query<PermitQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let key = object_key(&key)?;
    let Ok(Query(q)) = query else {
        return Err(ApiError::plain(FlowError::UploadUrlInvalid));
    };
    let permit = Permit { user: q.user, expires: q.expires, signature: q.signature };
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let result = uploads::receive(&state.core, &key, &permit, length, body.into_data_stream()).await;
    respond(&state, &ctx, result).map(|_| StatusCode::NO_CONTENT)
}

/// `POST /api/uploads/{object_key}/complete`: records the file once its
/// bytes are in the store. Completing again returns the same file.
pub async fn complete(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Json<FileBody>, ApiError> {
    let (user, key) = caller_and_key(&state, &ctx, &headers, &key).await?;
    respond(&state, &ctx, uploads::complete(&state.core, user, &key).await).map(|f| Json(f.into()))
}

/// `POST /api/uploads/{object_key}/cancel`: drops an open upload.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (user, key) = caller_and_key(&state, &ctx, &headers, &key).await?;
    respond(&state, &ctx, uploads::cancel(&state.core, user, &key).await).map(|()| StatusCode::NO_CONTENT)
}

/// `GET /api/uploads`: the caller's files, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
) -> Result<Json<ListBody>, ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let (files, used) = respond(&state, &ctx, uploads::list(&state.core, user).await)?;
    Ok(Json(ListBody {
        files: files.into_iter().map(FileBody::from).collect(),
        used_bytes: used,
        quota_bytes: state.core.settings.uploads.quota_bytes,
    }))
}

/// `GET /api/uploads/{object_key}`: downloads one of the caller's files.
pub async fn download(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (user, key) = caller_and_key(&state, &ctx, &headers, &key).await?;
    respond(&state, &ctx, uploads::download(&state.core, user, &key).await).map(files::attachment_response)
}

/// `DELETE /api/uploads/{object_key}`: removes the file and its object.
pub async fn delete(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (user, key) = caller_and_key(&state, &ctx, &headers, &key).await?;
    respond(&state, &ctx, uploads::delete(&state.core, user, &key).await).map(|()| StatusCode::NO_CONTENT)
}
