use crate::helpers::{create_account, spawn_app, spawn_app_with};
use serde_json::{Value, json};

#[tokio::test]
async fn availability_follows_the_accounts() {
    let app = spawn_app().await;
    create_account(&app, "ann@example.com", "ann").await;
    let res = app.client.get(app.url("/api/username-status?username=ANN")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"available": false}));
    let res = app.client.get(app.url("/api/username-status?username=bea")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"available": true}));
}

#[tokio::test]
async fn malformed_usernames_get_400() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/api/username-status?username=a%20b")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert!(body["fields"]["username"].is_string());
    let res = app.client.get(app.url("/api/username-status")).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn checks_are_limited_per_client_ip() {
    let app = spawn_app_with(&[("USERNAME_STATUS_LIMIT", "3"), ("USERNAME_STATUS_WINDOW", "60")]).await;
    for _ in 0..3 {
        let res = app.client.get(app.url("/api/username-status?username=bea")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = app.client.get(app.url("/api/username-status?username=bea")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    assert_eq!(body["retry_after"], wait);

    let mut conn = app.redis().await;
    let count: u64 = redis::cmd("GET").arg("username_status_req:127.0.0.1").query_async(&mut conn).await.unwrap();
    assert_eq!(count, 4);
    assert!((1..=60).contains(&app.ttl("username_status_req:127.0.0.1").await), "the window always expires");

    // The server function used by the page shares the same counter.
    let res = app.call_fn("username-status", &[("username", "bea")]).await;
    assert_eq!(res.status(), 429);
}
