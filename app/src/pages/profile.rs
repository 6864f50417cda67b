use crate::components::layout::use_current_user;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Title text="Your profile" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    None => view! { <Redirect path="/login?next=%2Fprofile" /> }.into_any(),
                    Some(user) => view! {
                        <section class="card narrow" data-testid="profile">
                            <h1>"Hello, " {user.name.clone()}</h1>
                            <dl class="facts">
                                <dt>"Username"</dt>
                                <dd data-testid="profile-username">"@" {user.username.clone()}</dd>
                                <dt>"Email"</dt>
                                <dd>{user.email.clone()}</dd>
                                <dt>"Account type"</dt>
                                <dd>{user.role.clone()}</dd>
                            </dl>
                            <p class="muted">"Editing your profile is coming soon."</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
