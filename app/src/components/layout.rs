//! The chrome around every page: header with navigation, footer.

use crate::components::avatar::Avatar;
use crate::server_fns::UserView;
use leptos::prelude::*;

/// The signed-in person, as axum-login loaded them for this request: a
/// plain read, with no await and no `Suspense`. Only the server renders the
/// page chrome (the browser hydrates islands alone), so in the browser there
/// is never anyone.
pub fn signed_in() -> Option<UserView> {
    #[cfg(feature = "ssr")]
    {
        use crate::auth::AuthSession;
        with_context::<http::request::Parts, _>(|p| {
            p.extensions.get::<AuthSession>().and_then(|a| a.user.as_ref()).map(UserView::from)
        })
        .flatten()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <nav class="container nav" aria-label="Main">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"⬢"</span>
                    "Keyhold"
                </a>
                {match signed_in() {
                    Some(user) => view! {
                        <div class="nav-links" data-testid="nav-signed-in">
                            {(user.role == "admin").then(|| view! { <a href="/admin/errors">"Errors"</a> })}
                            <a href="/payments">"Payments"</a>
                            <a href="/uploads">"Files"</a>
                            <a href="/profile" class="nav-profile">
                                <Avatar picture=user.picture_url name=user.name class="nav-avatar" testid="nav-avatar" />
                                <span class="nav-user">"@"{user.username}</span>
                            </a>
                            <form method="post" action="/logout" class="inline-form">
                                <button type="submit" class="button button-quiet">"Log out"</button>
                            </form>
                        </div>
                    }
                    .into_any(),
                    None => view! {
                        <div class="nav-links" data-testid="nav-signed-out">
                            <a href="/login">"Log in"</a>
                            <a class="button button-small" href="/register">"Create account"</a>
                        </div>
                    }
                    .into_any(),
                }}
            </nav>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"Keyhold — accounts you can trust. Your data lives in Redis, your password never leaves argon2."</p>
            </div>
        </footer>
    }
}
