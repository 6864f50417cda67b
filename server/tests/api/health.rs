use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_without_redis_work() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_reports_redis_up() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ready", "redis": "up"}));
}

#[tokio::test]
async fn home_page_renders_the_shell() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<title>Keyhold</title>"), "{html}");
    assert!(html.contains("Your account, kept safe."));
    assert!(html.contains("/pkg/keyhold.css"));
    assert!(html.contains("data-testid=\"nav-signed-out\""));
}

#[tokio::test]
async fn unknown_pages_answer_404_with_a_friendly_page() {
    let app = spawn_app().await;
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("We could not find that page"));
    assert!(html.contains("Page not found · Keyhold"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let res = app.client.get(app.url("/healthz")).header("x-request-id", "corr-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "corr-123");

    let res = app.client.get(app.url("/healthz")).header("x-request-id", "bad id <x>").send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id <x>");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = crate::helpers::spawn_app().await;
    for path in ["/", "/register", "/login", "/nowhere", "/healthz", "/api/me", "/pkg/keyhold.css"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(!h.contains_key("strict-transport-security"), "{path}: no HSTS in development");
    }
    // A page admits exactly its own scripts, by nonce: each one carries it.
    let res = app.get("/login").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the policy");
    let scripts: Vec<&str> = html.split("<script").skip(1).map(|s| s.split('>').next().unwrap_or_default()).collect();
    assert!(scripts.iter().any(|tag| tag.contains("type=\"module\"")), "the page starts hydration: {html}");
    for tag in scripts {
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}> lacks the policy's nonce");
    }

    let prod = crate::helpers::spawn_app_with(&[("APP_ENV", "production"), ("APP_SECRET", &"s".repeat(32))]).await;
    let res = prod.get("/healthz").await;
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
}
