//! Forgotten and changed passwords.

use crate::helpers::{TestApp, create_account, http_client, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn login_with(app: &TestApp, client: &reqwest::Client, password: &str) -> u16 {
    client
        .post(app.url("/fn/login"))
        .header("origin", &app.address)
        .header("accept", "application/json")
        .form(&[("identifier", EMAIL), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Value {
    let res = client.post(app.url("/fn/me")).header("origin", &app.address).header("accept", "application/json").send();
    res.await.unwrap().json().await.unwrap()
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.call_fn("forgot-password", &[("email", email)]).await
}

async fn reset(app: &TestApp, code: &str, password: &str) -> reqwest::Response {
    let form = [("email", EMAIL), ("code", code), ("new_password", password), ("confirm_password", password)];
    app.call_fn("reset-password", &form).await
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_unknown_addresses() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let known = forgot(&app, EMAIL).await;
    let unknown = forgot(&app, "nobody@example.com").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.headers().get("serverfnredirect").is_some(), unknown.headers().get("serverfnredirect").is_some());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());

    // The same keys exist for both; only the real account gets mail.
    for email in [EMAIL, "nobody@example.com"] {
        let guard = format!("verification_guard:forgot_password:{email}");
        assert!((590..=600).contains(&app.ttl(&guard).await), "{guard}");
        assert_eq!(app.keys(&format!("verification:forgot_password:{email}:*")).await.len(), 1);
    }
    let mail = app.message(1).await;
    assert_eq!(mail.header("to").as_deref(), Some(EMAIL));
    assert_eq!(mail.header("subject").as_deref(), Some("Reset your Keyhold password"));
    assert_eq!(app.messages().len(), 2, "the account's code mail and this one, nothing for the stranger");
    let code = mail.code();
    let verification = app.hgetall(&format!("verification:forgot_password:{EMAIL}:{code}")).await;
    assert_eq!(verification["purpose"], "forgot_password");
    assert_eq!(verification["delivery_method"], "email");
    assert!(!verification.contains_key("registration_key"));
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_other_sessions_and_logs_in() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let other = http_client();
    assert_eq!(login_with(&app, &other, PASSWORD).await, 200);
    assert_eq!(me(&app, &other).await["username"], "ann");

    forgot(&app, EMAIL).await;
    let code = app.message(1).await.code();
    let res = reset(&app, &code, NEW_PASSWORD).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(me(&app, &app.client).await["username"], "ann", "the resetting browser is logged in");
    assert!(me(&app, &other).await.is_null(), "the other session ended at once");

    assert_eq!(login_with(&app, &http_client(), PASSWORD).await, 401);
    assert_eq!(login_with(&app, &http_client(), NEW_PASSWORD).await, 200);
    assert!(app.keys("verification*forgot_password*").await.is_empty(), "the code is spent");
}

#[tokio::test]
async fn reset_codes_have_attempts_and_expire() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    forgot(&app, EMAIL).await;
    let code = app.message(1).await.code();
    for left in (1..=4).rev() {
        let res = reset(&app, &wrong(&code), NEW_PASSWORD).await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({
                "code": "invalid_code",
                "attempts_left": left,
                "message": format!("That code is not right. {left} attempt(s) left."),
            })
        );
    }
    let res = reset(&app, &wrong(&code), NEW_PASSWORD).await;
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "code_exhausted");
    assert_eq!(reset(&app, &code, NEW_PASSWORD).await.json::<Value>().await.unwrap()["code"], "code_exhausted");

    let app = spawn_app_with(&[("VERIFICATION_TTL", "1")]).await;
    create_account(&app, EMAIL, "ann").await;
    forgot(&app, EMAIL).await;
    let code = app.message(1).await.code();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = reset(&app, &code, NEW_PASSWORD).await;
    assert_eq!(res.status(), 410);
}

#[tokio::test]
async fn reset_codes_respect_the_resend_cooldown() {
    let app = spawn_app().await;
    assert_eq!(forgot(&app, "someone@example.com").await.status(), 200);
    let res = forgot(&app, "someone@example.com").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn new_passwords_are_checked() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    forgot(&app, EMAIL).await;
    let code = app.message(1).await.code();
    let form =
        [("email", EMAIL), ("code", code.as_str()), ("new_password", "password1"), ("confirm_password", "password1")];
    let body: Value = app.call_fn("reset-password", &form).await.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "new_password");
    let form =
        [("email", EMAIL), ("code", code.as_str()), ("new_password", NEW_PASSWORD), ("confirm_password", "other")];
    let body: Value = app.call_fn("reset-password", &form).await.json().await.unwrap();
    assert_eq!(body["fields"][0], json!({"field": "confirm_password", "message": "The passwords do not match."}));
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    assert_eq!(login_with(&app, &app.client, PASSWORD).await, 200);
    let other = http_client();
    assert_eq!(login_with(&app, &other, PASSWORD).await, 200);

    let res = app.call_fn("send-change-code", &[("current_password", "not my password")]).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["fields"][0],
        json!({"field": "current_password", "message": "This is not your current password."})
    );

    assert_eq!(app.call_fn("send-change-code", &[("current_password", PASSWORD)]).await.status(), 200);
    let mail = app.message(1).await;
    assert_eq!(mail.header("subject").as_deref(), Some("Confirm your new Keyhold password"));
    let code = mail.code();
    assert_eq!(app.keys(&format!("verification:change_password:{EMAIL}:{code}")).await.len(), 1);

    let form = [("code", code.as_str()), ("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)];
    let res = app.call_fn("change-password", &form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(me(&app, &app.client).await["username"], "ann", "this session stays");
    assert!(me(&app, &other).await.is_null(), "the other session is logged out");
    assert_eq!(login_with(&app, &http_client(), NEW_PASSWORD).await, 200);
}

/// A reset through the API from `client`, as a trusted proxy reports it.
async fn reset_from(app: &TestApp, client: &str, proof: (&str, &str)) -> (u16, Value) {
    let mut body = json!({"email": EMAIL, "new_password": NEW_PASSWORD});
    body[proof.0] = proof.1.into();
    let res = app.client.post(app.url("/api/auth/reset-password")).header("x-forwarded-for", client).json(&body);
    let res = res.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn one_guessing_client_blocks_only_itself() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1"), ("CODE_MAX_CLIENT_FAILURES", "3")]).await;
    create_account(&app, EMAIL, "ann").await;
    forgot(&app, EMAIL).await;
    let code = app.message(1).await.code();
    // The stranger's three wrong guesses kill no one's code but their own chances.
    for _ in 0..3 {
        assert_eq!(reset_from(&app, "10.0.0.66", ("code", &wrong(&code))).await.0, 400);
    }
    let (status, body) = reset_from(&app, "10.0.0.66", ("code", &code)).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_requests")), "even the right code waits");
    assert!((1..=900).contains(&app.ttl("code_guesses:forgot_password:ann@example.com:10.0.0.66").await));
    // The owner, from another address, is not blocked (the code has 5 attempts, 3 spent).
    assert_eq!(reset_from(&app, "10.0.0.1", ("code", &code)).await.0, 200);
}

#[tokio::test]
async fn the_mailbox_owner_recovers_while_strangers_spend_the_days_guesses() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("CODE_MAX_DAILY_FAILURES", "4"),
        ("CODE_RESEND_COOLDOWN", "0"),
    ])
    .await;
    create_account(&app, EMAIL, "ann").await;
    // Strangers from many addresses spend the address's guesses for the day.
    forgot(&app, EMAIL).await;
    let first = app.message(1).await.code();
    for n in 0..4 {
        reset_from(&app, &format!("10.1.0.{n}"), ("code", &wrong(&first))).await;
    }
    assert_eq!(reset_from(&app, "10.0.0.1", ("code", &first)).await.1["code"], "code_exhausted", "typed codes stop");

    // The owner follows the link in the mail they already have: no code is
    // typed, nothing is guessed, and the reset goes through.
    let mail = app.message(1).await;
    let start = mail.text.find("token=").expect("a reset link") + "token=".len();
    let token: String = mail.text[start..].chars().take_while(char::is_ascii_alphanumeric).collect();
    assert_eq!(token.len(), 32);
    let (status, body) = reset_from(&app, "10.0.0.1", ("token", "not-the-token")).await;
    assert_ne!(status, 200, "{body}");
    assert_eq!(reset_from(&app, "10.0.0.1", ("token", &token)).await.0, 200);
    assert_eq!(login_with(&app, &http_client(), NEW_PASSWORD).await, 200);
    assert_eq!(reset_from(&app, "10.0.0.1", ("token", &token)).await.1["code"], "link_expired", "a link works once");
}

#[tokio::test]
async fn one_client_cannot_guess_across_many_addresses() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1"), ("CODE_MAX_IP_FAILURES", "3")]).await;
    for (n, name) in ["ann", "bob", "cid", "dan"].iter().enumerate() {
        let email = format!("{name}@example.com");
        create_account(&app, &email, name).await;
        assert_eq!(forgot(&app, &email).await.status(), 200);
        let res = app
            .client
            .post(app.url("/api/auth/reset-password"))
            .header("x-forwarded-for", "2001:db8:7:7::1")
            .json(&json!({"email": email, "code": "000000", "new_password": NEW_PASSWORD}))
            .send()
            .await
            .unwrap();
        let want = if n < 3 { 400 } else { 429 };
        assert_eq!(res.status(), want, "{email}");
    }
    // The same /64 is the same client.
    assert!(app.ttl("code_guesses:all:2001:db8:7:7::/64").await > 0);
}

#[tokio::test]
async fn asking_again_cannot_kill_the_mail_the_owner_holds() {
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "0")]).await;
    create_account(&app, EMAIL, "ann").await;
    forgot(&app, EMAIL).await;
    let held = app.message(1).await;
    // A stranger asks for the same address's reset, again and again.
    for _ in 0..3 {
        assert_eq!(forgot(&app, EMAIL).await.status(), 200);
    }
    let again = app.message(4).await;
    assert_eq!(again.code(), held.code(), "the live code is sent again, not replaced");
    let form =
        [("email", EMAIL), ("code", &held.code()), ("new_password", NEW_PASSWORD), ("confirm_password", NEW_PASSWORD)];
    assert_eq!(app.call_fn("reset-password", &form).await.status(), 200, "the first mail still works");
}
