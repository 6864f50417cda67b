//! The site's built files under /pkg (README: "Performance"): served from
//! memory with their precompressed variants, hashed names cached for good,
//! pages never kept by shared caches.

use crate::helpers::spawn_app_with;

/// Named by the MD5 of its bytes, as cargo-leptos names files.
const WASM: &str = "keyhold.0UNOX6SfvXy1o8wv86fZ_g.wasm";
/// A hashed-looking name over other bytes (a file the build rewrote after naming it).
const REWRITTEN: &str = "keyhold.AbCdEfGhIjKlMnOpQrStUv.js";
const CSS: &str = "keyhold.ZyXwVuTsRqPoNmLkJiHgFe.css";

#[tokio::test]
async fn built_files_come_from_memory_with_their_encodings_and_cache_rules() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join(WASM), b"\0asm-identity").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.br")), b"brotli-bytes").unwrap();
    std::fs::write(pkg.join(format!("{WASM}.gz")), b"gzip-bytes").unwrap();
    std::fs::write(pkg.join(CSS), b"body{}").unwrap();
    std::fs::write(pkg.join("notes.txt"), b"plain").unwrap();
    std::fs::write(pkg.join(REWRITTEN), b"import './snippets/x.js'").unwrap();
    let root = site.path().display().to_string();
    let app = spawn_app_with(&[("LEPTOS_SITE_ROOT", &root)]).await;
    let get = |path: String, encoding: &'static str| {
        app.client.get(app.url(&path)).header("accept-encoding", encoding).send()
    };

    let res = get(format!("/pkg/{WASM}"), "gzip, deflate, br").await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["content-type"], "application/wasm");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["vary"], "accept-encoding");
    assert_eq!(res.bytes().await.unwrap(), "brotli-bytes");
    // reqwest asks for no encoding of its own here: what is sent is what the test reads.
    let res = get(format!("/pkg/{WASM}"), "gzip;q=1, br;q=0").await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.bytes().await.unwrap(), "gzip-bytes");
    let res = get(format!("/pkg/{WASM}"), "identity").await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.bytes().await.unwrap(), "\0asm-identity");

    // Revalidation by ETag; names without a hash are revalidated every time.
    let etag = h["etag"].to_str().unwrap().to_owned();
    let res = app.client.get(app.url(&format!("/pkg/{WASM}"))).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 304);
    let res = get("/pkg/notes.txt".into(), "br").await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, no-cache");
    // A name whose hash is not its content's is not trusted to stay the same file.
    let res = get(format!("/pkg/{REWRITTEN}"), "br").await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, no-cache");
    assert!(res.headers().get("content-encoding").is_none(), "no variant, no encoding");
    assert_eq!(get("/pkg/missing.js".into(), "br").await.unwrap().status(), 404);

    // Pages say no shared cache may keep them.
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
}

/// `keyhold-server` serving `site`, from the repository root (its `Leptos.toml`).
async fn serve_with_site(site: &std::path::Path) -> std::process::Output {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyhold-server"))
        .current_dir(repo)
        .env_clear()
        .env("APP_ENV", "development")
        .env("REDIS_URL", "redis://127.0.0.1:1/0")
        .env("LEPTOS_SITE_ROOT", site)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(30), run).await.expect("it stops by itself").unwrap()
}

#[tokio::test]
async fn a_site_without_a_file_its_hash_txt_names_stops_the_server_at_start_up() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(site.path().join("hash.txt"), "js: AAA\nwasm: BBB\ncss: CCC\n").unwrap();
    // The JS and the stylesheet are deployed; the wasm is not.
    for name in ["keyhold.AAA.js", "keyhold.CCC.css"] {
        std::fs::write(pkg.join(name), b"").unwrap();
    }

    let out = serve_with_site(site.path()).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("keyhold.BBB.wasm") && said.contains("whole pkg/"), "{said}");
}
