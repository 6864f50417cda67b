//! Test fixtures: a real `redis-server` on a free port and the real app on
//! port 0, with an HTTP client that keeps cookies and does not follow
//! redirects. Mail goes to a per-test outbox directory.

use axum::Router;
use keyhold::config::Settings;
use keyhold::flows::Core;
use keyhold_app::ssr::AppState;
use keyhold_server::startup::{Application, Extras};
use leptos::prelude::LeptosOptions;
use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// A private `redis-server`, killed on drop.
pub struct TestRedis {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl TestRedis {
    pub async fn start() -> Self {
        let mut dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..5 {
            let mut redis = Self { port: free_port(), dir, child: None };
            if redis.spawn().await {
                return redis;
            }
            // Someone took the port between our check and redis' bind: retry.
            dir = redis.dir;
        }
        panic!("could not start redis-server");
    }

    async fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        for _ in 0..100 {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if let Ok(mut conn) = self.try_connect().await
                && redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn try_connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        redis::Client::open(self.url())?.get_multiplexed_async_connection().await
    }

    pub async fn conn(&self) -> MultiplexedConnection {
        self.try_connect().await.expect("connect to test redis")
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        assert!(self.spawn().await, "redis restarted on port {}", self.port);
    }
}

pub struct TestApp {
    pub address: String,
    pub redis: TestRedis,
    pub client: reqwest::Client,
    pub core: Core,
    outbox: TempDir,
    /// The local object store's directory.
    pub objects: TempDir,
}

pub fn leptos_options() -> LeptosOptions {
    leptos_options_on(0)
}

fn leptos_options_on(port: u16) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("keyhold")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// The app with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with some settings overridden (`("CODE_RESEND_COOLDOWN", "0")`…).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_full(overrides, Router::new()).await
}

pub async fn spawn_app_full(overrides: &[(&str, &str)], routes: Router<AppState>) -> TestApp {
    spawn_app_extras(overrides, Extras { routes, middleware: None }).await
}

pub async fn spawn_app_extras(overrides: &[(&str, &str)], extra: Extras) -> TestApp {
    // Server logs, when RUST_LOG asks for them.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let redis = TestRedis::start().await;
    let outbox = tempfile::tempdir().expect("outbox dir");
    let objects = tempfile::tempdir().expect("objects dir");
    // Known before start-up: upload URLs are built from APP_URL.
    let port = free_port();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_ENV".into(), "development".into()),
        ("APP_URL".into(), format!("http://127.0.0.1:{port}")),
        ("REDIS_URL".into(), redis.url()),
        ("OUTBOX_DIR".into(), outbox.path().display().to_string()),
        ("OBJECT_STORE_URL".into(), objects.path().display().to_string()),
        ("SERVICE_NAME".into(), "keyhold-test".into()),
        // Every test client is 127.0.0.1; tests of this limit set it low.
        ("CODE_REQUEST_LIMIT_IP".into(), "10000".into()),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("valid test settings");
    let mut options = leptos_options_on(port);
    // A site of the test's own (built files under pkg/), when it makes one.
    if let Some(root) = vars.get("LEPTOS_SITE_ROOT") {
        options.site_root = root.as_str().into();
    }
    let app = Application::build_with(settings, options, extra).await.expect("app builds");
    let core = app.core().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { address, redis, client: http_client(), core, outbox, objects }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header("accept", "text/html").send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("POST")
    }

    /// Calls a server function as the browser's wasm would (JSON answers).
    pub async fn call_fn(&self, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.call_fn_as(&self.client, name, form).await
    }

    /// The same from another browser (its own cookie jar).
    pub async fn call_fn_as(&self, browser: &reqwest::Client, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        browser
            .post(self.url(&format!("/fn/{name}")))
            .header("origin", &self.address)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("server function call")
    }

    /// Posts a form as a browser without JavaScript does.
    pub async fn post_form(&self, path: &str, referer: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("origin", &self.address)
            .header("referer", self.url(referer))
            .header("accept", "text/html,application/xhtml+xml")
            .form(form)
            .send()
            .await
            .expect("form post")
    }

    pub async fn redis(&self) -> MultiplexedConnection {
        self.redis.conn().await
    }

    pub fn outbox(&self) -> &Path {
        self.outbox.path()
    }

    /// Every message in the outbox, decoded, oldest first.
    pub fn messages(&self) -> Vec<OutboxMessage> {
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.outbox())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        entries.into_iter().map(|(_, p)| OutboxMessage::read(&p)).collect()
    }

    /// Waits (briefly) for the n-th message.
    pub async fn message(&self, n: usize) -> OutboxMessage {
        for _ in 0..100 {
            let mut all = self.messages();
            if all.len() > n {
                return all.swap_remove(n);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no message #{n} in the outbox");
    }

    /// The keys matching a pattern (tests only: SCAN-free KEYS is fine here).
    /// The keys matching `pattern`, sorted; what the background jobs write
    /// at start-up (their leases, `lock:job:*`, and the key census,
    /// `stats:keys`) is left out so that "nothing else was written"
    /// assertions do not race them.
    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let mut conn = self.redis().await;
        let mut keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(&mut conn).await.expect("KEYS");
        keys.retain(|k| !k.starts_with("lock:job:") && k != "stats:keys");
        keys.sort();
        keys
    }

    /// Redis's calls per command since the last `CONFIG RESETSTAT`.
    pub async fn command_stats(&self) -> std::collections::BTreeMap<String, u64> {
        let mut conn = self.redis().await;
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.expect("INFO");
        info.lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
                Some((name.to_owned(), calls))
            })
            .collect()
    }

    pub async fn reset_command_stats(&self) {
        let mut conn = self.redis().await;
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.expect("CONFIG RESETSTAT");
    }

    pub async fn ttl(&self, key: &str) -> i64 {
        let mut conn = self.redis().await;
        redis::cmd("TTL").arg(key).query_async(&mut conn).await.expect("TTL")
    }

    /// Today's `error:count:…` for a type, once it reaches `at_least` (the
    /// error log is written in the background), or what it is after 2 s.
    pub async fn error_count(&self, kind: &str, at_least: u64) -> u64 {
        let today = chrono::Utc::now().format("%Y-%m-%d");
        let key = format!("error:count:keyhold-test:{kind}:{today}");
        let mut n = 0;
        for _ in 0..100 {
            let mut conn = self.redis().await;
            n = redis::cmd("GET").arg(&key).query_async::<Option<u64>>(&mut conn).await.expect("GET").unwrap_or(0);
            if n >= at_least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n
    }

    pub async fn hgetall(&self, key: &str) -> HashMap<String, String> {
        let mut conn = self.redis().await;
        redis::cmd("HGETALL").arg(key).query_async(&mut conn).await.expect("HGETALL")
    }
}

/// An `.eml` or SMS file from the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub raw: String,
    pub text: String,
}

impl OutboxMessage {
    fn read(path: &Path) -> Self {
        let raw = std::fs::read_to_string(path).expect("readable message");
        let text = decode_quoted_printable(&raw);
        Self { raw, text }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.raw
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The first run of exactly six digits after "code is".
    pub fn code(&self) -> String {
        let start = self.text.find("code is").expect("a code in the message") + "code is".len();
        self.text[start..].split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("six digits").to_owned()
    }

    /// The magic link's `token` parameter.
    pub fn token(&self) -> String {
        let start = self.text.find("token=").expect("a magic link") + "token=".len();
        self.text[start..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
    }
}

/// Enough quoted-printable decoding for our own ASCII mail.
fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// moto's S3-compatible server on a free port, killed on drop. The test
/// scripts install it and name it in `KEYHOLD_MOTO_SERVER`.
pub struct TestS3 {
    pub endpoint: String,
    _child: Child,
}

impl TestS3 {
    pub async fn start(bucket: &str) -> Self {
        let program = std::env::var("KEYHOLD_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test does it): {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(res) = client.put(format!("{endpoint}/{bucket}")).send().await
                && res.status().is_success()
            {
                return Self { endpoint, _child: child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto did not start on port {port}");
    }

    /// The settings that point Keyhold at this server's `bucket`.
    pub fn settings(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("OBJECT_STORE_URL", format!("s3://{bucket}")),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]
    }
}

/// A registration body for the registration API.
pub fn registration_body(email: &str, username: Option<&str>) -> serde_json::Value {
    let mut data = serde_json::json!({
        "name": "Test User",
        "email": email,
        "phone": "123-456-7890",
        "password": "correct horse battery staple",
    });
    if let Some(u) = username {
        data["username"] = u.into();
    }
    serde_json::json!({
        "email": email,
        "purpose": "finish_registration",
        "registration_data": data,
        "delivery_method": "email",
    })
}

/// Registers and verifies an account through the API; returns the password.
pub async fn create_account(app: &TestApp, email: &str, username: &str) -> &'static str {
    let before = app.messages().len();
    let res = app.post_json("/api/email/send-code", &registration_body(email, Some(username))).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let code = app.message(before).await.code();
    let res =
        app.post_json("/api/email/complete-registration", &serde_json::json!({"email": email, "code": code})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    "correct horse battery staple"
}
