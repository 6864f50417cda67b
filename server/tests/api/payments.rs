//! Payments (README: "Payments"): validation, exactly-once creation,
//! authorization, the sandbox and a Stripe stand-in, signed webhooks,
//! status transitions and refunds.

use crate::helpers::{TestApp, create_account, spawn_app, spawn_app_with};
use axum::Router;
use axum::routing::post;
use keyhold::provider::signature;
use keyhold::store::payments::{self, Moved, Status};
use redis::AsyncCommands;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "correct horse battery staple";
const WEBHOOK_SECRET: &str = "whsec_keyhold_test";

async fn token_for(app: &TestApp, username: &str) -> String {
    let email = format!("{username}@example.com");
    create_account(app, &email, username).await;
    let res = app.post_json("/api/auth/token", &json!({"identifier": email, "password": PASSWORD})).await;
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn pay(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/payments"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn pay_ok(app: &TestApp, token: &str, key: &str, body: &Value) -> Value {
    let res = pay(app, token, key, body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

/// `POST /api/payments/{id}/refund` as `token`.
async fn refund(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("/api/payments/{id}/refund"))).bearer_auth(token).send().await.unwrap()
}

async fn code_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_payment_with_beneficiaries_is_stored_as_the_seed_has_it() {
    let app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    let bob = token_for(&app, "bob").await;
    token_for(&app, "cat").await;

    let body = json!({"amount": "12.50", "currency": "USD", "description": "Thanks!",
        "beneficiaries": [{"username": "bob", "amount": "5"}, {"username": "cat", "amount": "2,25"}]});
    let payment = pay_ok(&app, &ann, "k-1", &body).await;
    assert_eq!(payment["amount"], 1250);
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["provider"], "sandbox");
    let id = payment["id"].as_str().unwrap();

    // The seed's four fields, amounts in minor units, plus Keyhold's.
    let raw: String = app.redis().await.get(format!("payment:{id}")).await.unwrap();
    let stored: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(stored["id"], id);
    assert_eq!(stored["amount"], 1250);
    assert_eq!(stored["beneficiaries"][0]["amount"], 500);
    assert_eq!(stored["beneficiaries"][1]["amount"], 225);
    assert!(stored["beneficiaries"][0]["user_id"].is_string() && stored["user_id"].is_string());
    for field in ["currency", "description", "status", "created_at", "updated_at", "provider", "provider_ref"] {
        assert!(!stored[field].is_null(), "{field}");
    }
    assert_eq!(app.ttl(&format!("payment:{id}")).await, -1);

    // History: the payer's sent list, each beneficiary's received list, totals.
    let sent: Value = get(&app, &ann, "/api/payments?role=sent").await.json().await.unwrap();
    assert_eq!(sent["payments"][0]["id"], id);
    assert_eq!(sent["totals"]["USD"], 1250);
    let received: Value = get(&app, &bob, "/api/payments?role=received").await.json().await.unwrap();
    assert_eq!(received["payments"][0]["id"], id);
    assert_eq!(received["totals"]["USD"], 500);
    // A beneficiary sees its own share only, and not the provider's reference.
    let seen: Value = get(&app, &bob, &format!("/api/payments/{id}")).await.json().await.unwrap();
    assert_eq!(seen["beneficiaries"].as_array().unwrap().len(), 1);
    assert_eq!(seen["beneficiaries"][0]["username"], "bob");
    assert_eq!(seen["provider_ref"], Value::Null);

    // Without beneficiaries the seed's `null`.
    let solo = pay_ok(&app, &ann, "k-2", &json!({"amount": 1000, "currency": "BRL"})).await;
    assert_eq!(solo["beneficiaries"], Value::Null);
    assert_eq!(solo["amount"], 1000, "a number is minor units");
    // The first currency is the default.
    let default = pay_ok(&app, &ann, "k-3", &json!({"amount": "1"})).await;
    assert_eq!(default["currency"], "USD");
}

#[tokio::test]
async fn every_rule_has_its_own_code_and_nothing_is_written() {
    let app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    token_for(&app, "bob").await;
    let cases = [
        (json!({}), "amount_required", "amount"),
        (json!({"amount": "0"}), "amount_zero", "amount"),
        (json!({"amount": 0}), "amount_zero", "amount"),
        (json!({"amount": "-3"}), "amount_negative", "amount"),
        (json!({"amount": -300}), "amount_negative", "amount"),
        (json!({"amount": -1.5}), "amount_negative", "amount"),
        (json!({"amount": "1.234"}), "amount_too_precise", "amount"),
        (json!({"amount": "99999999999"}), "amount_too_large", "amount"),
        (json!({"amount": "abc"}), "invalid_amount", "amount"),
        (json!({"amount": 12.5}), "invalid_amount", "amount"),
        (json!({"amount": "1", "currency": "GBP"}), "currency_not_accepted", "currency"),
        (json!({"amount": "1", "description": "a\nb"}), "invalid_description", "description"),
        (json!({"amount": "1", "description": "x".repeat(141)}), "invalid_description", "description"),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "nobody", "amount": "1"}]}),
            "beneficiary_not_found",
            "beneficiary_0_username",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "ann", "amount": "1"}]}),
            "beneficiary_is_payer",
            "beneficiary_0_username",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "1"}, {"username": "BOB", "amount": "1"}]}),
            "beneficiary_repeated",
            "beneficiary_1_username",
        ),
        (json!({"amount": "10", "beneficiaries": [{"username": "bob"}]}), "share_required", "beneficiary_0_amount"),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "0"}]}),
            "share_zero",
            "beneficiary_0_amount",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "-1"}]}),
            "share_negative",
            "beneficiary_0_amount",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "0.001"}]}),
            "share_too_precise",
            "beneficiary_0_amount",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "99999999999"}]}),
            "share_too_large",
            "beneficiary_0_amount",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "ten"}]}),
            "invalid_share",
            "beneficiary_0_amount",
        ),
        (
            json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "10.01"}]}),
            "shares_exceed_amount",
            "beneficiaries",
        ),
    ];
    for (i, (body, code, field)) in cases.into_iter().enumerate() {
        let res = pay(&app, &ann, &format!("bad-{i}"), &body).await;
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap();
        assert_eq!((status, answer["code"].as_str().unwrap()), (400, code), "{body}");
        assert!(answer["fields"][field].is_string(), "{body} → {answer}");
    }
    let eleven: Vec<Value> = (0..11).map(|i| json!({"username": format!("user{i}"), "amount": "1"})).collect();
    let res = pay(&app, &ann, "bad-11", &json!({"amount": "100", "beneficiaries": eleven})).await;
    assert_eq!(code_of(res).await, (400, "too_many_beneficiaries".into()));
    // Shares may add up to exactly the amount.
    pay_ok(&app, &ann, "ok", &json!({"amount": "10", "beneficiaries": [{"username": "bob", "amount": "10"}]})).await;

    assert!(app.keys("idempotency:*").await.len() == 1, "refused requests claim no key");
    // Missing key or token.
    let res =
        app.client.post(app.url("/api/payments")).bearer_auth(&ann).json(&json!({"amount": "1"})).send().await.unwrap();
    assert_eq!(code_of(res).await, (400, "idempotency_key_required".into()));
    let res = pay(&app, &ann, "bad key with spaces", &json!({"amount": "1"})).await;
    assert_eq!(code_of(res).await.1, "idempotency_key_invalid");
    let res = app
        .client
        .post(app.url("/api/payments"))
        .header("idempotency-key", "k")
        .json(&json!({"amount": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn one_idempotency_key_makes_one_payment() {
    let app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    let body = json!({"amount": "7.00", "currency": "EUR", "description": "coffee"});
    let first = pay_ok(&app, &ann, "same-key", &body).await;
    let again = pay_ok(&app, &ann, "same-key", &body).await;
    assert_eq!(first["id"], again["id"], "a retry returns the first payment");
    let res = pay(&app, &ann, "same-key", &json!({"amount": "8.00", "currency": "EUR", "description": "coffee"})).await;
    assert_eq!(code_of(res).await, (422, "idempotency_key_reused".into()));
    assert!((86_000..=86_400).contains(&app.ttl(&app.keys("idempotency:*").await[0]).await));

    // 50 at once with one key: exactly one payment.
    let body = json!({"amount": "3", "currency": "USD"});
    let answers = futures::future::join_all((0..50).map(|_| pay(&app, &ann, "storm", &body))).await;
    let mut ids = std::collections::HashSet::new();
    for res in answers {
        assert_eq!(res.status(), 201);
        let p: Value = res.json().await.unwrap();
        ids.insert(p["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "50 concurrent requests, one payment");
    assert_eq!(app.keys("payment:*").await.len(), 2);
    let sent: Value = get(&app, &ann, "/api/payments").await.json().await.unwrap();
    assert_eq!(sent["total"], 2);
    assert_eq!(sent["totals"]["USD"], 300, "charged once");
}

#[tokio::test]
async fn only_the_payer_and_beneficiaries_see_a_payment() {
    let app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    let bob = token_for(&app, "bob").await;
    let eve = token_for(&app, "eve").await;
    let p =
        pay_ok(&app, &ann, "k", &json!({"amount": "5", "beneficiaries": [{"username": "bob", "amount": "5"}]})).await;
    let path = format!("/api/payments/{}", p["id"].as_str().unwrap());
    assert_eq!(get(&app, &ann, &path).await.status(), 200);
    assert_eq!(get(&app, &bob, &path).await.status(), 200);
    assert_eq!(code_of(get(&app, &eve, &path).await).await, (404, "not_found".into()));
    assert_eq!(get(&app, &eve, "/api/payments/not-a-uuid").await.status(), 404);
    let eve_list: Value = get(&app, &eve, "/api/payments?role=received").await.json().await.unwrap();
    assert_eq!(eve_list["payments"], json!([]));
    assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status(), 401);
    // Only the payer refunds.
    let res = refund(&app, &bob, p["id"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (409, "refund_not_allowed".into()));
    let res = refund(&app, &eve, p["id"].as_str().unwrap()).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn sandbox_cards_decline_delay_and_refunds_happen_once_within_the_window() {
    let app = spawn_app_with(&[("SANDBOX_SETTLE_DELAY", "1")]).await;
    let ann = token_for(&app, "ann").await;
    let declined = pay_ok(&app, &ann, "d", &json!({"amount": "5", "card": "4000 0000 0000 0002"})).await;
    assert_eq!(declined["status"], "failed");
    let delayed = pay_ok(&app, &ann, "l", &json!({"amount": "6", "card": "4000000000000259"})).await;
    assert_eq!(delayed["status"], "pending");
    let path = format!("/api/payments/{}", delayed["id"].as_str().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let settled: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(settled["status"], "succeeded");

    // A failed payment cannot be refunded; a succeeded one once.
    let res = refund(&app, &ann, declined["id"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (409, "refund_not_allowed".into()));
    let res = refund(&app, &ann, delayed["id"].as_str().unwrap()).await;
    let refunded: Value = res.json().await.unwrap();
    assert_eq!(refunded["status"], "refunded");
    assert!(refunded["refunded_at"].is_string());
    let res = refund(&app, &ann, delayed["id"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (409, "refund_not_allowed".into()));
    let sent: Value = get(&app, &ann, "/api/payments").await.json().await.unwrap();
    assert!(sent["totals"].get("USD").is_none(), "refunded money leaves the totals: {sent}");

    // Past the window, no refund.
    let app = spawn_app_with(&[("PAYMENT_REFUND_WINDOW", "1")]).await;
    let ann = token_for(&app, "ann").await;
    let p = pay_ok(&app, &ann, "w", &json!({"amount": "5"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let res = refund(&app, &ann, p["id"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (409, "refund_not_allowed".into()));
}

fn event(id: &str, kind: &str, intent: &str, payment_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "type": kind,
        "data": {"object": {"id": intent, "refunded": true, "metadata": {"payment_id": payment_id}}}}))
    .unwrap()
}

async fn send_webhook(app: &TestApp, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut req = app.client.post(app.url("/api/payments/webhook")).header("content-type", "application/json");
    if let Some(sig) = signature {
        req = req.header("stripe-signature", sig);
    }
    req.body(body.to_vec()).send().await.unwrap()
}

#[tokio::test]
async fn webhooks_are_verified_processed_once_and_move_only_legally() {
    let app = spawn_app_with(&[("PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET), ("SANDBOX_SETTLE_DELAY", "3600")]).await;
    let ann = token_for(&app, "ann").await;
    let pending = pay_ok(&app, &ann, "p", &json!({"amount": "9", "card": "4000000000000259"})).await;
    let id = pending["id"].as_str().unwrap();
    let path = format!("/api/payments/{id}");
    let now = chrono::Utc::now().timestamp();

    let body = event("evt_1", "payment_intent.succeeded", "pi_1", id);
    // Bad, stale, missing signatures: 400, nothing changed, a `payment` error kept.
    let cases = [
        Some(signature::sign("wrong", now, &body)),
        Some(signature::sign(WEBHOOK_SECRET, now - 301, &body)),
        Some(signature::sign(WEBHOOK_SECRET, now, b"{}")),
        None,
    ];
    for sig in cases {
        assert_eq!(code_of(send_webhook(&app, &body, sig).await).await, (400, "invalid_signature".into()));
    }
    assert!(app.error_count("payment", 4).await >= 4);
    let still: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(still["status"], "pending");

    // A refund event for a payment not yet succeeded: pending → refunded is
    // not a legal move, so it changes nothing, but the event counts as processed.
    let early = event("evt_0", "charge.refunded", "pi_1", id);
    assert_eq!(send_webhook(&app, &early, Some(signature::sign(WEBHOOK_SECRET, now, &early))).await.status(), 200);
    let still: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(still["status"], "pending");

    let res = send_webhook(&app, &body, Some(signature::sign(WEBHOOK_SECRET, now, &body))).await;
    assert_eq!(res.status(), 200);
    let moved: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!((moved["status"].as_str(), moved["provider_ref"].as_str()), (Some("succeeded"), Some("pi_1")));

    // A replay is acknowledged and ignored: evt_0 again would now refund the
    // payment if it were processed a second time.
    let res = send_webhook(&app, &early, Some(signature::sign(WEBHOOK_SECRET, now, &early))).await;
    assert_eq!(res.status(), 200);
    let after: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(after["status"], "succeeded", "a processed event is never processed again");
    let seen = app.keys("payment_event:*").await;
    assert_eq!(seen.len(), 2, "evt_0 and evt_1 remembered");
    assert!(app.ttl(&seen[0]).await > 0, "for a while, not forever");
    // An illegal move changes nothing.
    let res = send_webhook(&app, &body, Some(signature::sign(WEBHOOK_SECRET, now, &body))).await;
    assert_eq!(res.status(), 200);
    let failed = event("evt_2", "payment_intent.payment_failed", "pi_1", id);
    let res = send_webhook(&app, &failed, Some(signature::sign(WEBHOOK_SECRET, now, &failed))).await;
    assert_eq!(res.status(), 200);
    // A partial refund is not a refund; an event kind Keyhold ignores is acknowledged.
    let partial = serde_json::to_vec(&json!({"id": "evt_p", "type": "charge.refunded",
        "data": {"object": {"id": "ch_1", "payment_intent": "pi_1", "refunded": false, "metadata": {"payment_id": id}}}})).unwrap();
    send_webhook(&app, &partial, Some(signature::sign(WEBHOOK_SECRET, now, &partial))).await;
    let after: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(after["status"], "succeeded");
    let other = br#"{"id": "evt_b", "type": "balance.available", "data": {"object": {}}}"#;
    let res = send_webhook(&app, other, Some(signature::sign(WEBHOOK_SECRET, now, other))).await;
    assert_eq!(res.status(), 200);

    let refunded = event("evt_3", "charge.refunded", "pi_1", id);
    send_webhook(&app, &refunded, Some(signature::sign(WEBHOOK_SECRET, now, &refunded))).await;
    send_webhook(&app, &refunded, Some(signature::sign(WEBHOOK_SECRET, now, &refunded))).await;
    let end: Value = get(&app, &ann, &path).await.json().await.unwrap();
    assert_eq!(end["status"], "refunded", "succeeded → refunded, never back to failed");

    // A failed payment stays failed whatever the provider says later.
    let declined = pay_ok(&app, &ann, "f", &json!({"amount": "3", "card": "4000000000000002"})).await;
    assert_eq!(declined["status"], "failed");
    let declined_id = declined["id"].as_str().unwrap();
    let intent = declined["provider_ref"].as_str().unwrap_or("pi_4");
    let late = event("evt_4", "payment_intent.succeeded", intent, declined_id);
    assert_eq!(send_webhook(&app, &late, Some(signature::sign(WEBHOOK_SECRET, now, &late))).await.status(), 200);
    let still: Value = get(&app, &ann, &format!("/api/payments/{declined_id}")).await.json().await.unwrap();
    assert_eq!(still["status"], "failed");

    // Without a configured secret every webhook is refused.
    let app = spawn_app().await;
    let res = send_webhook(&app, &body, Some(signature::sign(WEBHOOK_SECRET, now, &body))).await;
    assert_eq!(res.status(), 400);
}

/// A stand-in for the part of Stripe's API Keyhold uses.
async fn fake_stripe() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let intents = seen.clone();
    let refunds = seen.clone();
    let router = Router::new()
        .route(
            "/v1/payment_intents",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let seen = intents.clone();
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    seen.lock().unwrap().push((key.clone(), body.clone()));
                    if auth != "Bearer sk_test_keyhold" {
                        return (
                            axum::http::StatusCode::UNAUTHORIZED,
                            json!({"error": {"message": "bad key"}}).to_string(),
                        );
                    }
                    if body.contains("pm_card_chargeDeclined") {
                        let error = json!({"error": {"code": "card_declined", "message": "declined",
                            "payment_intent": {"id": "pi_declined", "status": "requires_payment_method"}}});
                        return (axum::http::StatusCode::PAYMENT_REQUIRED, error.to_string());
                    }
                    let id = format!("pi_{}", key.len() + seen.lock().unwrap().len());
                    // 42.42 of anything settles later, as a bank debit would.
                    let status = if body.contains("amount=4242&") { "processing" } else { "succeeded" };
                    (axum::http::StatusCode::OK, json!({"id": id, "status": status}).to_string())
                }
            }),
        )
        .route(
            "/v1/refunds",
            post(move |body: String| {
                let seen = refunds.clone();
                async move {
                    seen.lock().unwrap().push(("refund".to_owned(), body));
                    json!({"id": "re_1", "status": "succeeded"}).to_string()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

#[tokio::test]
async fn the_stripe_provider_speaks_payment_intents_with_the_idempotency_key() {
    let (url, seen) = fake_stripe().await;
    let app = spawn_app_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_API_URL", &url),
        ("STRIPE_SECRET_KEY", "sk_test_keyhold"),
        ("PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ])
    .await;
    let ann = token_for(&app, "ann").await;
    let p = pay_ok(&app, &ann, "stripe-1", &json!({"amount": "12.34", "currency": "EUR", "description": "book"})).await;
    assert_eq!((p["status"].as_str(), p["provider"].as_str()), (Some("succeeded"), Some("stripe")));
    assert!(p["provider_ref"].as_str().unwrap().starts_with("pi_"));
    {
        let seen = seen.lock().unwrap();
        let (key, body) = &seen[0];
        assert!(key.ends_with(":stripe-1"), "the idempotency key goes on: {key}");
        for part in [
            "amount=1234",
            "currency=eur",
            "confirm=true",
            &format!("metadata%5Bpayment_id%5D={}", p["id"].as_str().unwrap()),
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }
    // A retry never reaches Stripe twice.
    pay_ok(&app, &ann, "stripe-1", &json!({"amount": "12.34", "currency": "EUR", "description": "book"})).await;
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Settling later: the intent is noted, and only a webhook naming it settles the payment.
    let later = pay_ok(&app, &ann, "stripe-3", &json!({"amount": "42.42"})).await;
    let intent = later["provider_ref"].as_str().unwrap().to_owned();
    assert_eq!(later["status"], "pending");
    assert!(intent.starts_with("pi_"), "{later}");
    let id = later["id"].as_str().unwrap();
    // The store refuses such a move itself, even for a caller that read the
    // payment before the intent was noted (a webhook racing the charge).
    let mut read_before = payments::get(&app.core.redis, id.parse().unwrap()).await.unwrap().unwrap();
    read_before.provider_ref = None;
    let moved = payments::transition(
        &app.core.redis,
        &read_before,
        Status::Pending,
        Status::Succeeded,
        Some("pi_someone_else"),
    )
    .await
    .unwrap();
    assert_eq!(moved, Moved::Refused(Status::Pending));
    let now = chrono::Utc::now().timestamp();
    for (event_id, named) in [("evt_other", "pi_someone_else"), ("evt_ours", intent.as_str())] {
        let body = event(event_id, "payment_intent.succeeded", named, id);
        let res = send_webhook(&app, &body, Some(signature::sign(WEBHOOK_SECRET, now, &body))).await;
        assert_eq!(res.status(), 200);
        let seen: Value = get(&app, &ann, &format!("/api/payments/{id}")).await.json().await.unwrap();
        let expected = if named == intent { "succeeded" } else { "pending" };
        assert_eq!(seen["status"], expected, "after {event_id}");
    }

    let declined = pay_ok(&app, &ann, "stripe-2", &json!({"amount": "1", "card": "4000000000000002"})).await;
    assert_eq!((declined["status"].as_str(), declined["provider_ref"].as_str()), (Some("failed"), Some("pi_declined")));

    let res = refund(&app, &ann, p["id"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert!(seen.lock().unwrap().iter().any(|(k, b)| k == "refund" && b.contains("payment_intent=pi_")));

    // Stripe refusing the request itself (a wrong key): no money moved, the
    // payment fails and the operator sees why.
    let app =
        spawn_app_with(&[("PAYMENT_PROVIDER", "stripe"), ("STRIPE_API_URL", &url), ("STRIPE_SECRET_KEY", "sk_wrong")])
            .await;
    let ann = token_for(&app, "ann").await;
    let p = pay_ok(&app, &ann, "x", &json!({"amount": "1"})).await;
    assert_eq!(p["status"], "failed");
    assert!(app.error_count("payment", 1).await >= 1);

    // Stripe unreachable: whether money moved is unknown, so it stays pending.
    let dead = format!("http://127.0.0.1:{}", crate::helpers::free_port());
    let app = spawn_app_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_API_URL", &dead),
        ("STRIPE_SECRET_KEY", "sk_test_keyhold"),
    ])
    .await;
    let ann = token_for(&app, "ann").await;
    let p = pay_ok(&app, &ann, "y", &json!({"amount": "1"})).await;
    assert_eq!(p["status"], "pending");
}

/// Writes Redis' data to its dump file, which a restart loads again.
async fn save(app: &TestApp) {
    let _: () = redis::cmd("SAVE").query_async(&mut app.redis().await).await.unwrap();
}

/// Waits until the app answers with Redis again.
async fn until_ready(app: &TestApp, token: &str) {
    for _ in 0..100 {
        if get(app, token, "/api/payments").await.status() == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the app did not come back after Redis did");
}

#[tokio::test]
async fn with_redis_down_a_payment_answers_503_and_writes_nothing() {
    let mut app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    pay_ok(&app, &ann, "before", &json!({"amount": "5"})).await;
    save(&app).await;
    app.redis.stop().await;
    let res = pay(&app, &ann, "down", &json!({"amount": "5"})).await;
    assert_eq!(res.status(), 503);
    app.redis.restart().await; // with the data saved before it went down
    until_ready(&app, &ann).await;
    assert_eq!(app.keys("payment:*").await.len(), 1, "the earlier payment, nothing more");
    assert_eq!(app.keys("idempotency:*").await.len(), 1);
    // The refused key is free: the client's retry makes the payment.
    pay_ok(&app, &ann, "down", &json!({"amount": "5"})).await;
    assert_eq!(app.keys("payment:*").await.len(), 2);
}

#[tokio::test]
async fn redis_lost_between_recording_and_settling_leaves_a_whole_pending_payment() {
    // A provider that holds the charge until the test lets it answer.
    let arrived = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let (on_arrival, on_release) = (arrived.clone(), release.clone());
    let router = Router::new().route(
        "/v1/payment_intents",
        post(move || {
            let (on_arrival, on_release) = (on_arrival.clone(), on_release.clone());
            async move {
                on_arrival.notify_one();
                on_release.notified().await;
                json!({"id": "pi_slow", "status": "succeeded"}).to_string()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut app = spawn_app_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_API_URL", &stripe),
        ("STRIPE_SECRET_KEY", "sk_test_keyhold"),
    ])
    .await;
    let ann = token_for(&app, "ann").await;

    let request = {
        let req = app.client.post(app.url("/api/payments")).bearer_auth(&ann).header("idempotency-key", "lost");
        tokio::spawn(req.json(&json!({"amount": "7", "description": "lost in transit"})).send())
    };
    arrived.notified().await;
    // The payment is recorded and the charge is under way: Redis goes down
    // with what it holds now, then the provider answers.
    save(&app).await;
    app.redis.stop().await;
    release.notify_one();
    let res = request.await.unwrap().unwrap();
    assert_eq!(code_of(res).await.0, 503, "the settlement could not be recorded");

    app.redis.restart().await;
    until_ready(&app, &ann).await;
    // One whole payment, still pending (the provider's webhook or a retry
    // of the key settles it), listed in the payer's history, key kept.
    let keys = app.keys("payment:*").await;
    assert_eq!(keys.len(), 1);
    let stored: String = app.redis().await.get(&keys[0]).await.unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!((stored["status"].as_str(), stored["amount"].as_u64()), (Some("pending"), Some(700)));
    assert_eq!(stored["description"], "lost in transit");
    let history: Value = get(&app, &ann, "/api/payments").await.json().await.unwrap();
    assert_eq!(history["payments"][0]["id"], stored["id"], "{history}");
    assert_eq!(app.keys("idempotency:*").await.len(), 1);
    // The retry under the same key answers with that payment, not a new one.
    release.notify_one();
    let again = pay_ok(&app, &ann, "lost", &json!({"amount": "7", "description": "lost in transit"})).await;
    assert_eq!(again["id"], stored["id"]);
    assert_eq!(app.keys("payment:*").await.len(), 1);
}

#[tokio::test]
async fn history_is_paginated_newest_first() {
    let app = spawn_app().await;
    let ann = token_for(&app, "ann").await;
    for i in 1..=25 {
        pay_ok(&app, &ann, &format!("page-{i}"), &json!({"amount": i, "description": format!("#{i}")})).await;
    }
    let first: Value = get(&app, &ann, "/api/payments?role=sent&page=1").await.json().await.unwrap();
    assert_eq!(
        (first["page"].as_u64(), first["pages"].as_u64(), first["total"].as_u64()),
        (Some(1), Some(2), Some(25))
    );
    assert_eq!(first["payments"].as_array().unwrap().len(), 20);
    assert_eq!(first["payments"][0]["description"], "#25");
    let second: Value = get(&app, &ann, "/api/payments?page=2").await.json().await.unwrap();
    let descriptions: Vec<&str> =
        second["payments"].as_array().unwrap().iter().map(|p| p["description"].as_str().unwrap()).collect();
    assert_eq!(descriptions, ["#5", "#4", "#3", "#2", "#1"]);
    assert_eq!(first["totals"]["USD"], (1..=25).sum::<u64>());
    let far: Value = get(&app, &ann, "/api/payments?page=99999999999999999").await.json().await.unwrap();
    assert_eq!(far["payments"], json!([]));
    let res = get(&app, &ann, "/api/payments?role=everyone").await;
    assert_eq!(res.status(), 400);
}
