//! `keyhold-server`: serves the web app and the JSON API.
//!
//! ```text
//! keyhold-server                                  serve
//! keyhold-server job check_current_user_uploads   run one job once and print what it did
//! keyhold-server job count_keys                   (the key census of the monitoring panel)
//! keyhold-server admin grant|revoke EMAIL         make an account admin, or not
//! ```

use keyhold::config::Settings;
use keyhold::flows::Core;
use keyhold::jobs;
use keyhold_server::{startup::Application, telemetry};
use std::process::ExitCode;

/// Faster than glibc's malloc for the many small, short-lived allocations of
/// rendering a page, without its lock contention between worker threads
/// (README: "Performance"). Argon2's big buffers do not come from here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: keyhold-server [job NAME | admin grant|revoke EMAIL]\n  jobs: check_current_user_uploads count_keys";

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => serve().await.map(|()| ExitCode::SUCCESS),
        ["job", name] => run_job(name).await,
        ["admin", action @ ("grant" | "revoke"), email] => set_admin(action == &"grant", email).await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let mut leptos_options = leptos::prelude::get_configuration(Some("Leptos.toml"))
        .map_err(|e| anyhow::anyhow!("configuration: Leptos.toml or LEPTOS_* variables: {e}"))?
        .leptos_options;
    find_hash_file(&mut leptos_options)?;
    check_site_files(&leptos_options)?;
    let app = Application::build(settings, leptos_options).await?;
    app.run_until_stopped().await?;
    Ok(())
}

/// With content-hashed names, the page head reads `hash.txt` (beside the
/// binary by default) once. The build leaves a copy in the site root too,
/// which travels with the files it names: that one is used when present,
/// else the binary's, and the server refuses to start without either
/// (rather than fail every page).
fn find_hash_file(options: &mut leptos::prelude::LeptosOptions) -> anyhow::Result<()> {
    if !options.hash_files {
        return Ok(());
    }
    let in_site = std::path::absolute(std::path::Path::new(&*options.site_root).join("hash.txt"))?;
    if in_site.is_file() {
        // Leptos joins this to the binary's directory; an absolute path wins.
        options.hash_file = in_site.display().to_string().into();
        return Ok(());
    }
    let beside_binary = std::env::current_exe()?.parent().map(|dir| dir.join(&*options.hash_file));
    if beside_binary.is_some_and(|p| p.is_file()) {
        return Ok(());
    }
    anyhow::bail!(
        "configuration: hash-files is on, but neither LEPTOS_SITE_ROOT ({}) nor the binary's directory holds hash.txt",
        options.site_root
    )
}

/// Refuses to start when the site does not hold what `hash.txt` names: the
/// JS, wasm and CSS. A partial deploy would otherwise serve pages that
/// never hydrate.
fn check_site_files(options: &leptos::prelude::LeptosOptions) -> anyhow::Result<()> {
    if !options.hash_files {
        return Ok(());
    }
    let hash_file = std::env::current_exe()?.parent().map(|dir| dir.join(&*options.hash_file)).unwrap_or_default();
    let hashes = std::fs::read_to_string(&hash_file)?;
    let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let output = &options.output_name;
    let wanted: Vec<String> = keyhold_app::hash_entries(&hashes)
        .filter(|(kind, _)| matches!(*kind, "js" | "wasm" | "css"))
        .map(|(kind, hash)| format!("{output}.{hash}.{kind}"))
        .collect();
    if let Some(missing) = wanted.iter().find(|name| !pkg.join(name.as_str()).is_file()) {
        anyhow::bail!(
            "configuration: {} names {missing}, which is not in {}: deploy the whole pkg/ directory of the build the binary came from",
            hash_file.display(),
            pkg.display()
        );
    }
    Ok(())
}

/// One run of a job with the server's configuration, its report on stdout.
async fn run_job(name: &str) -> anyhow::Result<ExitCode> {
    if !jobs::NAMES.contains(&name) {
        eprintln!("unknown job {name:?}\n{USAGE}");
        return Ok(ExitCode::from(2));
    }
    let core = Core::new(Settings::from_env()?)?;
    let report = if name == jobs::key_census::NAME {
        jobs::key_census::run(&core).await.map(|r| (r.to_string(), true))
    } else {
        jobs::uploads::run(&core).await.map(|r| (r.to_string(), r.failed == 0))
    };
    core.shutdown().await;
    let (report, ok) = report?;
    println!("{report}");
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Grants or revokes the admin role of the account with this address.
async fn set_admin(grant: bool, email: &str) -> anyhow::Result<ExitCode> {
    use keyhold::flows::admin::{Changed, set_role_by_email};
    let core = Core::new(Settings::from_env()?)?;
    let result = set_role_by_email(&core, email, grant).await;
    core.shutdown().await;
    match result {
        Ok(Changed::Now { user_id, role }) => println!("{email} ({user_id}) is now {role}"),
        Ok(Changed::Already { user_id, role }) => println!("{email} ({user_id}) already is {role}"),
        Err(keyhold::flows::FlowError::NotFound) => {
            eprintln!("no account has the address {email}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}
