//! Admins and the error log's API (README: "Error log"): ADMIN_EMAILS and
//! the admin subcommand, 401/403 for everyone else, the ingest endpoint and
//! its validation, the seed's keys and TTLs, pagination, filters, search.

use crate::helpers::{TestApp, create_account, spawn_app_with};
use redis::AsyncCommands;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const INGEST: &str = "ingest-token-for-the-tests-0123456789";

async fn token_for(app: &TestApp, email: &str) -> String {
    let res = app.post_json("/api/auth/token", &json!({"identifier": email, "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn ingest(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app.client.post(app.url("/api/errors")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

fn record(service: &str, kind: &str, message: &str) -> Value {
    json!({"service": service, "type": kind, "message": message, "stack": "Error: boom\n    at handler",
        "userId": "user-7", "correlationId": "corr-1",
        "metadata": {"endpoint": "/api/users/7", "method": "patch", "ipAddress": "192.168.1.1"}})
}

async fn admin_app() -> (TestApp, String) {
    let app = spawn_app_with(&[("ADMIN_EMAILS", "boss@example.com"), ("ERROR_INGEST_TOKEN", INGEST)]).await;
    create_account(&app, "boss@example.com", "boss").await;
    let token = token_for(&app, "boss@example.com").await;
    (app, token)
}

#[tokio::test]
async fn admin_emails_make_admins_at_login_and_others_are_refused() {
    let (app, boss) = admin_app().await;
    create_account(&app, "ann@example.com", "ann").await;
    let ann = token_for(&app, "ann@example.com").await;
    let me: Value = app.client.get(app.url("/api/me")).bearer_auth(&boss).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "admin");

    let res = app.client.get(app.url("/api/admin/errors")).bearer_auth(&boss).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Every admin route: 403 for a signed-in non-admin, 401 for no one.
    let group = "/api/admin/errors/groups/orders/0123456789abcdef";
    let routes = [
        (reqwest::Method::GET, "/api/admin/errors".to_owned()),
        (reqwest::Method::GET, "/api/admin/errors/groups".to_owned()),
        (reqwest::Method::GET, group.to_owned()),
        (reqwest::Method::POST, format!("{group}/resolve")),
        (reqwest::Method::GET, "/api/admin/errors/error:x:y:z:w".to_owned()),
    ];
    for (method, path) in &routes {
        let res = app.client.request(method.clone(), app.url(path)).bearer_auth(&ann).send().await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "forbidden");
        let res = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path}");
    }
    let ann_browser = crate::helpers::http_client();
    app.call_fn_as(&ann_browser, "login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    let stranger = crate::helpers::http_client();
    let functions: [(&str, &[(&str, &str)]); 7] = [
        ("admin-errors", &[]),
        ("admin-error", &[("key", "error:x:y:z:w")]),
        ("admin-error-group-page", &[("service", "orders"), ("group", "0123456789abcdef")]),
        (
            "admin-error-group",
            &[("service", "orders"), ("group", "0123456789abcdef"), ("action", "resolve"), ("back", "/admin/errors")],
        ),
        ("admin-monitor", &[]),
        ("admin-drop-user-cache", &[("user", "ann")]),
        ("admin-drop-all-caches", &[("confirm", "yes")]),
    ];
    for (name, args) in functions {
        assert_eq!(app.call_fn_as(&ann_browser, name, args).await.status(), 403, "{name}");
        assert_eq!(app.call_fn_as(&stranger, name, args).await.status(), 401, "{name}");
    }

    // The session cookie works as well as a token.
    let browser = crate::helpers::http_client();
    let res = app.call_fn_as(&browser, "login", &[("identifier", "boss"), ("password", PASSWORD)]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = browser.get(app.url("/api/admin/errors")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_admin_subcommand_grants_and_revokes() {
    let app = spawn_app_with(&[]).await;
    create_account(&app, "ann@example.com", "ann").await;
    let run = |action: &'static str, email: &'static str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_keyhold-server"))
            .args(["admin", action, email])
            .env_clear()
            .env("APP_ENV", "development")
            .env("REDIS_URL", app.redis.url())
            .env("OBJECT_STORE_URL", app.objects.path())
            .output()
    };
    let out = run("grant", "ann@example.com").await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is now admin"));
    let ann = token_for(&app, "ann@example.com").await;
    assert_eq!(app.client.get(app.url("/api/admin/errors")).bearer_auth(&ann).send().await.unwrap().status(), 200);
    let out = run("grant", "ann@example.com").await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("already is admin"));

    let out = run("revoke", "ann@example.com").await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("is now consumer"));
    assert_eq!(app.client.get(app.url("/api/admin/errors")).bearer_auth(&ann).send().await.unwrap().status(), 403);
    let out = run("grant", "nobody@example.com").await.unwrap();
    assert!(!out.status.success());

    // The key census, once, from the command line too.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyhold-server"))
        .args(["job", "count_keys"])
        .env_clear()
        .env("APP_ENV", "development")
        .env("REDIS_URL", app.redis.url())
        .env("OBJECT_STORE_URL", app.objects.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("count_keys: ") && stdout.contains("accounts 3"), "{stdout}");
    let census: std::collections::HashMap<String, i64> = app.redis().await.hgetall("stats:keys").await.unwrap();
    assert_eq!(census.get("accounts"), Some(&3));
}

#[tokio::test]
async fn ingest_checks_its_token_and_every_field() {
    let (app, _) = admin_app().await;
    let good = record("billing-service", "payment", "Card declined for order 123");
    assert_eq!(ingest(&app, None, &good).await.status(), 401);
    assert_eq!(ingest(&app, Some("wrong-token-wrong-token-wrong"), &good).await.status(), 401);

    let res = ingest(&app, Some(INGEST), &good).await;
    assert_eq!(res.status(), 201);
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("error:billing-service:payment:"), "{key}");
    // Exactly the seed's three keys, with the seed's TTLs.
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    assert!((604_790..=604_800).contains(&app.ttl(&key).await));
    assert!((2_591_990..=2_592_000).contains(&app.ttl(&format!("error:index:billing-service:{today}")).await));
    assert!((2_591_990..=2_592_000).contains(&app.ttl(&format!("error:count:billing-service:payment:{today}")).await));
    let stored: Value = serde_json::from_str(&app.redis().await.get::<_, String>(&key).await.unwrap()).unwrap();
    assert_eq!(stored["metadata"]["method"], "PATCH");
    assert_eq!(stored["type"], "payment");

    let bad = [
        (json!({"service": "a:b", "type": "x", "message": "m"}), "service"),
        (json!({"service": "svc", "type": "has space", "message": "m"}), "type"),
        (json!({"service": "svc", "type": "x"}), "message"),
        (json!({"service": "svc", "type": "x", "message": "x".repeat(2001)}), "message"),
        (json!({"service": "svc", "type": "x", "message": "bin\u{0}ary"}), "message"),
        (
            json!({"service": "svc", "type": "x", "message": "m", "metadata": {"ipAddress": "not-an-ip"}}),
            "metadata.ipAddress",
        ),
        (json!({"service": "svc", "type": "x", "message": "m", "metadata": {"method": "GET /x"}}), "metadata.method"),
    ];
    for (body, field) in bad {
        let res = ingest(&app, Some(INGEST), &body).await;
        assert_eq!(res.status(), 400, "{body}");
        let answer: Value = res.json().await.unwrap();
        assert!(answer["fields"][field].is_string(), "{body} → {answer}");
    }
    // Markup is kept as text (pages escape it); a huge body is refused whole.
    let html = record("web", "xss", "<script>alert(1)</script>");
    assert_eq!(ingest(&app, Some(INGEST), &html).await.status(), 201);
    let huge = json!({"service": "svc", "type": "x", "message": "m", "stack": "s".repeat(40_000)});
    assert_eq!(ingest(&app, Some(INGEST), &huge).await.status(), 413);

    // Off without a token configured.
    let off = spawn_app_with(&[]).await;
    assert_eq!(ingest(&off, Some(INGEST), &good).await.status(), 404);
}

#[tokio::test]
async fn admins_page_filter_and_search_the_log() {
    let (app, boss) = admin_app().await;
    for i in 0..60 {
        let kind = if i % 3 == 0 { "timeout" } else { "validation" };
        let mut body = record("orders", kind, &format!("Order {i} failed"));
        body["correlationId"] = json!(format!("corr-{i}"));
        assert_eq!(ingest(&app, Some(INGEST), &body).await.status(), 201);
    }
    let list = |query: &str| {
        let req = app.client.get(app.url(&format!("/api/admin/errors?{query}"))).bearer_auth(&boss);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let first = list("service=orders").await;
    assert!(first["services"].as_array().unwrap().contains(&json!("orders")));
    assert_eq!(first["errors"].as_array().unwrap().len(), 25);
    assert_eq!(first["errors"][0]["message"], "Order 59 failed", "newest first");
    assert_eq!(first["has_more"], true);
    let third = list("service=orders&page=3").await;
    assert_eq!(third["errors"].as_array().unwrap().len(), 10);
    assert_eq!(third["has_more"], false);

    let timeouts = list("service=orders&type=timeout").await;
    assert_eq!(timeouts["errors"].as_array().unwrap().len(), 20);
    assert!(timeouts["errors"].as_array().unwrap().iter().all(|e| e["type"] == "timeout"));
    let by_correlation = list("service=orders&q=corr-42").await;
    assert_eq!(by_correlation["errors"].as_array().unwrap().len(), 1);
    assert_eq!(by_correlation["errors"][0]["message"], "Order 42 failed");
    let by_text = list("service=orders&q=order%205").await;
    let found: Vec<&str> =
        by_text["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(
        found,
        [
            "Order 59 failed",
            "Order 58 failed",
            "Order 57 failed",
            "Order 56 failed",
            "Order 55 failed",
            "Order 54 failed",
            "Order 53 failed",
            "Order 52 failed",
            "Order 51 failed",
            "Order 50 failed",
            "Order 5 failed"
        ]
    );

    // One record whole.
    let key = first["errors"][0]["key"].as_str().unwrap();
    let res = app.client.get(app.url(&format!("/api/admin/errors/{key}"))).bearer_auth(&boss).send().await.unwrap();
    let whole: Value = res.json().await.unwrap();
    assert_eq!(whole["stack"], "Error: boom\n    at handler");
    let res = app.client.get(app.url("/api/admin/errors/account:1")).bearer_auth(&boss).send().await.unwrap();
    assert_eq!(res.status(), 404, "only error keys are read");
    let res = app.client.get(app.url("/api/admin/errors?date=yesterday")).bearer_auth(&boss).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_range_of_days_pages_newest_first_across_the_days() {
    use keyhold::store::error_log::{ErrorKind, NewError};
    let (app, boss) = admin_app().await;
    let now = chrono::Utc::now();
    let (today, yesterday) = (now.date_naive(), (now - chrono::Duration::days(1)).date_naive());
    // 30 errors yesterday (the last one a timeout with a correlation id), 20 today.
    for i in 0..50i64 {
        let at = if i < 30 { now - chrono::Duration::days(1) } else { now } - chrono::Duration::milliseconds(100 - i);
        let kind = if i == 29 { "timeout" } else { "db" };
        let mut error = NewError::new(ErrorKind::Internal, format!("Billing {i} failed"));
        error.correlation_id = Some(format!("req-{i}"));
        app.core.errors.write("billing", kind, error, at).await.unwrap();
    }
    let list = |query: String| {
        let req = app.client.get(app.url(&format!("/api/admin/errors?service=billing&{query}"))).bearer_auth(&boss);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let messages = |body: &Value| -> Vec<String> {
        body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()).collect()
    };
    let range = format!("from={yesterday}&to={today}");
    let mut all = Vec::new();
    for page in 1..=3 {
        let body = list(format!("{range}&page={page}")).await;
        assert_eq!(body["has_more"], page < 2, "page {page}");
        assert_eq!(
            (body["from"].as_str(), body["to"].as_str()),
            (Some(&*yesterday.to_string()), Some(&*today.to_string()))
        );
        all.extend(messages(&body));
    }
    let expected: Vec<String> = (0..50).rev().map(|i| format!("Billing {i} failed")).collect();
    assert_eq!(all, expected, "newest first, today's before yesterday's, the page crossing the day");

    assert_eq!(messages(&list(format!("date={yesterday}&page=2")).await).len(), 5, "one day: 30 errors");
    assert_eq!(messages(&list(String::new()).await).len(), 25, "the default range holds both days");
    assert_eq!(messages(&list(format!("{range}&type=timeout")).await), ["Billing 29 failed"]);
    assert_eq!(messages(&list(format!("{range}&q=req-3")).await), ["Billing 3 failed"], "a search reaches yesterday");
    let res = app
        .client
        .get(app.url("/api/admin/errors?from=2026-03-02&to=2026-03-01"))
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "from after to");
}

/// The dashboard's buttons (a plain form post) come back to the page they
/// were pressed on, at the group they moved; only a dashboard path is followed.
#[tokio::test]
async fn a_group_moved_from_the_dashboard_comes_back_to_it() {
    let (app, boss) = admin_app().await;
    ingest(&app, Some(INGEST), &record("orders", "timeout", "Order 1 timed out")).await;
    let res = app.client.get(app.url("/api/admin/errors/groups?service=orders")).bearer_auth(&boss).send().await;
    let body: Value = res.unwrap().json().await.unwrap();
    let id = body["groups"][0]["id"].as_str().unwrap().to_owned();
    let browser = crate::helpers::http_client();
    app.call_fn_as(&browser, "login", &[("identifier", "boss"), ("password", PASSWORD)]).await;
    let moved = |action: &'static str, group: String, back: &'static str| {
        let req = browser
            .post(app.url("/fn/admin-error-group"))
            .header("origin", &app.address)
            .header("accept", "text/html,application/xhtml+xml")
            .form(&[("service", "orders"), ("group", &group), ("action", action), ("back", back)]);
        async move {
            let res = req.send().await.unwrap();
            assert!(res.status().is_redirection(), "{}", res.status());
            res.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let anchor = format!("#group-{id}");
    let to = moved("resolve", id.clone(), "/admin/errors?service=orders&page=2").await;
    assert_eq!(to, format!("/admin/errors?service=orders&page=2{anchor}"));
    assert_eq!(moved("reopen", id.clone(), "//evil.example/admin/errors").await, format!("/admin/errors{anchor}"));
    let to = moved("ignore", id.clone(), "/admin/errors?service=orders#somewhere").await;
    assert_eq!(to, format!("/admin/errors?service=orders{anchor}"));
    let res = app.client.get(app.url("/api/admin/errors/groups?service=orders")).bearer_auth(&boss).send().await;
    let body: Value = res.unwrap().json().await.unwrap();
    assert_eq!(body["groups"][0]["state"], "ignored");
}

#[tokio::test]
async fn alike_errors_group_and_a_resolved_group_that_recurs_regresses() {
    let (app, boss) = admin_app().await;
    for i in 0..5 {
        ingest(&app, Some(INGEST), &record("orders", "timeout", &format!("Order {i} timed out after {i}0s"))).await;
    }
    ingest(&app, Some(INGEST), &record("orders", "validation", "Email 'x@y' is invalid")).await;
    let groups = || {
        let req = app.client.get(app.url("/api/admin/errors/groups?service=orders")).bearer_auth(&boss);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let body = groups().await;
    let list = body["groups"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    let timeout = list.iter().find(|g| g["type"] == "timeout").unwrap();
    assert_eq!(timeout["count"], 5);
    assert_eq!(timeout["state"], "open");
    assert_eq!(timeout["sample"], "Order 0 timed out after 00s");
    assert_eq!(timeout["daily"].as_array().unwrap().len(), 14);
    assert_eq!(timeout["daily"][13], 5, "today is the last day");
    assert_eq!(body["counts"]["timeout"][13], 5);

    let id = timeout["id"].as_str().unwrap();
    let act = |action: &str| {
        let req =
            app.client.post(app.url(&format!("/api/admin/errors/groups/orders/{id}/{action}"))).bearer_auth(&boss);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(act("resolve").await, 204);
    let body = groups().await;
    assert_eq!(body["groups"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap()["state"], "resolved");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    ingest(&app, Some(INGEST), &record("orders", "timeout", "Order 77 timed out after 70s")).await;
    let body = groups().await;
    let again = body["groups"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap().clone();
    assert_eq!((again["state"].as_str(), again["count"].as_u64()), (Some("regressed"), Some(6)));

    // The group's own page: the group and its errors, newest first.
    let res = app.client.get(app.url(&format!("/api/admin/errors/groups/orders/{id}"))).bearer_auth(&boss).send().await;
    let page: Value = res.unwrap().json().await.unwrap();
    assert_eq!(page["group"]["count"], 6);
    let messages: Vec<&str> =
        page["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages.len(), 6);
    assert_eq!(messages[0], "Order 77 timed out after 70s");
    assert!(messages.iter().all(|m| m.contains("timed out")), "only its own errors: {messages:?}");
    // A state change keeps the group another index TTL.
    let group_key = format!("error:group:orders:{id}");
    let mut redis = app.redis().await;
    let _: () = redis.expire(&group_key, 60).await.unwrap();
    assert_eq!(act("ignore").await, 204);
    assert!(app.ttl(&group_key).await > 60 * 60 * 24, "kept as long as the index");
    assert_eq!(act("explode").await, 404);
    let res = app
        .client
        .post(app.url("/api/admin/errors/groups/orders/0000000000000000/resolve"))
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(app.url("/api/admin/errors/groups?from=2026-01-01&to=2026-03-01"))
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "at most 30 days");
}

#[tokio::test]
async fn the_monitoring_panel_and_cache_actions_are_for_admins() {
    let (app, _) = admin_app().await;
    create_account(&app, "ann@example.com", "ann").await;
    create_account(&app, "bob@example.com", "bob").await;
    // Fill the cache for both.
    for email in ["ann@example.com", "bob@example.com"] {
        let token = token_for(&app, email).await;
        app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    }
    assert_eq!(app.keys("user:*").await.len(), 2);

    let boss = crate::helpers::http_client();
    app.call_fn_as(&boss, "login", &[("identifier", "boss"), ("password", PASSWORD)]).await;
    // Counted in memory, flushed every 5 s: flush now.
    app.core.cache_stats.flush(&app.core.redis).await.unwrap();
    let monitor: Value = app.call_fn_as(&boss, "admin-monitor", &[]).await.json().await.unwrap();
    assert!(monitor["cache_hour"][1].as_u64().unwrap() >= 2, "the last hour too: {monitor}");
    assert!(monitor["redis"].as_array().unwrap().iter().any(|kv| kv[0] == "used_memory_human"));
    assert!(monitor["cache_total"][1].as_u64().unwrap() >= 2, "two misses filled the cache: {monitor}");
    // Keys per kind come from the census job (at start-up, then every
    // KEY_CENSUS_INTERVAL), not from a scan on the page: take one now.
    let report = keyhold::jobs::key_census::run(&app.core).await.unwrap();
    assert!(report.ran);
    let monitor: Value = app.call_fn_as(&boss, "admin-monitor", &[]).await.json().await.unwrap();
    let count = |label: &str| {
        let row = monitor["keys"].as_array().unwrap().iter().find(|kv| kv[0] == label).cloned();
        row.unwrap_or_else(|| panic!("{label}: {monitor}"))[1].as_u64().unwrap()
    };
    assert_eq!(count("User cache entries"), 2);
    assert_eq!(count("Sessions"), 1, "the admin's own session");
    assert_eq!(count("Accounts and their lookups"), 3 * 3, "account, email and username per account");
    assert_eq!(count("Pending registrations"), 0);
    assert_eq!(count("Revoked tokens (blacklist)"), 0);
    assert!(monitor["keys_counted"].as_str().unwrap().starts_with("Counts per kind taken "), "{monitor}");

    let res = app.call_fn_as(&boss, "admin-drop-user-cache", &[("user", "ann")]).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(app.keys("user:*").await.len(), 1);
    let res = app.call_fn_as(&boss, "admin-drop-all-caches", &[]).await;
    assert_eq!(res.status(), 400, "a confirmation is needed");
    assert_eq!(app.keys("user:*").await.len(), 1);
    let res = app.call_fn_as(&boss, "admin-drop-all-caches", &[("confirm", "yes")]).await;
    assert!(res.status().is_success());
    assert!(app.keys("user:*").await.is_empty());
    assert!(!app.keys("account:*").await.is_empty(), "only cache entries go");

    // Not for anyone else.
    let ann = crate::helpers::http_client();
    app.call_fn_as(&ann, "login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    assert_eq!(app.call_fn_as(&ann, "admin-monitor", &[]).await.status(), 403);
    assert_eq!(app.call_fn_as(&ann, "admin-drop-all-caches", &[("confirm", "yes")]).await.status(), 403);
    let stranger = crate::helpers::http_client();
    assert_eq!(app.call_fn_as(&stranger, "admin-monitor", &[]).await.status(), 401);
}
