//! The chrome around every page: header with navigation, footer.

use crate::components::avatar::Avatar;
use crate::server_fns::{UserView, current_user};
use leptos::prelude::*;

/// The signed-in person. Read on the server only: every page (and every
/// form that changes the account) is a fresh page load. Pages read their
/// data in a `Suspend` rather than a `Resource`: no island needs it, so it is
/// not serialised into the page for the browser.
pub async fn signed_in() -> Option<UserView> {
    current_user().await.ok().flatten()
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
                <Suspense fallback=|| view! { <span class="nav-links"></span> }>
                    {move || Suspend::new(async move {
                        match signed_in().await {
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
                        }
                    })}
                </Suspense>
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
