//! `check_current_user_uploads` (seed 000): every upload request older than
//! `UPLOAD_REQUEST_MAX_AGE` is abandoned. Its object (or open S3 multipart
//! upload) is deleted, then the request. Completed files are never touched.
//!
//! Cost: the `upload_requests` index is read by score, so a run reads only
//! the requests it expires, in batches; no KEYS, no SCAN.

use crate::domain::ObjectKey;
use crate::flows::Core;
use crate::keys;
use crate::store::error_log::{ErrorKind, NewError};
use crate::store::{StoreError, job_lock, uploads};
use std::fmt;
use uuid::Uuid;

pub const NAME: &str = "check_current_user_uploads";

/// Requests read per round trip.
const BATCH: isize = 100;
/// Renewed before each request is handled, so it only has to outlive one:
/// object_store retries a failing call for up to three minutes. A dead
/// holder frees it within this time.
const LEASE_MS: u64 = 5 * 60 * 1000;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// False when another instance held the lease: nothing was done.
    pub ran: bool,
    /// Abandoned requests removed, with whatever they left in the store.
    pub expired: usize,
    /// Open S3 multipart uploads aborted among them.
    pub multipart_aborted: usize,
    /// Requests whose object could not be deleted: kept for the next run.
    pub failed: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.ran {
            return write!(f, "{NAME}: skipped, another instance is running it");
        }
        write!(
            f,
            "{NAME}: {} abandoned upload request(s) expired ({} open multipart upload(s) aborted), {} failed",
            self.expired, self.multipart_aborted, self.failed
        )
    }
}

/// One run, under the job's lease.
pub async fn run(core: &Core) -> Result<Report, StoreError> {
    let holder = Uuid::new_v4().to_string();
    if !job_lock::acquire(&core.redis, NAME, &holder, LEASE_MS).await? {
        return Ok(Report::default());
    }
    let result = expire_abandoned(core, &holder).await;
    job_lock::release(&core.redis, NAME, &holder).await?;
    let report = result?;
    tracing::info!(
        expired = report.expired,
        multipart_aborted = report.multipart_aborted,
        failed = report.failed,
        "{NAME} finished"
    );
    Ok(report)
}

async fn expire_abandoned(core: &Core, holder: &str) -> Result<Report, StoreError> {
    let max_age_ms = (core.settings.uploads.request_max_age as i64) * 1000;
    let before = chrono::Utc::now().timestamp_millis() - max_age_ms;
    let mut report = Report { ran: true, ..Report::default() };
    loop {
        // Failed requests stay in the index; skip past them.
        let batch = uploads::started_before(&core.redis, before, report.failed as isize + BATCH).await?;
        let fresh: Vec<&String> = batch.iter().skip(report.failed).collect();
        if fresh.is_empty() {
            return Ok(report);
        }
        for request in fresh {
            if !job_lock::renew(&core.redis, NAME, holder, LEASE_MS).await? {
                // The lease ran out (Redis lost it, or a call stalled):
                // another instance may be running now, so this one stops.
                tracing::warn!("{NAME}: lost its lease, stopping early");
                return Ok(report);
            }
            expire_one(core, request, &mut report).await?;
        }
        // Every request read is now expired, failed (skipped) or removed
        // from the index, so each round moves on.
    }
}

async fn expire_one(core: &Core, request: &str, report: &mut Report) -> Result<(), StoreError> {
    let parsed = keys::parse_upload_request(request)
        .and_then(|(user, key)| Some((user.parse::<Uuid>().ok()?, ObjectKey::parse(key).ok()?)))
        // Only the exact form Keyhold writes: the scripts rebuild this key.
        .filter(|(user, key)| keys::upload_request(user, key) == request);
    let Some((user, key)) = parsed else {
        // Not a request Keyhold wrote: nothing to delete in the store.
        return uploads::forget_index_entry(&core.redis, request).await;
    };
    // From here on the request cannot complete, so deleting is safe.
    let Some(slot) = uploads::claim(&core.redis, user, &key).await? else {
        return Ok(());
    };
    let cleaned = async {
        if let Some(id) = &slot.multipart_id {
            core.objects.abort_multipart(&key, id).await?;
        }
        core.objects.delete(&key).await
    }
    .await;
    match cleaned {
        Ok(()) => {
            uploads::drop_request(&core.redis, user, &key).await?;
            report.expired += 1;
            report.multipart_aborted += usize::from(slot.multipart_id.is_some());
        }
        Err(e) => {
            report.failed += 1;
            tracing::warn!(error = %e, "{NAME}: could not delete an abandoned upload");
            let error = NewError::new(ErrorKind::Storage, format!("{NAME}: could not delete an abandoned upload"))
                .with_chain(&e);
            let mut error = error;
            error.user_id = Some(user.to_string());
            let _ = core.errors.record(error).await;
        }
    }
    Ok(())
}
