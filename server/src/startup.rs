//! Builds the application from settings: Redis clients, sessions, auth, the
//! router with its middleware, and the listener (port 0 picks a free port).

use crate::sessions::{self, AUTH_DATA_KEY, Sessions};
use crate::{api, files, middleware};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_login::AuthManagerLayerBuilder;
use keyhold::config::Settings;
use keyhold::connections;
use keyhold::flows::Core;
use keyhold::jobs;
use keyhold::keys;
use keyhold::store::profile_cache::CacheStats;
use keyhold_app::auth::{AuthSession, Backend};
use keyhold_app::components::form::FormValues;
use keyhold_app::ssr::AppState;
use keyhold_app::{App, shell};
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "keyhold_session";

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    core: Core,
    jobs: tokio::task::JoinHandle<()>,
}

impl Application {
    pub async fn build(settings: Settings, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        Self::build_with(settings, leptos_options, Extras::default()).await
    }

    /// Like [`Application::build`], with what tests add (a route or a
    /// middleware that panics).
    pub async fn build_with(settings: Settings, leptos_options: LeptosOptions, extra: Extras) -> anyhow::Result<Self> {
        tracing::info!(redis = %settings.redis.display_target(), env = ?settings.env, "starting keyhold");
        let session_pool = connections::session_pool(&settings.redis)?;
        let core = Core::new(settings)?;
        let _monitor = core.health.spawn_monitor(core.redis.clone(), Duration::from_secs(1));
        CacheStats::spawn_flusher(core.cache_stats.clone(), core.redis.clone(), Duration::from_secs(5));

        let addr = leptos_options.site_addr;
        let listener = TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        let router = router(core.clone(), leptos_options, session_pool, extra);
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let jobs = tokio::spawn(run_jobs(core.clone()));
        Ok(Self { listener, router, port, core, jobs })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The services the app runs on (tests read the cache statistics).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal`, finishes the requests in flight, then waits
    /// for background work (mail, the error log) before returning.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal)
            .await;
        self.jobs.abort();
        self.core.shutdown().await;
        served
    }
}

/// Routes merged into the app, and a middleware run where the session and
/// auth layers run. Tests use them; a server has none.
#[derive(Default)]
pub struct Extras {
    pub routes: Router<AppState>,
    pub middleware: Option<ExtraMiddleware>,
}

pub type ExtraMiddleware =
    fn(axum::extract::Request, axum::middleware::Next) -> futures::future::BoxFuture<'static, Response>;

fn router(core: Core, leptos_options: LeptosOptions, session_pool: fred::clients::Pool, extra: Extras) -> Router {
    let state = AppState::new(core.clone(), leptos_options.clone());

    let session_layer = SessionManagerLayer::new(Sessions::new(session_pool, core.redis.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(!core.settings.is_development())
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(keys::SESSION_TTL as i64)));
    let auth_layer =
        AuthManagerLayerBuilder::new(Backend::new(core.clone()), session_layer).with_data_key(AUTH_DATA_KEY).build();

    let renew_after = i64::try_from(core.settings.session_renew_after).unwrap_or(i64::MAX);
    let routes = route_list();
    let context_state = state.clone();
    let fallback_state = state.clone();
    let app_routes = Router::new()
        .route("/logout", post(logout))
        .route("/uploads", post(files::upload_form).layer(DefaultBodyLimit::disable()))
        .route("/uploads/{object_key}", get(files::download))
        .route("/uploads/{object_key}/delete", post(files::delete_form))
        .route("/profile/picture", post(files::picture_form).layer(DefaultBodyLimit::disable()))
        .route("/pictures/{object_key}", get(files::picture))
        .leptos_routes_with_context(&state, routes, move || page_context(&context_state), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || page_context(&fallback_state),
            shell,
        ))
        .merge(extra.routes);
    let extra_middleware = extra.middleware.map(axum::middleware::from_fn);
    let pkg_dir = std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir);
    let assets = crate::assets::Assets::load(&pkg_dir, &leptos_options.output_name).unwrap_or_else(|e| {
        tracing::warn!(error = %e, dir = %pkg_dir.display(), "site files not loaded; the fallback serves them");
        crate::assets::Assets::default()
    });

    // Outermost first; see `middleware` for why this order.
    Router::new()
        .merge(api::router())
        .merge(app_routes)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(|_| crate::pages::internal_error("")))
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::context::request_context))
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::headers::security_headers))
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::recorder::record_errors))
                .layer(CatchPanicLayer::custom(middleware::recorder::panic_response))
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::readiness::require_redis))
                .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::origin::require_same_origin))
                .option_layer(extra_middleware)
                .layer(axum::middleware::from_fn(sessions::with_prefetch))
                .layer(auth_layer)
                .layer(axum::middleware::from_fn_with_state(renew_after, middleware::renewal::renew_session))
                .layer(axum::middleware::from_fn(middleware::recorder::note_user))
                .layer(axum::middleware::from_fn(middleware::flash::form_values)),
        )
        .with_state(state)
        // The build's files, outside the stack above: a static file needs no
        // session, no Redis and no page context.
        .merge(static_files(&leptos_options, assets))
}

/// `/pkg/{name}` from memory, when the site was built (see `assets`).
fn static_files(options: &LeptosOptions, assets: crate::assets::Assets) -> Router {
    if assets.is_empty() {
        return Router::new();
    }
    tracing::info!(files = assets.len(), "site files loaded");
    Router::new().route(&format!("/{}/{{name}}", options.site_pkg_dir), get(crate::assets::serve)).with_state(assets)
}

/// What every page and server function finds in its Leptos context: the
/// state, and the Content-Security-Policy that admits this render's
/// hydration script by its nonce.
/// The background jobs, each on its interval (the first run at start-up).
async fn run_jobs(core: Core) {
    let cleanup = every(core.settings.uploads.cleanup_interval, jobs::uploads::NAME, {
        let core = core.clone();
        move || {
            let core = core.clone();
            async move { jobs::uploads::run(&core).await.map(drop) }
        }
    });
    let census = every(core.settings.key_census_interval, jobs::key_census::NAME, {
        let core = core.clone();
        move || {
            let core = core.clone();
            async move { jobs::key_census::run(&core).await.map(drop) }
        }
    });
    tokio::join!(cleanup, census);
}

/// Runs `job` every `seconds`, logging failures; a failed run is retried on
/// the next tick.
async fn every<F, Fut>(seconds: u64, name: &str, job: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), keyhold::store::StoreError>>,
{
    let mut ticks = tokio::time::interval(Duration::from_secs(seconds));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = job().await {
            tracing::warn!(error = %e, job = name, "job failed; it runs again next interval");
        }
    }
}

fn page_context(state: &AppState) {
    provide_context(state.clone());
    if let Some(values) = keyhold_app::ssr::request_extension::<FormValues>() {
        provide_context(values);
    }
    if let (Some(nonce), Some(res)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        && let Ok(policy) = HeaderValue::from_str(&middleware::headers::page_policy(
            &nonce,
            state.core.settings.object_store.browser_origin().as_deref(),
        ))
    {
        res.insert_header(header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// The app's routes, listed once per process. Listing renders the app while
/// Leptos suppresses resource loading through a process-wide flag; a page
/// that starts loading a resource in another thread at that moment waits for
/// it forever (Leptos issue 4773). A server lists its routes once before it
/// serves, so this only bites when one process builds several apps at once,
/// as the integration tests do in parallel threads.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// `POST /logout`: ends the session in Redis and goes home.
async fn logout(State(_): State<AppState>, mut auth: AuthSession) -> Response {
    match auth.logout().await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "logout failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
