//! Payment providers behind one trait: the sandbox (settles at once; test
//! card numbers simulate a decline or a delay) and Stripe's PaymentIntents
//! API. Webhook signatures are checked the way Stripe signs them.

mod sandbox;
pub mod signature;
mod stripe;

pub use sandbox::Sandbox;
pub use stripe::Stripe;

use crate::config::{PaymentProvider, Settings};
use crate::store::payments::Payment;

/// What the provider says of a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        reference: String,
    },
    /// Settles later (a webhook, or the sandbox's timer, says how).
    Pending {
        reference: String,
    },
    Declined {
        reference: Option<String>,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider could not be reached")]
    Unreachable(#[source] reqwest::Error),
    #[error("the payment provider answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("the payment provider's answer could not be read")]
    Unreadable(#[source] reqwest::Error),
}

impl ProviderError {
    /// The provider refused the request itself (bad parameters, a wrong
    /// key): no money moved. Timeouts, conflicts, rate limits and 5xx leave
    /// it unknown.
    pub fn no_money_moved(&self) -> bool {
        matches!(self, ProviderError::Refused { status: 400 | 401 | 403 | 404, .. })
    }
}

/// A card-like test input for the sandbox; providers that take real
/// payment methods map it to theirs.
#[derive(Debug, Clone, Default)]
pub struct Card(pub String);

impl Card {
    /// Digits only, so `4000 0000 0000 0002` and `4000000000000002` match.
    pub fn digits(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).collect()
    }
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// `sandbox` or `stripe`, stored with each payment.
    fn name(&self) -> &'static str;

    /// Charges the payment; `idempotency_key` is passed on so a retry
    /// never charges twice.
    async fn charge(&self, payment: &Payment, card: &Card, idempotency_key: &str) -> Result<Outcome, ProviderError>;

    /// Refunds a succeeded charge in full.
    async fn refund(&self, payment: &Payment) -> Result<(), ProviderError>;
}

pub fn from_settings(settings: &Settings) -> std::sync::Arc<dyn Provider> {
    match &settings.payments.provider {
        PaymentProvider::Sandbox => std::sync::Arc::new(Sandbox),
        PaymentProvider::Stripe { api_url, secret_key } => {
            std::sync::Arc::new(Stripe::new(api_url.clone(), secret_key.clone()))
        }
    }
}
