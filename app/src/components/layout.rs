//! The chrome around every page: header with navigation, footer.

use crate::components::avatar::Avatar;
use crate::server_fns::{UserView, current_user};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Told by a page that changed what the header shows of the signed-in
/// person (a saved name), so the header reads it again without a navigation.
#[derive(Clone, Copy)]
pub struct AccountChanged(RwSignal<u32>);

impl AccountChanged {
    /// For the whole app, above the header and the pages.
    pub fn provide() {
        provide_context(Self(RwSignal::new(0)));
    }

    pub fn notify(self) {
        self.0.update(|n| *n = n.wrapping_add(1));
    }
}

/// The signed-in person, refreshed on every navigation so the header follows
/// logins and logouts, and when a page says the account changed.
pub fn use_current_user() -> Resource<Option<UserView>> {
    let location = use_location();
    let changes = use_context::<AccountChanged>();
    Resource::new(
        move || (location.pathname.get(), changes.map(|AccountChanged(n)| n.get())),
        |_| async { current_user().await.ok().flatten() },
    )
}

#[component]
pub fn Header() -> impl IntoView {
    let user = use_current_user();
    view! {
        <header class="site-header">
            <nav class="container nav" aria-label="Main">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"⬢"</span>
                    "Keyhold"
                </a>
                <Suspense fallback=|| view! { <span class="nav-links"></span> }>
                    {move || Suspend::new(async move {
                        match user.await {
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
