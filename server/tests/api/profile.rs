//! The profile and the `user:{userId}` cache (README: "Redis schema").

use crate::helpers::{TestApp, create_account, spawn_app, spawn_app_with};
use serde_json::Value;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn logged_in(app: &TestApp) -> String {
    create_account(app, EMAIL, "ann").await;
    let res = app.call_fn("login", &[("identifier", EMAIL), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), 200);
    let mut conn = app.redis().await;
    redis::cmd("GET").arg("account:email:ann@example.com").query_async(&mut conn).await.unwrap()
}

async fn cached(app: &TestApp, id: &str) -> Option<Value> {
    let mut conn = app.redis().await;
    let raw: Option<String> = redis::cmd("GET").arg(format!("user:{id}")).query_async(&mut conn).await.unwrap();
    raw.map(|r| serde_json::from_str(&r).unwrap())
}

async fn stats(app: &TestApp) -> (u64, u64) {
    app.core.cache_stats.flush(&app.core.redis).await.unwrap();
    let h = app.hgetall("stats:cache").await;
    let get = |k: &str| h.get(k).map(|v| v.parse().unwrap()).unwrap_or(0);
    (get("hits"), get("misses"))
}

fn update_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Ann Lee"),
        ("phone", "+55 11 98765-4321"),
        ("address", "Rua A, 1"),
        ("agency", "0001"),
        ("account_number", "12345-6"),
        ("language", "pt-BR"),
        ("newsletter", "on"),
    ];
    for (k, v) in extra {
        form.retain(|(f, _)| f != k);
        form.push((k, v));
    }
    form
}

#[tokio::test]
async fn reads_go_through_the_cache_miss_then_hit() {
    let app = spawn_app_with(&[("REDIS_CACHE_TTL", "120")]).await;
    let id = logged_in(&app).await;
    assert!(cached(&app, &id).await.is_none());

    let res = app.call_fn("profile", &[]).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["username"], "ann");
    assert_eq!(stats(&app).await, (0, 1), "first read is a miss");

    let entry = cached(&app, &id).await.expect("filled on the miss");
    let keys: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "id",
        "name",
        "email",
        "address",
        "bankingDetails",
        "profilePictureUrl",
        "cachedAt",
        "username",
        "phone",
        "role",
    ] {
        assert!(keys.contains(&key), "{key} in {entry}");
    }
    assert_eq!(entry["id"], id);
    assert!((110..=120).contains(&app.ttl(&format!("user:{id}")).await), "REDIS_CACHE_TTL");

    assert_eq!(app.call_fn("profile", &[]).await.status(), 200);
    assert_eq!(stats(&app).await, (1, 1), "second read is a hit");
}

#[tokio::test]
async fn every_account_write_drops_the_cache_entry() {
    let app = spawn_app().await;
    let id = logged_in(&app).await;
    app.call_fn("profile", &[]).await;
    assert!(cached(&app, &id).await.is_some());

    let res = app.call_fn("update-profile", &update_form(&[])).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // The write dropped the old entry; the answer refilled it with the new name.
    assert_eq!(cached(&app, &id).await.unwrap()["name"], "Ann Lee");
    let view: Value = app.call_fn("profile", &[]).await.json().await.unwrap();
    assert_eq!(view["name"], "Ann Lee");
    assert_eq!(view["phone"], "+5511987654321");
    assert_eq!(view["agency"], "0001");
    assert_eq!(view["account_number_masked"], "•••45-6");
    assert_eq!(view["language"], "pt-BR");
    assert_eq!(view["newsletter"], true);

    // A role change is an account write too.
    keyhold::store::accounts::set_role(&app.core.redis, id.parse().unwrap(), keyhold::domain::Role::Creator)
        .await
        .unwrap();
    assert!(cached(&app, &id).await.is_none());
}

#[tokio::test]
async fn the_cache_never_holds_secrets() {
    let app = spawn_app().await;
    let id = logged_in(&app).await;
    app.call_fn("update-profile", &update_form(&[])).await;
    app.call_fn("profile", &[]).await;
    let entry = cached(&app, &id).await.unwrap();
    let text = entry.to_string();
    assert_eq!(entry["bankingDetails"], serde_json::json!({"agency": "0001", "accountNumber": "•••45-6"}));
    for secret in ["argon2", "password", "12345-6", "token", "session", "code"] {
        assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn bad_profile_input_is_refused_field_by_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let id = logged_in(&app).await;
    let before = app.hgetall(&format!("account:{id}")).await;
    let res = app
        .call_fn(
            "update-profile",
            &update_form(&[("agency", "12"), ("phone", "abc"), ("name", ""), ("account_number", "")]),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["name", "phone", "agency"]);
    assert_eq!(app.hgetall(&format!("account:{id}")).await, before, "nothing half-written");

    // A branch without an account number (and none stored) is refused too.
    let res = app.call_fn("update-profile", &update_form(&[("account_number", "")])).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "account_number");
}

#[tokio::test]
async fn strangers_cannot_read_or_write_profiles() {
    let app = spawn_app().await;
    let res = app.call_fn("profile", &[]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_logged_in");
    assert_eq!(app.call_fn("update-profile", &update_form(&[])).await.status(), 401);
}

#[tokio::test]
async fn a_profile_change_computed_from_a_stale_read_is_not_written() {
    use keyhold::store::accounts::{self, AccountField, AccountWrite, Written};
    let app = spawn_app().await;
    create_account(&app, "ann@example.com", "ann").await;
    let mut conn = app.redis().await;
    let id: String = redis::cmd("GET").arg("account:username:ann").query_async(&mut conn).await.unwrap();
    let id = id.parse().unwrap();
    let read = accounts::get(&app.core.redis, id).await.unwrap().unwrap();

    // Someone else writes after our read...
    let other =
        AccountWrite::default().set(AccountField::BankingAgency, "0001").set(AccountField::BankingAccount, "999");
    assert_eq!(accounts::write(&app.core.redis, id, other).await.unwrap(), Written::Yes);
    // ...so a change computed from that read is refused, not written over theirs.
    let ours =
        AccountWrite::default().set_or_remove(AccountField::BankingAccount, None::<String>).if_unchanged_since(&read);
    assert_eq!(accounts::write(&app.core.redis, id, ours).await.unwrap(), Written::Stale);
    assert_eq!(app.hgetall(&format!("account:{id}")).await["banking_account"], "999");
}

/// What a signed-in read asks of Redis, leaving out what runs in the
/// background (health PINGs, the cache statistics' flush) and the test's
/// own INFO.
async fn reads_of(app: &TestApp) -> Vec<(String, u64)> {
    // Health checks, the error counters, the stats themselves, and the
    // handshake of any connection that opens meanwhile (a reconnect, the
    // test's own): none of them is a read made for the request.
    const BACKGROUND: &[&str] = &[
        "ping",
        "multi",
        "exec",
        "hincrby",
        "expire",
        "info",
        "config|resetstat",
        "select",
        "hello",
        "client|id",
        "client|setinfo",
        "client|setname",
    ];
    let stats = app.command_stats().await;
    stats.into_iter().filter(|(c, _)| !BACKGROUND.contains(&c.as_str())).collect()
}

#[tokio::test]
async fn api_me_and_the_profile_page_read_redis_in_one_pipeline_each() {
    let app = spawn_app().await;
    logged_in(&app).await;
    let token: Value = app
        .post_json("/api/auth/token", &serde_json::json!({"identifier": EMAIL, "password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    // A programmatic client: a token and no cookie.
    let client = crate::helpers::http_client();
    let me = || client.get(app.url("/api/me")).bearer_auth(&token).send();
    assert_eq!(me().await.unwrap().status(), 200, "the first fills the cache");
    // The jobs that run at start-up (key census, upload cleanup) also talk to
    // Redis: let them finish before counting.
    // The census has written its counts, the cleanup has read its index,
    // and neither holds its lease any more.
    let mut redis = app.redis().await;
    let mut settled = false;
    for _ in 0..500 {
        let census: bool = redis::cmd("EXISTS").arg("stats:keys").query_async(&mut redis).await.unwrap();
        let leases: Vec<String> = redis::cmd("KEYS").arg("lock:job:*").query_async(&mut redis).await.unwrap();
        let cleanup_ran = app.command_stats().await.contains_key("zrangebyscore");
        if census && cleanup_ran && leases.is_empty() {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(settled, "the start-up jobs did not finish");

    // /api/me: the revocation list, the session epoch and the cache entry,
    // three reads sent together.
    app.reset_command_stats().await;
    let res = me().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], "ann");
    let strings = |v: &[(&str, u64)]| v.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect::<Vec<_>>();
    assert_eq!(reads_of(&app).await, strings(&[("exists", 1), ("get", 1), ("hget", 1)]));

    // /profile with a session cookie: the session, the account and the cache
    // entry (in one round trip, see below).
    let page = || app.client.get(app.url("/profile")).send();
    assert_eq!(page().await.unwrap().status(), 200);
    app.reset_command_stats().await;
    let html = page().await.unwrap().text().await.unwrap();
    // The address as shown, without the views' markers and its line-break hint.
    let shown = html.replace("<!>", "").replace("<wbr>", "");
    assert!(shown.contains("ann@example.com"), "the profile is shown: {html}");
    assert_eq!(reads_of(&app).await, strings(&[("get", 2), ("hgetall", 1)]));
}

/// Redis's count of socket reads so far (`INFO stats`): one per round trip
/// a client makes, however many commands it pipelines.
async fn reads_processed(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query_async(conn).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("total_reads_processed:")?.trim().parse().ok()).unwrap()
}

#[tokio::test]
async fn a_signed_in_page_reads_its_session_and_account_in_one_round_trip() {
    let app = spawn_app().await;
    logged_in(&app).await;
    let page = || app.client.get(app.url("/profile")).send();
    // The login told the store whose session it is.
    assert_eq!(page().await.unwrap().status(), 200);
    // Each measure counts the page's reads and the second INFO's own; the
    // least of a few leaves out a health check that happened to land between.
    let mut conn = app.redis().await;
    let mut least = u64::MAX;
    for _ in 0..5 {
        let before = reads_processed(&mut conn).await;
        let html = page().await.unwrap().text().await.unwrap();
        assert!(html.contains("data-testid=\"profile\""), "{html}");
        least = least.min(reads_processed(&mut conn).await - before - 1);
    }
    assert_eq!(least, 1, "the session, the account and its cache entry in one pipeline");
}

/// The profile card from a page's HTML.
async fn card(app: &TestApp, path: &str) -> String {
    let html = app.get(path).await.text().await.unwrap();
    let start = html.find("data-testid=\"profile\"").unwrap_or_else(|| panic!("a profile card: {html}"));
    let end = start + html[start..].find("</section>").expect("the card's end");
    html[start..end].to_owned()
}

/// A plain visit's card is remembered while the profile it shows is the
/// same (`keyhold_app::ssr::cards`). A change shows at once, and a form
/// sent back without JavaScript shows what was typed and its error (the
/// error again on a reload), then the plain card again.
#[tokio::test]
async fn the_profile_card_follows_every_change_and_every_form_sent_back() {
    let app = spawn_app().await;
    logged_in(&app).await;
    let first = card(&app, "/profile").await;
    assert!(first.contains("<h1>Test User"), "{first}");
    assert_eq!(card(&app, "/profile").await, first, "the same profile, the same card");

    assert_eq!(app.call_fn("update-profile", &update_form(&[])).await.status(), 200);
    let changed = card(&app, "/profile").await;
    assert!(changed.contains("<h1>Ann Lee") && changed.contains("value=\"Rua A, 1\""), "{changed}");

    let res =
        app.post_form("/fn/update-profile", "/profile", &update_form(&[("name", "Ann Typed"), ("agency", "12")])).await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let back = card(&app, location.trim_start_matches(&app.address)).await;
    assert!(back.contains("value=\"Ann Typed\"") && back.contains("aria-invalid=\"true\""), "{back}");
    assert!(back.contains("<h1>Ann Lee"), "nothing was saved: {back}");
    // Reloaded, the page has no typed values left to show, but its URL
    // still carries the form's error, which the card shows.
    let reloaded = card(&app, location.trim_start_matches(&app.address)).await;
    assert!(reloaded.contains("aria-invalid=\"true\"") && !reloaded.contains("Ann Typed"), "{reloaded}");

    let saved = card(&app, "/profile?saved=1").await;
    assert!(saved.contains("Your profile is saved."), "{saved}");
    assert_eq!(card(&app, "/profile").await, changed, "a plain visit shows the plain card again");
}
