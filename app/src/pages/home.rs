use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Your account, kept safe."</h1>
            <p class="lead">
                "Keyhold signs you up with a one-time code by email or SMS, keeps you logged in with a "
                "secure session, and never stores your password — only an argon2 hash of it."
            </p>
            <div class="actions">
                <a class="button" href="/register">"Create an account"</a>
                <a class="button button-secondary" href="/login">"Log in"</a>
            </div>
        </section>
        <section class="features" aria-label="What Keyhold does">
            <article class="card">
                <h2>"Verified sign-up"</h2>
                <p>"A 6-digit code or a magic link confirms it is really you before an account exists."</p>
            </article>
            <article class="card">
                <h2>"Sessions you control"</h2>
                <p>"Log out and the session is gone from the server, not just from your browser."</p>
            </article>
            <article class="card">
                <h2>"Works everywhere"</h2>
                <p>"Every page works without JavaScript, and gets faster feedback with it."</p>
            </article>
        </section>
    }
}
