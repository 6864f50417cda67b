//! Redis going away and coming back.

use crate::helpers::{TestApp, spawn_app};
use std::time::Duration;

async fn wait_for_status(app: &TestApp, path: &str, want: u16) -> reqwest::Response {
    for _ in 0..100 {
        let res = app.get(path).await;
        if res.status() == want {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never answered {want}");
}

#[tokio::test]
async fn pages_answer_503_while_redis_is_down_and_recover_after() {
    let mut app = spawn_app().await;
    assert_eq!(app.get("/").await.status(), 200);

    app.redis.stop().await;

    let res = wait_for_status(&app, "/", 503).await;
    assert_eq!(res.headers()["retry-after"], "5");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    assert!(html.contains("temporarily unavailable"), "{html}");
    assert!(html.contains(&request_id), "the page shows the request id");

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "unavailable", "redis": "down"})
    );
    assert_eq!(app.get("/healthz").await.status(), 200, "the process itself is fine");

    let res = app.client.get(app.url("/api/username-status?username=someone")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "service_unavailable");

    app.redis.restart().await;

    wait_for_status(&app, "/", 200).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn the_server_starts_while_redis_is_down() {
    let mut app = spawn_app().await;
    app.redis.stop().await;
    // A second app on the same (dead) Redis still starts and answers.
    let app2 = crate::helpers::spawn_app_with(&[("REDIS_URL", &app.redis.url())]).await;
    let res = wait_for_status(&app2, "/readyz", 503).await;
    assert_eq!(res.status(), 503);
    app.redis.restart().await;
    wait_for_status(&app2, "/readyz", 200).await;
}

#[tokio::test]
async fn a_signed_in_page_answers_503_not_signed_out_when_redis_goes_away() {
    let mut app = spawn_app().await;
    crate::helpers::create_account(&app, "ann@example.com", "ann").await;
    let res = app.call_fn("login", &[("identifier", "ann"), ("password", "correct horse battery staple")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get("/profile").await.status(), 200);

    // At once, before the health monitor notices: the session cannot be
    // read, which is an outage, never "signed out".
    app.redis.stop().await;
    let res = app.get("/profile").await;
    assert_eq!(res.status(), 503, "{:?}", res.headers().get("location"));
    assert!(res.headers().contains_key("retry-after"));

    // The test's Redis keeps no data across a restart: the session is gone.
    app.redis.restart().await;
    wait_for_status(&app, "/", 200).await;
    assert_eq!(app.get("/profile").await.status(), 302);
}
