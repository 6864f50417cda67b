//! The admin error dashboard's server functions (README: "Error log"):
//! admins only; every other signed-in person gets `forbidden`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub id: String,
    pub kind: String,
    pub sample: String,
    pub first_seen: String,
    pub last_seen: String,
    pub count: u64,
    pub state: String,
    pub daily: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRow {
    pub key: String,
    pub time: String,
    pub kind: String,
    pub message: String,
    pub endpoint: String,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminErrorsView {
    pub services: Vec<String>,
    pub service: String,
    pub from: String,
    pub to: String,
    pub days: Vec<String>,
    /// Per type, its count on each day.
    pub series: Vec<(String, Vec<u64>)>,
    pub groups: Vec<GroupRow>,
    /// The errors of `from..=to`, newest first.
    pub errors: Vec<ErrorRow>,
    pub kind: String,
    pub q: String,
    pub page: u64,
    pub has_more: bool,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetailView {
    pub key: String,
    pub service: String,
    pub kind: String,
    pub message: String,
    pub stack: String,
    pub user_id: String,
    pub correlation_id: String,
    pub timestamp: String,
    pub endpoint: String,
    pub method: String,
    pub ip_address: String,
    pub group: String,
}

#[cfg(feature = "ssr")]
async fn require_admin() -> Result<uuid::Uuid, AppError> {
    let user = super::ssr::signed_in_user().await?;
    match keyhold::flows::admin::require(user.role) {
        Ok(()) => {
            tracing::info!(target: "audit", admin = %user.id, "admin page");
            Ok(user.id)
        }
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[cfg(feature = "ssr")]
fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

#[cfg(feature = "ssr")]
fn group_row(g: keyhold::store::error_log::Group) -> GroupRow {
    GroupRow {
        id: g.id,
        kind: g.kind,
        sample: g.sample,
        first_seen: time_text(g.first_seen),
        last_seen: time_text(g.last_seen),
        count: g.count,
        state: serde_json::to_value(g.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        daily: g.daily,
    }
}

#[cfg(feature = "ssr")]
fn error_row((key, r): (String, keyhold::store::error_log::ErrorRecord)) -> ErrorRow {
    ErrorRow {
        key,
        time: r.timestamp.replace('T', " ").replace('Z', " UTC"),
        kind: r.kind,
        message: r.message,
        endpoint: r.metadata.endpoint.unwrap_or_default(),
        user: r.user_id.unwrap_or_default(),
    }
}

#[server(prefix = "/fn", endpoint = "admin-errors")]
pub async fn admin_errors(
    service: Option<String>,
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    page: Option<u64>,
) -> Result<AdminErrorsView, AppError> {
    use keyhold::flows::FlowError;
    use keyhold::flows::errors::{self, Query};
    require_admin().await?;
    let core = crate::ssr::core()?;
    let result = async {
        let days = errors::range(date.as_deref(), from.as_deref(), to.as_deref())?;
        let kind = kind.filter(|k| !k.is_empty());
        let q = q.filter(|q| !q.trim().is_empty());
        let list = errors::page(
            &core,
            Query {
                service: service.filter(|s| !s.is_empty()),
                days: days.clone(),
                kind: kind.clone(),
                q: q.clone(),
                page: page.unwrap_or(1),
            },
        )
        .await?;
        let overview = errors::overview(&core, &list.service, days).await?;
        Ok::<_, FlowError>(AdminErrorsView {
            services: list.services,
            service: list.service,
            from: list.from.to_string(),
            to: list.to.to_string(),
            days: overview.days.iter().map(|d| d.format("%m-%d").to_string()).collect(),
            series: overview.counts,
            groups: overview
                .groups
                .into_iter()
                .filter(|g| kind.as_deref().is_none_or(|k| g.kind == k))
                .map(group_row)
                .collect(),
            errors: list.records.into_iter().map(error_row).collect(),
            kind: kind.unwrap_or_default(),
            q: q.unwrap_or_default(),
            page: list.page,
            has_more: list.has_more,
            truncated: list.truncated,
        })
    }
    .await;
    match result {
        Ok(view) => Ok(view),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

/// One group of alike errors and a page of its errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorGroupView {
    pub service: String,
    pub group: GroupRow,
    /// The days `group.daily` covers.
    pub days: Vec<String>,
    pub errors: Vec<ErrorRow>,
    pub page: u64,
    pub has_more: bool,
}

#[server(prefix = "/fn", endpoint = "admin-error-group-page")]
pub async fn admin_error_group(service: String, group: String, page: Option<u64>) -> Result<ErrorGroupView, AppError> {
    use keyhold::flows::errors;
    require_admin().await?;
    let core = crate::ssr::core()?;
    let result = async {
        let days = errors::range(None, None, None)?;
        let p = errors::group_page(&core, &service, &group, &days, page.unwrap_or(1)).await?;
        Ok::<_, keyhold::flows::FlowError>(ErrorGroupView {
            service: p.group.service.clone(),
            group: group_row(p.group),
            days: days.iter().map(|d| d.format("%m-%d").to_string()).collect(),
            errors: p.records.into_iter().map(error_row).collect(),
            page: p.page,
            has_more: p.has_more,
        })
    }
    .await;
    match result {
        Ok(view) => Ok(view),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "admin-error")]
pub async fn admin_error(key: String) -> Result<ErrorDetailView, AppError> {
    require_admin().await?;
    let core = crate::ssr::core()?;
    match keyhold::flows::errors::record(&core, &key).await {
        Ok(r) => Ok(ErrorDetailView {
            group: keyhold::store::error_log::group_id(&r.service, &r.kind, &r.message),
            key,
            service: r.service,
            kind: r.kind,
            message: r.message,
            stack: r.stack.unwrap_or_default(),
            user_id: r.user_id.unwrap_or_default(),
            correlation_id: r.correlation_id.unwrap_or_default(),
            timestamp: r.timestamp,
            endpoint: r.metadata.endpoint.unwrap_or_default(),
            method: r.metadata.method.unwrap_or_default(),
            ip_address: r.metadata.ip_address.unwrap_or_default(),
        }),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "admin-error-group")]
pub async fn set_error_group(service: String, group: String, action: String, back: String) -> Result<(), AppError> {
    use keyhold::store::error_log::GroupState;
    let admin = require_admin().await?;
    let core = crate::ssr::core()?;
    let state = match action.as_str() {
        "resolve" => GroupState::Resolved,
        "ignore" => GroupState::Ignored,
        _ => GroupState::Open,
    };
    let result = keyhold::flows::errors::set_group_state(&core, admin, &service, &group, state).await;
    let to = back_to_group(&back, &group);
    super::ssr::finish(result, |_| to, super::ssr::Echo::default()).await
}

/// Back to the dashboard as it was (only a plain path under /admin/errors),
/// at the group just moved rather than at the top of the page.
#[cfg(feature = "ssr")]
fn back_to_group(back: &str, group: &str) -> String {
    const DASHBOARD: &str = "/admin/errors";
    let back = back.split('#').next().unwrap_or_default();
    // `..` would climb out from under the dashboard.
    let plain = super::ssr::is_local_path(back) && !back.split(['/', '?']).any(|segment| segment == "..");
    let under = back == DASHBOARD || back.starts_with("/admin/errors?") || back.starts_with("/admin/errors/");
    let back = if plain && under { back } else { DASHBOARD };
    let anchored = !group.is_empty() && group.chars().all(|c| c.is_ascii_alphanumeric());
    if anchored { format!("{back}#group-{group}") } else { back.to_owned() }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::back_to_group;

    #[test]
    fn a_moved_group_comes_back_to_its_place_on_the_dashboard() {
        let id = "0123456789abcdef";
        assert_eq!(
            back_to_group("/admin/errors?service=a&page=2", id),
            format!("/admin/errors?service=a&page=2#group-{id}")
        );
        assert_eq!(back_to_group("/admin/errors#top", id), format!("/admin/errors#group-{id}"));
        let group_page = format!("/admin/errors/groups/orders/{id}?page=2");
        assert_eq!(back_to_group(&group_page, id), format!("{group_page}#group-{id}"));
        for elsewhere in [
            "//evil.example",
            "https://evil.example/admin/errors",
            "/admin/errors/../../profile",
            "/admin/errors/..",
            "/admin/errors\\..\\x",
            "/admin/errors?a=1\nLocation: x",
            "/admin/errorsx",
            "",
        ] {
            assert_eq!(back_to_group(elsewhere, id), format!("/admin/errors#group-{id}"), "{elsewhere:?}");
        }
        assert_eq!(back_to_group("/admin/errors", "a b"), "/admin/errors");
        assert_eq!(back_to_group("/admin/errors", ""), "/admin/errors");
    }
}

/// The monitoring panel's figures, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorView {
    pub cache_total: (u64, u64, Option<f64>),
    pub cache_hour: (u64, u64, Option<f64>),
    pub redis: Vec<(String, String)>,
    pub keys: Vec<(String, u64)>,
    /// When the per-kind counts were taken, in words.
    pub keys_counted: String,
    pub errors_today: Vec<(String, u64)>,
}

#[server(prefix = "/fn", endpoint = "admin-monitor")]
pub async fn admin_monitor() -> Result<MonitorView, AppError> {
    require_admin().await?;
    let core = crate::ssr::core()?;
    match keyhold::flows::monitor::snapshot(&core).await {
        Ok(s) => Ok(MonitorView {
            cache_total: (s.cache_since_start.hits, s.cache_since_start.misses, s.cache_since_start.hit_rate),
            cache_hour: (s.cache_last_hour.hits, s.cache_last_hour.misses, s.cache_last_hour.hit_rate),
            redis: s.redis,
            keys: s.keys,
            keys_counted: match s.keys_counted_at {
                Some(ms) => format!("Counts per kind taken {} (every few minutes, by SCAN).", time_text(ms)),
                None => "Counts per kind: the first census has not run yet.".to_owned(),
            },
            errors_today: s.errors_today,
        }),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "admin-drop-user-cache")]
pub async fn drop_user_cache(user: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    let admin = require_admin().await?;
    let core = crate::ssr::core()?;
    let result = keyhold::flows::monitor::drop_user_cache(&core, admin, &user).await;
    finish(result, |_| "/admin?dropped=one".to_owned(), Echo::default().with("user", &user)).await
}

#[server(prefix = "/fn", endpoint = "admin-drop-all-caches")]
pub async fn drop_all_caches(confirm: Option<String>) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    use keyhold::flows::{FieldErrors, FlowError};
    let admin = require_admin().await?;
    let core = crate::ssr::core()?;
    let result = if confirm.as_deref() == Some("yes") {
        keyhold::flows::monitor::drop_all_user_caches(&core, admin).await
    } else {
        Err(FlowError::Invalid(FieldErrors::single("confirm", "Tick the box to confirm.")))
    };
    finish(result, |n| format!("/admin?dropped={n}"), Echo::default()).await
}
