//! Payments (README: "Payments"). `payment:{payment_id}` holds seed 000's
//! JSON (`id user_id amount beneficiaries`) plus Keyhold's fields; the
//! payer's history is `payments:user:{user_id}`, each beneficiary's
//! `payments:received:{user_id}`; `payments:totals:{user_id}` sums what
//! succeeded per currency; `idempotency:{user_id}:{key}` makes a create
//! happen once.

use super::{StoreError, StoreResult};
use crate::keys;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;
use uuid::Uuid;

static CREATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/payment_create.lua")));
static TRANSITION: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/payment_transition.lua")));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Succeeded,
    Failed,
    Refunded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Refunded => "refunded",
        }
    }

    /// The only moves a payment makes.
    pub fn can_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (Status::Pending, Status::Succeeded)
                | (Status::Pending, Status::Failed)
                | (Status::Succeeded, Status::Refunded)
        )
    }
}

/// One beneficiary's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub user_id: Uuid,
    /// Kept for display; usernames do not change.
    pub username: String,
    pub amount: u64,
}

/// `payment:{payment_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Minor units of `currency`.
    pub amount: u64,
    /// `null` or the shares, as seed 000 has it.
    pub beneficiaries: Option<Vec<Share>>,
    pub currency: String,
    pub description: String,
    pub status: Status,
    pub created_at: String,
    pub updated_at: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<String>,
}

impl Payment {
    /// The payment as `viewer` may see it: a beneficiary sees its own share,
    /// not the others', nor the provider's reference.
    pub fn as_seen_by(mut self, viewer: Uuid) -> Self {
        if self.user_id != viewer {
            self.provider_ref = None;
            if let Some(shares) = &mut self.beneficiaries {
                shares.retain(|s| s.user_id == viewer);
            }
        }
        self
    }

    pub fn shares(&self) -> &[Share] {
        self.beneficiaries.as_deref().unwrap_or_default()
    }

    /// Whether `user` may see it: the payer and its beneficiaries.
    pub fn visible_to(&self, user: Uuid) -> bool {
        self.user_id == user || self.shares().iter().any(|s| s.user_id == user)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    /// The key was used before with the same request: its payment.
    Replay(Uuid),
    /// The key was used before with another request.
    Reused,
}

fn parse(key: &str, raw: &str) -> StoreResult<Payment> {
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt(key, e.to_string()))
}

/// What an idempotency key was first used for: the request's fingerprint and
/// its payment, if the key was used.
pub async fn first_use(conn: &ConnectionManager, user: Uuid, key: &str) -> StoreResult<Option<(String, Uuid)>> {
    #[derive(Deserialize)]
    struct Saved {
        fingerprint: String,
        payment_id: Uuid,
    }
    let record = keys::idempotency(user, key);
    let mut conn = conn.clone();
    let raw: Option<String> = conn.get(&record).await?;
    raw.map(|r| {
        serde_json::from_str::<Saved>(&r)
            .map(|s| (s.fingerprint, s.payment_id))
            .map_err(|e| StoreError::corrupt(&record, e.to_string()))
    })
    .transpose()
}

/// Writes the payment and its indexes, unless the idempotency key was used
/// before: one atomic script.
pub async fn create(
    conn: &ConnectionManager,
    payment: &Payment,
    idempotency_key: &str,
    fingerprint: &str,
    created_us: i64,
) -> StoreResult<Created> {
    let json = serde_json::to_string(payment).map_err(|e| StoreError::corrupt("payment", e.to_string()))?;
    let mut invocation = CREATE.prepare_invoke();
    invocation
        .key(keys::idempotency(payment.user_id, idempotency_key))
        .key(keys::payment(payment.id))
        .key(keys::payments_by_user(payment.user_id));
    for share in payment.shares() {
        invocation.key(keys::payments_received(share.user_id));
    }
    invocation.arg(fingerprint).arg(payment.id.to_string()).arg(json).arg(created_us).arg(keys::IDEMPOTENCY_TTL);
    let mut conn = conn.clone();
    let (status, id): (String, String) = invocation.invoke_async(&mut conn).await?;
    match status.as_str() {
        "created" => Ok(Created::New),
        "replay" => id.parse().map(Created::Replay).map_err(|_| StoreError::corrupt("idempotency", "bad payment id")),
        "reused" => Ok(Created::Reused),
        _ => Err(StoreError::UnknownStatus { script: "payment_create", status }),
    }
}

pub async fn get(conn: &ConnectionManager, id: Uuid) -> StoreResult<Option<Payment>> {
    let key = keys::payment(id);
    let mut conn = conn.clone();
    let raw: Option<String> = conn.get(&key).await?;
    raw.map(|r| parse(&key, &r)).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Yes(Box<Payment>),
    Missing,
    /// Not in the status the move starts from: its status now.
    Refused(Status),
}

/// Moves `payment` from `from` to `to` (a legal transition) and updates the
/// totals, in one atomic script.
pub async fn transition(
    conn: &ConnectionManager,
    payment: &Payment,
    from: Status,
    to: Status,
    provider_ref: Option<&str>,
) -> StoreResult<Moved> {
    if !from.can_become(to) {
        return Ok(Moved::Refused(payment.status));
    }
    run_transition(conn, payment, from, to, provider_ref).await
}

/// Records the provider's reference on a payment that stays pending, so
/// that its webhook later names the charge Keyhold knows.
pub async fn note_reference(conn: &ConnectionManager, payment: &Payment, provider_ref: &str) -> StoreResult<Moved> {
    run_transition(conn, payment, Status::Pending, Status::Pending, Some(provider_ref)).await
}

/// The transition script, for a legal move or for a pending payment's reference.
async fn run_transition(
    conn: &ConnectionManager,
    payment: &Payment,
    from: Status,
    to: Status,
    provider_ref: Option<&str>,
) -> StoreResult<Moved> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let key = keys::payment(payment.id);
    let mut invocation = TRANSITION.prepare_invoke();
    invocation.key(&key).key(keys::payment_totals(payment.user_id));
    for share in payment.shares() {
        invocation.key(keys::payment_totals(share.user_id));
    }
    invocation.arg(from.as_str()).arg(to.as_str()).arg(now).arg(provider_ref.unwrap_or_default());
    let mut conn = conn.clone();
    let (status, body): (String, String) = invocation.invoke_async(&mut conn).await?;
    match status.as_str() {
        "moved" => parse(&key, &body).map(|p| Moved::Yes(Box::new(p))),
        "missing" => Ok(Moved::Missing),
        "refused" => serde_json::from_value(serde_json::Value::String(body))
            .map(Moved::Refused)
            .map_err(|_| StoreError::corrupt(&key, "unknown status")),
        _ => Err(StoreError::UnknownStatus { script: "payment_transition", status }),
    }
}

/// Which list: what the user paid, or what they received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sent,
    Received,
}

impl Role {
    fn index(self, user: Uuid) -> String {
        match self {
            Role::Sent => keys::payments_by_user(user),
            Role::Received => keys::payments_received(user),
        }
    }

    fn totals_prefix(self) -> &'static str {
        match self {
            Role::Sent => "sent:",
            Role::Received => "received:",
        }
    }
}

/// A page of a user's payments, newest first, the number in the list, and
/// the succeeded totals per currency for that role: two round trips.
pub async fn page(
    conn: &ConnectionManager,
    user: Uuid,
    role: Role,
    offset: isize,
    count: isize,
) -> StoreResult<(Vec<Payment>, u64, Vec<(String, i64)>)> {
    let mut conn = conn.clone();
    let (ids, total, totals): (Vec<String>, u64, HashMap<String, i64>) = redis::pipe()
        .zrevrange(role.index(user), offset, offset + count - 1)
        .zcard(role.index(user))
        .hgetall(keys::payment_totals(user))
        .query_async(&mut conn)
        .await?;
    let mut totals: Vec<(String, i64)> = totals
        .into_iter()
        .filter_map(|(field, sum)| field.strip_prefix(role.totals_prefix()).map(|c| (c.to_owned(), sum)))
        .filter(|(_, sum)| *sum != 0)
        .collect();
    totals.sort();
    if ids.is_empty() {
        return Ok((Vec::new(), total, totals));
    }
    let keys: Vec<String> = ids.iter().map(keys::payment).collect();
    let raws: Vec<Option<String>> = conn.mget(&keys).await?;
    // One unreadable record must not hide the whole history.
    let payments = keys
        .iter()
        .zip(raws)
        .filter_map(|(key, raw)| match parse(key, &raw?) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable payment");
                None
            }
        })
        .collect();
    Ok((payments, total, totals))
}

/// Marks a provider event as processed; false when it was before.
pub async fn first_time_event(conn: &ConnectionManager, event_id: &str) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let set: Option<String> = redis::cmd("SET")
        .arg(keys::payment_event(event_id))
        .arg("1")
        .arg("NX")
        .arg("EX")
        .arg(keys::PAYMENT_EVENT_TTL)
        .query_async(&mut conn)
        .await?;
    Ok(set.is_some())
}

/// Forgets a processed event (its processing failed: the provider retries).
pub async fn forget_event(conn: &ConnectionManager, event_id: &str) -> StoreResult<()> {
    let mut conn = conn.clone();
    let _: i64 = conn.del(keys::payment_event(event_id)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[test]
    fn only_three_moves_are_legal() {
        let all = [Pending, Succeeded, Failed, Refunded];
        let legal = [(Pending, Succeeded), (Pending, Failed), (Succeeded, Refunded)];
        for from in all {
            for to in all {
                assert_eq!(Status::can_become(from, to), legal.contains(&(from, to)), "{from:?} → {to:?}");
            }
        }
    }
}
