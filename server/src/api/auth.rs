//! The JWT API (README: "JSON API"): tokens for programmatic clients, the
//! profile they can read, and the password purposes.

use super::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, header};
use keyhold::flows::password::{NewPassword, Proof};
use keyhold::flows::tokens::{self, TokenPair};
use keyhold::flows::{FlowError, password};
use keyhold::store::profile_cache::CachedUser;
use keyhold_app::ssr::{AppState, RequestContext};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The token in `Authorization: Bearer …`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[derive(Deserialize)]
pub struct TokenRequest {
    identifier: Option<String>,
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_expires_in: i64,
}

impl From<TokenPair> for TokenResponse {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            token_type: "Bearer",
            expires_in: p.expires_in,
            refresh_expires_in: p.refresh_expires_in,
        }
    }
}

#[derive(Serialize)]
pub struct Done {
    success: bool,
    message: &'static str,
}

type Body<T> = Result<Json<T>, JsonRejection>;

fn answer<T>(state: &AppState, ctx: &RequestContext, result: Result<T, FlowError>) -> Result<Json<T>, ApiError> {
    match result {
        Ok(value) => Ok(Json(value)),
        Err(e) => Err(ApiError::from_flow(&state.core, ctx, e)),
    }
}

/// `POST /api/auth/token`: email or username (as `identifier`, `email` or
/// `username`) and password → an access and a refresh token.
pub async fn token(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Body<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Json(body) = body?;
    let identifier = body.identifier.or(body.email).or(body.username).unwrap_or_default();
    let password = body.password.unwrap_or_default();
    let result = tokens::issue(&state.core, &identifier, &password, ctx.client_ip).await.map(TokenResponse::from);
    answer(&state, &ctx, result)
}

#[derive(Deserialize)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// `POST /api/auth/refresh`: a new pair; the old refresh token is revoked.
pub async fn refresh(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Body<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Json(body) = body?;
    let token = body.refresh_token.unwrap_or_default();
    let result = tokens::refresh(&state.core, &token).await.map(TokenResponse::from);
    answer(&state, &ctx, result)
}

/// `POST /api/auth/logout`: revokes the bearer access token and the refresh
/// token in the body.
pub async fn logout(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Option<Json<RefreshRequest>>,
) -> Result<Json<Done>, ApiError> {
    let refresh = body.and_then(|Json(b)| b.refresh_token);
    let result = tokens::logout(&state.core, bearer(&headers), refresh.as_deref())
        .await
        .map(|()| Done { success: true, message: "Logged out" });
    answer(&state, &ctx, result)
}

/// `GET /api/me`: the profile, from the `user:{userId}` cache.
pub async fn me(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
) -> Result<Json<CachedUser>, ApiError> {
    answer(&state, &ctx, tokens::me(&state.core, bearer(&headers)).await)
}

#[derive(Deserialize)]
pub struct ResetRequest {
    email: Option<String>,
    code: Option<String>,
    /// The emailed link's token, instead of the code.
    token: Option<String>,
    new_password: Option<String>,
}

/// `POST /api/auth/reset-password`: a `forgot_password` code (or the
/// emailed link's token) and the new password.
pub async fn reset_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Body<ResetRequest>,
) -> Result<Json<Done>, ApiError> {
    let Json(body) = body?;
    let new_password = body.new_password.unwrap_or_default();
    let code = body.code.unwrap_or_default();
    let proof = match body.token.as_deref() {
        Some(token) => Proof::Token(token),
        None => Proof::Code(&code),
    };
    let new = NewPassword { proof, new_password: &new_password, confirm: &new_password, client: ctx.client_ip };
    let result = password::reset(&state.core, &body.email.unwrap_or_default(), new)
        .await
        .map(|_| Done { success: true, message: "Password updated successfully" });
    answer(&state, &ctx, result)
}

#[derive(Deserialize)]
pub struct ChangeRequest {
    code: Option<String>,
    new_password: Option<String>,
}

/// `POST /api/auth/change-password` (bearer): a `change_password` code and
/// the new password. Every session and token family ends.
pub async fn change_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Body<ChangeRequest>,
) -> Result<Json<Done>, ApiError> {
    let Json(body) = body?;
    let new_password = body.new_password.unwrap_or_default();
    let result = match tokens::verify_access(&state.core, bearer(&headers)).await {
        Ok(id) => {
            let code = body.code.unwrap_or_default();
            let proof = Proof::Code(&code);
            let new = NewPassword { proof, new_password: &new_password, confirm: &new_password, client: ctx.client_ip };
            password::change(&state.core, id, new)
                .await
                .map(|_| Done { success: true, message: "Password updated successfully" })
        }
        Err(e) => Err(e),
    };
    answer(&state, &ctx, result)
}

/// For `send-code` with purpose `change_password`: the bearer's account.
pub async fn bearer_account(state: &AppState, headers: &HeaderMap) -> Result<Uuid, FlowError> {
    tokens::verify_access(&state.core, bearer(headers)).await
}
