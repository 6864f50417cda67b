//! Stripe's PaymentIntents API, the part Keyhold uses: create and confirm
//! an intent (`POST /v1/payment_intents`, the idempotency key passed on as
//! `Idempotency-Key`), and refund it (`POST /v1/refunds`).

use super::{Card, Outcome, Provider, ProviderError};
use crate::store::payments::Payment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;
use url::Url;

pub struct Stripe {
    api_url: Url,
    secret_key: SecretString,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Intent {
    id: String,
    status: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Deserialize)]
struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    payment_intent: Option<Intent>,
}

impl Stripe {
    pub fn new(api_url: Url, secret_key: SecretString) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap_or_default();
        Self { api_url, secret_key, http }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.api_url.as_str().trim_end_matches('/'))
    }

    /// Test card numbers map to Stripe's test payment methods.
    fn payment_method(card: &Card) -> &'static str {
        match card.digits().as_str() {
            super::sandbox::DECLINED => "pm_card_chargeDeclined",
            super::sandbox::INSUFFICIENT_FUNDS => "pm_card_chargeDeclinedInsufficientFunds",
            _ => "pm_card_visa",
        }
    }
}

#[async_trait::async_trait]
impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn charge(&self, payment: &Payment, card: &Card, idempotency_key: &str) -> Result<Outcome, ProviderError> {
        let amount = payment.amount.to_string();
        let currency = payment.currency.to_ascii_lowercase();
        let id = payment.id.to_string();
        let form = [
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("confirm", "true"),
            ("payment_method", Self::payment_method(card)),
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("description", payment.description.as_str()),
            ("metadata[payment_id]", id.as_str()),
        ];
        let res = self
            .http
            .post(self.endpoint("/v1/payment_intents"))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", idempotency_key)
            .form(&form)
            .send()
            .await
            .map_err(ProviderError::Unreachable)?;
        let status = res.status();
        if status.is_success() {
            let body = res.bytes().await.map_err(ProviderError::Unreadable)?;
            let intent: Intent = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Refused { status: status.as_u16(), message: e.to_string() })?;
            return Ok(match intent.status.as_str() {
                "succeeded" => Outcome::Succeeded { reference: intent.id },
                "processing" | "requires_capture" => Outcome::Pending { reference: intent.id },
                other => Outcome::Declined { reference: Some(intent.id), reason: other.to_owned() },
            });
        }
        let body: Option<ErrorBody> = res.bytes().await.ok().and_then(|b| serde_json::from_slice(&b).ok());
        match (status.as_u16(), body) {
            // A card error: the charge was declined, not the request.
            (402, Some(ErrorBody { error })) => Ok(Outcome::Declined {
                reference: error.payment_intent.map(|i| i.id),
                reason: error.code.unwrap_or_else(|| "card_declined".to_owned()),
            }),
            (status, body) => {
                Err(ProviderError::Refused { status, message: body.and_then(|b| b.error.message).unwrap_or_default() })
            }
        }
    }

    async fn refund(&self, payment: &Payment) -> Result<(), ProviderError> {
        let intent = payment.provider_ref.clone().unwrap_or_default();
        let res = self
            .http
            .post(self.endpoint("/v1/refunds"))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", format!("refund-{}", payment.id))
            .form(&[("payment_intent", intent.as_str())])
            .send()
            .await
            .map_err(ProviderError::Unreachable)?;
        if res.status().is_success() {
            return Ok(());
        }
        let status = res.status().as_u16();
        let body = res.bytes().await.ok();
        let message = body
            .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
            .and_then(|b| b.error.message)
            .unwrap_or_default();
        Err(ProviderError::Refused { status, message })
    }
}
