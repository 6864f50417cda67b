//! Uploads (README: "Uploads"): slot → PUT → complete, downloads, limits,
//! type checks and the cleanup of abandoned requests, against the local
//! store and against a real S3-compatible server (moto).

use crate::helpers::{TestApp, TestS3, create_account, spawn_app, spawn_app_with};
use keyhold::domain::{ObjectKey, UploadKind};
use keyhold::flows::FlowError;
use keyhold::flows::uploads::{self as uploads_flow, UploadRequest};
use keyhold::jobs;
use keyhold::store::job_lock;
use keyhold::store::uploads as store;
use redis::AsyncCommands;
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";
/// The first bytes of a PNG file: enough for the type check.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn token_for(app: &TestApp, username: &str) -> String {
    let email = format!("{username}@example.com");
    create_account(app, &email, username).await;
    let res = app.post_json("/api/auth/token", &json!({"identifier": email, "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn user_id(app: &TestApp, token: &str) -> Uuid {
    let me: Value = app.client.get(app.url("/api/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    me["id"].as_str().unwrap().parse().unwrap()
}

async fn open(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url("/api/uploads")).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn open_ok(app: &TestApp, token: &str, name: &str, size: usize, content_type: &str) -> Value {
    let res = open(app, token, json!({"name": name, "size": size, "content_type": content_type})).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// PUTs the bytes where the ticket says, with the headers it names.
async fn put(ticket: &Value, bytes: impl Into<reqwest::Body>) -> reqwest::Response {
    let mut req = reqwest::Client::new().put(ticket["upload_url"].as_str().unwrap());
    for (name, value) in ticket["headers"].as_object().unwrap() {
        if name != "content-length" {
            req = req.header(name.as_str(), value.as_str().unwrap());
        }
    }
    req.body(bytes).send().await.unwrap()
}

async fn complete(app: &TestApp, token: &str, key: &str) -> reqwest::Response {
    app.client.post(app.url(&format!("/api/uploads/{key}/complete"))).bearer_auth(token).send().await.unwrap()
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8], content_type: &str) -> Value {
    let ticket = open_ok(app, token, name, bytes.len(), content_type).await;
    let res = put(&ticket, bytes.to_vec()).await;
    assert!(res.status().is_success(), "PUT: {}", res.status());
    let res = complete(app, token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn code_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

async fn list(app: &TestApp, token: &str) -> Value {
    app.client.get(app.url("/api/uploads")).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

fn key_of(v: &Value) -> ObjectKey {
    ObjectKey::parse(v["object_key"].as_str().unwrap()).unwrap()
}

/// Where a test's objects live: the local directory, a real S3-compatible
/// server (moto) on a free loopback port, or an S3 endpoint nobody listens on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Store {
    Local,
    S3,
    Unreachable,
}

/// An app on `store`, and the settings that point a `keyhold-server job`
/// at the same store. The S3 server lives as long as the returned guard.
async fn spawn_on(store: Store, overrides: &[(&str, &str)]) -> (TestApp, Vec<(&'static str, String)>, Option<TestS3>) {
    let (settings, s3) = match store {
        Store::Local => (Vec::new(), None),
        Store::S3 => {
            let s3 = TestS3::start("keyhold-files").await;
            (s3.settings("keyhold-files"), Some(s3))
        }
        Store::Unreachable => {
            let dead = format!("http://127.0.0.1:{}", crate::helpers::free_port());
            let settings = vec![
                ("OBJECT_STORE_URL", "s3://keyhold-files".to_owned()),
                ("AWS_ENDPOINT", dead),
                ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ];
            (settings, None)
        }
    };
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(overrides);
    let app = spawn_app_with(&all).await;
    // The local store is the app's own temporary directory.
    let settings = if settings.is_empty() {
        vec![("OBJECT_STORE_URL", app.objects.path().display().to_string())]
    } else {
        settings
    };
    (app, settings, s3)
}

#[tokio::test]
async fn a_file_goes_slot_put_complete_and_back_with_the_local_store() {
    let app = spawn_app().await;
    let token = token_for(&app, "ann").await;
    let user = user_id(&app, &token).await;

    let ticket = open_ok(&app, &token, "notes.txt", 11, "text/plain").await;
    let key = ticket["object_key"].as_str().unwrap().to_owned();
    assert!(ObjectKey::parse(&key).is_ok(), "32 hex digits, made by the server: {key}");
    assert_eq!(ticket["method"], "PUT");
    assert!(ticket["upload_url"].as_str().unwrap().starts_with(&app.url(&format!("/api/uploads/{key}/content?"))));
    assert!(ticket["expires_at"].as_str().unwrap().ends_with('Z'));

    // Seed 000's request: the start time with its offset, no TTL, indexed by time.
    let request = format!("upload_request:{user}:{key}");
    let mut redis = app.redis().await;
    let started: String = redis.get(&request).await.unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(&started).is_ok() && started.contains("+00:00"), "{started}");
    assert_eq!(app.ttl(&request).await, -1);
    let score: Option<f64> = redis.zscore("upload_requests", &request).await.unwrap();
    assert!(score.is_some());

    assert_eq!(put(&ticket, "hello world").await.status(), 204);
    let file: Value = complete(&app, &token, &key).await.json().await.unwrap();
    assert_eq!((file["name"].as_str(), file["size"].as_u64()), (Some("notes.txt"), Some(11)));
    assert_eq!(file["content_type"], "text/plain");
    // One atomic step: request gone, file recorded and listed.
    assert_eq!(app.keys(&request).await.len(), 0);
    assert_eq!(redis.zscore::<_, _, Option<f64>>("upload_requests", &request).await.unwrap(), None);
    assert_eq!(app.hgetall(&format!("file:{key}")).await["user_id"], user.to_string());
    let listed: Vec<String> = redis.zrange(format!("files:user:{user}"), 0, -1).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&key));

    // Completing again is harmless.
    let again: Value = complete(&app, &token, &key).await.json().await.unwrap();
    assert_eq!(again["object_key"], file["object_key"]);
    assert_eq!(list(&app, &token).await["used_bytes"], 11);

    // Newest first.
    upload(&app, &token, "second.bin", b"12345", "application/octet-stream").await;
    let files = list(&app, &token).await;
    let names: Vec<&str> = files["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["second.bin", "notes.txt"]);
    assert_eq!(files["used_bytes"], 16);

    let res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| res.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/plain");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("attachment; filename=\"notes.txt\""));
    assert_eq!(res.bytes().await.unwrap(), "hello world");

    let res = app.client.delete(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.core.objects.size(&ObjectKey::parse(&key).unwrap()).await.unwrap(), None);
    assert_eq!(app.keys(&format!("file:{key}")).await.len(), 0);
    assert_eq!(list(&app, &token).await["used_bytes"], 5);
    let res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn every_upload_route_wants_a_token_and_files_are_only_their_owners() {
    owners_only(Store::Local).await;
}

#[tokio::test]
async fn on_s3_too_files_are_only_their_owners() {
    owners_only(Store::S3).await;
}

async fn owners_only(store: Store) {
    let (app, _, _s3) = spawn_on(store, &[]).await;
    let some_key = "0123456789abcdef0123456789abcdef";
    let anonymous = [
        app.client.post(app.url("/api/uploads")).json(&json!({"name": "a", "size": 1})).send().await.unwrap(),
        app.client.get(app.url("/api/uploads")).send().await.unwrap(),
        app.client.get(app.url(&format!("/api/uploads/{some_key}"))).send().await.unwrap(),
        app.client.delete(app.url(&format!("/api/uploads/{some_key}"))).send().await.unwrap(),
        app.client.post(app.url(&format!("/api/uploads/{some_key}/complete"))).send().await.unwrap(),
    ];
    for res in anonymous {
        assert_eq!(res.status(), 401);
    }

    let ann = token_for(&app, "ann").await;
    let bob = token_for(&app, "bob").await;
    let file = upload(&app, &ann, "secret.txt", b"ann's", "text/plain").await;
    let key = file["object_key"].as_str().unwrap();
    // Bob learns nothing: every answer is the one for a key that does not exist.
    let res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(code_of(res).await, (404, "not_found".into()));
    let res = app.client.delete(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(complete(&app, &bob, key).await.status(), 404);
    assert_eq!(list(&app, &bob).await["files"], json!([]));
    for bad in ["../../etc/passwd", "NOTAKEY", "0123456789ABCDEF0123456789ABCDEF"] {
        let res = app.client.get(app.url(&format!("/api/uploads/{bad}"))).bearer_auth(&ann).send().await.unwrap();
        assert_eq!(res.status(), 404, "{bad}");
    }
    // Ann still has it (from S3 by a redirect to a presigned GET).
    let mut res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&ann).send().await.unwrap();
    if res.status() == 307 {
        res = reqwest::get(res.headers()["location"].to_str().unwrap()).await.unwrap();
    }
    assert_eq!(res.bytes().await.unwrap(), "ann's");

    // Bob cannot complete Ann's open request either.
    let ticket = open_ok(&app, &ann, "open.txt", 2, "text/plain").await;
    assert!(put(&ticket, "hi").await.status().is_success());
    assert_eq!(complete(&app, &bob, ticket["object_key"].as_str().unwrap()).await.status(), 404);
    assert_eq!(complete(&app, &ann, ticket["object_key"].as_str().unwrap()).await.status(), 200);
    // Bob's delete of Ann's file left it where it was.
    assert_eq!(app.core.objects.size(&ObjectKey::parse(key).unwrap()).await.unwrap(), Some(5), "{store:?}");
}

#[tokio::test]
async fn limits_refuse_with_413_and_record_nothing() {
    limits(Store::Local).await;
}

#[tokio::test]
async fn on_s3_too_limits_refuse_with_413_and_record_nothing() {
    limits(Store::S3).await;
}

async fn limits(store: Store) {
    let (app, _, _s3) = spawn_on(
        store,
        &[
            ("UPLOAD_MAX_BYTES", "100"),
            ("UPLOAD_QUOTA_BYTES", "250"),
            ("UPLOAD_MAX_OPEN", "3"),
            ("UPLOAD_MAX_FILES", "4"),
        ],
    )
    .await;
    let token = token_for(&app, "ann").await;
    let user = user_id(&app, &token).await;

    let res = open(&app, &token, json!({"name": "big.bin", "size": 101, "content_type": "application/x-big"})).await;
    assert_eq!(code_of(res).await, (413, "file_too_large".into()));
    assert!(app.keys("upload_request:*").await.is_empty());

    // More bytes than the slot allowed.
    let ticket = open_ok(&app, &token, "small.bin", 10, "application/octet-stream").await;
    if store == Store::Local {
        // Refused by Keyhold as they stream, whether the length is announced…
        let res = put(&ticket, vec![7u8; 5_000]).await;
        assert_eq!(code_of(res).await, (413, "file_too_large".into()));
        // …or not (a chunked body is counted as it arrives).
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![7u8; 8]), Ok(vec![7u8; 8]), Ok(vec![7u8; 8])];
        let res = put(&ticket, reqwest::Body::wrap_stream(futures::stream::iter(chunks))).await;
        assert_eq!(code_of(res).await, (413, "file_too_large".into()));
        assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None, "nothing half-written");
        assert_eq!(complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.status(), 409);
    } else {
        // The bytes go to S3, not through Keyhold: complete checks the
        // size and deletes what does not match.
        put(&ticket, vec![7u8; 5_000]).await;
        let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
        assert_eq!(code_of(res).await, (400, "size_mismatch".into()));
        assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None, "deleted");
    }

    // Quota: completed files and open requests count.
    upload(&app, &token, "a.bin", &[1u8; 100], "application/octet-stream").await;
    upload(&app, &token, "b.bin", &[1u8; 100], "application/octet-stream").await;
    let res = open(&app, &token, json!({"name": "c.bin", "size": 50, "content_type": "text/plain"})).await;
    assert_eq!(code_of(res).await, (413, "quota_exceeded".into()));

    // Open requests: at most 3 per user.
    let other = token_for(&app, "bob").await;
    for _ in 0..3 {
        open_ok(&app, &other, "x.txt", 1, "text/plain").await;
    }
    let res = open(&app, &other, json!({"name": "x.txt", "size": 1, "content_type": "text/plain"})).await;
    assert_eq!(code_of(res).await, (413, "too_many_uploads".into()));
    let files: Vec<String> = app.redis().await.zrange(format!("files:user:{user}"), 0, -1).await.unwrap();
    assert_eq!(files.len(), 2);

    // Files a user may keep, open uploads included.
    let cat = token_for(&app, "cat").await;
    for name in ["1.txt", "2.txt", "3.txt"] {
        upload(&app, &cat, name, b"", "text/plain").await;
    }
    open_ok(&app, &cat, "4.txt", 1, "text/plain").await;
    let res = open(&app, &cat, json!({"name": "5.txt", "size": 1, "content_type": "text/plain"})).await;
    assert_eq!(code_of(res).await, (413, "too_many_files".into()));

    // Bad input: an error per field, nothing recorded.
    let res = open(&app, &other, json!({"name": "", "size": 1, "content_type": "not a type"})).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_input");
    assert!(body["fields"]["name"].is_string() && body["fields"]["content_type"].is_string());
}

#[tokio::test]
async fn the_upload_url_is_signed_expires_and_dies_with_its_request() {
    let app = spawn_app_with(&[("UPLOAD_URL_TTL", "1")]).await;
    let token = token_for(&app, "ann").await;

    let ticket = open_ok(&app, &token, "a.txt", 2, "text/plain").await;
    let url = ticket["upload_url"].as_str().unwrap();
    let forged = url.replace("signature=", "signature=0");
    let res = reqwest::Client::new().put(forged).body("hi").send().await.unwrap();
    assert_eq!(code_of(res).await, (403, "upload_url_invalid".into()));
    let other_key = url.replace(ticket["object_key"].as_str().unwrap(), "0123456789abcdef0123456789abcdef");
    let res = reqwest::Client::new().put(other_key).body("hi").send().await.unwrap();
    assert_eq!(res.status(), 403);

    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let res = put(&ticket, "hi").await;
    assert_eq!(code_of(res).await, (410, "upload_expired".into()));

    // A cancelled request's URL no longer takes bytes.
    let app = spawn_app().await;
    let token = token_for(&app, "ann").await;
    let ticket = open_ok(&app, &token, "a.txt", 2, "text/plain").await;
    let key = ticket["object_key"].as_str().unwrap();
    let res = app.client.post(app.url(&format!("/api/uploads/{key}/cancel"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(app.keys("upload_request:*").await.is_empty());
    assert_eq!(code_of(put(&ticket, "hi").await).await, (410, "upload_expired".into()));
}

#[tokio::test]
async fn complete_checks_the_object_size_and_image_content() {
    let app = spawn_app().await;
    let token = token_for(&app, "ann").await;
    let user = user_id(&app, &token).await;

    let ticket = open_ok(&app, &token, "a.txt", 5, "text/plain").await;
    let key = ticket["object_key"].as_str().unwrap();
    assert_eq!(code_of(complete(&app, &token, key).await).await, (409, "upload_incomplete".into()));
    assert_eq!(put(&ticket, "abc").await.status(), 204);
    assert_eq!(code_of(complete(&app, &token, key).await).await, (400, "size_mismatch".into()));
    // The request stays: the client may put the right bytes while the URL lasts.
    assert_eq!(put(&ticket, "abcde").await.status(), 204);
    assert_eq!(complete(&app, &token, key).await.status(), 200);

    // A file announced as an image must be one.
    let fake = b"<script>alert(1)</script>";
    let ticket = open_ok(&app, &token, "cat.png", fake.len(), "image/png").await;
    put(&ticket, fake.to_vec()).await;
    let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (415, "unsupported_type".into()));
    assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None);
    let file = upload(&app, &token, "real.png", PNG, "image/png").await;
    assert_eq!(file["content_type"], "image/png");

    // Profile pictures: JPEG, PNG or WebP by content, then on the account and in the cache.
    let res =
        open(&app, &token, json!({"name": "me.gif", "size": 10, "content_type": "image/gif", "kind": "picture"})).await;
    assert_eq!(code_of(res).await.1, "invalid_input");
    let ticket = open_ok_kind(&app, &token, "me.png", PNG.len(), "picture").await;
    put(&ticket, PNG.to_vec()).await;
    let picture: Value = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.json().await.unwrap();
    let url = picture["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/pictures/{}", ticket["object_key"].as_str().unwrap()));
    let me: Value = app.client.get(app.url("/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["profilePictureUrl"], url);
    let cached: String = app.redis().await.get(format!("user:{user}")).await.unwrap();
    assert!(cached.contains(&url));
    let res = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap(), PNG);
    // Pictures are not among the files; a new one replaces the old, which is deleted.
    assert_eq!(list(&app, &token).await["files"].as_array().unwrap().len(), 2);
    let ticket = open_ok_kind(&app, &token, "me2.png", PNG.len(), "picture").await;
    put(&ticket, PNG.to_vec()).await;
    assert_eq!(complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.status(), 200);
    assert_eq!(app.client.get(app.url(&url)).send().await.unwrap().status(), 404);
}

async fn open_ok_kind(app: &TestApp, token: &str, name: &str, size: usize, kind: &str) -> Value {
    let res = open(app, token, json!({"name": name, "size": size, "content_type": "image/png", "kind": kind})).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_broken_connection_leaves_the_request_for_the_cleanup_and_no_file() {
    let app = spawn_app().await;
    let token = token_for(&app, "ann").await;
    let ticket = open_ok(&app, &token, "big.bin", 3 << 20, "application/octet-stream").await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![1u8; 1 << 20]), Err(std::io::Error::other("cable pulled"))];
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let sent = reqwest::Client::new().put(ticket["upload_url"].as_str().unwrap()).body(body).send().await;
    assert!(sent.is_err(), "the body broke off");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None);
    assert_eq!(app.keys("upload_request:*").await.len(), 1, "left for the cleanup");
    assert_eq!(list(&app, &token).await["files"], json!([]));
}

/// An abandoned request (bytes put, never completed), a completed file and
/// a fresh request; the first is older than the max age.
async fn three_uploads(app: &TestApp, token: &str) -> (ObjectKey, ObjectKey, ObjectKey) {
    let abandoned = open_ok(app, token, "gone.txt", 4, "text/plain").await;
    assert_eq!(put(&abandoned, "gone").await.status(), 204);
    let kept = upload(app, token, "kept.txt", b"kept", "text/plain").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let fresh = open_ok(app, token, "fresh.txt", 5, "text/plain").await;
    (key_of(&abandoned), key_of(&kept), key_of(&fresh))
}

#[tokio::test]
async fn the_cleanup_deletes_abandoned_uploads_only() {
    let app = spawn_app_with(&[("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1")]).await;
    let token = token_for(&app, "ann").await;
    let user = user_id(&app, &token).await;
    let (abandoned, kept, fresh) = three_uploads(&app, &token).await;
    // Abandoned: it no longer completes, even before the cleanup came by.
    assert_eq!(code_of(complete(&app, &token, abandoned.as_str()).await).await, (410, "upload_expired".into()));

    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!((report.ran, report.expired, report.failed), (true, 1, 0), "{report:?}");
    assert_eq!(app.core.objects.size(&abandoned).await.unwrap(), None, "dangling object deleted");
    assert!(app.keys(&format!("upload_request:{user}:{abandoned}")).await.is_empty());
    assert_eq!(app.core.objects.size(&kept).await.unwrap(), Some(4), "completed files are never touched");
    assert_eq!(app.keys(&format!("upload_request:{user}:{fresh}")).await.len(), 1, "fresh requests stay");
    let index: Vec<String> = app.redis().await.zrange("upload_requests", 0, -1).await.unwrap();
    assert_eq!(index, [format!("upload_request:{user}:{fresh}")]);
    // An expired request cannot be completed afterwards.
    assert_eq!(complete(&app, &token, abandoned.as_str()).await.status(), 404);

    // Another run finds nothing to do.
    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!((report.ran, report.expired), (true, 0));
}

#[tokio::test]
async fn one_cleanup_runs_at_a_time() {
    one_at_a_time(Store::Local).await;
}

#[tokio::test]
async fn on_s3_too_one_cleanup_runs_at_a_time() {
    one_at_a_time(Store::S3).await;
}

async fn one_at_a_time(store: Store) {
    let (app, _, _s3) =
        spawn_on(store, &[("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1"), ("UPLOAD_MAX_OPEN", "100")]).await;
    let token = token_for(&app, "ann").await;
    for i in 0..30 {
        let ticket = open_ok(&app, &token, &format!("{i}.txt"), 1, "text/plain").await;
        put(&ticket, "x").await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;

    // Someone else holds the lease: this run does nothing.
    let mut redis = app.redis().await;
    let _: () = redis.set_ex("lock:job:check_current_user_uploads", "other-instance", 30).await.unwrap();
    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert!(!report.ran);
    assert_eq!(app.keys("upload_request:*").await.len(), 30);
    // Only the holder renews its lease.
    let lease = |holder: &'static str| job_lock::renew(&app.core.redis, jobs::uploads::NAME, holder, 60_000);
    assert!(!lease("this-instance").await.unwrap());
    assert!(lease("other-instance").await.unwrap());
    assert!(app.ttl("lock:job:check_current_user_uploads").await > 30, "extended");

    // A holder that died without giving the lease back: it runs out, and the
    // runs below go ahead.
    let _: () = redis.set_ex("lock:job:check_current_user_uploads", "dead-instance", 1).await.unwrap();
    assert!(!jobs::uploads::run(&app.core).await.unwrap().ran);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    // Two at once: one does all the work (the other is refused, or comes
    // after and finds nothing), and the lease is given back.
    let (a, b) = tokio::join!(jobs::uploads::run(&app.core), jobs::uploads::run(&app.core));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut work = [a.expired, b.expired];
    work.sort();
    assert_eq!(work, [0, 30], "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    assert!(app.keys("upload_request:*").await.is_empty());
    let held: bool = redis.exists("lock:job:check_current_user_uploads").await.unwrap();
    assert!(!held, "the lease is given back");
}

/// `keyhold-server job check_current_user_uploads` against the app's Redis
/// and the store `settings` name.
async fn run_job(app: &TestApp, settings: &[(&str, String)], url_ttl: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_keyhold-server"))
        .args(["job", "check_current_user_uploads"])
        .env_clear()
        .env("APP_ENV", "development")
        .env("REDIS_URL", app.redis.url())
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .env("UPLOAD_REQUEST_MAX_AGE", "2")
        .env("UPLOAD_URL_TTL", url_ttl)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_job_subcommand_runs_the_cleanup_once_with_the_same_configuration() {
    job_subcommand(Store::Local).await;
}

#[tokio::test]
async fn on_s3_too_the_job_subcommand_runs_the_cleanup() {
    job_subcommand(Store::S3).await;
}

async fn job_subcommand(store: Store) {
    let (app, settings, _s3) = spawn_on(store, &[("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1")]).await;
    let token = token_for(&app, "ann").await;
    let ticket = open_ok(&app, &token, "gone.txt", 4, "text/plain").await;
    put(&ticket, "gone").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;

    // UPLOAD_URL_TTL=0 is refused, naming the variable.
    let out = run_job(&app, &settings, "0").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("UPLOAD_URL_TTL"));

    let out = run_job(&app, &settings, "1").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 abandoned upload request(s) expired"), "{stdout}");
    assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None);
    assert!(app.keys("upload_request:*").await.is_empty());

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyhold-server"))
        .args(["job", "no_such_job"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn without_javascript_a_multipart_form_streams_through_the_same_steps() {
    let app = spawn_app_with(&[("UPLOAD_MAX_BYTES", "1000")]).await;
    create_account(&app, "ann@example.com", "ann").await;
    let res = app.post_form("/fn/login", "/login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    assert!(res.status().is_redirection());

    let post = |parts: Vec<(&'static str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in parts {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str("text/plain").unwrap();
            form = form.part("file", part);
        }
        app.client
            .post(app.url("/uploads"))
            .header("origin", &app.address)
            .header("accept", "text/html")
            .multipart(form)
            .send()
    };
    let res = post(vec![("one.txt", b"first".to_vec()), ("two.txt", b"second".to_vec())]).await.unwrap();
    assert_eq!(res.headers()["location"], "/uploads?done=uploaded-2");
    let page = app.get("/uploads").await.text().await.unwrap();
    assert!(page.contains("one.txt") && page.contains("two.txt"), "listed on the page");
    // Listed once: as HTML, not again in the upload form island's props.
    let props = page.split("data-props=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or_default();
    assert!(props.contains("quota_bytes") && !props.contains("one.txt"), "{props}");
    assert!(app.keys("upload_request:*").await.is_empty(), "every request completed");

    let res = post(vec![("big.txt", vec![b'x'; 1001])]).await.unwrap();
    assert_eq!(res.headers()["location"], "/uploads?error=file_too_large");
    assert!(app.keys("upload_request:*").await.is_empty(), "nothing half-written");
    let (files, _) = store::list(&app.core.redis, user_of(&app).await, 10).await.unwrap();
    assert_eq!(files.len(), 2);

    // Download and delete from the page, with the session.
    let key = files[0].key.clone();
    let res = app.client.get(app.url(&format!("/uploads/{key}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let res = app.post_form(&format!("/uploads/{key}/delete"), "/uploads", &[]).await;
    assert_eq!(res.headers()["location"], "/uploads?done=deleted");
    let res = app.client.get(app.url(&format!("/uploads/{key}"))).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // Another site cannot post files into the session.
    let res = app
        .client
        .post(app.url("/uploads"))
        .header("origin", "https://evil.example")
        .multipart(reqwest::multipart::Form::new().text("file", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

/// Ann's id, from the username index.
async fn user_of(app: &TestApp) -> Uuid {
    let id: String = app.redis().await.get("account:username:ann").await.unwrap();
    id.parse().unwrap()
}

#[tokio::test]
async fn an_unreachable_store_answers_503_and_records_a_storage_error() {
    let (app, _, _) = spawn_on(Store::Unreachable, &[]).await;
    let token = token_for(&app, "ann").await;
    // Presigning needs no network: the slot is handed out.
    let ticket = open_ok(&app, &token, "a.txt", 2, "text/plain").await;
    let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(code_of(res).await, (503, "storage_unavailable".into()));
    assert_eq!(app.keys("upload_request:*").await.len(), 1, "left for the cleanup");
    assert!(app.error_count("storage", 1).await >= 1);
}

#[tokio::test]
async fn the_s3_path_presigns_put_and_get_and_cleans_up_multipart_uploads() {
    let s3 = TestS3::start("keyhold-files").await;
    let settings = s3.settings("keyhold-files");
    let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.extend([("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1")]);
    let app = spawn_app_with(&overrides).await;
    let token = token_for(&app, "ann").await;
    let user = user_id(&app, &token).await;

    // The bytes go straight to S3 with a presigned URL; Keyhold only checks.
    let ticket = open_ok(&app, &token, "report.txt", 12, "text/plain").await;
    assert!(ticket["upload_url"].as_str().unwrap().starts_with(&s3.endpoint), "{ticket}");
    assert!(ticket["upload_url"].as_str().unwrap().contains("X-Amz-Signature"));
    // S3 cannot be made to check a presigned length (object_store will not
    // sign Content-Length): complete does, and deletes what is wrong.
    assert_eq!(put(&ticket, "too many bytes here").await.status(), 200);
    let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (400, "size_mismatch".into()));
    assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None);
    assert_eq!(put(&ticket, "hello, s3 :)").await.status(), 200);
    let file: Value = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(file["size"], 12);
    // Completing again is harmless; the signed If-None-Match keeps the URL from replacing it.
    let again: Value = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!((again["object_key"].as_str(), again["size"].as_u64()), (file["object_key"].as_str(), Some(12)));
    assert_eq!(list(&app, &token).await["used_bytes"], 12);

    // Download: a redirect to a short-lived presigned GET that serves it as an attachment.
    let key = ticket["object_key"].as_str().unwrap();
    let res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 307);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let res = reqwest::get(&location).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap(), "hello, s3 :)");
    let other = token_for(&app, "bob").await;
    let res = app.client.get(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&other).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // An image announced but not delivered is refused and deleted.
    let ticket = open_ok(&app, &token, "x.png", 4, "image/png").await;
    put(&ticket, "nope").await;
    let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(res.status(), 415);
    assert_eq!(app.core.objects.size(&key_of(&ticket)).await.unwrap(), None);

    // A streamed upload whose server died: an S3 multipart upload left open.
    let open_multipart = open_ok(&app, &token, "stream.bin", 6 << 20, "application/octet-stream").await;
    let stream_key = key_of(&open_multipart);
    let mut writer = app.core.objects.writer(&stream_key, 6 << 20).await.unwrap();
    let id = writer.multipart_id().unwrap().to_owned();
    assert!(store::note_multipart(&app.core.redis, user, &stream_key, &id).await.unwrap());
    writer.put(vec![0u8; 5 << 20].into()).await.unwrap();
    writer.put(vec![0u8; 4 << 20].into()).await.unwrap_err(); // over its 6 MiB: refused
    drop(writer); // never completed nor aborted
    let uploads_open = || async {
        reqwest::get(format!("{}/keyhold-files?uploads", s3.endpoint)).await.unwrap().text().await.unwrap()
    };
    assert!(uploads_open().await.contains(&id));
    // …and an abandoned presigned PUT.
    let abandoned = open_ok(&app, &token, "gone.txt", 4, "text/plain").await;
    assert_eq!(put(&abandoned, "gone").await.status(), 200);
    let delete = app.client.delete(app.url(&format!("/api/uploads/{key}"))).bearer_auth(&token);

    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!((report.expired, report.multipart_aborted, report.failed), (3, 1, 0), "{report:?}");
    assert!(!uploads_open().await.contains(&id), "multipart upload aborted");
    assert_eq!(app.core.objects.size(&key_of(&abandoned)).await.unwrap(), None);
    assert_eq!(app.core.objects.size(&ObjectKey::parse(key).unwrap()).await.unwrap(), Some(12), "completed file kept");

    assert_eq!(delete.send().await.unwrap().status(), 204);
    assert_eq!(app.core.objects.size(&ObjectKey::parse(key).unwrap()).await.unwrap(), None);
}

#[tokio::test]
async fn without_javascript_uploads_stream_to_s3_too() {
    let s3 = TestS3::start("keyhold-form").await;
    let settings = s3.settings("keyhold-form");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&overrides).await;
    create_account(&app, "ann@example.com", "ann").await;
    app.post_form("/fn/login", "/login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    // Larger than one part: a real multipart upload.
    let bytes = vec![42u8; (9 << 20) + 17];
    let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name("large.bin");
    let res = app
        .client
        .post(app.url("/uploads"))
        .header("origin", &app.address)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/uploads?done=uploaded-1");
    let (files, used) = store::list(&app.core.redis, user_of(&app).await, 10).await.unwrap();
    assert_eq!((files.len(), used), (1, bytes.len() as u64));
    assert_eq!(app.core.objects.size(&files[0].key).await.unwrap(), Some(bytes.len() as u64));
    assert!(app.keys("upload_request:*").await.is_empty());
}

#[tokio::test]
async fn without_javascript_a_broken_connection_leaves_the_request_for_the_cleanup() {
    let app = spawn_app_with(&[("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1")]).await;
    create_account(&app, "ann@example.com", "ann").await;
    app.post_form("/fn/login", "/login", &[("identifier", "ann"), ("password", PASSWORD)]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![1u8; 1 << 20]), Err(std::io::Error::other("cable pulled"))];
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .file_name("big.bin");
    let sent = app
        .client
        .post(app.url("/uploads"))
        .header("origin", &app.address)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await;
    assert!(sent.is_err(), "the body broke off");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.keys("upload_request:*").await.len(), 1, "left for the cleanup");
    let user = user_of(&app).await;
    let (files, _) = store::list(&app.core.redis, user, 10).await.unwrap();
    assert!(files.is_empty(), "nothing recorded as a file");

    // The same through the flow itself, whose body stream breaks off: the
    // error says so, and the request stays for the cleanup.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        vec![Ok(vec![1u8; 1 << 20].into()), Err(std::io::Error::other("cable pulled"))];
    let request =
        UploadRequest { name: "flow.bin", size: 0, content_type: "application/octet-stream", kind: UploadKind::File };
    let err =
        uploads_flow::upload_stream(&app.core, user, request, None, futures::stream::iter(chunks)).await.unwrap_err();
    assert!(matches!(err, FlowError::UploadInterrupted(_)), "{err:?}");
    assert_eq!(app.keys("upload_request:*").await.len(), 2, "both left for the cleanup");
    assert!(store::list(&app.core.redis, user, 10).await.unwrap().0.is_empty());

    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!((report.expired, report.failed), (2, 0), "{report:?}");
    assert!(app.keys("upload_request:*").await.is_empty());
}

#[tokio::test]
async fn a_cleanup_that_cannot_reach_the_store_records_a_storage_error_and_keeps_the_request() {
    let (app, _, _) = spawn_on(Store::Unreachable, &[("UPLOAD_REQUEST_MAX_AGE", "2"), ("UPLOAD_URL_TTL", "1")]).await;
    let token = token_for(&app, "ann").await;
    open_ok(&app, &token, "a.txt", 2, "text/plain").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;

    let report = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!((report.ran, report.expired, report.failed), (true, 0, 1), "{report:?}");
    assert!(app.error_count("storage", 1).await >= 1, "recorded as a storage error");
    assert_eq!(app.keys("upload_request:*").await.len(), 1, "tried again on the next run");
    let again = jobs::uploads::run(&app.core).await.unwrap();
    assert_eq!(again.failed, 1, "{again:?}");
}

/// The first bytes of a JPEG (JFIF) and of a WebP file.
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
const WEBP: &[u8] = b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0";

#[tokio::test]
async fn profile_pictures_are_jpeg_png_or_webp_by_content_up_to_their_own_limit() {
    let app = spawn_app_with(&[("PROFILE_PICTURE_MAX_BYTES", "40")]).await;
    let token = token_for(&app, "ann").await;
    let picture = |name: &str, size: usize, content_type: &str| json!({"name": name, "size": size, "content_type": content_type, "kind": "picture"});

    let res = open(&app, &token, picture("huge.png", 41, "image/png")).await;
    assert_eq!(code_of(res).await, (413, "file_too_large".into()));
    assert!(app.keys("upload_request:*").await.is_empty(), "nothing recorded");
    // Files other than pictures keep the general limit.
    open_ok(&app, &token, "big.txt", 41, "text/plain").await;

    for (name, bytes, content_type) in [("me.jpg", JPEG, "image/jpeg"), ("me.webp", WEBP, "image/webp")] {
        let res = open(&app, &token, picture(name, bytes.len(), content_type)).await;
        assert_eq!(res.status(), 201, "{name}");
        let ticket: Value = res.json().await.unwrap();
        assert!(put(&ticket, bytes.to_vec()).await.status().is_success());
        let done: Value = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await.json().await.unwrap();
        let res = app.client.get(app.url(done["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], content_type, "{name}");
    }

    // Declared a JPEG, delivered something else: refused by its content.
    let fake = b"GIF89a, or anything else";
    let res = open(&app, &token, picture("liar.jpg", fake.len(), "image/jpeg")).await;
    let ticket: Value = res.json().await.unwrap();
    put(&ticket, fake.to_vec()).await;
    let res = complete(&app, &token, ticket["object_key"].as_str().unwrap()).await;
    assert_eq!(code_of(res).await, (415, "unsupported_type".into()));
}
