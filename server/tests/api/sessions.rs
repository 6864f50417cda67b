//! Cookie sessions in Redis, login throttles, logout and the Origin check.

use crate::helpers::{TestApp, create_account, http_client, spawn_app, spawn_app_with};
use serde_json::Value;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("keyhold_session="))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie["keyhold_session=".len()..].split(';').next().unwrap().to_owned()
}

async fn login(app: &TestApp, identifier: &str, password: &str) -> reqwest::Response {
    app.call_fn("login", &[("identifier", identifier), ("password", password)]).await
}

async fn me(app: &TestApp) -> Value {
    app.call_fn("me", &[]).await.json().await.unwrap()
}

#[tokio::test]
async fn login_stores_the_session_under_its_bare_id_with_safe_cookie_flags() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let res = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP in development: {cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let id = cookie_value(&cookie);
    assert_eq!(id.len(), 22, "the bare session id");
    let ttl = app.ttl(&id).await;
    assert!((86_390..=86_400).contains(&ttl), "one day: {ttl}");
    assert_eq!(me(&app).await["username"], "ann");
}

#[tokio::test]
async fn a_session_in_use_gets_a_new_day_now_and_then_not_on_every_request() {
    let app = spawn_app_with(&[("SESSION_RENEW_AFTER", "2")]).await;
    create_account(&app, EMAIL, "ann").await;
    let id = cookie_value(&session_cookie(&login(&app, EMAIL, PASSWORD).await).expect("a session cookie"));
    // The first request after the login marks the session as renewed.
    app.call_fn("me", &[]).await;
    let expire = |seconds: i64| {
        let (app, id) = (&app, &id);
        async move {
            let mut conn = app.redis().await;
            let _: () = redis::cmd("EXPIRE").arg(id).arg(seconds).query_async(&mut conn).await.unwrap();
        }
    };
    // As if the last renewal were most of a day ago, but not yet due.
    expire(600).await;
    let res = app.call_fn("me", &[]).await;
    assert!(session_cookie(&res).is_none(), "nothing written within SESSION_RENEW_AFTER");
    assert!(app.ttl(&id).await <= 600);

    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let res = app.call_fn("me", &[]).await;
    let cookie = session_cookie(&res).expect("the renewed session's cookie");
    assert_eq!(cookie_value(&cookie), id, "the same session");
    assert!(cookie.contains("Max-Age=86400"), "{cookie}");
    assert!((86_390..=86_400).contains(&app.ttl(&id).await), "a new day in Redis");
    assert_eq!(me(&app).await["username"], "ann");

    // Anonymous visitors get no session from it.
    let res = http_client().get(app.url("/")).send().await.unwrap();
    assert!(session_cookie(&res).is_none());
}

#[tokio::test]
async fn cookies_are_secure_outside_development() {
    let app = spawn_app_with(&[("APP_ENV", "production"), ("APP_SECRET", &"s".repeat(40))]).await;
    create_account(&app, EMAIL, "ann").await;
    let res = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(session_cookie(&res).unwrap().contains("Secure"));
}

#[tokio::test]
async fn login_works_by_username_and_email_in_any_case() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    assert_eq!(login(&app, "ANN", PASSWORD).await.status(), 200);
    let other = http_client();
    let res = other
        .post(app.url("/fn/login"))
        .header("origin", &app.address)
        .header("accept", "application/json")
        .form(&[("identifier", "Ann@Example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let wrong = login(&app, EMAIL, "not the password").await;
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.json().await.unwrap();
    let unknown = login(&app, "nobody@example.com", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");
    assert!(me(&app).await.is_null(), "still logged out");
    assert_eq!(app.error_count("auth", 2).await, 2, "failed logins are counted as auth errors");
    assert!(app.keys("error:keyhold-test:auth:*").await.is_empty(), "but not kept one by one");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_ACCOUNT", "3")]).await;
    let id = {
        create_account(&app, EMAIL, "ann").await;
        let mut conn = app.redis().await;
        redis::cmd("GET").arg("account:email:ann@example.com").query_async::<String>(&mut conn).await.unwrap()
    };
    for _ in 0..3 {
        assert_eq!(login(&app, "ann", "wrong password").await.status(), 401);
    }
    let res = login(&app, "ann", PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits");
    assert!(res.headers().contains_key("retry-after"));
    // Counted per account, whichever of its names is typed.
    assert_eq!(login(&app, EMAIL, PASSWORD).await.status(), 429, "the email is the same account");
    assert!((1..=900).contains(&app.ttl(&format!("login_fail:account:{id}")).await));
    assert_eq!(app.ttl("login_fail:ann").await, -2);

    // Unknown names are throttled the same way.
    for _ in 0..3 {
        assert_eq!(login(&app, "ghost", "wrong password").await.status(), 401);
    }
    assert_eq!(login(&app, "ghost", "wrong password").await.status(), 429);
}

#[tokio::test]
async fn failures_are_throttled_per_ip_too() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_IP", "4"), ("LOGIN_FAIL_LIMIT_ACCOUNT", "100")]).await;
    create_account(&app, EMAIL, "ann").await;
    for name in ["a1a", "b2b", "c3c", "d4d"] {
        assert_eq!(login(&app, name, "wrong password").await.status(), 401);
    }
    assert_eq!(login(&app, EMAIL, PASSWORD).await.status(), 429);
    assert!(app.ttl("login_fail:ip:127.0.0.1").await > 0);
}

#[tokio::test]
async fn logging_in_again_cycles_the_session_id() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let first = cookie_value(&session_cookie(&login(&app, EMAIL, PASSWORD).await).unwrap());
    let second = cookie_value(&session_cookie(&login(&app, EMAIL, PASSWORD).await).unwrap());
    assert_ne!(first, second);
    assert_eq!(app.ttl(&first).await, -2, "the old session is gone");
    assert!(app.ttl(&second).await > 0);
}

#[tokio::test]
async fn logout_deletes_the_session_in_redis() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let id = cookie_value(&session_cookie(&login(&app, EMAIL, PASSWORD).await).unwrap());
    let res = app.client.post(app.url("/logout")).header("origin", &app.address).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    assert_eq!(app.ttl(&id).await, -2, "the session key is deleted");
    assert!(me(&app).await.is_null());
    // The old cookie, sent again, is nobody's.
    let replayed = http_client()
        .post(app.url("/fn/me"))
        .header("origin", &app.address)
        .header("accept", "application/json")
        .header("cookie", format!("keyhold_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 200);
    assert!(replayed.json::<Value>().await.unwrap().is_null());
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let form = [("identifier", EMAIL), ("password", PASSWORD)];
    let res = app.client.post(app.url("/fn/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 403, "no Origin nor Referer");
    let res = app
        .client
        .post(app.url("/fn/login"))
        .header("origin", "https://evil.example")
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "cross_origin");
    let res = app.client.post(app.url("/logout")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(res.status(), 403);
    // A Referer from this site is enough when a browser leaves out Origin.
    let res = app
        .client
        .post(app.url("/fn/login"))
        .header("referer", app.url("/login"))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_whole_flow_works_with_plain_form_posts() {
    let app = spawn_app().await;
    // Register: a plain post answers with a redirect to the verify page.
    let res = app
        .post_form(
            "/fn/register",
            "/register",
            &[
                ("name", "Ann Lee"),
                ("username", "annlee"),
                ("email", EMAIL),
                ("phone", ""),
                ("password", PASSWORD),
                ("delivery_method", "email"),
                ("role", "creator"),
            ],
        )
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/verify?email=ann%40example.com");

    // A wrong code comes back to the page with the error in the URL...
    let code = app.message(0).await.code();
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let res =
        app.post_form("/fn/verify", "/verify?email=ann%40example.com", &[("email", EMAIL), ("code", wrong)]).await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("__err="), "{location}");
    // ...and the page shows it.
    let page = app.get(location.trim_start_matches(&app.address)).await.text().await.unwrap();
    assert!(page.contains("That code is not right. 4 attempt(s) left."), "{page}");

    let res =
        app.post_form("/fn/verify", "/verify?email=ann%40example.com", &[("email", EMAIL), ("code", &code)]).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/profile");
    let page = app.get("/profile").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Ann Lee"), "{html}");
    assert!(html.contains("creator"));
}

#[tokio::test]
async fn form_errors_come_back_next_to_the_fields_with_the_values_kept() {
    let app = spawn_app().await;
    let res = app
        .post_form(
            "/fn/register",
            "/register",
            &[
                ("name", "Ann Lee"),
                ("username", "x"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("delivery_method", "email"),
                ("role", "consumer"),
            ],
        )
        .await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let decoded = location.replace("%20", " ").replace('+', " ");
    for typed in ["Ann Lee", "Ann%20Lee", "not-an-email"] {
        assert!(!decoded.contains(typed), "typed values stay out of the URL: {location}");
    }
    let html = app.get(location.trim_start_matches(&app.address)).await.text().await.unwrap();
    assert!(html.contains("Enter a valid email address, like name@example.com."), "{html}");
    assert!(html.contains("Use at least 3 characters."));
    assert!(html.contains("Use at least 8 characters."));
    assert!(html.contains("value=\"Ann Lee\""), "the name is kept");
    assert!(!html.contains("short"), "the password is not echoed");
    let again = app.get(location.trim_start_matches(&app.address)).await.text().await.unwrap();
    assert!(!again.contains("value=\"Ann Lee\""), "the values are shown once");
    // Nothing half-written: only the error counters and the session.
    let kept = |k: &String| k.starts_with("error:") || k.starts_with("form_values_kept:") || !k.contains(':');
    assert!(app.keys("*").await.iter().all(kept));
}

#[tokio::test]
async fn the_profile_sends_strangers_to_login() {
    let app = spawn_app().await;
    let res = app.get("/profile").await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login?next=%2Fprofile");
}

#[tokio::test]
async fn login_redirects_only_to_local_paths() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let client = http_client();
    for (next, want) in [("/profile", "/profile"), ("https://evil.example", "/profile"), ("//evil.example", "/profile")]
    {
        let res = client
            .post(app.url("/fn/login"))
            .header("origin", &app.address)
            .header("referer", app.url("/login"))
            .header("accept", "text/html")
            .form(&[("identifier", EMAIL), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], want);
    }
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_throttle() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_ACCOUNT", "5")]).await;
    create_account(&app, EMAIL, "ann").await;
    let calls = (0..20).map(|i| {
        let client = http_client();
        let url = app.url("/fn/login");
        let origin = app.address.clone();
        async move {
            let form = [("identifier", EMAIL.to_owned()), ("password", format!("wrong guess {i}"))];
            let req = client.post(url).header("origin", origin).header("accept", "application/json").form(&form);
            req.send().await.unwrap().status().as_u16()
        }
    });
    let statuses = futures::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15, "{statuses:?}");
}

#[tokio::test]
async fn a_successful_login_does_not_count_against_the_ip() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_IP", "2")]).await;
    create_account(&app, EMAIL, "ann").await;
    for _ in 0..4 {
        assert_eq!(login(&app, EMAIL, PASSWORD).await.status(), 200);
    }
}

#[tokio::test]
async fn a_session_that_changed_hands_loads_the_user_it_names_not_the_one_the_store_remembers() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    create_account(&app, "bob@example.com", "bob").await;
    let (ann, bob) = (http_client(), http_client());
    let ann_session = login_as(&app, &ann, EMAIL).await;
    let bob_session = login_as(&app, &bob, "bob").await;
    assert_eq!(me_as(&app, &bob).await["username"], "bob", "the store now takes Bob's session for Bob's");

    // Ann's record under Bob's session id: the store reads Bob's account
    // with it, on its guess, and must not use it.
    let mut conn = app.redis().await;
    let record: Vec<u8> = redis::cmd("GET").arg(&ann_session).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("SET").arg(&bob_session).arg(record).arg("KEEPTTL").query_async(&mut conn).await.unwrap();
    // Bob's account, read on the guess, is even of the wrong type: that is
    // no reason to fail Ann's request.
    let bob_id: String = redis::cmd("GET").arg("account:username:bob").query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("SET").arg(format!("account:{bob_id}")).arg("x").query_async(&mut conn).await.unwrap();
    assert_eq!(me_as(&app, &bob).await["username"], "ann");
    assert_eq!(me_as(&app, &bob).await["username"], "ann", "and again, now that the store knows");
    assert_eq!(me_as(&app, &ann).await["username"], "ann");
}

async fn login_as(app: &TestApp, browser: &reqwest::Client, identifier: &str) -> String {
    let res = app.call_fn_as(browser, "login", &[("identifier", identifier), ("password", PASSWORD)]).await;
    cookie_value(&session_cookie(&res).expect("a session cookie"))
}

async fn me_as(app: &TestApp, browser: &reqwest::Client) -> Value {
    app.call_fn_as(browser, "me", &[]).await.json().await.unwrap()
}
