//! Apps built and pages rendered at the same time in one process must not
//! stall each other (Leptos marks route listing with a process-wide flag).

use crate::helpers::{leptos_options, spawn_app};
use keyhold::config::Settings;
use keyhold_server::startup::Application;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_apps_start() {
    let app = spawn_app().await;
    // Building an app lists its routes; Redis is connected lazily, so these
    // need no server.
    let builder = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            for _ in 0..200 {
                let settings = Settings::from_lookup(|k| match k {
                    "APP_ENV" => Some("development".to_owned()),
                    "REDIS_URL" => Some("redis://127.0.0.1:1/0".to_owned()),
                    _ => None,
                })
                .expect("settings");
                drop(Application::build(settings, leptos_options()).await.expect("app builds"));
            }
        })
    });
    let mut rendered = 0;
    while !builder.is_finished() {
        let res = tokio::time::timeout(Duration::from_secs(5), app.get("/")).await.expect("the page never stalls");
        assert_eq!(res.status(), 200);
        rendered += 1;
    }
    builder.join().expect("builder thread");
    assert!(rendered > 0);
}
