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
