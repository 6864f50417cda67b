//! `count_keys`: the key census behind the monitoring panel's "keys per
//! kind". Every `KEY_CENSUS_INTERVAL` one instance walks the keyspace with
//! SCAN and stores the counts in `stats:keys`; the panel reads that HASH.
//!
//! Cost: one SCAN round trip per thousand keys, off the request path.

use crate::flows::Core;
use crate::store::key_census::{self, Census};
use crate::store::{StoreError, job_lock};
use std::fmt;
use uuid::Uuid;

pub const NAME: &str = "count_keys";

/// Longer than a census of tens of millions of keys takes.
const LEASE_MS: u64 = 10 * 60 * 1000;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// False when another instance held the lease: nothing was done.
    pub ran: bool,
    pub census: Census,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.ran {
            return write!(f, "{NAME}: skipped, another instance is running it");
        }
        write!(f, "{NAME}: {} key(s)", self.census.total)?;
        for (kind, n) in &self.census.counts {
            write!(f, ", {} {n}", kind.field())?;
        }
        Ok(())
    }
}

/// One census, under the job's lease.
pub async fn run(core: &Core) -> Result<Report, StoreError> {
    let holder = Uuid::new_v4().to_string();
    if !job_lock::acquire(&core.redis, NAME, &holder, LEASE_MS).await? {
        return Ok(Report::default());
    }
    let result = async {
        let census = key_census::count(&core.redis).await?;
        key_census::save(&core.redis, &census).await?;
        Ok::<_, StoreError>(census)
    }
    .await;
    job_lock::release(&core.redis, NAME, &holder).await?;
    let census = result?;
    tracing::info!(total = census.total, "{NAME} finished");
    Ok(Report { ran: true, census })
}
