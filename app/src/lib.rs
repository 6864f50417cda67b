//! Keyhold's user interface: the page shell, routes, pages and the server
//! functions they call. Built twice: with `ssr` into the server, with
//! `hydrate` into the browser's wasm.

pub mod components;
pub mod error;
mod head;
pub mod pages;
pub mod server_fns;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::layout::{AccountChanged, Footer, Header};
use head::HeadFiles;
pub use head::hash_entries;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};
use pages::{home::HomePage, not_found::NotFound};
use routes::*;

/// Every page but the home page is a lazy route: the browser's first visit
/// downloads the app's core and that page's code, and the rest of the app
/// as the visitor goes there (`cargo leptos build --split`; README:
/// "Performance"). Without `--split` all of it is one file, as before.
mod routes {
    use crate::pages::admin::{AdminErrorGroupPage, AdminErrorPage, AdminErrorsPage, AdminPage};
    use crate::pages::payments::{NewPaymentPage, PaymentPage, PaymentsPage};
    use crate::pages::{
        change_password::ChangePasswordPage, confirm_email::ConfirmEmailPage, forgot_password::ForgotPasswordPage,
    };
    use crate::pages::{login::LoginPage, profile::ProfilePage, uploads::UploadsPage};
    use crate::pages::{
        register::RegisterPage, reset_password::ResetPasswordPage, verify::VerifyPage, verify_link::VerifyLinkPage,
    };
    use leptos::prelude::*;
    use leptos_router::{LazyRoute, lazy_route};

    /// `$route` renders `$page`, its code in a chunk of its own. The pages
    /// start their own data loads, so `data` has nothing to do.
    macro_rules! lazy_page {
        ($($route:ident => $page:ident),* $(,)?) => {$(
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                fn view(this: Self) -> AnyView {
                    let _ = this;
                    view! { <$page /> }.into_any()
                }
            }
        )*};
    }

    lazy_page! {
        Register => RegisterPage,
        Verify => VerifyPage,
        VerifyLink => VerifyLinkPage,
        ConfirmEmail => ConfirmEmailPage,
        Login => LoginPage,
        Profile => ProfilePage,
        Uploads => UploadsPage,
        Admin => AdminPage,
        AdminErrors => AdminErrorsPage,
        AdminError => AdminErrorPage,
        AdminErrorGroup => AdminErrorGroupPage,
        Payments => PaymentsPage,
        NewPayment => NewPaymentPage,
        Payment => PaymentPage,
        ForgotPassword => ForgotPasswordPage,
        ResetPassword => ResetPasswordPage,
        ChangePassword => ChangePasswordPage,
    }
}

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
                <AutoReload options=options.clone() />
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
    AccountChanged::provide();

    view! {
        <Title formatter=|text: String| if text.is_empty() { "Keyhold".to_owned() } else { format!("{text} · Keyhold") } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" class="container">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/register") view={Lazy::<Register>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/verify") view={Lazy::<Verify>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/verify/link") view={Lazy::<VerifyLink>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmail>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login") view={Lazy::<Login>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/profile") view={Lazy::<Profile>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/uploads") view={Lazy::<Uploads>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin") view={Lazy::<Admin>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors") view={Lazy::<AdminErrors>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors/:key") view={Lazy::<AdminError>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/errors/groups/:service/:group") view={Lazy::<AdminErrorGroup>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/payments") view={Lazy::<Payments>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/payments/new") view={Lazy::<NewPayment>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/payments/:id") view={Lazy::<Payment>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reset-password") view={Lazy::<ResetPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/change-password") view={Lazy::<ChangePassword>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}

/// The browser entry point.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // What `hydrate_lazy` does (wait for the current route's chunk, if it is
    // lazy, then hydrate), and then mark the page as live: tests and styles
    // use the mark. An effect in `App` would run while a lazy page's chunk
    // still loads, when hydration could yet overwrite what was typed.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
