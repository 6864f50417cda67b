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

/// The stylesheet's hashed name and the module that starts the islands,
/// from `hash.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SiteFiles {
    css: String,
    start: String,
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
            start: start_script(
                &format!("/{pkg}/{output}{}.js", hash("js")),
                &format!("/{pkg}/{output}{plain_wasm}{}.wasm", hash("wasm")),
            ),
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

/// The stylesheet, and the module that brings the page's islands (its
/// forms) to life. A page without islands downloads no wasm; on one with
/// islands the JS and the wasm are fetched side by side. The module carries
/// the request's nonce: the content security policy allows no other inline
/// script.
#[component]
pub fn HeadFiles(options: LeptosOptions) -> impl IntoView {
    let files = SiteFiles::of(&options);
    view! {
        <link rel="stylesheet" id="leptos" href=files.css.as_str() />
        <script type="module" nonce=use_nonce()>{files.start.as_str()}</script>
    }
}

/// The module's text. Each `<leptos-island>` names its entry point in the
/// wasm and carries its props; islands are never nested here, so document
/// order will do. One island that fails leaves the others working, and the
/// page is marked as live either way (tests and styles use the mark).
fn start_script(js: &str, wasm: &str) -> String {
    // JSON strings are JavaScript strings; `<` is escaped so that no name can
    // close the script element.
    let quote = |s: &str| leptos::serde_json::Value::from(s).to_string().replace('<', "\\u003c");
    format!(
        r#"const islands = document.querySelectorAll("leptos-island");
if (islands.length > 0) {{
  try {{
    const wasm = fetch({wasm});
    const app = await import({js});
    await app.default({{ module_or_path: wasm }});
    app.hydrate();
    for (const island of islands) {{
      try {{
        await app[island.dataset.component](island);
      }} catch (error) {{
        console.error("island", island.dataset.component, error);
      }}
    }}
  }} catch (error) {{
    console.error("the page's wasm did not load", error);
  }}
}}
document.body.dataset.hydrated = "true";
"#,
        js = quote(js),
        wasm = quote(wasm)
    )
}

#[cfg(test)]
mod tests {
    use super::{SiteFiles, start_script};

    #[test]
    fn names_carry_the_hashes_of_hash_txt() {
        let files = SiteFiles::named("pkg", "keyhold", Some("js: AAA\nwasm: BBB\ncss: CCC\n"));
        assert_eq!(files.css, "/pkg/keyhold.CCC.css");
        assert!(files.start.contains(r#"import("/pkg/keyhold.AAA.js")"#), "{}", files.start);
        assert!(files.start.contains(r#"fetch("/pkg/keyhold.BBB.wasm")"#), "{}", files.start);
    }

    #[test]
    fn a_kind_without_a_hash_keeps_its_plain_name() {
        let files = SiteFiles::named("pkg", "keyhold", Some("js: AAA\n"));
        assert_eq!(files.css, "/pkg/keyhold.css");
        assert!(files.start.contains(r#"fetch("/pkg/keyhold.wasm")"#), "{}", files.start);
    }

    #[test]
    fn no_name_can_end_the_script_element() {
        let script = start_script("/pkg/a</script><b>.js", "/pkg/\"x\".wasm");
        assert!(!script.contains("</script"), "{script}");
        assert!(script.contains(r#"fetch("/pkg/\"x\".wasm")"#), "{script}");
    }
}
