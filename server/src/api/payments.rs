//! Payments over the JSON API (README: "Payments"): create with an
//! `Idempotency-Key`, list by role, read one, refund, and the provider's
//! signed webhook.

use super::{ApiError, caller, fail};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use keyhold::flows::FlowError;
use keyhold::flows::payments::{self, AmountInput, NewPayment};
use keyhold::store::payments::{Payment, Role};
use keyhold_app::ssr::{AppState, RequestContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// An amount as typed (`"12.50"`) or in minor units (`1250`).
fn amount(value: &Value) -> AmountInput<'_> {
    match value {
        Value::String(s) => AmountInput::Typed(s),
        Value::Number(n) => match n.as_u64() {
            Some(minor) => AmountInput::Minor(minor),
            None if n.as_f64().is_some_and(|f| f < 0.0) => AmountInput::Typed("-"),
            None => AmountInput::Typed("invalid"),
        },
        Value::Null => AmountInput::Typed(""),
        _ => AmountInput::Typed("invalid"),
    }
}

#[derive(Deserialize)]
pub struct Beneficiary {
    #[serde(default)]
    username: String,
    #[serde(default)]
    amount: Value,
}

#[derive(Deserialize)]
pub struct CreateRequest {
    #[serde(default)]
    amount: Value,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    beneficiaries: Option<Vec<Beneficiary>>,
    /// A test card number (sandbox).
    #[serde(default)]
    card: String,
}

#[derive(Serialize)]
pub struct PaymentBody {
    #[serde(flatten)]
    payment: Payment,
}

/// `POST /api/payments` (bearer, `Idempotency-Key`): 201 and the payment;
/// the same key again answers the same.
pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<PaymentBody>), ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let Json(body) = body?;
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::plain(FlowError::IdempotencyKeyMissing));
    };
    let input = NewPayment {
        amount: amount(&body.amount),
        currency: &body.currency,
        description: &body.description,
        beneficiaries: body.beneficiaries.iter().flatten().map(|b| (b.username.as_str(), amount(&b.amount))).collect(),
        card: &body.card,
    };
    match payments::create(&state.core, user, input, key).await {
        Ok((payment, _)) => Ok((StatusCode::CREATED, Json(PaymentBody { payment }))),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    role: Option<String>,
    page: Option<u64>,
}

#[derive(Serialize)]
pub struct ListBody {
    role: &'static str,
    payments: Vec<Payment>,
    page: u64,
    pages: u64,
    total: u64,
    /// Succeeded amounts per currency, in minor units.
    totals: std::collections::BTreeMap<String, i64>,
}

/// `GET /api/payments?role=sent|received&page=N`: newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ListBody>, ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let Query(query) = query?;
    let (role, name) = match query.role.as_deref() {
        None | Some("sent") => (Role::Sent, "sent"),
        Some("received") => (Role::Received, "received"),
        Some(_) => {
            return Err(ApiError::plain(FlowError::Invalid(keyhold::flows::FieldErrors::single(
                "role",
                "Use `sent` or `received`.",
            ))));
        }
    };
    match payments::history(&state.core, user, role, query.page.unwrap_or(1)).await {
        Ok(h) => Ok(Json(ListBody {
            role: name,
            payments: h.payments,
            page: h.page,
            pages: h.pages,
            total: h.total,
            totals: h.totals.into_iter().collect(),
        })),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}

fn payment_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::plain(FlowError::NotFound))
}

/// `GET /api/payments/{id}`: for the payer and the beneficiaries; 404 for anyone else.
pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let id = payment_id(&id)?;
    payments::view(&state.core, user, id).await.map(Json).map_err(|e| fail(&state, &ctx, e))
}

/// `POST /api/payments/{id}/refund`: the payer refunds a succeeded payment, once.
pub async fn refund(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let user = caller(&state, &ctx, &headers).await?;
    let id = payment_id(&id)?;
    payments::refund(&state.core, user, id).await.map(Json).map_err(|e| fail(&state, &ctx, e))
}

/// `POST /api/payments/webhook`: the provider's signed events.
pub async fn webhook(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match payments::webhook(&state.core, signature, &body).await {
        Ok(()) => Ok(Json(serde_json::json!({"received": true}))),
        Err(e) => Err(fail(&state, &ctx, e)),
    }
}
