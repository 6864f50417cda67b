//! `keyhold-server`: serves the web app and the JSON API.

use keyhold::config::Settings;
use keyhold_server::{startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let settings = Settings::from_env()?;
    let leptos_options = leptos::prelude::get_configuration(Some("Leptos.toml"))
        .map_err(|e| anyhow::anyhow!("configuration: Leptos.toml or LEPTOS_* variables: {e}"))?
        .leptos_options;
    let app = Application::build(settings, leptos_options).await?;
    app.run_until_stopped().await?;
    Ok(())
}
