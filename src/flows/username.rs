//! The username availability check, limited per client IP.

use super::{Core, FieldErrors, FlowError};
use crate::domain::Username;
use crate::keys;
use crate::store::{accounts, rate_limit};
use std::net::IpAddr;

/// Whether `username` is free. Counts against `username_status_req:{ip}`.
pub async fn is_available(core: &Core, username: &str, ip: IpAddr) -> Result<bool, FlowError> {
    let limits = &core.settings.limits;
    let decision = rate_limit::hit(
        &core.redis,
        &keys::username_status_req(ip),
        limits.username_status_max,
        limits.username_status_window,
    )
    .await?;
    if let rate_limit::Decision::Limited { retry_after } = decision {
        return Err(FlowError::Throttled { retry_after });
    }
    let username = Username::parse(username).map_err(|e| FlowError::Invalid(FieldErrors::single("username", e)))?;
    Ok(accounts::username_available(&core.redis, &username).await?)
}
