//! A person's picture, or their initials when they have none.

use leptos::prelude::*;

fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect::<String>().to_uppercase()
}

#[component]
pub fn Avatar(
    picture: Option<String>,
    #[prop(into)] name: String,
    #[prop(default = "avatar")] class: &'static str,
    #[prop(default = "avatar")] testid: &'static str,
) -> impl IntoView {
    match picture {
        // Decorative: the name is always next to it.
        Some(url) => view! { <img class=class src=url alt="" data-testid=testid /> }.into_any(),
        None => view! { <span class=class aria-hidden="true" data-testid=testid>{initials(&name)}</span> }.into_any(),
    }
}
