//! What the page's `<head>` loads: the stylesheet and the scripts that
//! hydrate the page, under the build's content-hashed names.
//!
//! Leptos' `HydrationScripts` reads `hash.txt` from disk on every page; here
//! the names are read once (README: "Performance").

use leptos::nonce::use_nonce;
use leptos::prelude::*;
use std::sync::OnceLock;

/// The `kind: hash` lines of a build's `hash.txt` (`js`, `wasm`, `css`).
pub fn hash_entries(hash_txt: &str) -> impl Iterator<Item = (&str, &str)> {
    hash_txt.lines().filter_map(|line| line.split_once(':')).map(|(kind, hash)| (kind.trim(), hash.trim()))
}

/// The hashed names of the build's files, from `hash.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SiteFiles {
    css: String,
    js: String,
    wasm: String,
}

impl SiteFiles {
    /// The names with the hashes `hash_txt` gives (`kind: hash` per line);
    /// a kind it does not list keeps the plain name.
    fn named(pkg: &str, output: &str, hash_txt: Option<&str>) -> Self {
        let hash = |kind: &str| {
            hash_txt
                .into_iter()
                .flat_map(hash_entries)
                .find(|(k, _)| *k == kind)
                .map(|(_, h)| format!(".{h}"))
                .unwrap_or_default()
        };
        // Without hashes, cargo-leptos names the wasm after the output unless
        // it built the app itself (then it sets LEPTOS_OUTPUT_NAME).
        let plain_wasm = if hash_txt.is_none() && option_env!("LEPTOS_OUTPUT_NAME").is_none() { "_bg" } else { "" };
        Self {
            css: format!("/{pkg}/{output}{}.css", hash("css")),
            js: format!("/{pkg}/{output}{}.js", hash("js")),
            wasm: format!("/{pkg}/{output}{plain_wasm}{}.wasm", hash("wasm")),
        }
    }

    /// Read once: the files cannot change while the server runs.
    fn of(options: &LeptosOptions) -> &'static Self {
        static FILES: OnceLock<SiteFiles> = OnceLock::new();
        FILES.get_or_init(|| {
            // As Leptos does: relative to the binary's directory (the server
            // makes it absolute when the site holds its own copy).
            let hash_txt = options
                .hash_files
                .then(|| {
                    let path = std::env::current_exe().ok()?.parent()?.join(&*options.hash_file);
                    std::fs::read_to_string(path).ok()
                })
                .flatten();
            Self::named(&options.site_pkg_dir, &options.output_name, hash_txt.as_deref())
        })
    }
}

/// The stylesheet, the app's JS and wasm (fetched while the page parses),
/// and the module that hydrates the page's islands once both are in, then
/// marks the page as live (tests and styles use the mark). It carries the
/// request's nonce: the content security policy allows no other inline script.
#[component]
pub fn HeadFiles(options: LeptosOptions) -> impl IntoView {
    let files = SiteFiles::of(&options);
    // Each `<leptos-island>` names its entry point in the wasm and carries
    // its props; islands are never nested here, so document order will do.
    let start = format!(
        "import init, * as app from {js:?};\n\
         await init({{ module_or_path: {wasm:?} }});\n\
         app.hydrate();\n\
         for (const island of document.querySelectorAll(\"leptos-island\")) {{\n\
         \x20 const entry = app[island.dataset.component];\n\
         \x20 if (entry) await entry(island); else console.warn(\"no entry point for island\", island.dataset.component);\n\
         }}\n\
         document.body.dataset.hydrated = \"true\";",
        js = files.js,
        wasm = files.wasm
    );
    view! {
        <link rel="stylesheet" id="leptos" href=files.css.as_str() />
        <link rel="modulepreload" href=files.js.as_str() />
        <link rel="preload" href=files.wasm.as_str() r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=use_nonce()>{start}</script>
    }
}
