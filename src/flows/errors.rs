//! The error log for others and for admins (README: "Error log"): other
//! services report errors over `POST /api/errors` in seed 003's record
//! shape; admins read a day's errors newest first, filtered and searched,
//! at a bounded cost whatever the day holds.

use super::{Core, FieldErrors, FlowError};
use crate::jwt::TokenError;
use crate::keys;
use crate::store::error_log::{ErrorMetadata, ErrorRecord, NewError};
use crate::store::rate_limit::{self, Decision};
use chrono::{NaiveDate, Utc};
use redis::AsyncCommands;
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Records one token may send per minute.
pub const INGEST_PER_MINUTE: u64 = 600;
const MAX_SLUG: usize = 40;
const MAX_MESSAGE: usize = 2_000;
const MAX_STACK: usize = 8_000;
const MAX_ID: usize = 100;
const MAX_ENDPOINT: usize = 300;

/// A record as another service sends it (seed 003's shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incoming {
    pub service: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub stack: Option<String>,
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub metadata: Option<IncomingMetadata>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncomingMetadata {
    pub endpoint: Option<String>,
    pub method: Option<String>,
    pub ip_address: Option<String>,
}

/// A key part: 1 to 40 ASCII letters, digits and dashes, lowercased.
fn slug(value: Option<&str>) -> Result<String, &'static str> {
    let v = value.unwrap_or_default().trim();
    if v.is_empty() || v.len() > MAX_SLUG || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("Use 1 to 40 letters, digits and dashes.");
    }
    Ok(v.to_ascii_lowercase())
}

/// Text kept as text (it is escaped wherever it is shown): no control
/// characters but line breaks and tabs, at most `max` characters.
fn text(value: Option<&str>, max: usize, multiline: bool) -> Result<Option<String>, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\t' | '\r'));
    if !v.chars().all(allowed) {
        return Err("Remove control characters.".to_owned());
    }
    if v.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    Ok(Some(v.to_owned()))
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Lets a sender in: the endpoint is on, the token is right (compared in
/// constant time) and within its rate. Checked before the body is read, so
/// a stranger learns nothing from the body's errors.
pub async fn admit(core: &Core, token: Option<&str>) -> Result<(), FlowError> {
    let Some(expected) = &core.settings.error_ingest_token else {
        return Err(FlowError::NotFound); // the endpoint is off
    };
    let Some(token) = token else { return Err(FlowError::Token(TokenError::Missing)) };
    // Digests first: equal length, so the comparison leaks nothing.
    if !bool::from(digest(token).ct_eq(&digest(expected.expose_secret()))) {
        return Err(FlowError::Token(TokenError::Invalid));
    }
    let counter = keys::error_ingest(token);
    if let Decision::Limited { retry_after } =
        rate_limit::attempt(&core.redis, &[(counter.as_str(), INGEST_PER_MINUTE, 60)]).await?
    {
        return Err(FlowError::Throttled { retry_after });
    }
    Ok(())
}

/// Stores a record from an admitted sender after checking every field;
/// returns the record's key.
pub async fn ingest(core: &Core, incoming: Incoming) -> Result<String, FlowError> {
    let mut errors = FieldErrors::default();
    let service = slug(incoming.service.as_deref()).map_err(|e| errors.add("service", e)).ok();
    let kind = slug(incoming.kind.as_deref()).map_err(|e| errors.add("type", e)).ok();
    let message = match text(incoming.message.as_deref(), MAX_MESSAGE, true) {
        Ok(Some(m)) => Some(m),
        Ok(None) => {
            errors.add("message", "This field is required.");
            None
        }
        Err(e) => {
            errors.add("message", e);
            None
        }
    };
    let stack = text(incoming.stack.as_deref(), MAX_STACK, true).map_err(|e| errors.add("stack", e)).ok().flatten();
    let user_id = text(incoming.user_id.as_deref(), MAX_ID, false).map_err(|e| errors.add("userId", e)).ok().flatten();
    let correlation_id = text(incoming.correlation_id.as_deref(), MAX_ID, false)
        .map_err(|e| errors.add("correlationId", e))
        .ok()
        .flatten();
    let meta = incoming.metadata.unwrap_or_default();
    let endpoint = text(meta.endpoint.as_deref(), MAX_ENDPOINT, false)
        .map_err(|e| errors.add("metadata.endpoint", e))
        .ok()
        .flatten();
    let method = match meta.method.as_deref().filter(|m| !m.is_empty()) {
        Some(m) if m.len() <= 10 && m.bytes().all(|b| b.is_ascii_alphabetic()) => Some(m.to_ascii_uppercase()),
        Some(_) => {
            errors.add("metadata.method", "Use an HTTP method, like GET.");
            None
        }
        None => None,
    };
    let ip_address = match meta.ip_address.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => match a.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                errors.add("metadata.ipAddress", "Use an IPv4 or IPv6 address.");
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    let (Some(service), Some(kind), Some(message)) = (service, kind, message) else {
        return Err(FlowError::unexpected("ingesting an error", "a field parsed without a value"));
    };
    let record = NewError {
        // `write` files it under the sender's `kind`; this one is not read.
        kind: crate::store::error_log::ErrorKind::Internal,
        message,
        stack,
        user_id,
        correlation_id,
        metadata: ErrorMetadata { endpoint, method, ip_address },
    };
    Ok(core.errors.write(&service, &kind, record, Utc::now()).await?)
}

/// What an admin asks of the log.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub service: Option<String>,
    /// The days to list, oldest first (see [`range`]); empty means today.
    pub days: Vec<NaiveDate>,
    pub kind: Option<String>,
    /// Matches a correlation id, a user id or message text.
    pub q: Option<String>,
    pub page: u64,
}

/// A page of one service's errors over some days.
#[derive(Debug, Clone)]
pub struct Page {
    /// Every service that reported errors.
    pub services: Vec<String>,
    pub service: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Key and record, newest first.
    pub records: Vec<(String, ErrorRecord)>,
    pub page: u64,
    pub has_more: bool,
    /// With a search: true when it stopped at its bound before the range's end.
    pub truncated: bool,
}

pub const PAGE_SIZE: usize = 25;
/// Entries a search reads at most, in chunks: its cost is bounded whatever
/// the range holds.
const SCAN_LIMIT: usize = 5_000;
const SCAN_CHUNK: usize = 250;
/// Days shown when a query names none: the last two weeks.
const DEFAULT_DAYS: i64 = 14;

fn matches(record: &ErrorRecord, kind: Option<&str>, q: Option<&str>) -> bool {
    if kind.is_some_and(|k| record.kind != k) {
        return false;
    }
    let Some(q) = q else { return true };
    let q = q.to_lowercase();
    record.correlation_id.as_deref() == Some(q.as_str())
        || record.user_id.as_deref().is_some_and(|u| u.to_lowercase() == q)
        || record.message.to_lowercase().contains(&q)
}

/// The days a query's `date`, or `from` and `to`, name (`YYYY-MM-DD`):
/// one day, or a range of up to 30 days, oldest first. Without any, the last
/// two weeks up to today.
pub fn range(date: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Vec<NaiveDate>, FlowError> {
    let parse = |value: Option<&str>, field: &'static str| match value.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FlowError::Invalid(FieldErrors::single(field, "Use YYYY-MM-DD."))),
        None => Ok(None),
    };
    if let Some(day) = parse(date, "date")? {
        return Ok(vec![day]);
    }
    let to = parse(to, "to")?.unwrap_or_else(|| Utc::now().date_naive());
    let from = parse(from, "from")?.unwrap_or(to - chrono::Duration::days(DEFAULT_DAYS - 1));
    days(from, to)
}

/// A page of the log over the query's days, newest first. Without a search
/// it costs four round trips whatever the days hold (the services, one
/// ZCARD per day pipelined, the ranges that make the page pipelined, and an
/// MGET); a type has its own time-ordered index, so a type filter pages the
/// same way. A search reads at most `SCAN_LIMIT` entries, in chunks.
pub async fn page(core: &Core, query: Query) -> Result<Page, FlowError> {
    let mut conn = core.redis.clone();
    let mut services: Vec<String> =
        conn.smembers(keys::ERROR_SERVICES).await.map_err(crate::store::StoreError::from)?;
    services.sort();
    let service = match query.service.as_deref().map(|s| slug(Some(s))) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(FlowError::Invalid(FieldErrors::single("service", e))),
        None => services.first().cloned().unwrap_or_else(|| core.errors.service().to_owned()),
    };
    let mut days = query.days;
    if days.is_empty() {
        days.push(Utc::now().date_naive());
    }
    let (from, to) = (days[0], days[days.len() - 1]);
    let kind = query.kind.as_deref().filter(|k| !k.is_empty());
    let timelines: Vec<String> = days
        .iter()
        .rev()
        .map(|d| match kind {
            Some(k) => keys::error_type_timeline(&service, k, *d),
            None => keys::error_timeline(&service, *d),
        })
        .collect();
    let page = query.page.max(1);
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let skip = (page as usize - 1).saturating_mul(PAGE_SIZE);

    let (records, has_more, truncated) = match q {
        None => {
            let keys = window(&mut conn, &timelines, skip, PAGE_SIZE + 1).await?;
            let has_more = keys.len() > PAGE_SIZE;
            (read(&mut conn, keys.into_iter().take(PAGE_SIZE).collect()).await?, has_more, false)
        }
        Some(q) => search(&mut conn, &timelines, kind, q, skip).await?,
    };
    Ok(Page { services, service, from, to, records, page, has_more, truncated })
}

/// Up to `want` keys after the first `skip` of some timelines read one after
/// the other (each newest first): their sizes in one pipeline, then the
/// ranges that hold the window in another.
async fn window(
    conn: &mut redis::aio::ConnectionManager,
    timelines: &[String],
    skip: usize,
    want: usize,
) -> Result<Vec<String>, FlowError> {
    let mut sizes = redis::pipe();
    for t in timelines {
        sizes.zcard(t);
    }
    let sizes: Vec<usize> = sizes.query_async(conn).await.map_err(crate::store::StoreError::from)?;
    let (mut skip, mut want) = (skip, want);
    let mut ranges = redis::pipe();
    let mut any = false;
    for (t, size) in timelines.iter().zip(sizes) {
        if want == 0 {
            break;
        }
        if skip >= size {
            skip -= size;
            continue;
        }
        let take = (size - skip).min(want);
        ranges.zrevrange(t, skip as isize, (skip + take - 1) as isize);
        (skip, want, any) = (0, want - take, true);
    }
    if !any {
        return Ok(Vec::new());
    }
    let parts: Vec<Vec<String>> = ranges.query_async(conn).await.map_err(crate::store::StoreError::from)?;
    Ok(parts.concat())
}

/// The page of matches after the first `skip`, reading the timelines newest
/// first in chunks until the page is full or `SCAN_LIMIT` entries were read.
async fn search(
    conn: &mut redis::aio::ConnectionManager,
    timelines: &[String],
    kind: Option<&str>,
    q: &str,
    skip: usize,
) -> Result<(Vec<(String, ErrorRecord)>, bool, bool), FlowError> {
    let mut records = Vec::new();
    let mut seen = 0usize;
    let mut budget = SCAN_LIMIT;
    for timeline in timelines {
        let mut offset = 0usize;
        loop {
            if budget == 0 {
                return Ok((records, false, true));
            }
            let chunk = SCAN_CHUNK.min(budget);
            let keys: Vec<String> = conn
                .zrevrange(timeline, offset as isize, (offset + chunk - 1) as isize)
                .await
                .map_err(crate::store::StoreError::from)?;
            let last = keys.len() < chunk;
            (offset, budget) = (offset + chunk, budget - chunk);
            for (key, record) in read(conn, keys).await? {
                if !matches(&record, kind, Some(q)) {
                    continue;
                }
                seen += 1;
                if seen > skip + PAGE_SIZE {
                    return Ok((records, true, false));
                }
                if seen > skip {
                    records.push((key, record));
                }
            }
            if last {
                break;
            }
        }
    }
    Ok((records, false, false))
}

/// The records behind some keys, in one MGET; expired ones are skipped.
async fn read(
    conn: &mut redis::aio::ConnectionManager,
    keys: Vec<String>,
) -> Result<Vec<(String, ErrorRecord)>, FlowError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let raws: Vec<Option<String>> = conn.mget(&keys).await.map_err(crate::store::StoreError::from)?;
    Ok(keys.into_iter().zip(raws).filter_map(|(k, raw)| serde_json::from_str(&raw?).ok().map(|r| (k, r))).collect())
}

/// The days an overview covers: `from..=to`, at most 30, newest last.
pub fn days(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, FlowError> {
    if from > to || (to - from).num_days() >= 30 {
        return Err(FlowError::Invalid(FieldErrors::single("from", "Choose a range of 1 to 30 days.")));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// Counts by type per day, and the groups, for one service.
#[derive(Debug, Clone)]
pub struct Overview {
    pub days: Vec<NaiveDate>,
    /// Per type, its count on each day.
    pub counts: Vec<(String, Vec<u64>)>,
    pub groups: Vec<crate::store::error_log::Group>,
}

/// Groups listed at most.
pub const GROUP_LIMIT: isize = 50;

/// The overview of `service` over `days`: the groups (three round trips)
/// and the day counters of the types they show (one MGET).
pub async fn overview(core: &Core, service: &str, days: Vec<NaiveDate>) -> Result<Overview, FlowError> {
    let groups = core.errors.groups(service, GROUP_LIMIT, &days).await?;
    let mut kinds: Vec<String> = groups.iter().map(|g| g.kind.clone()).collect();
    if service == core.errors.service() {
        kinds.extend(crate::store::error_log::ErrorKind::ALL.iter().map(|k| k.as_str().to_owned()));
    }
    kinds.sort();
    kinds.dedup();
    let count_keys: Vec<String> =
        kinds.iter().flat_map(|k| days.iter().map(move |d| keys::error_count(service, k, *d))).collect();
    let mut conn = core.redis.clone();
    let values: Vec<Option<u64>> = if count_keys.is_empty() {
        Vec::new()
    } else {
        conn.mget(&count_keys).await.map_err(crate::store::StoreError::from)?
    };
    let counts = kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, values[i * days.len()..(i + 1) * days.len()].iter().map(|v| v.unwrap_or(0)).collect()))
        .filter(|(_, c): &(String, Vec<u64>)| c.iter().any(|n| *n > 0))
        .collect();
    Ok(Overview { days, counts, groups })
}

/// Resolves, ignores or reopens a group; `admin` is logged with it.
pub async fn set_group_state(
    core: &Core,
    admin: uuid::Uuid,
    service: &str,
    group: &str,
    state: crate::store::error_log::GroupState,
) -> Result<(), FlowError> {
    let service = group_address(service, group)?;
    if !core.errors.set_group_state(&service, group, state).await? {
        return Err(FlowError::NotFound);
    }
    tracing::info!(target: "audit", %admin, %service, %group, ?state, "error group state changed");
    Ok(())
}

/// A group's service, checked as a key part, and its id's shape (16 hex
/// digits); anything else is not found.
fn group_address(service: &str, group: &str) -> Result<String, FlowError> {
    let service = slug(Some(service)).map_err(|_| FlowError::NotFound)?;
    if group.len() != 16 || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FlowError::NotFound);
    }
    Ok(service)
}

/// One group and a page of its errors, newest first.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub group: crate::store::error_log::Group,
    pub records: Vec<(String, ErrorRecord)>,
    pub page: u64,
    pub has_more: bool,
}

/// A group (with its counts over `days`) and a page of the errors it still
/// keeps: three round trips whatever the group holds.
pub async fn group_page(
    core: &Core,
    service: &str,
    group: &str,
    days: &[NaiveDate],
    page: u64,
) -> Result<GroupPage, FlowError> {
    let service = group_address(service, group)?;
    let found = core.errors.group(&service, group, days).await?.ok_or(FlowError::NotFound)?;
    let page = page.max(1);
    let skip = (page as usize - 1).saturating_mul(PAGE_SIZE);
    let keys = core.errors.group_errors(&service, group, skip, PAGE_SIZE + 1).await?;
    let has_more = keys.len() > PAGE_SIZE;
    let mut conn = core.redis.clone();
    let records = read(&mut conn, keys.into_iter().take(PAGE_SIZE).collect()).await?;
    Ok(GroupPage { group: found, records, page, has_more })
}

/// One record, by its key (which must be an error key).
pub async fn record(core: &Core, key: &str) -> Result<ErrorRecord, FlowError> {
    if !key.starts_with("error:") || key.starts_with("error:index:") || key.starts_with("error:count:") {
        return Err(FlowError::NotFound);
    }
    match core.errors.get(key).await? {
        Some(r) => Ok(r),
        None => Err(FlowError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_texts() {
        assert_eq!(slug(Some("User-Service")), Ok("user-service".to_owned()));
        for bad in ["", "a:b", "a b", "x".repeat(41).as_str(), "é"] {
            assert!(slug(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(text(Some("<script>alert(1)</script>"), 100, false), Ok(Some("<script>alert(1)</script>".into())));
        assert!(text(Some("a\u{0}b"), 100, true).is_err());
        assert!(text(Some("line\nbreak"), 100, false).is_err());
        assert_eq!(text(Some("line\nbreak"), 100, true), Ok(Some("line\nbreak".into())));
        assert!(text(Some(&"x".repeat(101)), 100, true).is_err());
    }
}
