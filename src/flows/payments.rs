//! Payments (README: "Payments"): create exactly once per idempotency key,
//! charge through the configured provider, move the status on webhooks,
//! list and show to the payer and the beneficiaries, refund.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{Amount, Currency, Username};
use crate::provider::signature::{self, SignatureError};
use crate::provider::{Card, Outcome};
use crate::store::accounts;
use crate::store::error_log::{ErrorKind, NewError};
use crate::store::payments::{self, Created, Moved, Payment, Role, Share, Status};
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// At most this many beneficiaries per payment.
pub const MAX_BENEFICIARIES: usize = 10;
/// Longest description kept.
pub const MAX_DESCRIPTION: usize = 140;
/// Payments per page of history.
pub const PAGE_SIZE: isize = 20;

/// Field names of the beneficiary rows, in form order.
pub const BENEFICIARY_USERNAME: [&str; MAX_BENEFICIARIES] = [
    "beneficiary_0_username",
    "beneficiary_1_username",
    "beneficiary_2_username",
    "beneficiary_3_username",
    "beneficiary_4_username",
    "beneficiary_5_username",
    "beneficiary_6_username",
    "beneficiary_7_username",
    "beneficiary_8_username",
    "beneficiary_9_username",
];
pub const BENEFICIARY_AMOUNT: [&str; MAX_BENEFICIARIES] = [
    "beneficiary_0_amount",
    "beneficiary_1_amount",
    "beneficiary_2_amount",
    "beneficiary_3_amount",
    "beneficiary_4_amount",
    "beneficiary_5_amount",
    "beneficiary_6_amount",
    "beneficiary_7_amount",
    "beneficiary_8_amount",
    "beneficiary_9_amount",
];

/// How an amount was given: as typed (`"12.50"`), or in minor units (API).
#[derive(Debug, Clone, Copy)]
pub enum AmountInput<'a> {
    Typed(&'a str),
    Minor(u64),
}

impl AmountInput<'_> {
    fn parse(self, currency: Currency) -> Result<Amount, crate::domain::ParseError> {
        match self {
            AmountInput::Typed(s) => Amount::parse(s, currency),
            AmountInput::Minor(n) => Amount::from_minor(n),
        }
    }
}

/// What a payer asks for.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub amount: AmountInput<'a>,
    /// Empty: the first of `PAYMENT_CURRENCIES`.
    pub currency: &'a str,
    pub description: &'a str,
    /// Username and share; rows with neither are ignored (empty form rows).
    pub beneficiaries: Vec<(&'a str, AmountInput<'a>)>,
    /// A test card number for the sandbox; empty succeeds.
    pub card: &'a str,
}

/// The stable code of a broken amount rule, for the amount itself or for a
/// beneficiary's share: each rule has its own.
fn amount_code(error: &crate::domain::ParseError, share: bool) -> &'static str {
    use crate::domain::ParseError as E;
    let (for_amount, for_share) = match error {
        E::Required => ("amount_required", "share_required"),
        E::AmountZero => ("amount_zero", "share_zero"),
        E::AmountNegative => ("amount_negative", "share_negative"),
        E::AmountDecimals { .. } => ("amount_too_precise", "share_too_precise"),
        E::AmountTooLarge => ("amount_too_large", "share_too_large"),
        _ => ("invalid_amount", "invalid_share"),
    };
    if share { for_share } else { for_amount }
}

/// A rule a payment broke: its stable code and the fields it concerns.
fn rule(code: &'static str, fields: FieldErrors) -> FlowError {
    FlowError::PaymentRefused { code, fields }
}

/// An idempotency key: 1 to 128 of `A-Z a-z 0-9 _ - . :`.
fn idempotency_key(raw: &str) -> Result<&str, FlowError> {
    let key = raw;
    let valid = (1..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if valid {
        Ok(key)
    } else {
        Err(rule(
            "idempotency_key_invalid",
            FieldErrors::single("idempotency_key", "Use 1 to 128 letters, digits, '_', '-', '.' or ':'."),
        ))
    }
}

struct Checked {
    amount: Amount,
    currency: Currency,
    description: String,
    shares: Vec<Share>,
    card: Card,
}

/// Every rule, in form order; the first broken rule names the error's code.
async fn check(core: &Core, payer: Uuid, input: &NewPayment<'_>) -> Result<Checked, FlowError> {
    let mut errors = FieldErrors::default();
    let mut first_rule: Option<&'static str> = None;
    let mut broke = |errors: &mut FieldErrors, code: &'static str, field: &'static str, message: String| {
        first_rule.get_or_insert(code);
        errors.add(field, message);
    };
    let accepted = &core.settings.payments.currencies;
    let currency = if input.currency.trim().is_empty() {
        accepted.first().copied()
    } else {
        Currency::parse(input.currency).ok().filter(|c| accepted.contains(c))
    };
    let Some(currency) = currency else {
        let codes: Vec<&str> = accepted.iter().map(Currency::code).collect();
        let message = format!("Choose one of: {}.", codes.join(", "));
        return Err(rule("currency_not_accepted", FieldErrors::single("currency", message)));
    };
    let amount = match input.amount.parse(currency) {
        Ok(a) => Some(a),
        Err(e) => {
            broke(&mut errors, amount_code(&e, false), "amount", e.to_string());
            None
        }
    };
    let description = input.description.trim();
    if description.chars().any(char::is_control) {
        broke(&mut errors, "invalid_description", "description", "Remove control characters.".to_owned());
    } else if description.chars().count() > MAX_DESCRIPTION {
        broke(&mut errors, "invalid_description", "description", format!("Use at most {MAX_DESCRIPTION} characters."));
    }

    let rows: Vec<&(&str, AmountInput<'_>)> = input
        .beneficiaries
        .iter()
        .filter(|(name, share)| {
            !name.trim().is_empty() || !matches!(share, AmountInput::Typed(s) if s.trim().is_empty())
        })
        .collect();
    if rows.len() > MAX_BENEFICIARIES {
        broke(
            &mut errors,
            "too_many_beneficiaries",
            "beneficiaries",
            format!("Name at most {MAX_BENEFICIARIES} beneficiaries."),
        );
    }
    // Every named account in one round trip.
    let rows = &rows[..rows.len().min(MAX_BENEFICIARIES)];
    let names: Vec<Option<Username>> = rows.iter().map(|(name, _)| Username::parse(name).ok()).collect();
    let known: Vec<Username> = names.iter().flatten().cloned().collect();
    let mut ids = accounts::find_ids(&core.redis, &known).await?.into_iter();
    let mut shares = Vec::new();
    for (i, ((_, share), name)) in rows.iter().zip(names).enumerate() {
        let (name_field, amount_field) = (BENEFICIARY_USERNAME[i], BENEFICIARY_AMOUNT[i]);
        let found = name.and_then(|username| Some((ids.next().flatten()?, username)));
        let user = match found {
            None => {
                broke(
                    &mut errors,
                    "beneficiary_not_found",
                    name_field,
                    "There is no user with this username.".to_owned(),
                );
                None
            }
            Some((id, _)) if id == payer => {
                broke(&mut errors, "beneficiary_is_payer", name_field, "You cannot pay yourself.".to_owned());
                None
            }
            Some((id, _)) if shares.iter().any(|s: &Share| s.user_id == id) => {
                broke(&mut errors, "beneficiary_repeated", name_field, "This user is already listed.".to_owned());
                None
            }
            Some(found) => Some(found),
        };
        let share = match share.parse(currency) {
            Ok(a) => Some(a),
            Err(e) => {
                broke(&mut errors, amount_code(&e, true), amount_field, e.to_string());
                None
            }
        };
        if let (Some((user_id, username)), Some(share)) = (user, share) {
            shares.push(Share { user_id, username: username.to_string(), amount: share.minor() });
        }
    }
    if let Some(amount) = amount {
        let total: u64 = shares.iter().map(|s| s.amount).sum();
        if total > amount.minor() {
            broke(
                &mut errors,
                "shares_exceed_amount",
                "beneficiaries",
                "The shares add up to more than the amount.".to_owned(),
            );
        }
    }
    match (first_rule, amount) {
        (None, Some(amount)) => Ok(Checked {
            amount,
            currency,
            description: description.to_owned(),
            shares,
            card: Card(input.card.to_owned()),
        }),
        (code, _) => Err(rule(code.unwrap_or("invalid_input"), errors)),
    }
}

/// The same request hashes the same: what an idempotency key is bound to.
/// Taken over the request as sent, so a retry finds its first answer even
/// if something it named changed since.
fn fingerprint(input: &NewPayment<'_>) -> String {
    let amount = |a: &AmountInput<'_>| match a {
        AmountInput::Typed(s) => format!("t{}", s.trim()),
        AmountInput::Minor(n) => format!("m{n}"),
    };
    let mut h = Sha256::new();
    let card = Card(input.card.to_owned()).digits();
    h.update(format!(
        "{}\0{}\0{}\0{card}\0",
        amount(&input.amount),
        input.currency.trim().to_ascii_uppercase(),
        input.description.trim()
    ));
    for (name, share) in &input.beneficiaries {
        h.update(format!("{}:{}\0", name.trim().to_ascii_lowercase(), amount(share)));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A payment still pending with no word from the provider after this long
/// is charged again on a retry (same provider key: never twice).
const RETRY_PENDING_AFTER: i64 = 60;

async fn replay(
    core: &Core,
    payer: Uuid,
    id: Uuid,
    card: &Card,
    provider_key: &str,
) -> Result<(Payment, bool), FlowError> {
    let Some(first) = payments::get(&core.redis, id).await? else {
        return Err(FlowError::unexpected("replaying a payment", "the first payment is gone"));
    };
    let age = DateTime::parse_from_rfc3339(&first.created_at).map_or(0, |d| (Utc::now() - d.to_utc()).num_seconds());
    if first.status == Status::Pending && first.provider_ref.is_none() && age > RETRY_PENDING_AFTER {
        // The first request died between recording and charging.
        let settled = charge_detached(core, payer, first, card.clone(), provider_key.to_owned()).await?;
        return Ok((settled, true));
    }
    Ok((first, true))
}

/// Creates and charges a payment, once per `(payer, idempotency key)`:
/// the same key again gives the first payment back (`true`: a replay).
pub async fn create(
    core: &Core,
    payer: Uuid,
    input: NewPayment<'_>,
    idempotency: &str,
) -> Result<(Payment, bool), FlowError> {
    let key = idempotency_key(idempotency)?;
    let fingerprint = fingerprint(&input);
    // The provider gets a key of its own per payer, so two payers' keys never meet.
    let provider_key = format!("{payer}:{key}");
    let card = Card(input.card.to_owned());
    match payments::first_use(&core.redis, payer, key).await? {
        Some((first, _)) if first != fingerprint => return Err(FlowError::IdempotencyReused),
        Some((_, id)) => return replay(core, payer, id, &card, &provider_key).await,
        None => {}
    }
    let checked = check(core, payer, &input).await?;
    let now = Utc::now();
    let payment = Payment {
        id: Uuid::new_v4(),
        user_id: payer,
        amount: checked.amount.minor(),
        beneficiaries: (!checked.shares.is_empty()).then(|| checked.shares.clone()),
        currency: checked.currency.to_string(),
        description: checked.description.clone(),
        status: Status::Pending,
        created_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        updated_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        provider: core.payments.name().to_owned(),
        provider_ref: None,
        refunded_at: None,
    };
    match payments::create(&core.redis, &payment, key, &fingerprint, now.timestamp_micros()).await? {
        // Another request under the key won the race.
        Created::Reused => return Err(FlowError::IdempotencyReused),
        Created::Replay(id) => return replay(core, payer, id, &card, &provider_key).await,
        Created::New => {}
    }
    Ok((charge_detached(core, payer, payment, checked.card, provider_key).await?, false))
}

/// Charges and settles in a task of its own: a client that goes away
/// mid-request cannot leave a charge unrecorded.
async fn charge_detached(
    core: &Core,
    payer: Uuid,
    payment: Payment,
    card: Card,
    provider_key: String,
) -> Result<Payment, FlowError> {
    let task_core = core.clone();
    let task = core.tasks.spawn(async move { charge(&task_core, payer, payment, card, provider_key).await });
    match task.await {
        Ok(result) => result,
        Err(e) => Err(FlowError::unexpected("charging a payment", e.to_string())),
    }
}

async fn charge(
    core: &Core,
    payer: Uuid,
    payment: Payment,
    card: Card,
    provider_key: String,
) -> Result<Payment, FlowError> {
    let settled = match core.payments.charge(&payment, &card, &provider_key).await {
        Ok(Outcome::Succeeded { reference }) => {
            payments::transition(&core.redis, &payment, Status::Pending, Status::Succeeded, Some(&reference)).await?
        }
        Ok(Outcome::Declined { reference, .. }) => {
            payments::transition(&core.redis, &payment, Status::Pending, Status::Failed, reference.as_deref()).await?
        }
        // The sandbox settles by its own timer; a real provider by its webhook,
        // which must name the charge noted here.
        Ok(Outcome::Pending { .. }) if core.payments.name() == "sandbox" => {
            settle_later(core, &payment);
            Moved::Yes(Box::new(payment.clone()))
        }
        Ok(Outcome::Pending { reference }) => payments::note_reference(&core.redis, &payment, &reference).await?,
        Err(e) if e.no_money_moved() => {
            record(core, Some(payer), "the payment provider refused a charge", &e).await;
            payments::transition(&core.redis, &payment, Status::Pending, Status::Failed, None).await?
        }
        Err(e) => {
            // Unknown whether money moved: the payment stays pending until
            // the provider's webhook (or a retry under the same key) says.
            record(core, Some(payer), "the payment provider failed", &e).await;
            Moved::Yes(Box::new(payment.clone()))
        }
    };
    match settled {
        Moved::Yes(p) => Ok(*p),
        Moved::Missing | Moved::Refused(_) => Ok(payments::get(&core.redis, payment.id).await?.unwrap_or(payment)),
    }
}

/// The sandbox's delayed settlement: succeeds after `SANDBOX_SETTLE_DELAY`.
fn settle_later(core: &Core, payment: &Payment) {
    let (core2, payment) = (core.clone(), payment.clone());
    let delay = Duration::from_secs(core.settings.payments.sandbox_settle_delay);
    core.tasks.spawn(async move {
        tokio::time::sleep(delay).await;
        let reference = format!("sandbox_{}", payment.id.simple());
        if let Err(e) =
            payments::transition(&core2.redis, &payment, Status::Pending, Status::Succeeded, Some(&reference)).await
        {
            tracing::warn!(error = %e, "the sandbox could not settle a delayed payment");
        }
    });
}

async fn record(core: &Core, user: Option<Uuid>, message: &str, err: &(dyn std::error::Error + Send + Sync + 'static)) {
    tracing::warn!(error = %err, "{message}");
    let mut error = NewError::new(ErrorKind::Payment, message).with_chain(err);
    error.user_id = user.map(|u| u.to_string());
    let _ = core.errors.record(error).await;
}

/// A payment its payer or a beneficiary may see; anyone else gets
/// [`FlowError::NotFound`].
pub async fn view(core: &Core, user: Uuid, id: Uuid) -> Result<Payment, FlowError> {
    match payments::get(&core.redis, id).await? {
        Some(p) if p.visible_to(user) => Ok(p.as_seen_by(user)),
        _ => Err(FlowError::NotFound),
    }
}

/// A page of history.
pub struct History {
    pub payments: Vec<Payment>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    /// Succeeded amounts per currency, for this role.
    pub totals: Vec<(String, i64)>,
}

pub async fn history(core: &Core, user: Uuid, role: Role, page: u64) -> Result<History, FlowError> {
    // Far past any real history, and no overflow.
    let page = page.clamp(1, 1_000_000);
    let offset = isize::try_from((page - 1).saturating_mul(PAGE_SIZE as u64)).unwrap_or(isize::MAX - PAGE_SIZE);
    let (list, total, totals) = payments::page(&core.redis, user, role, offset, PAGE_SIZE).await?;
    let pages = total.div_ceil(PAGE_SIZE as u64).max(1);
    let list = list.into_iter().map(|p| p.as_seen_by(user)).collect();
    Ok(History { payments: list, total, page, pages, totals })
}

/// Refunds a succeeded payment, once, within `PAYMENT_REFUND_WINDOW`; only
/// its payer may.
pub async fn refund(core: &Core, user: Uuid, id: Uuid) -> Result<Payment, FlowError> {
    let payment = view(core, user, id).await?;
    let conflict = |message: &'static str| FlowError::PaymentConflict { code: "refund_not_allowed", message };
    if payment.user_id != user {
        return Err(conflict("Only the payer can refund a payment."));
    }
    match payment.status {
        Status::Succeeded => {}
        Status::Refunded => return Err(conflict("This payment was already refunded.")),
        _ => return Err(conflict("Only a payment that went through can be refunded.")),
    }
    let created = DateTime::parse_from_rfc3339(&payment.created_at).map(|d| d.to_utc()).unwrap_or_else(|_| Utc::now());
    if (Utc::now() - created).num_seconds() > core.settings.payments.refund_window as i64 {
        return Err(conflict("The refund window for this payment has closed."));
    }
    if payment.provider != core.payments.name() {
        return Err(conflict("This payment was made through another provider: refund it there."));
    }
    if let Err(e) = core.payments.refund(&payment).await {
        record(core, Some(user), "the payment provider refused a refund", &e).await;
        return Err(FlowError::PaymentProvider);
    }
    match payments::transition(&core.redis, &payment, Status::Succeeded, Status::Refunded, None).await? {
        Moved::Yes(p) => Ok(*p),
        Moved::Missing => Err(FlowError::NotFound),
        // The provider's webhook recorded this very refund first.
        Moved::Refused(Status::Refunded) => view(core, user, id).await,
        Moved::Refused(_) => Err(conflict("This payment changed meanwhile; look at it again.")),
    }
}

/// An event of the provider's webhook, the part Keyhold reads.
/// Every event has an id and a type; only the kinds Keyhold acts on are
/// read further, so other kinds are acknowledged whatever their shape.
#[derive(serde::Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<EventData>,
}

#[derive(serde::Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(serde::Deserialize)]
struct EventObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    metadata: Option<std::collections::HashMap<String, String>>,
    /// On a charge: whether it is refunded in full.
    #[serde(default)]
    refunded: Option<bool>,
}

/// `POST /api/payments/webhook`: checks the signature, processes each
/// event id once, and moves the payment it names.
pub async fn webhook(core: &Core, signature_header: Option<&str>, body: &[u8]) -> Result<(), FlowError> {
    let Some(secret) = &core.settings.payments.webhook_secret else {
        return Err(FlowError::WebhookRefused(SignatureError::Malformed));
    };
    signature::verify(secret.expose_secret(), signature_header, body, Utc::now().timestamp())
        .map_err(FlowError::WebhookRefused)?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|_| FlowError::Invalid(FieldErrors::single("body", "Not an event Keyhold understands.")))?;
    let (from, to) = match event.kind.as_str() {
        "payment_intent.succeeded" => (Status::Pending, Status::Succeeded),
        "payment_intent.payment_failed" => (Status::Pending, Status::Failed),
        "charge.refunded" => (Status::Succeeded, Status::Refunded),
        // Acknowledged: the provider sends more kinds than Keyhold needs.
        _ => return Ok(()),
    };
    if !payments::first_time_event(&core.redis, &event.id).await? {
        return Ok(()); // a replay: acknowledged, ignored
    }
    let result = apply(core, &event, from, to).await;
    if result.is_err() {
        // Not processed after all: let the provider's retry try again.
        let _ = payments::forget_event(&core.redis, &event.id).await;
    }
    result
}

async fn apply(core: &Core, event: &Event, from: Status, to: Status) -> Result<(), FlowError> {
    let Some(object) = event.data.as_ref().map(|d| &d.object) else { return Ok(()) };
    // A partial refund (from the provider's dashboard, say) is not Keyhold's full refund.
    if to == Status::Refunded && object.refunded != Some(true) {
        return Ok(());
    }
    let id = object.metadata.as_ref().and_then(|m| m.get("payment_id")).and_then(|id| id.parse::<Uuid>().ok());
    let Some(id) = id else {
        return Ok(()); // not one of Keyhold's payments
    };
    let Some(payment) = payments::get(&core.redis, id).await? else { return Ok(()) };
    let Some(intent) = object.payment_intent.as_deref().or(object.id.as_deref()) else { return Ok(()) };
    if payment.provider_ref.as_deref().is_some_and(|r| r != intent) {
        return Ok(()); // names another charge
    }
    // A move already made (or not legal from here) is acknowledged as is.
    let _ = payments::transition(&core.redis, &payment, from, to, Some(intent)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_bounded() {
        assert!(idempotency_key("0b1f8a2c-4e1b-4a5e-9a3b-2f6f1c0d9e77").is_ok());
        for bad in ["", "a b", &"k".repeat(129), "key\n", "ключ"] {
            assert!(idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
