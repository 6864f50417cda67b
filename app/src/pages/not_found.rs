use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="card narrow center" data-testid="not-found">
            <p class="status-code">"404"</p>
            <h1>"We could not find that page"</h1>
            <p>"The link may be old or mistyped."</p>
            <a class="button" href="/">"Go to the home page"</a>
        </section>
    }
}
