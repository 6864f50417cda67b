//! The error log (README: "Redis schema"): keys, values, TTLs, one atomic round trip,
//! and what the middleware records.

use crate::helpers::{TestApp, spawn_app, spawn_app_full, spawn_app_with};
use axum::Router;
use axum::routing::get;
use chrono::TimeZone;
use keyhold::store::error_log::{ErrorKind, ErrorMetadata, NewError};
use std::time::Duration;

async fn command_calls(app: &TestApp, command: &str) -> u64 {
    let mut conn = app.redis().await;
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
    info.lines()
        .find(|l| l.starts_with(&format!("cmdstat_{command}:")))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Waits for the background recorder and returns the only error of a type.
async fn recorded(app: &TestApp, kind: &str) -> (String, serde_json::Value) {
    for _ in 0..100 {
        let keys = app.keys(&format!("error:keyhold-test:{kind}:*")).await;
        if let Some(key) = keys.first() {
            let mut conn = app.redis().await;
            let json: String = redis::cmd("GET").arg(key).query_async(&mut conn).await.unwrap();
            return (key.clone(), serde_json::from_str(&json).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {kind} error was recorded");
}

#[tokio::test]
async fn record_writes_the_seed_keys_with_their_ttls_in_one_transaction() {
    let app = spawn_app().await;
    let mut conn = app.redis().await;
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();

    let at = chrono::Utc.with_ymd_and_hms(2025, 1, 15, 10, 30, 0).unwrap();
    let mut error = NewError::new(ErrorKind::Validation, "Email inválido");
    error.user_id = Some("u-1".into());
    error.correlation_id = Some("corr-123".into());
    error.metadata = ErrorMetadata {
        endpoint: Some("/api/users/123".into()),
        method: Some("PATCH".into()),
        ip_address: Some("192.168.1.1".into()),
    };
    let key = app.core.errors.record_at(error, at).await.unwrap();

    let id = key.rsplit(':').next().unwrap().to_owned();
    assert_eq!(key, format!("error:keyhold-test:validation:2025-01-15T10:30:00Z:{id}"));
    let mut conn = app.redis().await;
    let json: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "errorId": id,
            "service": "keyhold-test",
            "type": "validation",
            "message": "Email inválido",
            "stack": null,
            "userId": "u-1",
            "correlationId": "corr-123",
            "timestamp": "2025-01-15T10:30:00Z",
            "metadata": {"endpoint": "/api/users/123", "method": "PATCH", "ipAddress": "192.168.1.1"}
        })
    );
    let index = "error:index:keyhold-test:2025-01-15";
    let count = "error:count:keyhold-test:validation:2025-01-15";
    let members: Vec<String> = redis::cmd("SMEMBERS").arg(index).query_async(&mut conn).await.unwrap();
    assert_eq!(members, vec![key.clone()]);
    let n: u64 = redis::cmd("GET").arg(count).query_async(&mut conn).await.unwrap();
    assert_eq!(n, 1);
    assert!((604_790..=604_800).contains(&app.ttl(&key).await));
    assert!((2_591_990..=2_592_000).contains(&app.ttl(index).await));
    assert!((2_591_990..=2_592_000).contains(&app.ttl(count).await));

    // One MULTI/EXEC: the seed's writes, Keyhold's time-ordered index
    // (`error:timeline:…`, `error:services`) and the error's group
    // (`error:group:…`, `error:groups:…`, its day counter, its own list of
    // errors) travelled together.
    assert_eq!(command_calls(&app, "multi").await, 1);
    assert_eq!(command_calls(&app, "exec").await, 1);
    assert_eq!(command_calls(&app, "setex").await, 1);
    assert_eq!(command_calls(&app, "sadd").await, 2);
    assert_eq!(command_calls(&app, "zadd").await, 4);
    assert_eq!(command_calls(&app, "zremrangebyscore").await, 1);
    assert_eq!(command_calls(&app, "incrby").await, 2);
    assert_eq!(command_calls(&app, "hincrby").await, 1);
    assert_eq!(command_calls(&app, "expire").await, 8);
    assert!((2_591_990..=2_592_000).contains(&app.ttl("error:timeline:keyhold-test:2025-01-15").await));

    // A second error the same day joins the index and bumps the counter.
    app.core.errors.record_at(NewError::new(ErrorKind::Validation, "again"), at).await.unwrap();
    let n: u64 = redis::cmd("GET").arg(count).query_async(&mut conn).await.unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn error_ttls_follow_the_seed_variables() {
    let app = spawn_app_with(&[("REDIS_ERROR_TTL", "120"), ("REDIS_ERROR_INDEX_TTL", "240")]).await;
    let key = app.core.errors.record(NewError::new(ErrorKind::Internal, "boom")).await.unwrap();
    assert!((110..=120).contains(&app.ttl(&key).await));
    let index = app.keys("error:index:*").await;
    assert!((230..=240).contains(&app.ttl(&index[0]).await));
}

#[tokio::test]
async fn a_panic_becomes_a_recorded_500_page_with_the_request_id() {
    async fn boom() -> &'static str {
        panic!("the test asked for a panic")
    }
    let extra = Router::new().route("/test/panic", get(boom));
    let app = spawn_app_full(&[], extra).await;

    let res = app.client.get(app.url("/test/panic")).header("x-request-id", "corr-panic-1").send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["x-request-id"], "corr-panic-1");
    let html = res.text().await.unwrap();
    assert!(html.contains("Something went wrong"), "{html}");
    assert!(html.contains("corr-panic-1"), "the page shows the request id");

    let (key, value) = recorded(&app, "internal").await;
    assert!(key.starts_with("error:keyhold-test:internal:"));
    assert_eq!(value["message"], "panic: the test asked for a panic");
    assert_eq!(value["correlationId"], "corr-panic-1");
    assert_eq!(value["metadata"]["endpoint"], "/test/panic");
    assert_eq!(value["metadata"]["method"], "GET");
    assert_eq!(value["metadata"]["ipAddress"], "127.0.0.1");
    assert_eq!(app.get("/healthz").await.status(), 200, "the server lives on");
}

#[tokio::test]
async fn a_redis_failure_inside_a_request_is_a_recorded_500() {
    let app = spawn_app().await;
    // Corrupt the throttle counter so INCR fails with WRONGTYPE.
    let mut conn = app.redis().await;
    let _: () =
        redis::cmd("HSET").arg("username_status_req:127.0.0.1").arg("x").arg("y").query_async(&mut conn).await.unwrap();

    let res = app
        .client
        .get(app.url("/api/username-status?username=ann"))
        .header("x-request-id", "corr-wrongtype")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "internal_error");
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("corr-wrongtype"));

    let (_, value) = recorded(&app, "internal").await;
    assert_eq!(value["correlationId"], "corr-wrongtype");
    assert_eq!(value["metadata"]["endpoint"], "/api/username-status");
    assert!(value["stack"].as_str().unwrap().contains("WRONGTYPE"), "{value}");
    // Recorded once, by the handler, not again by the middleware.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.keys("error:keyhold-test:internal:*").await.len(), 1);
}

#[tokio::test]
async fn validation_failures_are_counted_without_the_input() {
    let app = spawn_app().await;
    let mut body = crate::helpers::registration_body("not-an-email", Some("ann"));
    body["registration_data"]["password"] = "hunter2-secret".into();
    let res = app.post_json("/api/email/send-code", &body).await;
    assert_eq!(res.status(), 400);

    assert_eq!(app.error_count("validation", 1).await, 1);
    assert!(app.keys("error:keyhold-test:validation:*").await.is_empty(), "expected failures keep no record");
    let mut conn = app.redis().await;
    for key in app.keys("*").await {
        let dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query_async(&mut conn).await.unwrap();
        let text = String::from_utf8_lossy(&dump);
        assert!(!text.contains("hunter2") && !text.contains("not-an-email"), "{key} holds input");
    }
}

#[tokio::test]
async fn a_panic_inside_middleware_is_a_recorded_500_page_with_the_request_id() {
    fn panics_on_demand(
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> futures::future::BoxFuture<'static, axum::response::Response> {
        Box::pin(async move {
            if req.uri().path() == "/login" && req.uri().query() == Some("boom") {
                panic!("a middleware gave way");
            }
            next.run(req).await
        })
    }
    let extras = keyhold_server::startup::Extras { middleware: Some(panics_on_demand), ..Default::default() };
    let app = crate::helpers::spawn_app_extras(&[], extras).await;

    let res = app.client.get(app.url("/login?boom")).header("x-request-id", "corr-mw-1").send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["x-request-id"], "corr-mw-1");
    let html = res.text().await.unwrap();
    assert!(html.contains("corr-mw-1"), "the page shows the request id: {html}");
    let (_, value) = recorded(&app, "internal").await;
    assert_eq!(value["message"], "panic: a middleware gave way");
    assert_eq!(value["correlationId"], "corr-mw-1");
    assert_eq!(app.get("/login").await.status(), 200, "the server lives on");
}
