//! The JWT API and its revocation list (README: "JSON API").

use crate::helpers::{TestApp, create_account, spawn_app, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use keyhold::jwt::TokenType;
use serde_json::{Value, json};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn tokens(app: &TestApp) -> Value {
    let res = app.post_json("/api/auth/token", &json!({"identifier": EMAIL, "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.get(app.url("/api/me")).bearer_auth(token).send().await.unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/auth/refresh", &json!({"refresh_token": token})).await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

async fn code_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_token_pair_reads_the_profile_from_the_cache() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 1200);
    assert_eq!(pair["refresh_expires_in"], 604_800);
    let access = claims(pair["access_token"].as_str().unwrap());
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 1200);
    assert_eq!(access["nbf"], access["iat"]);
    assert!(uuid::Uuid::parse_str(access["jti"].as_str().unwrap()).is_ok());
    let refresh_claims = claims(pair["refresh_token"].as_str().unwrap());
    assert_eq!(refresh_claims["exp"].as_i64().unwrap() - refresh_claims["iat"].as_i64().unwrap(), 604_800);

    let res = me(&app, pair["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let profile: Value = res.json().await.unwrap();
    assert_eq!(profile["email"], EMAIL);
    assert_eq!(profile["username"], "ann");
    assert!(profile["cachedAt"].is_string());
    assert_eq!(app.keys("user:*").await.len(), 1, "the answer went through user:{{userId}}");
}

#[tokio::test]
async fn bad_tokens_get_401_with_stable_codes() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let access = pair["access_token"].as_str().unwrap();

    let res = app.client.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(code_of(res).await, (401, "token_missing".to_owned()));
    assert_eq!(code_of(me(&app, "garbage").await).await, (401, "token_invalid".to_owned()));

    // Wrong signature, `alg: none`, and an RS256 header over our claims.
    let [header, payload, signature]: [&str; 3] = access.split('.').collect::<Vec<_>>().try_into().unwrap();
    let mut tampered = B64.decode(signature).unwrap();
    tampered[0] ^= 1;
    let forged = [
        format!("{header}.{payload}.{}", B64.encode(tampered)),
        format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#)),
        format!("{}.{payload}.{signature}", B64.encode(r#"{"alg":"RS256","typ":"JWT"}"#)),
    ];
    for token in forged {
        assert_eq!(code_of(me(&app, &token).await).await, (401, "token_invalid".to_owned()), "{token}");
    }
    // A refresh token is not an access token, and the other way round.
    assert_eq!(code_of(me(&app, pair["refresh_token"].as_str().unwrap()).await).await.1, "token_invalid");
    assert_eq!(code_of(refresh(&app, access).await).await.1, "token_invalid");

    // Expired (signed with the same key, issued long ago).
    let id = uuid::Uuid::parse_str(claims(access)["sub"].as_str().unwrap()).unwrap();
    let (old, _) =
        app.core.tokens.issue(id, uuid::Uuid::new_v4(), 0, TokenType::Access, chrono::Utc::now().timestamp() - 3600);
    assert_eq!(code_of(me(&app, &old).await).await, (401, "token_expired".to_owned()));
    // Refused tokens are expected failures anyone can cause: counted, not kept.
    assert!(app.error_count("auth", 8).await >= 8, "refused tokens are counted as auth errors");
    assert!(app.keys("error:keyhold-test:auth:*").await.is_empty(), "and no record is kept for them");
}

#[tokio::test]
async fn refresh_rotates_and_blacklists_the_old_token() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let old = pair["refresh_token"].as_str().unwrap();
    let res = refresh(&app, old).await;
    assert_eq!(res.status(), 200);
    let next: Value = res.json().await.unwrap();
    assert_ne!(next["refresh_token"], pair["refresh_token"]);
    assert_eq!(claims(next["refresh_token"].as_str().unwrap())["fam"], claims(old)["fam"], "same family");

    let jti = claims(old)["jti"].as_str().unwrap().to_owned();
    let key = format!("token:blacklist:{jti}");
    let mut conn = app.redis().await;
    let entry: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    let entry: Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(entry["tokenId"], jti);
    assert_eq!(entry["userId"], claims(old)["sub"]);
    assert!(entry["revokedAt"].as_str().unwrap().ends_with('Z'));
    let expires = chrono::DateTime::parse_from_rfc3339(entry["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.timestamp(), claims(old)["exp"].as_i64().unwrap());
    let ttl = app.ttl(&key).await;
    assert!((604_700..=604_800).contains(&ttl), "the refresh token's remaining lifetime: {ttl}");

    assert_eq!(me(&app, next["access_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let stolen = pair["refresh_token"].as_str().unwrap().to_owned();
    let next: Value = refresh(&app, &stolen).await.json().await.unwrap();

    assert_eq!(code_of(refresh(&app, &stolen).await).await, (401, "token_revoked".to_owned()));
    assert_eq!(code_of(refresh(&app, next["refresh_token"].as_str().unwrap()).await).await.1, "token_revoked");
    assert_eq!(code_of(me(&app, next["access_token"].as_str().unwrap()).await).await.1, "token_revoked");
    assert_eq!(code_of(me(&app, pair["access_token"].as_str().unwrap()).await).await.1, "token_revoked");
    let family = claims(&stolen)["fam"].as_str().unwrap().to_owned();
    assert!(app.ttl(&format!("token:blacklist:{family}")).await > 604_000);

    // Another login starts a healthy family.
    let fresh = tokens(&app).await;
    assert_eq!(me(&app, fresh["access_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn logout_blacklists_both_tokens_for_their_remaining_lifetime() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(access)
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let access_ttl = app.ttl(&format!("token:blacklist:{}", claims(access)["jti"].as_str().unwrap())).await;
    assert!((1_190..=1_200).contains(&access_ttl), "{access_ttl}");
    let refresh_ttl = app.ttl(&format!("token:blacklist:{}", claims(refresh_token)["jti"].as_str().unwrap())).await;
    assert!((604_790..=604_800).contains(&refresh_ttl));
    assert_eq!(code_of(me(&app, access).await).await.1, "token_revoked");
    assert_eq!(code_of(refresh(&app, refresh_token).await).await.1, "token_revoked");
}

#[tokio::test]
async fn the_token_endpoint_shares_the_login_throttles() {
    let app = spawn_app_with(&[("LOGIN_FAIL_LIMIT_ACCOUNT", "2")]).await;
    create_account(&app, EMAIL, "ann").await;
    for _ in 0..2 {
        let res = app.post_json("/api/auth/token", &json!({"email": EMAIL, "password": "nope nope"})).await;
        assert_eq!(code_of(res).await, (401, "invalid_credentials".to_owned()));
    }
    let res = app.post_json("/api/auth/token", &json!({"email": EMAIL, "password": PASSWORD})).await;
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn a_password_reset_ends_token_families() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    app.post_json(
        "/api/email/send-code",
        &json!({"email": EMAIL, "purpose": "forgot_password", "delivery_method": "email"}),
    )
    .await;
    let code = app.message(1).await.code();
    let res = app
        .post_json(
            "/api/auth/reset-password",
            &json!({"email": EMAIL, "code": code, "new_password": "a fresh passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success": true, "message": "Password updated successfully"})
    );
    assert_eq!(code_of(refresh(&app, pair["refresh_token"].as_str().unwrap()).await).await.1, "token_revoked");
    assert_eq!(code_of(me(&app, pair["access_token"].as_str().unwrap()).await).await.1, "token_revoked");
}

#[tokio::test]
async fn logout_with_a_stale_access_token_still_ends_the_refresh_token() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let id = uuid::Uuid::parse_str(claims(refresh_token)["sub"].as_str().unwrap()).unwrap();
    let (stale, _) =
        app.core.tokens.issue(id, uuid::Uuid::new_v4(), 0, TokenType::Access, chrono::Utc::now().timestamp() - 3600);
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(stale)
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(code_of(refresh(&app, refresh_token).await).await.1, "token_revoked");
    assert_eq!(
        code_of(me(&app, pair["access_token"].as_str().unwrap()).await).await.1,
        "token_revoked",
        "the whole login ends"
    );
}

#[tokio::test]
async fn the_api_changes_a_password_with_a_bearer_token_and_a_code() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let access = pair["access_token"].as_str().unwrap();
    let body = json!({"email": EMAIL, "purpose": "change_password", "current_password": PASSWORD});
    let res = app.post_json("/api/email/send-code", &body).await;
    assert_eq!(code_of(res).await, (401, "token_missing".to_owned()));
    let res = app.client.post(app.url("/api/email/send-code")).bearer_auth(access).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let code = app.message(1).await.code();
    let res = app
        .client
        .post(app.url("/api/auth/change-password"))
        .bearer_auth(access)
        .json(&json!({"code": code, "new_password": "another fine passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app.post_json("/api/auth/token", &json!({"email": EMAIL, "password": "another fine passphrase"})).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn racing_refreshes_with_one_token_rotate_once_and_end_the_family() {
    let app = spawn_app().await;
    create_account(&app, EMAIL, "ann").await;
    let pair = tokens(&app).await;
    let token = pair["refresh_token"].as_str().unwrap().to_owned();
    let answers = futures::future::join_all((0..20).map(|_| refresh(&app, &token))).await;
    let mut issued = Vec::new();
    for res in answers {
        if res.status() == 200 {
            issued.push(res.json::<Value>().await.unwrap());
        }
    }
    assert_eq!(issued.len(), 1, "exactly one refresh wins");
    // The others were reuse: the whole family, the winner's tokens included, is over.
    let winner = issued[0]["access_token"].as_str().unwrap();
    assert_eq!(code_of(me(&app, winner).await).await, (401, "token_revoked".to_owned()));
    app.core.error_sink.flush().await;
    assert!(!app.keys("error:keyhold-test:auth:*").await.is_empty(), "reuse is kept as a security event");
}
