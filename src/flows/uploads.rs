//! Uploads (README: "Uploads"), seed 000's design: the server hands out an
//! upload slot and a short-lived URL and records `upload_request:…`; the
//! client puts the bytes straight into the store (a presigned S3 URL) or
//! through Keyhold's own signed URL (the local store); complete checks the
//! object, records the file and deletes the request in one atomic step.
//! Requests never completed are left to `jobs::uploads`.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{ContentType, FileName, ObjectKey, PICTURE_TYPES, UploadKind};
use crate::objects::ObjectError;
use crate::store::uploads::{self, Completed, Limits, Opened, Slot, StoredFile};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use futures::stream::BoxStream;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use std::time::Duration;
use uuid::Uuid;

/// How long a presigned download URL works.
const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// Bytes read to recognise an image.
const SNIFF_BYTES: u64 = 32;

/// What a client asks to upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadRequest<'a> {
    pub name: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub kind: UploadKind,
}

/// Where and how to put the bytes.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub object_key: ObjectKey,
    pub upload_url: String,
    /// Headers the client must send with the `PUT`.
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

fn size_limit(core: &Core, kind: UploadKind) -> u64 {
    match kind {
        UploadKind::File => core.settings.uploads.max_bytes,
        UploadKind::Picture => core.settings.uploads.picture_max_bytes,
    }
}

/// Opens an upload request: checks the declared file against the limits,
/// records `upload_request:{user}:{key}` and hands out the URL to put it to.
pub async fn open(core: &Core, user: Uuid, request: UploadRequest<'_>) -> Result<Ticket, FlowError> {
    let (key, slot) = reserve(core, user, request, request.size).await?;
    let ttl = Duration::from_secs(core.settings.uploads.url_ttl);
    let expires_at = Utc::now() + ttl;
    let content_type = slot.content_type.as_str();
    let (upload_url, headers) = match core.objects.presigned_put(&key, content_type, ttl).await {
        Ok(Some((url, headers))) => (url.to_string(), headers),
        Ok(None) => {
            let permit = Permit::sign(core, user, &key, expires_at.timestamp());
            (permit.url(core, &key), vec![("content-type".to_owned(), content_type.to_owned())])
        }
        Err(e) => {
            // Nothing was handed out: the request need not wait for the cleanup.
            let _ = uploads::drop_request(&core.redis, user, &key).await;
            return Err(e.into());
        }
    };
    Ok(Ticket { object_key: key, upload_url, headers, expires_at })
}

/// Parses the request, checks the limits and writes the slot for `reserve`
/// bytes (the declared size; for a streamed form post, an upper bound).
async fn reserve(
    core: &Core,
    user: Uuid,
    request: UploadRequest<'_>,
    reserve: u64,
) -> Result<(ObjectKey, Slot), FlowError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", FileName::parse(request.name));
    let content_type = errors.check("content_type", ContentType::parse(request.content_type));
    if request.kind == UploadKind::Picture
        && let Some(t) = &content_type
        && !PICTURE_TYPES.contains(&t.as_str())
    {
        errors.add("file", "Choose a JPEG, PNG or WebP image.");
    }
    if request.kind == UploadKind::Picture && request.size == 0 {
        errors.add("file", "The image is empty.");
    }
    errors.into_result()?;
    let (Some(name), Some(content_type)) = (name, content_type) else {
        return Err(FlowError::unexpected("parsing an upload", "a field parsed without a value"));
    };
    let limit = size_limit(core, request.kind);
    if request.size > limit {
        return Err(FlowError::TooLarge { limit });
    }
    let settings = &core.settings.uploads;
    let started = Utc::now();
    let slot = Slot {
        name,
        size: reserve.min(limit),
        content_type,
        kind: request.kind,
        started_ms: started.timestamp_millis(),
        multipart_id: None,
        claimed: false,
    };
    let limits = Limits {
        max_open: settings.max_open,
        max_files: settings.max_files,
        quota_bytes: settings.quota_bytes,
        live_after_ms: slot.started_ms - (settings.request_max_age as i64) * 1000,
    };
    let key = ObjectKey::generate();
    match uploads::open(&core.redis, user, &key, &slot, started, limits).await? {
        Opened::Yes => Ok((key, slot)),
        Opened::TooMany => Err(FlowError::TooManyUploads { max: settings.max_open }),
        Opened::TooManyFiles => Err(FlowError::TooManyFiles { max: settings.max_files }),
        Opened::OverQuota { .. } => Err(FlowError::QuotaExceeded { quota: settings.quota_bytes }),
    }
}

/// Keyhold's own upload URL for the local store: the user, the object and
/// an expiry, signed with the app secret.
#[derive(Debug, Clone)]
pub struct Permit {
    pub user: Uuid,
    pub expires: i64,
    pub signature: String,
}

impl Permit {
    fn mac(core: &Core, user: Uuid, key: &ObjectKey, expires: i64) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(core.settings.app_secret.expose_secret().as_bytes()).ok()?;
        mac.update(format!("keyhold-upload-v1\0{user}\0{key}\0{expires}").as_bytes());
        Some(mac)
    }

    fn sign(core: &Core, user: Uuid, key: &ObjectKey, expires: i64) -> Self {
        let signature = Self::mac(core, user, key, expires)
            .map(|m| m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        Self { user, expires, signature }
    }

    fn url(&self, core: &Core, key: &ObjectKey) -> String {
        let mut url = core.settings.app_url.clone();
        url.set_path(&format!("/api/uploads/{key}/content"));
        url.query_pairs_mut()
            .append_pair("user", &self.user.to_string())
            .append_pair("expires", &self.expires.to_string())
            .append_pair("signature", &self.signature);
        url.to_string()
    }

    /// Checks the signature (in constant time) and the expiry.
    fn check(&self, core: &Core, key: &ObjectKey) -> Result<(), FlowError> {
        let signature: Option<Vec<u8>> = (self.signature.len() == 64)
            .then(|| (0..64).step_by(2).map(|i| u8::from_str_radix(self.signature.get(i..i + 2)?, 16).ok()).collect())
            .flatten();
        let valid = match (Self::mac(core, self.user, key, self.expires), signature) {
            (Some(mac), Some(sig)) => mac.verify_slice(&sig).is_ok(),
            _ => false,
        };
        if !valid {
            return Err(FlowError::UploadUrlInvalid);
        }
        if self.expires < Utc::now().timestamp() {
            return Err(FlowError::UploadExpired);
        }
        Ok(())
    }
}

/// The body of a `PUT` to Keyhold's upload URL, streamed into the store: at
/// most the declared size, never the whole file in memory.
pub async fn receive<S, E>(
    core: &Core,
    key: &ObjectKey,
    permit: &Permit,
    content_length: Option<u64>,
    body: S,
) -> Result<u64, FlowError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    permit.check(core, key)?;
    let slot = match uploads::slot(&core.redis, permit.user, key).await? {
        Some(slot) if !slot.claimed => slot,
        _ => return Err(FlowError::UploadExpired),
    };
    if content_length.is_some_and(|n| n > slot.size) {
        return Err(FlowError::TooLarge { limit: slot.size });
    }
    // The body may not outlive its URL: the cleanup, which comes later,
    // must not race a write.
    let left = Duration::from_secs(permit.expires.saturating_sub(Utc::now().timestamp()).max(1) as u64);
    let written = match tokio::time::timeout(left, write(core, permit.user, key, slot.size, body)).await {
        Ok(result) => result?,
        Err(_) => return Err(FlowError::UploadExpired),
    };
    // Cancelled or cleaned up while the bytes streamed: they must not stay.
    match uploads::slot(&core.redis, permit.user, key).await? {
        Some(slot) if !slot.claimed => Ok(written),
        _ => {
            core.objects.delete(key).await?;
            Err(FlowError::UploadExpired)
        }
    }
}

async fn write<S, E>(core: &Core, user: Uuid, key: &ObjectKey, limit: u64, body: S) -> Result<u64, FlowError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let writer = core.objects.writer(key, limit).await?;
    if let Some(id) = writer.multipart_id()
        && !uploads::note_multipart(&core.redis, user, key, id).await?
    {
        writer.abort().await;
        return Err(FlowError::UploadExpired);
    }
    Ok(core.objects.write_stream(writer, body).await?)
}

/// A file as its owner sees it.
pub type FileView = StoredFile;

/// Checks that the object is in the store as declared (size; type by
/// content for images), then records the file and deletes the request
/// atomically. Completing twice returns the same file.
pub async fn complete(core: &Core, user: Uuid, key: &ObjectKey) -> Result<FileView, FlowError> {
    let Some(slot) = uploads::slot(&core.redis, user, key).await? else {
        return match uploads::file(&core.redis, key).await? {
            Some(file) if file.user_id == user => Ok(file),
            _ => Err(FlowError::NotFound),
        };
    };
    finish(core, user, key, slot, None).await
}

/// `written`: the bytes a streamed upload wrote (its slot holds an upper bound).
async fn finish(
    core: &Core,
    user: Uuid,
    key: &ObjectKey,
    slot: Slot,
    written: Option<u64>,
) -> Result<FileView, FlowError> {
    if slot.claimed {
        return Err(FlowError::UploadExpired);
    }
    let Some(size) = core.objects.size(key).await? else {
        return Err(FlowError::UploadIncomplete);
    };
    let declared = written.unwrap_or(slot.size);
    if size != declared {
        // The client may PUT again while its URL lasts.
        core.objects.delete(key).await?;
        return Err(FlowError::SizeMismatch { declared, actual: size });
    }
    let content_type = match checked_type(core, key, &slot, size).await? {
        Some(sniffed) => sniffed,
        None => {
            core.objects.delete(key).await?;
            let accepted = match slot.kind {
                UploadKind::Picture => "JPEG, PNG or WebP",
                UploadKind::File => "an image of the declared type",
            };
            return Err(FlowError::UnsupportedType { accepted });
        }
    };
    let file = StoredFile {
        key: key.clone(),
        user_id: user,
        name: slot.name,
        size,
        content_type,
        kind: slot.kind,
        created_at: Utc::now(),
    };
    let live_after = Utc::now().timestamp_millis() - (core.settings.uploads.request_max_age as i64) * 1000;
    match uploads::complete(&core.redis, &file, live_after).await? {
        Completed::Now => {
            if file.kind == UploadKind::Picture {
                use_as_picture(core, user, &file).await?;
            }
            Ok(file)
        }
        Completed::Already => match uploads::file(&core.redis, key).await? {
            Some(file) => Ok(file),
            None => Err(FlowError::NotFound),
        },
        Completed::Missing => Err(FlowError::NotFound),
        Completed::Expired => Err(FlowError::UploadExpired),
    }
}

/// The type to record: pictures and files declared as images must be an
/// image by their first bytes (`None` when not); other files keep the
/// declared type, which downloads send with `nosniff`.
async fn checked_type(core: &Core, key: &ObjectKey, slot: &Slot, size: u64) -> Result<Option<ContentType>, FlowError> {
    let wants_image = slot.kind == UploadKind::Picture || slot.content_type.as_str().starts_with("image/");
    if !wants_image {
        return Ok(Some(slot.content_type.clone()));
    }
    let head = core.objects.first_bytes(key, size, SNIFF_BYTES).await?;
    let sniffed = infer::get(&head).map(|t| t.mime_type()).filter(|m| m.starts_with("image/"));
    let accepted = match (slot.kind, sniffed) {
        (UploadKind::Picture, Some(m)) if PICTURE_TYPES.contains(&m) => Some(m),
        (UploadKind::File, Some(m)) => Some(m),
        _ => None,
    };
    Ok(accepted.and_then(|m| ContentType::parse(m).ok()))
}

/// The public URL of a profile picture.
pub fn picture_url(key: &ObjectKey) -> String {
    format!("/pictures/{key}")
}

/// Makes a completed picture the account's, then deletes the one it
/// replaced (the swap is atomic: each old picture is deleted once).
async fn use_as_picture(core: &Core, user: Uuid, file: &StoredFile) -> Result<(), FlowError> {
    let Some(previous) = uploads::swap_picture(&core.redis, user, &picture_url(&file.key)).await? else {
        forget_picture(core, &file.key).await;
        return Err(FlowError::AccountGone);
    };
    if let Some(old) =
        previous.as_deref().and_then(|url| url.strip_prefix("/pictures/")).and_then(|k| ObjectKey::parse(k).ok())
        && old != file.key
    {
        forget_picture(core, &old).await;
    }
    Ok(())
}

/// Best effort: a picture nobody points at any more.
async fn forget_picture(core: &Core, key: &ObjectKey) {
    if let Err(e) = core.objects.delete(key).await {
        tracing::warn!(error = %e, "could not delete a replaced profile picture");
        return;
    }
    let _ = uploads::forget_file(&core.redis, key).await;
}

/// The no-JavaScript path: the browser posts the file to Keyhold, which
/// takes the same three steps (slot, streamed write, complete). The size is
/// unknown until the body ends; `upper_bound` (the request's length) is
/// reserved meanwhile.
pub async fn upload_stream<S, E>(
    core: &Core,
    user: Uuid,
    request: UploadRequest<'_>,
    upper_bound: Option<u64>,
    body: S,
) -> Result<FileView, FlowError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let limit = size_limit(core, request.kind);
    let reserve_bytes = upper_bound.unwrap_or(limit).min(limit);
    let (key, slot) = reserve(core, user, UploadRequest { size: reserve_bytes, ..request }, reserve_bytes).await?;
    match write(core, user, &key, limit, body).await {
        Ok(0) => {
            discard(core, user, &key).await;
            Err(FlowError::Invalid(FieldErrors::single("file", "Choose a file to upload.")))
        }
        Ok(written) => match finish(core, user, &key, slot, Some(written)).await {
            Ok(file) => Ok(file),
            Err(e) => {
                discard(core, user, &key).await;
                Err(e)
            }
        },
        // A store failure or a broken connection leaves the request for the
        // cleanup, as on the signed URL.
        Err(e @ (FlowError::Storage(_) | FlowError::UploadInterrupted(_))) => Err(e),
        Err(e) => {
            discard(core, user, &key).await;
            Err(e)
        }
    }
}

/// Drops a request that will not complete, and whatever it wrote.
async fn discard(core: &Core, user: Uuid, key: &ObjectKey) {
    if core.objects.delete(key).await.is_ok() {
        let _ = uploads::drop_request(&core.redis, user, key).await;
    }
}

/// Cancels an open upload: the request is dropped and any bytes deleted.
pub async fn cancel(core: &Core, user: Uuid, key: &ObjectKey) -> Result<(), FlowError> {
    match uploads::claim(&core.redis, user, key).await? {
        Some(slot) => {
            if let Some(id) = &slot.multipart_id {
                core.objects.abort_multipart(key, id).await?;
            }
            core.objects.delete(key).await?;
            uploads::drop_request(&core.redis, user, key).await?;
            Ok(())
        }
        None => Err(FlowError::NotFound),
    }
}

/// The user's files, newest first, and the bytes they hold.
pub async fn list(core: &Core, user: Uuid) -> Result<(Vec<FileView>, u64), FlowError> {
    // All of them (at most UPLOAD_MAX_FILES): every file stays in reach to be deleted.
    let limit = isize::try_from(core.settings.uploads.max_files).unwrap_or(isize::MAX);
    Ok(uploads::list(&core.redis, user, limit).await?)
}

/// How a download is served.
pub enum Download {
    /// Keyhold streams the bytes.
    Stream(FileView, BoxStream<'static, Result<Bytes, ObjectError>>),
    /// The client fetches them from a short-lived presigned URL.
    Redirect(FileView, String),
}

/// One of the user's own files; anyone else's is [`FlowError::NotFound`].
pub async fn download(core: &Core, user: Uuid, key: &ObjectKey) -> Result<Download, FlowError> {
    let file = match uploads::file(&core.redis, key).await? {
        Some(file) if file.user_id == user && file.kind == UploadKind::File => file,
        _ => return Err(FlowError::NotFound),
    };
    serve(core, file).await
}

/// A profile picture, which anyone holding its URL may see.
pub async fn picture(core: &Core, key: &ObjectKey) -> Result<Download, FlowError> {
    match uploads::file(&core.redis, key).await? {
        Some(file) if file.kind == UploadKind::Picture => serve(core, file).await,
        _ => Err(FlowError::NotFound),
    }
}

async fn serve(core: &Core, file: FileView) -> Result<Download, FlowError> {
    let disposition = attachment(&file.name);
    let presigned =
        core.objects.presigned_get(&file.key, &disposition, file.content_type.as_str(), DOWNLOAD_URL_TTL).await?;
    if let Some(url) = presigned {
        return Ok(Download::Redirect(file, url.to_string()));
    }
    match core.objects.read(&file.key).await {
        Ok(stream) => Ok(Download::Stream(file, stream)),
        Err(e) if e.is_not_found() => Err(FlowError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `Content-Disposition: attachment` with the name in ASCII and in UTF-8
/// (RFC 6266), so no name can break out of the header.
pub fn attachment(name: &FileName) -> String {
    let ascii: String = name
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = name
        .as_str()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Deletes one of the user's files: the object, then its record.
pub async fn delete(core: &Core, user: Uuid, key: &ObjectKey) -> Result<(), FlowError> {
    match uploads::file(&core.redis, key).await? {
        Some(file) if file.user_id == user && file.kind == UploadKind::File => {}
        _ => return Err(FlowError::NotFound),
    }
    core.objects.delete(key).await?;
    match uploads::delete_file(&core.redis, user, key).await? {
        Some(_) => Ok(()),
        None => Err(FlowError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_cannot_break_the_header() {
        let name = FileName::parse("a\"b;c résumé.pdf").unwrap();
        assert_eq!(
            attachment(&name),
            "attachment; filename=\"a_b;c r_sum_.pdf\"; filename*=UTF-8''a%22b%3Bc%20r%C3%A9sum%C3%A9.pdf"
        );
    }
}
