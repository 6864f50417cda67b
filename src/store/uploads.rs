//! Upload requests and completed files (README: "Redis schema").
//!
//! - `upload_request:{user_id}:{object_key}`: the start time (RFC 3339 with
//!   offset), no TTL: the cleanup expires it, as seed 000 has it.
//! - `upload_requests`: ZSET of those keys by start time (ms), so the cleanup
//!   reads only the requests it will expire.
//! - `upload_slots:{user_id}`: HASH object key → what the request allows
//!   ([`Slot`] as JSON), for limits and for completing.
//! - `file:{object_key}`: HASH of a completed file; `files:user:{user_id}`
//!   ZSET of the user's files by creation (ms); `files:usage:{user_id}` the
//!   bytes they hold.

use super::{StoreError, StoreResult, script_outcome};
use crate::domain::{ContentType, FileName, ObjectKey, UploadKind};
use crate::keys;
use chrono::{DateTime, SecondsFormat, Utc};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;
use uuid::Uuid;

static OPEN: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/upload_open.lua")));
static COMPLETE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/upload_complete.lua")));
static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/upload_claim.lua")));
static DROP: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/upload_drop.lua")));
static MULTIPART: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/upload_multipart.lua")));
static DELETE_FILE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/file_delete.lua")));

/// What an open upload request allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slot {
    pub name: FileName,
    pub size: u64,
    pub content_type: ContentType,
    pub kind: UploadKind,
    pub started_ms: i64,
    /// The S3 multipart upload a streamed upload writes into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart_id: Option<String>,
    /// Set by the cleanup: the request can no longer complete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claimed: bool,
}

/// The limits an opening request must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_open: u64,
    /// Completed and open files a user may have.
    pub max_files: u64,
    pub quota_bytes: u64,
    /// Requests started before this (ms) are abandoned: they count for nothing.
    pub live_after_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Yes,
    TooMany,
    TooManyFiles,
    OverQuota { used: u64 },
}

fn request_keys(user: Uuid, key: &ObjectKey) -> [String; 3] {
    [keys::upload_slots(user), keys::upload_request(user, key), keys::UPLOAD_REQUESTS.to_owned()]
}

/// Writes the request (`upload_request:…`, its index entry, its slot) if the
/// user is within the limits, in one atomic script.
pub async fn open(
    conn: &ConnectionManager,
    user: Uuid,
    key: &ObjectKey,
    slot: &Slot,
    started: DateTime<Utc>,
    limits: Limits,
) -> StoreResult<Opened> {
    let json = serde_json::to_string(slot).map_err(|e| StoreError::corrupt("upload slot", e.to_string()))?;
    let mut conn = conn.clone();
    let reply: (String, i64) = OPEN
        .key(&request_keys(user, key)[..])
        .key(keys::files_usage(user))
        .key(keys::files_by_user(user))
        .arg(key.as_str())
        .arg(json)
        .arg(slot.size)
        .arg(slot.started_ms)
        // The seed's value: the start time with its offset.
        .arg(started.to_rfc3339_opts(SecondsFormat::Micros, false))
        .arg(limits.live_after_ms)
        .arg(limits.max_open)
        .arg(limits.quota_bytes)
        .arg(limits.max_files)
        .invoke_async(&mut conn)
        .await?;
    script_outcome("upload_open", reply, |status, n| match status {
        "opened" => Some(Opened::Yes),
        "too_many" => Some(Opened::TooMany),
        "too_many_files" => Some(Opened::TooManyFiles),
        "quota" => Some(Opened::OverQuota { used: n.max(0) as u64 }),
        _ => None,
    })
}

/// The open request's slot, if the request still exists.
pub async fn slot(conn: &ConnectionManager, user: Uuid, key: &ObjectKey) -> StoreResult<Option<Slot>> {
    let mut conn = conn.clone();
    let raw: Option<String> = conn.hget(keys::upload_slots(user), key.as_str()).await?;
    raw.map(|r| parse_slot(&r)).transpose()
}

fn parse_slot(raw: &str) -> StoreResult<Slot> {
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt("upload slot", e.to_string()))
}

/// Notes the S3 multipart upload a streamed request writes into; false when
/// the request is gone or being cleaned up.
pub async fn note_multipart(conn: &ConnectionManager, user: Uuid, key: &ObjectKey, id: &str) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let noted: i64 = MULTIPART.key(keys::upload_slots(user)).arg(key.as_str()).arg(id).invoke_async(&mut conn).await?;
    Ok(noted == 1)
}

/// A completed file, `file:{object_key}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub key: ObjectKey,
    pub user_id: Uuid,
    pub name: FileName,
    pub size: u64,
    pub content_type: ContentType,
    pub kind: UploadKind,
    pub created_at: DateTime<Utc>,
}

impl StoredFile {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("user_id", self.user_id.to_string()),
            ("name", self.name.to_string()),
            ("size", self.size.to_string()),
            ("content_type", self.content_type.to_string()),
            ("kind", self.kind.as_str().to_owned()),
            ("created_at", self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        ]
    }

    fn from_hash(key: ObjectKey, mut h: HashMap<String, String>) -> StoreResult<Self> {
        let record = keys::file(&key);
        let mut take =
            |field: &str| h.remove(field).ok_or_else(|| StoreError::corrupt(&record, format!("no `{field}`")));
        let bad = |field: &str| StoreError::corrupt(&record, format!("invalid `{field}`"));
        Ok(Self {
            user_id: take("user_id")?.parse().map_err(|_| bad("user_id"))?,
            name: FileName::parse(&take("name")?).map_err(|_| bad("name"))?,
            size: take("size")?.parse().map_err(|_| bad("size"))?,
            content_type: ContentType::parse(&take("content_type")?).map_err(|_| bad("content_type"))?,
            kind: UploadKind::parse(&take("kind")?).ok_or_else(|| bad("kind"))?,
            created_at: DateTime::parse_from_rfc3339(&take("created_at")?).map_err(|_| bad("created_at"))?.to_utc(),
            key,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed {
    Now,
    /// Completed before, by the same user: nothing changed.
    Already,
    /// No such request (never opened, dropped, or someone else's).
    Missing,
    /// The cleanup claimed it.
    Expired,
}

/// Records the file and deletes its request in one atomic script. Files
/// are listed among the user's files; pictures are not. A request started
/// before `live_after_ms` is abandoned: it no longer completes.
pub async fn complete(conn: &ConnectionManager, file: &StoredFile, live_after_ms: i64) -> StoreResult<Completed> {
    let user = file.user_id;
    let mut conn = conn.clone();
    let mut invocation = COMPLETE.prepare_invoke();
    invocation
        .key(&request_keys(user, &file.key)[..])
        .key(keys::files_usage(user))
        .key(keys::file(&file.key))
        .key(keys::files_by_user(user))
        .arg(file.key.as_str())
        .arg(file.created_at.timestamp_millis())
        .arg(user.to_string())
        .arg(if file.kind == UploadKind::File { "1" } else { "0" })
        .arg(file.size)
        .arg(live_after_ms);
    for (field, value) in file.fields() {
        invocation.arg(field).arg(value);
    }
    let reply: (String, i64) = invocation.invoke_async(&mut conn).await?;
    script_outcome("upload_complete", reply, |status, _| match status {
        "completed" => Some(Completed::Now),
        "done" => Some(Completed::Already),
        "missing" => Some(Completed::Missing),
        "expired" => Some(Completed::Expired),
        _ => None,
    })
}

/// Marks a request as being cleaned up; its slot, or `None` when the request
/// no longer exists.
pub async fn claim(conn: &ConnectionManager, user: Uuid, key: &ObjectKey) -> StoreResult<Option<Slot>> {
    let mut conn = conn.clone();
    let (status, raw): (String, String) =
        CLAIM.key(&request_keys(user, key)[..]).arg(key.as_str()).invoke_async(&mut conn).await?;
    match status.as_str() {
        "claimed" => parse_slot(&raw).map(Some),
        "gone" => Ok(None),
        _ => Err(StoreError::UnknownStatus { script: "upload_claim", status }),
    }
}

/// Forgets a request (cancelled, or cleaned up); whether it existed.
pub async fn drop_request(conn: &ConnectionManager, user: Uuid, key: &ObjectKey) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let reply: (String, i64) = DROP.key(&request_keys(user, key)[..]).arg(key.as_str()).invoke_async(&mut conn).await?;
    script_outcome("upload_drop", reply, |status, _| match status {
        "dropped" => Some(true),
        "gone" => Some(false),
        _ => None,
    })
}

/// Up to `limit` request keys started before `before_ms`, oldest first.
pub async fn started_before(conn: &ConnectionManager, before_ms: i64, limit: isize) -> StoreResult<Vec<String>> {
    let mut conn = conn.clone();
    Ok(conn.zrangebyscore_limit(keys::UPLOAD_REQUESTS, "-inf", format!("({before_ms}"), 0, limit).await?)
}

/// Removes an index entry that names no request of the expected shape.
pub async fn forget_index_entry(conn: &ConnectionManager, request_key: &str) -> StoreResult<()> {
    let mut conn = conn.clone();
    let _: i64 = conn.zrem(keys::UPLOAD_REQUESTS, request_key).await?;
    Ok(())
}

/// A completed file, whoever owns it.
pub async fn file(conn: &ConnectionManager, key: &ObjectKey) -> StoreResult<Option<StoredFile>> {
    let mut conn = conn.clone();
    let h: HashMap<String, String> = conn.hgetall(keys::file(key)).await?;
    if h.is_empty() {
        return Ok(None);
    }
    StoredFile::from_hash(key.clone(), h).map(Some)
}

/// A page of the user's files, newest first, and the bytes they hold.
pub async fn list(conn: &ConnectionManager, user: Uuid, limit: isize) -> StoreResult<(Vec<StoredFile>, u64)> {
    let mut conn = conn.clone();
    let (members, usage): (Vec<String>, Option<u64>) = redis::pipe()
        .zrevrange(keys::files_by_user(user), 0, limit - 1)
        .get(keys::files_usage(user))
        .query_async(&mut conn)
        .await?;
    let keys: Vec<ObjectKey> = members.iter().filter_map(|m| ObjectKey::parse(m).ok()).collect();
    if keys.is_empty() {
        return Ok((Vec::new(), usage.unwrap_or(0)));
    }
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.hgetall(keys::file(key));
    }
    let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
    let mut files = Vec::with_capacity(keys.len());
    for (key, h) in keys.into_iter().zip(hashes) {
        // A record deleted between the two reads is simply not listed.
        if !h.is_empty() {
            files.push(StoredFile::from_hash(key, h)?);
        }
    }
    Ok((files, usage.unwrap_or(0)))
}

/// Forgets one of the user's files; its size, or `None` when it is not theirs.
pub async fn delete_file(conn: &ConnectionManager, user: Uuid, key: &ObjectKey) -> StoreResult<Option<u64>> {
    let mut conn = conn.clone();
    let reply: (String, i64) = DELETE_FILE
        .key(keys::file(key))
        .key(keys::files_by_user(user))
        .key(keys::files_usage(user))
        .arg(key.as_str())
        .arg(user.to_string())
        .invoke_async(&mut conn)
        .await?;
    script_outcome("file_delete", reply, |status, n| match status {
        "deleted" => Some(Some(n.max(0) as u64)),
        "missing" => Some(None),
        _ => None,
    })
}

/// Forgets a file record outright (a replaced profile picture).
pub async fn forget_file(conn: &ConnectionManager, key: &ObjectKey) -> StoreResult<()> {
    let mut conn = conn.clone();
    let _: i64 = conn.del(keys::file(key)).await?;
    Ok(())
}

static SWAP_PICTURE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/picture_swap.lua")));

/// Points the account at a new picture URL and drops its cache entry;
/// returns the URL it replaces, atomically, so each replaced picture is
/// deleted exactly once. `None` when the account does not exist.
pub async fn swap_picture(conn: &ConnectionManager, user: Uuid, url: &str) -> StoreResult<Option<Option<String>>> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let mut conn = conn.clone();
    let (status, old): (String, String) = SWAP_PICTURE
        .key(keys::account(user))
        .key(keys::user_cache(user))
        .arg(url)
        .arg(now)
        .invoke_async(&mut conn)
        .await?;
    match status.as_str() {
        "swapped" => Ok(Some(Some(old).filter(|o| !o.is_empty()))),
        "gone" => Ok(None),
        _ => Err(StoreError::UnknownStatus { script: "picture_swap", status }),
    }
}
