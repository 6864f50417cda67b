//! Keyhold's user interface: the page shell, routes, pages and the server
//! functions they call. Built twice: with `ssr` into the server, which
//! renders every page, and with `hydrate` into the browser's wasm, which
//! holds only the islands (the interactive parts of pages, mostly forms).

pub mod components;
pub mod error;
mod head;
pub mod pages;
pub mod server_fns;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::layout::{Footer, Header};
use head::HeadFiles;
pub use head::hash_entries;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use pages::admin::{AdminErrorGroupPage, AdminErrorPage, AdminErrorsPage, AdminPage};
use pages::payments::{NewPaymentPage, PaymentPage, PaymentsPage};
use pages::{
    change_password::ChangePasswordPage, confirm_email::ConfirmEmailPage, forgot_password::ForgotPasswordPage,
};
use pages::{home::HomePage, login::LoginPage, not_found::NotFound, profile::ProfilePage, uploads::UploadsPage};
use pages::{
    register::RegisterPage, reset_password::ResetPasswordPage, verify::VerifyPage, verify_link::VerifyLinkPage,
};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HeadFiles options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|text: String| if text.is_empty() { "Keyhold".to_owned() } else { format!("{text} · Keyhold") } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" class="container">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async />
                    <Route path=path!("/verify") view=VerifyPage ssr=SsrMode::Async />
                    <Route path=path!("/verify/link") view=VerifyLinkPage ssr=SsrMode::Async />
                    <Route path=path!("/confirm-email") view=ConfirmEmailPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/profile") view=ProfilePage ssr=SsrMode::Async />
                    <Route path=path!("/uploads") view=UploadsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors") view=AdminErrorsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors/:key") view=AdminErrorPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors/groups/:service/:group") view=AdminErrorGroupPage ssr=SsrMode::Async />
                    <Route path=path!("/payments") view=PaymentsPage ssr=SsrMode::Async />
                    <Route path=path!("/payments/new") view=NewPaymentPage ssr=SsrMode::Async />
                    <Route path=path!("/payments/:id") view=PaymentPage ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/change-password") view=ChangePasswordPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// The browser's part: the islands (a page's forms) hydrate one by one; the
/// page head's script finds them and calls each one's entry point.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Only the first hook set counts: the page head calls this before any
    // island's entry point, so it comes before the forms' own default.
    _ = leptos::server_fn::redirect::set_redirect_hook(follow_redirect);
    leptos::mount::hydrate_islands();
    // A form posted without JavaScript (before the wasm loaded) comes back
    // with its error in the URL; the server showed it from there, and the
    // island's action must start from the same error (the router, which
    // does this on the server, does not run in the browser).
    let search = leptos::prelude::window().location().search().unwrap_or_default();
    if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search)
        && let (Some(err), Some(path)) = (params.get("__err"), params.get("__path"))
    {
        provide_context(leptos::server::ServerActionError::new(&path, &err));
    }
}

/// Where a form's server function sends the browser once it succeeded. A
/// place on the page already shown (`…#group-x`: the admin's error group
/// just moved) reloads the page there: following such a link only scrolls,
/// and would leave the page as it was before the form was sent.
#[cfg(feature = "hydrate")]
fn follow_redirect(to: &str) {
    let location = leptos::prelude::window().location();
    let parsed = location
        .href()
        .ok()
        .and_then(|here| Some((web_sys::Url::new_with_base(to, &here).ok()?, web_sys::Url::new(&here).ok()?)));
    let Some((target, current)) = parsed else {
        _ = location.set_href(to);
        return;
    };
    let same_page = target.origin() == current.origin()
        && target.pathname() == current.pathname()
        && target.search() == current.search();
    if same_page && !target.hash().is_empty() {
        _ = location.replace(&target.href());
        _ = location.reload();
    } else {
        _ = location.set_href(&target.href());
    }
}
