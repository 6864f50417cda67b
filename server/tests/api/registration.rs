//! Registration by verification code: the registration API (README: "JSON API"),
//! its Redis keys, attempts, cooldowns, expiry, delivery and concurrency.

use crate::helpers::{TestApp, create_account, registration_body, spawn_app, spawn_app_with};
use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EMAIL: &str = "ann@example.com";

async fn send_code(app: &TestApp, email: &str, username: Option<&str>) -> reqwest::Response {
    app.post_json("/api/email/send-code", &registration_body(email, username)).await
}

/// Starts a registration on the page, as a browser does: the client's
/// session then owns the attempt (resends and codes typed on the page).
async fn start_on_page(app: &TestApp, email: &str, username: &str) {
    let form = [
        ("name", "Test User"),
        ("username", username),
        ("email", email),
        ("phone", ""),
        ("password", "correct horse battery staple"),
        ("delivery_method", "email"),
        ("role", "consumer"),
    ];
    let res = app.call_fn("register", &form).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.text().await.unwrap());
}

async fn complete(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/email/complete-registration", &json!({"email": email, "code": code})).await
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn send_code_answers_the_seed_body_and_writes_the_pending_keys() {
    let app = spawn_app().await;
    let res = send_code(&app, EMAIL, Some("ann")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success": true, "message": "Verification code sent successfully", "expires_in_minutes": 10})
    );
    let mail = app.message(0).await;
    assert_eq!(mail.header("to").as_deref(), Some(EMAIL));
    assert_eq!(mail.header("subject").as_deref(), Some("Your Keyhold verification code"));
    let code = mail.code();

    let candidate = app.hgetall("user_candidate:ann@example.com").await;
    let fields: HashSet<&str> = candidate.keys().map(String::as_str).collect();
    assert_eq!(fields, HashSet::from(["username", "role", "validation_token", "password_hash", "email"]));
    assert_eq!(candidate["username"], "ann");
    assert_eq!(candidate["role"], "consumer");
    assert_eq!(candidate["email"], EMAIL);
    assert_eq!(candidate["validation_token"].len(), 25);
    assert!(candidate["validation_token"].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(candidate["password_hash"].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!((86_390..=86_400).contains(&app.ttl("user_candidate:ann@example.com").await));
    assert_eq!(mail.token(), candidate["validation_token"], "the magic link carries the token");

    let registration_key = format!("registration:ann@example.com:{code}");
    let registration = app.hgetall(&registration_key).await;
    let fields: HashSet<&str> = registration.keys().map(String::as_str).collect();
    assert_eq!(fields, HashSet::from(["name", "email", "phone", "password", "attempt"]));
    assert_eq!(registration["attempt"].len(), 32, "the attempt's secret binds it to one browser session");
    assert_eq!(registration["name"], "Test User");
    assert_eq!(registration["phone"], "1234567890");
    assert!(registration["password"].starts_with("$argon2id$"), "the hash, never the password");
    assert!((590..=600).contains(&app.ttl(&registration_key).await));

    let verification_key = format!("verification:finish_registration:ann@example.com:{code}");
    let verification = app.hgetall(&verification_key).await;
    assert_eq!(verification["email"], EMAIL);
    assert_eq!(verification["code"], code);
    assert_eq!(verification["purpose"], "finish_registration");
    assert_eq!(verification["delivery_method"], "email");
    assert_eq!(verification["registration_key"], registration_key);
    assert!((590..=600).contains(&app.ttl(&verification_key).await));

    let guard = app.hgetall("verification_guard:finish_registration:ann@example.com").await;
    assert_eq!(guard["code"], code);
    assert_eq!(guard["attempts"], "0");
    assert_eq!(guard["sends"], "1");
    assert!((590..=600).contains(&app.ttl("verification_guard:finish_registration:ann@example.com").await));
}

#[tokio::test]
async fn completing_creates_the_account_and_clears_every_pending_key() {
    let app = spawn_app().await;
    send_code(&app, EMAIL, Some("ann")).await;
    let code = app.message(0).await.code();
    let res = complete(&app, EMAIL, &code).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success": true, "message": "Registration completed successfully"})
    );

    let mut conn = app.redis().await;
    let id: String = redis::cmd("GET").arg("account:email:ann@example.com").query_async(&mut conn).await.unwrap();
    let by_username: String = redis::cmd("GET").arg("account:username:ann").query_async(&mut conn).await.unwrap();
    assert_eq!(id, by_username);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let account = app.hgetall(&format!("account:{id}")).await;
    assert_eq!(account["email"], EMAIL);
    assert_eq!(account["username"], "ann");
    assert_eq!(account["name"], "Test User");
    assert_eq!(account["phone"], "1234567890");
    assert_eq!(account["role"], "consumer");
    assert_eq!(account["session_epoch"], "0");
    assert!(account["password_hash"].starts_with("$argon2id$"));
    assert_eq!(app.ttl(&format!("account:{id}")).await, -1, "accounts do not expire");

    let left = app.keys("*ann@example.com*").await;
    assert_eq!(left, vec!["account:email:ann@example.com".to_owned()], "no pending key survives");
}

#[tokio::test]
async fn the_api_derives_a_username_from_the_email_when_none_is_given() {
    let app = spawn_app().await;
    create_account(&app, "bob.smith+x@example.com", "taken").await;
    let res = send_code(&app, "Bob.Smith@Example.com", None).await;
    assert_eq!(res.status(), 200);
    let code = app.message(1).await.code();
    assert_eq!(complete(&app, "bob.smith@example.com", &code).await.status(), 200);
    assert_eq!(app.keys("account:username:bob.smith").await.len(), 1);
}

#[tokio::test]
async fn wrong_codes_count_down_and_the_fifth_kills_the_code() {
    let app = spawn_app().await;
    send_code(&app, EMAIL, Some("ann")).await;
    let code = app.message(0).await.code();
    for left in (1..=4).rev() {
        let res = complete(&app, EMAIL, &wrong(&code)).await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_code");
        assert_eq!(body["attempts_left"], left);
        assert_eq!(body["success"], false);
    }
    let res = complete(&app, EMAIL, &wrong(&code)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "code_exhausted");

    // Even the right code no longer works.
    let res = complete(&app, EMAIL, &code).await;
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "code_exhausted");
    // Typed guesses are over for this code; its emailed link (not a guess)
    // would still work, so strangers' guesses cannot stop the owner.
    assert_eq!(app.hgetall("verification_guard:finish_registration:ann@example.com").await["attempts"], "5");
    assert!(app.keys("account:*").await.is_empty());
}

#[tokio::test]
async fn an_expired_code_answers_410() {
    let app = spawn_app_with(&[("VERIFICATION_TTL", "1")]).await;
    send_code(&app, EMAIL, Some("ann")).await;
    let code = app.message(0).await.code();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = complete(&app, EMAIL, &code).await;
    assert_eq!(res.status(), 410);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "code_expired");
    assert_eq!(body["message"], "This code has expired. Please start again.");
}

#[tokio::test]
async fn resending_waits_for_the_cooldown_then_kills_the_old_code() {
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "1")]).await;
    start_on_page(&app, EMAIL, "ann").await;
    let first = app.message(0).await.code();

    let res = app.call_fn("resend", &[("email", EMAIL)]).await;
    assert_eq!(res.status(), 429, "inside the cooldown");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "too_many_requests");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = app.call_fn("resend", &[("email", EMAIL)]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let second = app.message(1).await.code();
    assert_eq!(app.hgetall("verification_guard:finish_registration:ann@example.com").await["sends"], "2");
    assert!(app.keys(&format!("verification:*:{first}")).await.is_empty() || first == second);
    assert_eq!(app.keys("registration:*").await, vec![format!("registration:ann@example.com:{second}")]);

    if first != second {
        let res = complete(&app, EMAIL, &first).await;
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_code", "the old code is dead");
    }
    assert_eq!(complete(&app, EMAIL, &second).await.status(), 200);
}

#[tokio::test]
async fn at_most_five_codes_are_sent_per_window() {
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "0")]).await;
    start_on_page(&app, EMAIL, "ann").await;
    for _ in 0..4 {
        assert_eq!(app.call_fn("resend", &[("email", EMAIL)]).await.status(), 200);
    }
    let res = app.call_fn("resend", &[("email", EMAIL)]).await;
    assert_eq!(res.status(), 429);
    assert_eq!(app.messages().len(), 5);
}

#[tokio::test]
async fn resend_without_a_pending_registration_says_start_again() {
    let app = spawn_app().await;
    let res = app.call_fn("resend", &[("email", "nobody@example.com")]).await;
    assert_eq!(res.status(), 410);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "code_expired");
}

#[tokio::test]
async fn a_registered_email_gets_the_same_answer_and_its_owner_a_warning() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;

    let fresh = send_code(&app, "new@example.com", Some("newbie")).await;
    let fresh_status = fresh.status();
    let fresh_body: Value = fresh.json().await.unwrap();
    let again = send_code(&app, EMAIL, Some("ann2")).await;
    assert_eq!(again.status(), fresh_status);
    assert_eq!(again.json::<Value>().await.unwrap(), fresh_body, "no account enumeration");

    let warning = app.message(2).await;
    assert_eq!(warning.header("to").as_deref(), Some(EMAIL));
    assert_eq!(warning.header("subject").as_deref(), Some("Someone tried to register with your address"));
    assert!(!warning.text.contains("code is"), "no code is sent to an existing account");

    // Wrong guesses look exactly like for a new address.
    let res = complete(&app, EMAIL, "000000").await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_code");
}

#[tokio::test]
async fn a_taken_username_is_refused_at_the_form() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let res = send_code(&app, "other@example.com", Some("Ann")).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(body["fields"]["username"], "This username is taken.");
    assert!(app.keys("*other@example.com*").await.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn a_username_claimed_meanwhile_answers_409() {
    let app = spawn_app().await;
    send_code(&app, "first@example.com", Some("same")).await;
    send_code(&app, "second@example.com", Some("same")).await;
    let first = app.message(0).await.code();
    let second = app.message(1).await.code();
    assert_eq!(complete(&app, "first@example.com", &first).await.status(), 200);
    let res = complete(&app, "second@example.com", &second).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "user_exists");
    assert!(app.keys("*second@example.com*").await.is_empty(), "the spent registration is cleared");
}

#[tokio::test]
async fn bad_input_gets_400_with_stable_codes_and_field_messages() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/email/send-code"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert!(body["fields"]["body"].is_string());

    let res = app
        .post_json(
            "/api/email/send-code",
            &json!({
                "email": "ann@example",
                "purpose": "become_admin",
                "registration_data": {"name": "", "email": "ann@example", "password": "password", "phone": "12"},
                "delivery_method": "pigeon"
            }),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert_eq!(body["fields"]["purpose"], "Choose one of: finish_registration forgot_password change_password.");

    let mut ok = registration_body("x@example.com", Some("xuser"));
    ok["registration_data"]["name"] = "".into();
    ok["registration_data"]["password"] = "password".into();
    ok["registration_data"]["phone"] = "12".into();
    ok["delivery_method"] = "pigeon".into();
    let body: Value = app.post_json("/api/email/send-code", &ok).await.json().await.unwrap();
    assert_eq!(body["fields"]["name"], "This field is required.");
    assert_eq!(body["fields"]["password"], "This password is too common. Choose one that is harder to guess.");
    assert_eq!(body["fields"]["phone"], "Enter a phone number of 7 to 15 digits, optionally starting with +.");
    assert_eq!(body["fields"]["delivery_method"], "Choose one of: email sms.");

    let res = complete(&app, EMAIL, "12ab").await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"]["code"], "Enter the 6-digit code.");
    assert!(app.keys("*").await.iter().all(|k| k.starts_with("error:")), "nothing but error records written");
}

/// A stand-in for Twilio's Messages API on loopback.
async fn fake_twilio(status: u16) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                record.lock().unwrap().push((auth, body));
                (axum::http::StatusCode::from_u16(status).unwrap(), "{\"sid\": \"SM1\"}")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

fn form_value(body: &str, name: &str) -> String {
    url::form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
}

#[tokio::test]
async fn sms_codes_go_through_the_twilio_api() {
    let (url, seen) = fake_twilio(201).await;
    let app = spawn_app_with(&[
        ("SMS_PROVIDER", "twilio"),
        ("TWILIO_API_URL", &url),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_AUTH_TOKEN", "secret-token"),
        ("SMS_FROM", "+15550001111"),
    ])
    .await;
    let mut body = registration_body(EMAIL, Some("ann"));
    body["delivery_method"] = "sms".into();
    body["registration_data"]["phone"] = "+55 11 98765-4321".into();
    let res = app.post_json("/api/sms/send-code", &body).await;
    assert_eq!(res.status(), 200);

    let (auth, form) = seen.lock().unwrap()[0].clone();
    use base64::Engine;
    assert_eq!(auth, format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC123:secret-token")));
    assert_eq!(form_value(&form, "To"), "+5511987654321");
    assert_eq!(form_value(&form, "From"), "+15550001111");
    let text = form_value(&form, "Body");
    assert!(text.starts_with("Your Keyhold code is "), "{text}");
    let code: String = text["Your Keyhold code is ".len()..].chars().take(6).collect();
    assert!(app.messages().is_empty(), "no email was sent");

    let res = app.post_json("/api/sms/complete-registration", &json!({"email": EMAIL, "code": code})).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn sms_needs_a_phone_number() {
    let app = spawn_app().await;
    let mut body = registration_body(EMAIL, Some("ann"));
    body["delivery_method"] = "sms".into();
    body["registration_data"]["phone"] = Value::Null;
    let res = app.post_json("/api/sms/send-code", &body).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"]["phone"], "Enter a phone number to receive the code by SMS.");
}

#[tokio::test]
async fn a_failed_sms_delivery_leaves_no_keys_and_is_recorded() {
    let (url, _) = fake_twilio(500).await;
    let app = spawn_app_with(&[
        ("SMS_PROVIDER", "twilio"),
        ("TWILIO_API_URL", &url),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_AUTH_TOKEN", "secret-token"),
        ("SMS_FROM", "+15550001111"),
    ])
    .await;
    let mut body = registration_body(EMAIL, Some("ann"));
    body["delivery_method"] = "sms".into();
    let res = app.post_json("/api/sms/send-code", &body).await;
    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "delivery_failed");
    assert_eq!(body["message"], "We could not send your code. Please try again.");
    assert!(app.keys("*ann@example.com*").await.is_empty(), "no pending keys left behind");
    app.core.error_sink.flush().await;
    let recorded = app.keys("error:keyhold-test:sms:*").await;
    assert_eq!(recorded.len(), 1);
    let mut conn = app.redis().await;
    let json: String = redis::cmd("GET").arg(&recorded[0]).query_async(&mut conn).await.unwrap();
    assert!(!json.contains("secret-token"));
}

#[tokio::test]
async fn a_failed_email_delivery_leaves_no_keys_and_is_recorded() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(&[("SMTP_URL", &format!("smtp://127.0.0.1:{closed}"))]).await;
    let res = send_code(&app, EMAIL, Some("ann")).await;
    assert_eq!(res.status(), 502);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "delivery_failed");
    assert!(app.keys("*ann@example.com*").await.is_empty());
    app.core.error_sink.flush().await;
    assert_eq!(app.keys("error:keyhold-test:email:*").await.len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_completions_of_one_email_create_one_account() {
    let app = spawn_app().await;
    send_code(&app, EMAIL, Some("ann")).await;
    let code = app.message(0).await.code();
    let body = json!({"email": EMAIL, "code": code});
    let calls = (0..50).map(|_| {
        let client = app.client.clone();
        let url = app.url("/api/email/complete-registration");
        let body = body.clone();
        async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 400, 409, 410].contains(s)), "{statuses:?}");
    assert_eq!(app.keys("account:email:*").await.len(), 1);
    assert_eq!(app.keys("account:username:*").await.len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_completions_of_one_username_create_one_account() {
    let app = spawn_app().await;
    let mut codes = Vec::new();
    for i in 0..50 {
        let email = format!("user{i}@example.com");
        assert_eq!(send_code(&app, &email, Some("popular")).await.status(), 200);
        codes.push((email, app.message(i).await.code()));
    }
    let calls =
        codes.into_iter().map(|(email, code)| {
            let client = app.client.clone();
            let url = app.url("/api/email/complete-registration");
            async move {
                client.post(url).json(&json!({"email": email, "code": code})).send().await.unwrap().status().as_u16()
            }
        });
    let statuses = futures::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{statuses:?}");
    assert_eq!(app.keys("account:username:*").await, vec!["account:username:popular".to_owned()]);
    assert_eq!(app.keys("account:email:*").await.len(), 1);
}

#[tokio::test]
async fn the_api_answers_503_while_redis_is_down() {
    let mut app = spawn_app().await;
    app.redis.stop().await;
    let mut status = 0;
    for _ in 0..50 {
        status = send_code(&app, EMAIL, Some("ann")).await.status().as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503);
}

#[tokio::test]
async fn sms_codes_land_in_the_outbox_by_default() {
    let app = spawn_app().await;
    let mut body = registration_body(EMAIL, Some("ann"));
    body["delivery_method"] = "sms".into();
    assert_eq!(app.post_json("/api/sms/send-code", &body).await.status(), 200);
    let sms = app.message(0).await;
    assert!(sms.raw.starts_with("To: 1234567890\n"), "{}", sms.raw);
    assert!(sms.raw.contains("Your Keyhold code is "));
    assert_eq!(
        app.hgetall(&format!("verification:finish_registration:{EMAIL}:{}", sms.code())).await["delivery_method"],
        "sms"
    );
}

#[tokio::test]
async fn new_codes_do_not_buy_new_guesses_beyond_the_daily_limit() {
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "0"), ("CODE_MAX_DAILY_FAILURES", "6")]).await;
    start_on_page(&app, EMAIL, "ann").await;
    let first = app.message(0).await.code();
    for _ in 0..4 {
        assert_eq!(complete(&app, EMAIL, &wrong(&first)).await.status(), 400);
    }
    assert_eq!(app.call_fn("resend", &[("email", EMAIL)]).await.status(), 200);
    let second = app.message(1).await.code();
    let body: Value = complete(&app, EMAIL, &wrong(&second)).await.json().await.unwrap();
    assert_eq!(body["attempts_left"], 4, "the new code has its own attempts");
    let body: Value = complete(&app, EMAIL, &wrong(&second)).await.json().await.unwrap();
    assert_eq!(body["code"], "code_exhausted", "but the day's sixth wrong guess ends it");
    let body: Value = complete(&app, EMAIL, &second).await.json().await.unwrap();
    assert_eq!(body["code"], "code_exhausted");
    // A third code is dead on arrival for the rest of the day.
    assert_eq!(app.call_fn("resend", &[("email", EMAIL)]).await.status(), 200);
    let third = app.message(2).await.code();
    assert_eq!(complete(&app, EMAIL, &third).await.json::<Value>().await.unwrap()["code"], "code_exhausted");
    let ttl = app.ttl("verification_failures:finish_registration:ann@example.com").await;
    assert!((86_390..=86_400).contains(&ttl), "{ttl}");
}

#[tokio::test]
async fn code_requests_are_limited_per_client_ip() {
    let app = spawn_app_with(&[("CODE_REQUEST_LIMIT_IP", "2")]).await;
    assert_eq!(send_code(&app, "a1@example.com", Some("aaa1")).await.status(), 200);
    assert_eq!(app.call_fn("forgot-password", &[("email", "a2@example.com")]).await.status(), 200);
    let res = send_code(&app, "a3@example.com", Some("aaa3")).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "too_many_requests");
    assert!(app.keys("*a3@example.com*").await.is_empty(), "refused before anything is written");
    assert!((1..=600).contains(&app.ttl("code_request:127.0.0.1").await));
}

#[tokio::test]
async fn discarding_a_failed_code_leaves_a_newer_code_alive() {
    use keyhold::domain::{Email, Purpose};
    use keyhold::store::pending;
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "0")]).await;
    start_on_page(&app, EMAIL, "ann").await;
    let first = app.message(0).await.code();
    assert_eq!(app.call_fn("resend", &[("email", EMAIL)]).await.status(), 200);
    let second = app.message(1).await.code();
    // The first code's delivery "failed" late, after the resend went out.
    let email = Email::parse(EMAIL).unwrap();
    pending::discard(&app.core.redis, Purpose::FinishRegistration, &email, &first).await.unwrap();
    let guard = app.hgetall("verification_guard:finish_registration:ann@example.com").await;
    assert_eq!(guard.get("code"), Some(&second), "the newer code is still live");
    assert!(!app.hgetall("user_candidate:ann@example.com").await.is_empty());
    assert_eq!(complete(&app, EMAIL, &second).await.status(), 200);
}
