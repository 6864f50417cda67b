//! An account owns only what it proved: a registration started in one
//! browser cannot be finished with a code from someone else's attempt, and
//! an SMS registration proves the phone, not the email address.

use crate::helpers::{TestApp, create_account, http_client, registration_body, spawn_app, spawn_app_with};
use serde_json::{Value, json};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn register_as(app: &TestApp, browser: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
    let form = [
        ("name", "Someone"),
        ("username", username),
        ("email", EMAIL),
        ("phone", ""),
        ("password", password),
        ("delivery_method", "email"),
        ("role", "consumer"),
    ];
    app.call_fn_as(browser, "register", &form).await
}

async fn code_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_code_from_someone_elses_attempt_never_finishes_yours() {
    let app = spawn_app_with(&[("CODE_RESEND_COOLDOWN", "0")]).await;
    let (victim, attacker) = (http_client(), http_client());

    // The owner of the address registers; a stranger then registers the
    // same address with their own username and password.
    assert!(register_as(&app, &victim, "ann", PASSWORD).await.status().is_success());
    let first = app.message(0).await;
    assert!(register_as(&app, &attacker, "mallory", "mallory's own password").await.status().is_success());
    let second = app.message(1).await;
    assert!(
        second.text.contains("someone else is trying to register your address"),
        "the second mail says so plainly: {}",
        second.text
    );
    assert!(!first.text.contains("someone else"), "a first attempt carries no warning");

    // The owner types the new code on their own page: it is refused.
    let res = app.call_fn_as(&victim, "verify", &[("email", EMAIL), ("code", &second.code())]).await;
    assert_eq!(code_of(res).await, (409, "other_attempt".to_owned()));
    // Nor does following the new mail's link in the owner's browser.
    let res = app.call_fn_as(&victim, "confirm-link", &[("email", EMAIL), ("token", &second.token())]).await;
    assert_eq!(code_of(res).await, (409, "other_attempt".to_owned()));
    assert!(app.keys("account:*").await.is_empty(), "no account was made from the stranger's data");
    // Nor can the owner resend the stranger's attempt to themselves.
    let res = app.call_fn_as(&victim, "resend", &[("email", EMAIL)]).await;
    assert_eq!(code_of(res).await, (409, "other_attempt".to_owned()));

    // Starting again makes the owner's own attempt live, which only they finish.
    assert!(register_as(&app, &victim, "ann", PASSWORD).await.status().is_success());
    let third = app.message(2).await.code();
    let res = app.call_fn_as(&attacker, "verify", &[("email", EMAIL), ("code", &third)]).await;
    assert_eq!(code_of(res).await, (409, "other_attempt".to_owned()), "nor the other way round");
    let res = app.call_fn_as(&victim, "verify", &[("email", EMAIL), ("code", &third)]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let mut conn = app.redis().await;
    let id: String = redis::cmd("GET").arg("account:username:ann").query_async(&mut conn).await.unwrap();
    assert_eq!(app.hgetall(&format!("account:{id}")).await["username"], "ann");
    assert!(app.keys("account:username:mallory").await.is_empty());
}

#[tokio::test]
async fn only_the_browser_that_started_a_registration_sees_its_status() {
    let app = spawn_app().await;
    let (owner, stranger) = (http_client(), http_client());
    assert!(register_as(&app, &owner, "ann", PASSWORD).await.status().is_success());
    async fn status(app: &TestApp, browser: &reqwest::Client) -> Value {
        let res = app.call_fn_as(browser, "verification-status", &[("email", EMAIL)]).await;
        res.json::<Value>().await.unwrap()
    }
    assert_eq!(status(&app, &owner).await["live"], true);
    let seen = status(&app, &stranger).await;
    assert_eq!(seen, json!({"live": false, "resend_in": 0, "sends_left": 0, "attempts_left": 0, "expires_in": 0}));
    let other = app.call_fn_as(&stranger, "verification-status", &[("email", "nobody@example.com")]).await;
    assert_eq!(other.json::<Value>().await.unwrap(), seen, "a taken and a free address look alike");
}

/// Registers `email` by SMS through the API and finishes with the texted code.
async fn register_by_sms(app: &TestApp, email: &str, username: &str, phone: &str) -> reqwest::Response {
    let mut body = registration_body(email, Some(username));
    body["delivery_method"] = "sms".into();
    body["registration_data"]["phone"] = phone.into();
    let before = app.messages().len();
    let res = app.post_json("/api/sms/send-code", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let sms = app.message(before).await;
    assert!(sms.raw.contains(phone.trim_start_matches('+')), "the code went to the phone: {}", sms.raw);
    app.post_json("/api/sms/complete-registration", &json!({"email": email, "code": sms.code()})).await
}

async fn token_status(app: &TestApp, identifier: &str) -> u16 {
    app.post_json("/api/auth/token", &json!({"identifier": identifier, "password": PASSWORD})).await.status().as_u16()
}

#[tokio::test]
async fn an_sms_registration_owns_the_phone_not_the_email() {
    let app = spawn_app().await;
    let res = register_by_sms(&app, EMAIL, "ann", "+15550002222").await;
    assert_eq!(res.status(), 200);

    // The account exists, but the address is not claimed or usable.
    assert!(app.keys("account:email:*").await.is_empty(), "the address index is not claimed");
    assert_eq!(token_status(&app, "ann").await, 200, "the username works");
    assert_eq!(token_status(&app, EMAIL).await, 401, "the unproven address does not");
    let before = app.messages().len();
    let res = app.post_json("/api/email/send-code", &json!({"email": EMAIL, "purpose": "forgot_password"})).await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let reset_codes = app.messages()[before..].iter().filter(|m| m.text.contains("code is")).count();
    assert_eq!(reset_codes, 0, "no reset code for an unproven address");

    // The owner of the address confirms it through the emailed link.
    let mail = app.messages().into_iter().find(|m| m.text.contains("/confirm-email?token=")).expect("a link was sent");
    let start = mail.text.find("token=").unwrap() + "token=".len();
    let token: String = mail.text[start..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let res = app.call_fn("confirm-email", &[("token", &token)]).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(app.keys("account:email:*").await, vec!["account:email:ann@example.com".to_owned()]);
    assert_eq!(token_status(&app, EMAIL).await, 200, "now the address works too");
    let res = app.call_fn("confirm-email", &[("token", &token)]).await;
    assert_eq!(code_of(res).await.1, "link_expired", "a link works once");
}

#[tokio::test]
async fn an_sms_registration_looks_the_same_for_a_taken_and_a_free_address() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "owner").await;
    let owner_mail = app.messages().len();

    // A stranger registers the owner's address with their own phone: the
    // answer, the SMS and the completion look as for a free address.
    let res = register_by_sms(&app, EMAIL, "stranger", "+15550003333").await;
    assert_eq!(res.status(), 200, "the same answer as for a free address");
    let texts = app.messages()[owner_mail..].iter().filter(|m| m.raw.contains("Keyhold code")).count();
    assert_eq!(texts, 1, "one SMS code, as for a free address");

    // The owner's account and index are untouched; the stranger's link
    // cannot take the address.
    let mut conn = app.redis().await;
    let owner_id: String = redis::cmd("GET").arg("account:email:ann@example.com").query_async(&mut conn).await.unwrap();
    assert_eq!(app.hgetall(&format!("account:{owner_id}")).await["username"], "owner");
    let mail = app.messages().into_iter().find(|m| m.text.contains("/confirm-email?token=")).expect("a link was sent");
    let start = mail.text.find("token=").unwrap() + "token=".len();
    let token: String = mail.text[start..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let res = app.call_fn("confirm-email", &[("token", &token)]).await;
    assert_eq!(code_of(res).await, (409, "user_exists".to_owned()));
    let still: String = redis::cmd("GET").arg("account:email:ann@example.com").query_async(&mut conn).await.unwrap();
    assert_eq!(still, owner_id);
}

#[tokio::test]
async fn an_unconfirmed_address_can_ask_for_its_link_again() {
    let app = spawn_app().await;
    assert_eq!(register_by_sms(&app, EMAIL, "ann", "+15550007777").await.status(), 200);
    let links = |app: &TestApp| app.messages().into_iter().filter(|m| m.text.contains("/confirm-email?token=")).count();
    assert_eq!(links(&app), 1);
    let res = app.call_fn("login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), 200);
    let page = app.get("/profile").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"email-unconfirmed\""), "the profile says so");
    let res = app.call_fn("resend-confirmation", &[]).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(links(&app), 2, "a second link went out");
}
