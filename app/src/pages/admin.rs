//! `/admin/errors` and `/admin/errors/{key}`: what is breaking, since when,
//! how often, for whom. Plain GET forms and links (no JavaScript needed);
//! every text from a record is escaped by the view.

use crate::components::form::{FormAlert, form_error};
use crate::error::code;
use crate::server_fns::{
    AdminErrorsView, ErrorDetailView, ErrorGroupView, ErrorRow, GroupRow, SetErrorGroup, admin_error,
    admin_error_group, admin_errors,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

/// Colours of the chart's series, in order; cycled past the last.
const PALETTE: [&str; 6] = ["#4f46e5", "#f59e0b", "#dc2626", "#0891b2", "#16a34a", "#9333ea"];

fn refused(e: &crate::error::AppError, back: &'static str) -> AnyView {
    if e.is(code::NOT_LOGGED_IN) {
        view! { <Redirect path=back /> }.into_any()
    } else {
        view! {
            <section class="card narrow center" data-testid="admin-refused">
                <p class="status-code">"403"</p>
                <h1>"Admins only"</h1>
                <p class="muted">{e.to_string()}</p>
            </section>
        }
        .into_any()
    }
}

#[component]
pub fn AdminErrorsPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let get = |k: &str| query.get(k);
    let page = get("page").and_then(|p| p.parse().ok());
    let data = admin_errors(get("service"), get("date"), get("from"), get("to"), get("type"), get("q"), page);
    view! {
        <Title text="Errors" />
        {Suspend::new(async move {
            match data.await {
                Err(e) => refused(&e, "/login?next=%2Fadmin%2Ferrors"),
                Ok(view) => view! { <Dashboard view /> }.into_any(),
            }
        })}
    }
}

#[component]
fn Dashboard(view: AdminErrorsView) -> impl IntoView {
    let location = use_location();
    let back = move || {
        let search = location.search.get();
        match search.trim_start_matches('?') {
            "" => location.pathname.get(),
            query => format!("{}?{query}", location.pathname.get()),
        }
    };
    let link = |page: u64| {
        let params =
            [("service", &view.service), ("from", &view.from), ("to", &view.to), ("type", &view.kind), ("q", &view.q)];
        let query: Vec<String> = params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .chain(std::iter::once(format!("page={page}")))
            .collect();
        format!("/admin/errors?{}", query.join("&"))
    };
    let kinds: Vec<String> = view.series.iter().map(|(k, _)| k.clone()).collect();
    let last = view.days.len().saturating_sub(1);
    // Parts built apart: one view type for the whole page would be too deep for the compiler.
    let head = view! {
        <div class="title-row">
            <h1>"Errors"</h1>
            <span class="muted">{format!("{} · {} to {}", view.service, view.from, view.to)}</span>
            <a class="button button-quiet button-small" href="/admin">"Monitoring"</a>
        </div>
        <form method="get" action="/admin/errors" class="filters" data-testid="filters">
            <label>"Service"
                <select name="service">
                    {view.services.iter().map(|s| view! { <option value=s.clone() selected=*s == view.service>{s.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>"From" <input type="date" name="from" value=view.from.clone() /></label>
            <label>"To" <input type="date" name="to" value=view.to.clone() /></label>
            <label>"Type"
                <select name="type">
                    <option value="">"All"</option>
                    {kinds.iter().map(|k| view! { <option value=k.clone() selected=*k == view.kind>{k.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label class="grow">"Search"
                <input type="search" name="q" value=view.q.clone() placeholder="Correlation id, user id or text" />
            </label>
            <button type="submit" class="button button-small">"Show"</button>
        </form>
    }
    .into_any();
    let overview = view! {
        <h2>"By type and day"</h2>
        <Chart days=view.days.clone() series=view.series.clone() />
        <table class="compare" data-testid="today-vs-yesterday">
            <caption>"Today against yesterday (the last two days shown)"</caption>
            <thead><tr><th scope="col">"Type"</th><th scope="col">"Yesterday"</th><th scope="col">"Today"</th></tr></thead>
            <tbody>
                {view.series.iter().map(|(k, counts)| {
                    let today = counts.get(last).copied().unwrap_or(0);
                    let yesterday = if last > 0 { counts.get(last - 1).copied().unwrap_or(0) } else { 0 };
                    let trend = if today > yesterday { "up" } else if today < yesterday { "down" } else { "same" };
                    view! { <tr><th scope="row">{k.clone()}</th><td>{yesterday}</td><td class=format!("trend-{trend}")>{today}</td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Groups"</h2>
        {view.groups.is_empty().then(|| view! { <p class="muted">"No groups in this service."</p> })}
        <ul class="groups" data-testid="groups">
            {view.groups.iter().map(|g| view! { <Group group=g.clone() service=view.service.clone() back=back() /> }).collect_view()}
        </ul>
    }
    .into_any();
    let list = view! {
        <h2>{if view.from == view.to { format!("Errors on {}", view.to) } else { format!("Errors from {} to {}", view.from, view.to) }}</h2>
        {view.truncated.then(|| view! { <p class="alert alert-info">"The search stopped early in a busy range: narrow it down to see more."</p> })}
        <ErrorList errors=view.errors.clone() />
        <Pager page=view.page prev=(view.page > 1).then(|| link(view.page - 1)) next=view.has_more.then(|| link(view.page + 1)) />
    }
    .into_any();
    view! { <section class="card admin" data-testid="admin-errors">{head} {overview} {list}</section> }
}

/// Errors newest first, each a link to its whole record.
#[component]
fn ErrorList(errors: Vec<ErrorRow>) -> impl IntoView {
    view! {
        {errors.is_empty().then(|| view! { <p class="muted" data-testid="no-errors">"No errors match."</p> })}
        <ul class="error-list" data-testid="error-list">
            {errors.iter().map(|e| view! {
                <li class="error-row" data-testid="error">
                    <a href=format!("/admin/errors/{}", encode(&e.key))>{e.message.clone()}</a>
                    <span class="muted small">
                        {e.time.clone()} " · " <span class="badge">{e.kind.clone()}</span>
                        {(!e.endpoint.is_empty()).then(|| format!(" · {}", e.endpoint))}
                        {(!e.user.is_empty()).then(|| format!(" · user {}", e.user))}
                    </span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// Links to the newer and the older page, where there are some.
#[component]
fn Pager(page: u64, prev: Option<String>, next: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev">"← Newer"</a> })}
            <span class="muted">{format!("Page {page}")}</span>
            {next.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
    }
}

fn group_href(service: &str, id: &str) -> String {
    format!("/admin/errors/groups/{}/{}", encode(service), encode(id))
}

/// Percent-encodes a query value or a path segment.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Stacked bars, one per day; each segment names its numbers on hover and
/// focus, and a table holds them for screen readers.
#[component]
fn Chart(days: Vec<String>, series: Vec<(String, Vec<u64>)>) -> impl IntoView {
    let (width, height, pad) = (640.0_f64, 160.0_f64, 20.0_f64);
    let totals: Vec<u64> =
        (0..days.len()).map(|d| series.iter().map(|(_, c)| c.get(d).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = (width - pad) / days.len().max(1) as f64;
    let bar = (slot * 0.7).max(2.0);
    let mut rects = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let mut y = height - pad;
        for (i, (kind, counts)) in series.iter().enumerate() {
            let n = counts.get(d).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = (n as f64 / max) * (height - 2.0 * pad);
            y -= h;
            let x = pad + d as f64 * slot + (slot - bar) / 2.0;
            let label = format!("{day}: {n} {kind}");
            let title = label.clone();
            rects.push(view! {
                <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar:.1}") height=format!("{h:.1}")
                    fill=PALETTE[i % PALETTE.len()] tabindex="0" aria-label=label>
                    <title>{title}</title>
                </rect>
            });
        }
    }
    let labels: Vec<_> = days
        .iter()
        .enumerate()
        .filter(|(d, _)| days.len() <= 10 || d % 3 == 0 || *d == days.len() - 1)
        .map(|(d, day)| {
            let x = pad + d as f64 * slot + slot / 2.0;
            view! { <text x=format!("{x:.1}") y=format!("{:.1}", height - 4.0) text-anchor="middle">{day.clone()}</text> }
        })
        .collect();
    view! {
        <figure class="chart" data-testid="chart">
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-label="Errors by type and day">
                <line x1=format!("{pad}") x2=format!("{width}") y1=format!("{:.1}", height - pad) y2=format!("{:.1}", height - pad) class="axis" />
                {rects}
                {labels}
            </svg>
            <figcaption class="legend">
                {series.iter().enumerate().map(|(i, (k, _))| view! {
                    <span><i style=format!("background:{}", PALETTE[i % PALETTE.len()])></i>{k.clone()}</span>
                }).collect_view()}
            </figcaption>
            // A table cannot be narrower than its content: the wrapper hides it.
            <div class="sr-only"><table>
                <caption>"Errors by type and day"</caption>
                <thead><tr><th scope="col">"Type"</th>{days.iter().map(|d| view! { <th scope="col">{d.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {series.iter().map(|(k, counts)| view! {
                        <tr><th scope="row">{k.clone()}</th>{counts.iter().map(|n| view! { <td>{*n}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </figure>
    }
}

fn sparkline(daily: &[u64]) -> String {
    let max = daily.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 100.0 / (daily.len().max(2) - 1) as f64;
    daily
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{:.1},{:.1}", i as f64 * step, 22.0 - (*n as f64 / max) * 20.0))
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_label(state: &str) -> &'static str {
    match state {
        "regressed" => "Regressed",
        "resolved" => "Resolved",
        "ignored" => "Ignored",
        _ => "Open",
    }
}

/// What can be done to a group in a state: (action, label).
fn moves(state: &str) -> &'static [(&'static str, &'static str)] {
    match state {
        "resolved" | "ignored" => &[("reopen", "Reopen")],
        _ => &[("resolve", "Resolve"), ("ignore", "Ignore")],
    }
}

#[component]
fn Group(group: GroupRow, service: String, back: String) -> impl IntoView {
    let state = group.state.clone();
    let anchor = format!("group-{}", group.id);
    view! {
        <li class="err-group" id=anchor data-testid="group">
            <div class="group-main">
                <a class="group-message" href=group_href(&service, &group.id)>{group.sample.clone()}</a>
                <span class="muted small">
                    <span class="badge">{group.kind.clone()}</span>
                    {format!(" · {} times · first {} · last {}", group.count, group.first_seen, group.last_seen)}
                </span>
            </div>
            <svg class="sparkline" viewBox="0 0 100 24" aria-label=format!("per day: {:?}", group.daily) role="img">
                <polyline points=sparkline(&group.daily) />
            </svg>
            <span class=format!("badge badge-{state}") data-testid="group-state">{state_label(&state)}</span>
            <GroupActions group=group.id service back state />
        </li>
    }
}

/// The buttons that move a group on; the post comes back to the page it
/// was pressed on, which shows the new state.
#[island]
fn GroupActions(group: String, service: String, back: String, state: String) -> impl IntoView {
    let action = ServerAction::<SetErrorGroup>::new();
    let pending = action.pending();
    view! {
        <div class="group-actions">
            <FormAlert message=form_error(action.value()) testid="group-error" />
            {moves(&state).iter().map(|(value, label)| {
                let (service, group, back) = (service.clone(), group.clone(), back.clone());
                view! {
                    <ActionForm action=action attr:class="inline-form">
                        <input type="hidden" name="service" value=service />
                        <input type="hidden" name="group" value=group />
                        <input type="hidden" name="action" value=*value />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" class="button button-quiet button-small"
                            disabled=move || pending.get()>{*label}</button>
                    </ActionForm>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
pub fn AdminErrorPage() -> impl IntoView {
    let params = use_params_map();
    let data = admin_error(params.get_untracked().get("key").unwrap_or_default());
    view! {
        <Title text="Error" />
        {Suspend::new(async move {
            match data.await {
                Err(e) if e.is("not_found") => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                Err(e) => refused(&e, "/login?next=%2Fadmin%2Ferrors"),
                Ok(record) => view! { <Detail record /> }.into_any(),
            }
        })}
    }
}

#[component]
fn Detail(record: ErrorDetailView) -> impl IntoView {
    let date = record.timestamp.get(..10).unwrap_or_default().to_owned();
    let same_request = (!record.correlation_id.is_empty()).then(|| {
        format!("/admin/errors?service={}&to={date}&q={}", encode(&record.service), encode(&record.correlation_id))
    });
    let group = group_href(&record.service, &record.group);
    let dash = |s: &str| if s.is_empty() { "—".to_owned() } else { s.to_owned() };
    view! {
        <section class="card admin" data-testid="admin-error">
            <p><a href="/admin/errors">"← Errors"</a></p>
            <h1 class="error-message">{record.message.clone()}</h1>
            <dl class="facts">
                <dt>"Service"</dt><dd>{record.service.clone()}</dd>
                <dt>"Type"</dt><dd>{record.kind.clone()}</dd>
                <dt>"Time"</dt><dd>{record.timestamp.clone()}</dd>
                <dt>"Endpoint"</dt><dd>{format!("{} {}", record.method, dash(&record.endpoint))}</dd>
                <dt>"User"</dt><dd>{dash(&record.user_id)}</dd>
                <dt>"Client"</dt><dd>{dash(&record.ip_address)}</dd>
                <dt>"Correlation id"</dt><dd><code>{dash(&record.correlation_id)}</code></dd>
                <dt>"Key"</dt><dd><code>{record.key.clone()}</code></dd>
            </dl>
            <h2>"Stack"</h2>
            <pre class="stack" data-testid="stack">{dash(&record.stack)}</pre>
            <p class="actions">
                {same_request.map(|href| view! { <a class="button button-quiet" href=href>"Errors of the same request"</a> })}
                <a class="button button-quiet" href=group>"Its group"</a>
            </p>
        </section>
    }
}

#[component]
pub fn AdminErrorGroupPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let p = params.get_untracked();
    let page = query.get_untracked().get("page").and_then(|p| p.parse().ok());
    let data = admin_error_group(p.get("service").unwrap_or_default(), p.get("group").unwrap_or_default(), page);
    view! {
        <Title text="Error group" />
        {Suspend::new(async move {
            match data.await {
                Err(e) if e.is("not_found") => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                Err(e) => refused(&e, "/login?next=%2Fadmin%2Ferrors"),
                Ok(view) => view! { <GroupDetail view /> }.into_any(),
            }
        })}
    }
}

#[component]
fn GroupDetail(view: ErrorGroupView) -> impl IntoView {
    let here = group_href(&view.service, &view.group.id);
    let link = |page: u64| format!("{here}?page={page}");
    let (prev, next) = ((view.page > 1).then(|| link(view.page - 1)), view.has_more.then(|| link(view.page + 1)));
    let list = format!("/admin/errors?service={}", encode(&view.service));
    view! {
        <section class="card admin" data-testid="admin-error-group">
            <p><a href=list>{format!("← Errors of {}", view.service)}</a></p>
            <h1 class="error-message">{view.group.sample.clone()}</h1>
            <p class="muted small">{format!("Errors per day, {} to {}", view.days.first().cloned().unwrap_or_default(), view.days.last().cloned().unwrap_or_default())}</p>
            <ul class="groups" data-testid="groups">
                <Group group=view.group.clone() service=view.service.clone() back=here />
            </ul>
            <h2>"Its errors, newest first"</h2>
            <ErrorList errors=view.errors.clone() />
            <Pager page=view.page prev next />
        </section>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let data = crate::server_fns::admin_monitor();
    view! {
        <Title text="Monitoring" />
        {Suspend::new(async move {
            match data.await {
                Err(e) => refused(&e, "/login?next=%2Fadmin"),
                Ok(view) => view! { <Monitor view /> }.into_any(),
            }
        })}
    }
}

fn rate_text((hits, misses, rate): (u64, u64, Option<f64>)) -> String {
    match rate {
        Some(r) => format!("{r:.1}% hits, {:.1}% misses ({hits} hits, {misses} misses)", 100.0 - r),
        None => "No reads yet".to_owned(),
    }
}

#[component]
fn Monitor(view: crate::server_fns::MonitorView) -> impl IntoView {
    let dropped = use_query_map().get_untracked().get("dropped").map(|d| match d.as_str() {
        "one" => "The user's cache entry is dropped.".to_owned(),
        n => format!("{n} user cache entries dropped."),
    });
    let table = |rows: Vec<(String, String)>| {
        view! {
            <table class="compare"><tbody>
                {rows.into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }).collect_view()}
            </tbody></table>
        }
    };
    view! {
        <section class="card admin" data-testid="admin-monitor">
            <div class="title-row">
                <h1>"Monitoring"</h1>
                <a class="button button-quiet" href="/admin/errors">"Errors →"</a>
            </div>
            {dropped.map(|d| view! { <div class="alert alert-success" role="status" data-testid="notice">{d}</div> })}
            <div class="panels">
                <div>
                    <h2>"User cache"</h2>
                    {table(vec![
                        ("Last hour".to_owned(), rate_text(view.cache_hour)),
                        ("Since start".to_owned(), rate_text(view.cache_total)),
                    ])}
                    <h2>"Errors today"</h2>
                    {table(view.errors_today.iter().map(|(k, n)| (k.clone(), n.to_string())).collect())}
                </div>
                <div>
                    <h2>"Redis"</h2>
                    {table(view.redis.clone())}
                    <h2>"Keys"</h2>
                    {table(view.keys.iter().map(|(k, n)| (k.clone(), n.to_string())).collect())}
                    <p class="muted small" data-testid="census-time">{view.keys_counted.clone()}</p>
                </div>
            </div>
            <CacheActions />
        </section>
    }
}

/// Dropping one user's cache entry, or all of them.
#[island]
fn CacheActions() -> impl IntoView {
    use crate::components::field::TextField;
    use crate::server_fns::{DropAllCaches, DropUserCache};
    let one = ServerAction::<DropUserCache>::new();
    let all = ServerAction::<DropAllCaches>::new();
    view! {
        <h2>"Cache actions"</h2>
        <FormAlert message=form_error(one.value()) testid="drop-one-error" />
        <ActionForm action=one attr:class="form inline-fields">
            <TextField action_value=one.value() name="user" label="Email or username" required=true maxlength=254 />
            <button type="submit" class="button button-secondary">"Drop this user's cache entry"</button>
        </ActionForm>
        <FormAlert message=form_error(all.value()) testid="drop-all-error" />
        <ActionForm action=all attr:class="form inline-fields">
            <label class="choice">
                <input type="checkbox" name="confirm" value="yes" />
                <span>"Yes, drop every user cache entry (in batches; pages refill them)"</span>
            </label>
            <button type="submit" class="button button-secondary danger">"Drop all user cache entries"</button>
        </ActionForm>
    }
}
