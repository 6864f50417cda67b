//! The error log over the API (README: "Error log"): other services report
//! errors with `ERROR_INGEST_TOKEN`; admins (session cookie or bearer token)
//! read them.

use super::auth::bearer;
use super::{ApiError, fail};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use keyhold::flows::errors::{self, Incoming};
use keyhold::flows::{FlowError, admin, tokens};
use keyhold::store::error_log::ErrorRecord;
use keyhold_app::auth::AuthSession;
use keyhold_app::ssr::{AppState, RequestContext};
use serde::{Deserialize, Serialize};

/// The largest record `POST /api/errors` takes.
pub const INGEST_BODY_LIMIT: usize = 32 * 1024;

/// The caller if an admin: by bearer token, else by session. Anonymous →
/// 401, anyone else → 403. Every admin request is logged.
async fn require_admin(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    auth: &AuthSession,
) -> Result<uuid::Uuid, ApiError> {
    let result = async {
        let (id, role) = match (bearer(headers), &auth.user) {
            (Some(_), _) | (None, None) => {
                let id = tokens::verify_access(&state.core, bearer(headers)).await?;
                (id, admin::role_of(&state.core, id).await?)
            }
            (None, Some(user)) => (user.id, user.role),
        };
        admin::require(role)?;
        tracing::info!(target: "audit", admin = %id, path = %ctx.path, "admin request");
        Ok(id)
    }
    .await;
    result.map_err(|e| fail(state, ctx, e))
}

/// `POST /api/errors` (`Authorization: Bearer $ERROR_INGEST_TOKEN`): 201 and
/// the record's key.
pub async fn ingest(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Result<Json<Incoming>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    errors::admit(&state.core, bearer(&headers)).await.map_err(|e| fail(&state, &ctx, e))?;
    let incoming = match body {
        Ok(Json(b)) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::plain(FlowError::BodyTooLarge { limit: INGEST_BODY_LIMIT as u64 }));
        }
        Err(rejection) => return Err(ApiError::from(rejection)),
    };
    match errors::ingest(&state.core, incoming).await {
        Ok(key) => Ok((StatusCode::CREATED, Json(serde_json::json!({"success": true, "key": key})))),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    service: Option<String>,
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    q: Option<String>,
    page: Option<u64>,
}

#[derive(Serialize)]
pub struct ListBody {
    services: Vec<String>,
    service: String,
    from: String,
    to: String,
    page: u64,
    has_more: bool,
    truncated: bool,
    errors: Vec<Row>,
}

#[derive(Serialize)]
pub struct Row {
    key: String,
    #[serde(flatten)]
    record: ErrorRecord,
}

/// `GET /api/admin/errors?service&date|from&to&type&q&page`: a page of the
/// errors of a day or a range (the last two weeks by default), newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    auth: AuthSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ListBody>, ApiError> {
    require_admin(&state, &ctx, &headers, &auth).await?;
    let Query(q) = query?;
    let days = errors::range(q.date.as_deref(), q.from.as_deref(), q.to.as_deref()).map_err(ApiError::plain)?;
    let query = errors::Query { service: q.service, days, kind: q.kind, q: q.q, page: q.page.unwrap_or(1) };
    match errors::page(&state.core, query).await {
        Ok(p) => Ok(Json(ListBody {
            services: p.services,
            service: p.service,
            from: p.from.to_string(),
            to: p.to.to_string(),
            page: p.page,
            has_more: p.has_more,
            truncated: p.truncated,
            errors: p.records.into_iter().map(|(key, record)| Row { key, record }).collect(),
        })),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

/// `GET /api/admin/errors/{key}`: one whole record.
pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    auth: AuthSession,
    Path(key): Path<String>,
) -> Result<Json<ErrorRecord>, ApiError> {
    require_admin(&state, &ctx, &headers, &auth).await?;
    errors::record(&state.core, &key).await.map(Json).map_err(|e| fail(&state, &ctx, e))
}

#[derive(Deserialize)]
pub struct GroupsQuery {
    service: Option<String>,
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Serialize)]
pub struct GroupsBody {
    service: String,
    days: Vec<String>,
    /// Per type, its count on each of `days`.
    counts: std::collections::BTreeMap<String, Vec<u64>>,
    groups: Vec<keyhold::store::error_log::Group>,
}

/// `GET /api/admin/errors/groups?service&date|from&to&type`: groups of alike
/// errors (first and last seen, count, per-day counts, state) and the
/// counts by type per day.
pub async fn groups(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    auth: AuthSession,
    query: Result<Query<GroupsQuery>, QueryRejection>,
) -> Result<Json<GroupsBody>, ApiError> {
    require_admin(&state, &ctx, &headers, &auth).await?;
    let Query(q) = query?;
    let days = errors::range(q.date.as_deref(), q.from.as_deref(), q.to.as_deref()).map_err(ApiError::plain)?;
    let service = q.service.unwrap_or_else(|| state.core.errors.service().to_owned());
    let result = errors::overview(&state.core, &service, days).await;
    match result {
        Ok(o) => Ok(Json(GroupsBody {
            service,
            days: o.days.iter().map(ToString::to_string).collect(),
            counts: o.counts.into_iter().collect(),
            groups: o.groups.into_iter().filter(|g| q.kind.as_deref().is_none_or(|k| g.kind == k)).collect(),
        })),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

#[derive(Deserialize)]
pub struct GroupQuery {
    date: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
}

#[derive(Serialize)]
pub struct GroupBody {
    group: keyhold::store::error_log::Group,
    page: u64,
    has_more: bool,
    errors: Vec<Row>,
}

/// `GET /api/admin/errors/groups/{service}/{group}?date|from&to&page`: one
/// group (its daily counts over the days) and a page of its errors.
pub async fn group(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    auth: AuthSession,
    Path((service, group)): Path<(String, String)>,
    query: Result<Query<GroupQuery>, QueryRejection>,
) -> Result<Json<GroupBody>, ApiError> {
    require_admin(&state, &ctx, &headers, &auth).await?;
    let Query(q) = query?;
    let days = errors::range(q.date.as_deref(), q.from.as_deref(), q.to.as_deref()).map_err(ApiError::plain)?;
    match errors::group_page(&state.core, &service, &group, &days, q.page.unwrap_or(1)).await {
        Ok(p) => Ok(Json(GroupBody {
            group: p.group,
            page: p.page,
            has_more: p.has_more,
            errors: p.records.into_iter().map(|(key, record)| Row { key, record }).collect(),
        })),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

/// `POST /api/admin/errors/groups/{service}/{group}/{resolve|ignore|reopen}`.
pub async fn group_action(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    auth: AuthSession,
    Path((service, group, action)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    use keyhold::store::error_log::GroupState;
    let admin = require_admin(&state, &ctx, &headers, &auth).await?;
    let target = match action.as_str() {
        "resolve" => GroupState::Resolved,
        "ignore" => GroupState::Ignored,
        "reopen" => GroupState::Open,
        _ => return Err(ApiError::plain(FlowError::NotFound)),
    };
    match errors::set_group_state(&state.core, admin, &service, &group, target).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}
