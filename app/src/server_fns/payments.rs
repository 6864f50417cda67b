//! Payments from the pages: the history, one payment, the new-payment form
//! (its hidden idempotency key makes a double submit pay once) and refunds.

// A server function's arguments are its form's fields, one each.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Beneficiary rows on the form (the API takes up to ten).
pub const FORM_BENEFICIARIES: usize = 3;

/// One payment in a list or on its page, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRow {
    pub id: String,
    /// e.g. `12.50 USD`.
    pub amount: String,
    pub description: String,
    pub status: String,
    /// `2026-11-22 09:40 UTC`.
    pub created: String,
    pub payer: String,
    /// Username and share, e.g. (`bob`, `5.00 USD`).
    pub shares: Vec<(String, String)>,
    /// For a received payment: what the viewer got.
    pub your_share: Option<String>,
    pub provider_ref: Option<String>,
    pub can_refund: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentsView {
    pub role: String,
    pub rows: Vec<PaymentRow>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    /// e.g. `42.50 USD`.
    pub totals: Vec<String>,
}

/// What the new-payment form needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFormView {
    pub currencies: Vec<String>,
    /// Fresh on every render: one form, one payment.
    pub idempotency_key: String,
    pub sandbox: bool,
}

#[cfg(feature = "ssr")]
mod rows {
    use super::PaymentRow;
    use keyhold::domain::{Currency, format_money};
    use keyhold::flows::Core;
    use keyhold::store::accounts;
    use keyhold::store::payments::Payment;
    use keyhold::store::payments::Status;
    use uuid::Uuid;

    fn money(minor: u64, currency: &str) -> String {
        Currency::parse(currency).map(|c| format_money(minor, c)).unwrap_or_else(|_| format!("{minor} {currency}"))
    }

    fn date(rfc3339: &str) -> String {
        rfc3339.get(..16).map(|d| format!("{} UTC", d.replace('T', " "))).unwrap_or_default()
    }

    /// Whether the refund button makes sense (the flow decides for good).
    fn refundable(core: &Core, viewer: Uuid, p: &Payment) -> bool {
        let age = chrono::DateTime::parse_from_rfc3339(&p.created_at)
            .map_or(i64::MAX, |d| (chrono::Utc::now() - d.to_utc()).num_seconds());
        p.user_id == viewer
            && p.status == Status::Succeeded
            && p.provider == core.payments.name()
            && age <= core.settings.payments.refund_window as i64
    }

    /// Rows for `viewer`, with payers' usernames read in one round trip.
    pub async fn build(
        core: &Core,
        viewer: Uuid,
        payments: Vec<Payment>,
    ) -> Result<Vec<PaymentRow>, keyhold::flows::FlowError> {
        let payers: Vec<Uuid> = payments.iter().map(|p| p.user_id).collect();
        let names = accounts::usernames(&core.redis, &payers).await?;
        Ok(payments
            .into_iter()
            .zip(names)
            .map(|(p, payer)| PaymentRow {
                can_refund: refundable(core, viewer, &p),
                id: p.id.to_string(),
                amount: money(p.amount, &p.currency),
                description: p.description.clone(),
                status: p.status.as_str().to_owned(),
                created: date(&p.created_at),
                payer: payer.unwrap_or_else(|| "a former user".to_owned()),
                shares: p.shares().iter().map(|s| (s.username.clone(), money(s.amount, &p.currency))).collect(),
                your_share: p.shares().iter().find(|s| s.user_id == viewer).map(|s| money(s.amount, &p.currency)),
                provider_ref: p.provider_ref.clone(),
            })
            .collect())
    }

    pub fn totals(totals: Vec<(String, i64)>) -> Vec<String> {
        totals.into_iter().map(|(c, sum)| money(sum.max(0) as u64, &c)).collect()
    }
}

#[server(prefix = "/fn", endpoint = "payments")]
pub async fn payment_history(role: String, page: u64) -> Result<PaymentsView, AppError> {
    use keyhold::store::payments::Role;
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let (role, name) = if role == "received" { (Role::Received, "received") } else { (Role::Sent, "sent") };
    let result = async {
        let history = keyhold::flows::payments::history(&core, user.id, role, page).await?;
        let rows = rows::build(&core, user.id, history.payments).await?;
        Ok(PaymentsView {
            role: name.to_owned(),
            rows,
            page: history.page,
            pages: history.pages,
            total: history.total,
            totals: rows::totals(history.totals),
        })
    }
    .await;
    match result {
        Ok(view) => Ok(view),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "payment")]
pub async fn payment_detail(id: String) -> Result<PaymentRow, AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let result = async {
        let id = id.parse().map_err(|_| keyhold::flows::FlowError::NotFound)?;
        let payment = keyhold::flows::payments::view(&core, user.id, id).await?;
        rows::build(&core, user.id, vec![payment]).await
    }
    .await;
    match result.map(|mut rows| rows.pop()) {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(crate::ssr::fail(keyhold::flows::FlowError::NotFound).await),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "payment-form")]
pub async fn payment_form() -> Result<PaymentFormView, AppError> {
    super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    Ok(PaymentFormView {
        currencies: core.settings.payments.currencies.iter().map(ToString::to_string).collect(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        sandbox: core.payments.name() == "sandbox",
    })
}

#[server(prefix = "/fn", endpoint = "create-payment")]
pub async fn create_payment(
    amount: String,
    currency: Option<String>,
    description: Option<String>,
    beneficiary_0_username: Option<String>,
    beneficiary_0_amount: Option<String>,
    beneficiary_1_username: Option<String>,
    beneficiary_1_amount: Option<String>,
    beneficiary_2_username: Option<String>,
    beneficiary_2_amount: Option<String>,
    card: Option<String>,
    idempotency_key: String,
) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    use keyhold::flows::payments::{AmountInput, NewPayment};
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let rows = [
        (&beneficiary_0_username, &beneficiary_0_amount),
        (&beneficiary_1_username, &beneficiary_1_amount),
        (&beneficiary_2_username, &beneficiary_2_amount),
    ];
    let mut echo = Echo::default()
        .with("amount", &amount)
        .with_optional("currency", &currency)
        .with_optional("description", &description)
        .with("idempotency_key", &idempotency_key);
    for (i, (name, share)) in rows.iter().enumerate() {
        echo = echo
            .with_optional(&format!("beneficiary_{i}_username"), name)
            .with_optional(&format!("beneficiary_{i}_amount"), share);
    }
    let input = NewPayment {
        amount: AmountInput::Typed(&amount),
        currency: currency.as_deref().unwrap_or_default(),
        description: description.as_deref().unwrap_or_default(),
        beneficiaries: rows
            .iter()
            .map(|(n, a)| (n.as_deref().unwrap_or_default(), AmountInput::Typed(a.as_deref().unwrap_or_default())))
            .collect(),
        card: card.as_deref().unwrap_or_default(),
    };
    let result = keyhold::flows::payments::create(&core, user.id, input, &idempotency_key).await;
    finish(result, |(p, _)| format!("/payments/{}", p.id), echo).await
}

#[server(prefix = "/fn", endpoint = "refund-payment")]
pub async fn refund_payment(id: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let result = match id.parse() {
        Ok(id) => keyhold::flows::payments::refund(&core, user.id, id).await,
        Err(_) => Err(keyhold::flows::FlowError::NotFound),
    };
    finish(result, |p| format!("/payments/{}?refunded=1", p.id), Echo::default()).await
}
