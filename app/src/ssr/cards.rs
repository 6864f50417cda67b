//! Profile cards as rendered HTML, remembered per account while what they
//! show is unchanged.
//!
//! On a plain visit (no notice, no picture error, no form sent back) the
//! card is a function of the profile it shows and nothing else. A visit
//! whose profile equals the one remembered for that account sends the
//! remembered HTML instead of building and rendering the card and its form
//! island again, which is most of the page's work. The whole profile is
//! compared, so any change renders afresh; a restart or a new build starts
//! empty. The HTML is the same the page renders otherwise, so the island in
//! it hydrates alike.

use crate::server_fns::ProfileView;
use keyhold::bounded::BoundedMap;
use std::sync::Arc;

/// How many accounts' cards are remembered: about 7 KB each with their
/// profile, 20 KB for one whose fields are as long and as escaped as they
/// can be, so 7 to 20 MB at most.
const REMEMBERED_CARDS: usize = 1_000;

pub struct RenderedCards(BoundedMap<String, (ProfileView, Arc<str>)>);

impl Default for RenderedCards {
    fn default() -> Self {
        Self(BoundedMap::new(REMEMBERED_CARDS))
    }
}

impl RenderedCards {
    /// The card for `profile`: remembered, or rendered by `render` and
    /// remembered.
    pub fn get_or_render(&self, profile: &ProfileView, render: impl FnOnce() -> String) -> Arc<str> {
        let key = &profile.username;
        if let Some(html) = self.0.read(key, |(shown, html)| (shown == profile).then(|| html.clone())) {
            return html;
        }
        let html: Arc<str> = render().into();
        self.0.insert(key.clone(), (profile.clone(), html.clone()));
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> ProfileView {
        ProfileView {
            name: name.to_owned(),
            username: "ann".to_owned(),
            email: "ann@example.com".to_owned(),
            role: "user".to_owned(),
            phone: String::new(),
            address: String::new(),
            agency: String::new(),
            account_number_masked: String::new(),
            profile_picture_url: None,
            picture_max_bytes: 1,
            language: "en".to_owned(),
            newsletter: false,
            email_verified: true,
        }
    }

    #[test]
    fn a_card_is_rendered_again_when_its_profile_changes() {
        let cards = RenderedCards::default();
        let renders = std::cell::Cell::new(0);
        let render = |html: &str| {
            renders.set(renders.get() + 1);
            html.to_owned()
        };
        assert_eq!(&*cards.get_or_render(&profile("Ann"), || render("<p>Ann</p>")), "<p>Ann</p>");
        assert_eq!(&*cards.get_or_render(&profile("Ann"), || render("unused")), "<p>Ann</p>");
        assert_eq!(renders.get(), 1, "the same profile is not rendered twice");
        assert_eq!(&*cards.get_or_render(&profile("Ann B"), || render("<p>Ann B</p>")), "<p>Ann B</p>");
        assert_eq!(renders.get(), 2);
    }
}
