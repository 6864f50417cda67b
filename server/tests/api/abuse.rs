//! Ways to lock people out or fill Redis: login throttles, client addresses
//! behind proxies, input that becomes part of a key, and floods of bad
//! requests.

use crate::helpers::{TestApp, create_account, spawn_app, spawn_app_with};
use futures::StreamExt;
use std::time::Duration;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// A login through the API, from `client` as a trusted proxy reports it.
async fn login_from(app: &TestApp, client: &str, identifier: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/token"))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({"identifier": identifier, "password": password}))
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_address_typed_as_a_username_does_not_lock_that_address() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1"), ("LOGIN_FAIL_LIMIT_ACCOUNT", "3")]).await;
    create_account(&app, EMAIL, "ann").await;
    // A stranger types the victim's address as a name until that name is refused.
    for _ in 0..3 {
        assert_eq!(login_from(&app, "10.0.0.1", "10.0.0.2", "wrong password").await, 401);
    }
    assert_eq!(login_from(&app, "10.0.0.1", "10.0.0.2", "wrong password").await, 429);
    // The owner of 10.0.0.2 still signs in.
    assert_eq!(login_from(&app, "10.0.0.2", EMAIL, PASSWORD).await, 200);
}

#[tokio::test]
async fn a_refused_client_that_keeps_hammering_cannot_extend_the_lockout() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_ACCOUNT", "3"), ("LOGIN_FAIL_WINDOW", "2")]).await;
    create_account(&app, EMAIL, "ann").await;
    for _ in 0..3 {
        assert_eq!(login_from(&app, "", "ann", "wrong password").await, 401);
    }
    // Refused attempts are not counted: hammering for the rest of the window
    // neither raises the count nor pushes the end of the lockout out.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(login_from(&app, "", "ann", "wrong password").await, 429);
    }
    let mut conn = app.redis().await;
    let count: Option<u64> = redis::cmd("GET")
        .arg(app.keys("login_fail:account:*").await.first().expect("the account's counter"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, Some(3), "refused attempts were not counted");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(login_from(&app, "", EMAIL, PASSWORD).await, 200, "the lockout ended with its window");
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    // Without a trusted proxy, a forged header changes nothing: every attempt
    // counts against the connection's own address.
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_IP", "2"), ("LOGIN_FAIL_LIMIT_ACCOUNT", "100")]).await;
    assert_eq!(login_from(&app, "10.9.0.1", "nobody1", "wrong password").await, 401);
    assert_eq!(login_from(&app, "10.9.0.2", "nobody2", "wrong password").await, 401);
    assert_eq!(login_from(&app, "10.9.0.3", "nobody3", "wrong password").await, 429);
    assert!(app.ttl("login_fail:ip:127.0.0.1").await > 0);
    assert!(app.keys("login_fail:ip:10.9.*").await.is_empty());

    // Behind a trusted proxy, each client counts on its own.
    let app = spawn_app_with(&[
        ("LOGIN_FAIL_LIMIT_IP", "2"),
        ("LOGIN_FAIL_LIMIT_ACCOUNT", "100"),
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    for client in ["10.9.0.1", "10.9.0.2", "10.9.0.3"] {
        assert_eq!(login_from(&app, client, "nobody", "wrong password").await, 401, "{client}");
    }
    assert_eq!(app.keys("login_fail:ip:10.9.*").await.len(), 3);
    assert_eq!(app.keys("login_fail:ip:127.*").await.len(), 0);
}

#[tokio::test]
async fn a_huge_identifier_makes_no_huge_key() {
    let app = spawn_app().await;
    let huge = "x".repeat(10 * 1024);
    assert_eq!(login_from(&app, "", &huge, "wrong password").await, 401);
    let huge_email = format!("{}@example.com", "y".repeat(10 * 1024));
    assert_eq!(login_from(&app, "", &huge_email, "wrong password").await, 401);
    for key in app.keys("*").await {
        assert!(key.len() <= 128, "a key of {} bytes: {}…", key.len(), &key[..40]);
    }
}

#[tokio::test]
async fn ten_thousand_bad_requests_leave_a_bounded_error_log() {
    let app = spawn_app().await;
    let url = app.url("/api/auth/token");
    let sent = futures::stream::iter(0..10_000)
        .map(|i| {
            let client = app.client.clone();
            let url = url.clone();
            async move {
                // Malformed, wrong and refused: every kind of anonymous 4xx.
                let body = match i % 3 {
                    0 => serde_json::json!({"identifier": "", "password": ""}),
                    1 => serde_json::json!({"identifier": "ghost", "password": "wrong password"}),
                    _ => serde_json::json!({"refresh_token": "garbage"}),
                };
                let path = if i % 3 == 2 { url.replace("/token", "/refresh") } else { url.clone() };
                client.post(path).json(&body).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>()
        .await;
    assert!(sent.iter().all(|s| (400..500).contains(s)), "only 4xx answers");
    app.core.error_sink.flush().await;
    let records = app.keys("error:keyhold-test:*").await.into_iter().filter(|k| !k.contains(":count:")).count();
    assert_eq!(records, 0, "expected failures keep no record and no index");
    assert!(app.error_count("validation", 1).await + app.error_count("auth", 1).await > 0, "but they are counted");
}

#[tokio::test]
async fn records_from_one_client_are_capped() {
    use axum::routing::get;
    async fn boom() -> &'static str {
        panic!("boom")
    }
    let app = crate::helpers::spawn_app_full(&[], axum::Router::new().route("/test/panic", get(boom))).await;
    for _ in 0..(keyhold::error_sink::RECORDS_PER_CLIENT_HOUR + 20) {
        assert_eq!(app.client.get(app.url("/test/panic")).send().await.unwrap().status(), 500);
    }
    app.core.error_sink.flush().await;
    let kept = app.keys("error:keyhold-test:internal:*").await.len() as u64;
    assert_eq!(kept, keyhold::error_sink::RECORDS_PER_CLIENT_HOUR, "the rest are counted");
    assert_eq!(app.error_count("internal", kept + 20).await, kept + 20);
}

/// Starts an SMS registration for `email` to `phone` through the API.
async fn sms_code(app: &TestApp, email: &str, phone: &str) -> reqwest::Response {
    let mut body = crate::helpers::registration_body(email, None);
    body["delivery_method"] = "sms".into();
    body["registration_data"]["phone"] = phone.into();
    app.post_json("/api/sms/send-code", &body).await
}

#[tokio::test]
async fn one_number_gets_a_few_texts_an_hour_whatever_the_email() {
    let app = spawn_app_with(&[("SMS_LIMIT_NUMBER_HOUR", "2")]).await;
    for n in 0..2 {
        assert_eq!(sms_code(&app, &format!("u{n}@example.com"), "+15550004444").await.status(), 200);
    }
    let res = sms_code(&app, "u9@example.com", "+15550004444").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(app.keys("*u9@example.com*").await.is_empty(), "nothing pending for the refused text");
    assert_eq!(sms_code(&app, "u9@example.com", "+15550005555").await.status(), 200, "other numbers go on");
    app.core.error_sink.flush().await;
    assert_eq!(app.keys("error:keyhold-test:sms:*").await.len(), 1, "the cap being hit is kept");
    let texts = app.messages().iter().filter(|m| m.raw.contains("Keyhold code")).count();
    assert_eq!(texts, 3);
}

#[tokio::test]
async fn texts_have_an_hourly_budget_and_allowed_countries() {
    let app = spawn_app_with(&[("SMS_HOURLY_LIMIT", "1"), ("SMS_ALLOWED_COUNTRIES", "1,55")]).await;
    let res = sms_code(&app, "a@example.com", "+44 20 7946 0000").await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["fields"]["phone"], "We cannot send text messages to this country.");
    assert_eq!(sms_code(&app, "a@example.com", "+15550006666").await.status(), 200);
    assert_eq!(sms_code(&app, "b@example.com", "+5511987654321").await.status(), 429, "the hour's budget is spent");
}

#[tokio::test]
async fn a_stranger_who_fails_locks_out_only_themselves() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_FAIL_LIMIT_ACCOUNT", "3"),
        ("LOGIN_FAIL_LIMIT_ACCOUNT_ALL", "6"),
    ])
    .await;
    create_account(&app, EMAIL, "ann").await;
    for _ in 0..3 {
        assert_eq!(login_from(&app, "10.0.0.66", "ann", "wrong password").await, 401);
    }
    assert_eq!(login_from(&app, "10.0.0.66", "ann", PASSWORD).await, 429, "the stranger waits");
    assert_eq!(login_from(&app, "10.0.0.1", EMAIL, PASSWORD).await, 200, "the owner does not");
    // A crowd reaches the account's own bar, and then everyone waits.
    for n in 0..3 {
        assert_eq!(login_from(&app, &format!("10.0.1.{n}"), "ann", "wrong password").await, 401);
    }
    assert_eq!(login_from(&app, "10.0.0.1", EMAIL, PASSWORD).await, 429);
}
