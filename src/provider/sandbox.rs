//! The sandbox: no money moves. Card numbers as in Stripe's test mode:
//! `4000 0000 0000 0002` is declined, `4000 0000 0000 9995` is declined for
//! insufficient funds, `4000 0000 0000 0259` settles after a delay; any
//! other number (or none) succeeds at once.

use super::{Card, Outcome, Provider, ProviderError};
use crate::store::payments::Payment;

pub const DECLINED: &str = "4000000000000002";
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const DELAYED: &str = "4000000000000259";

pub struct Sandbox;

#[async_trait::async_trait]
impl Provider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn charge(&self, payment: &Payment, card: &Card, _: &str) -> Result<Outcome, ProviderError> {
        let reference = format!("sandbox_{}", payment.id.simple());
        Ok(match card.digits().as_str() {
            DECLINED => Outcome::Declined { reference: Some(reference), reason: "card_declined".to_owned() },
            INSUFFICIENT_FUNDS => {
                Outcome::Declined { reference: Some(reference), reason: "insufficient_funds".to_owned() }
            }
            DELAYED => Outcome::Pending { reference },
            _ => Outcome::Succeeded { reference },
        })
    }

    async fn refund(&self, _: &Payment) -> Result<(), ProviderError> {
        Ok(())
    }
}
