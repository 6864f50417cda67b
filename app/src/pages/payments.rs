//! `/payments` (history, sent and received), `/payments/new` and
//! `/payments/{id}`. Everything works as plain links and forms; with
//! JavaScript a refused form says why without a page load.

use crate::components::field::TextField;
use crate::components::form::{FormAlert, FormValues, form_error};
use crate::error::code;
use crate::server_fns::{
    CreatePayment, FORM_BENEFICIARIES, PaymentFormView, PaymentRow, PaymentsView, RefundPayment, payment_detail,
    payment_form, payment_history,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

fn login_redirect(path: &'static str) -> AnyView {
    view! { <Redirect path=path /> }.into_any()
}

#[component]
fn StatusBadge(status: String) -> impl IntoView {
    let label = match status.as_str() {
        "succeeded" => "Paid",
        "pending" => "Pending",
        "failed" => "Failed",
        "refunded" => "Refunded",
        _ => "Unknown",
    };
    view! { <span class=format!("badge badge-{status}") data-testid="status">{label}</span> }
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let role = query.get("role").filter(|r| r == "received").unwrap_or_else(|| "sent".to_owned());
    let page = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1u64);
    let data = payment_history(role, page);
    view! {
        <Title text="Payments" />
        {Suspend::new(async move {
            match data.await {
                Err(e) if e.is(code::NOT_LOGGED_IN) => login_redirect("/login?next=%2Fpayments"),
                Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                Ok(view) => view! { <History view /> }.into_any(),
            }
        })}
    }
}

#[component]
fn History(view: PaymentsView) -> impl IntoView {
    let sent = view.role == "sent";
    let tab = |on: bool| if on { "tab tab-active" } else { "tab" };
    let link = |p: u64| format!("/payments?role={}&page={p}", view.role);
    let empty = if sent { "You have not paid anyone yet." } else { "Nobody has paid you yet." };
    view! {
        <section class="card wide" data-testid="payments">
            <div class="title-row">
                <h1>"Payments"</h1>
                <a class="button" href="/payments/new">"New payment"</a>
            </div>
            <nav class="tabs" aria-label="Payments">
                <a class=tab(sent) href="/payments?role=sent" aria-current=sent.then_some("page")>"Sent"</a>
                <a class=tab(!sent) href="/payments?role=received" aria-current=(!sent).then_some("page")>"Received"</a>
            </nav>
            <p class="muted totals" data-testid="totals">
                {if view.totals.is_empty() {
                    "Nothing settled yet.".to_owned()
                } else {
                    format!("{}: {}", if sent { "Paid in total" } else { "Received in total" }, view.totals.join(" · "))
                }}
            </p>
            {view.rows.is_empty().then(|| view! { <p class="empty muted">{empty}</p> })}
            <ul class="payment-list" data-testid="payment-list">
                {view.rows.into_iter().map(|row| {
                    let who = if sent {
                        if row.shares.is_empty() { "No beneficiaries".to_owned() } else {
                            format!("To {}", row.shares.iter().map(|(u, _)| format!("@{u}")).collect::<Vec<_>>().join(", "))
                        }
                    } else {
                        format!("From @{}", row.payer)
                    };
                    let amount = if sent { row.amount.clone() } else { row.your_share.clone().unwrap_or_default() };
                    view! {
                        <li class="payment" data-testid="payment">
                            <a class="payment-main" href=format!("/payments/{}", row.id)>
                                <span class="payment-amount">{amount}</span>
                                <span class="muted">{who}</span>
                                <span class="muted small">{row.description.clone()}</span>
                            </a>
                            <div class="payment-side">
                                <StatusBadge status=row.status.clone() />
                                <span class="muted small">{row.created.clone()}</span>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(view.pages > 1).then(|| view! {
                <nav class="pager" aria-label="Pages">
                    {(view.page > 1).then(|| view! { <a href=link(view.page - 1) rel="prev">"← Newer"</a> })}
                    <span class="muted">{format!("Page {} of {}", view.page, view.pages)}</span>
                    {(view.page < view.pages).then(|| view! { <a href=link(view.page + 1) rel="next">"Older →"</a> })}
                </nav>
            })}
        </section>
    }
}

#[component]
pub fn NewPaymentPage() -> impl IntoView {
    let form = payment_form();
    view! {
        <Title text="New payment" />
        {Suspend::new(async move {
            match form.await {
                Err(e) if e.is(code::NOT_LOGGED_IN) => login_redirect("/login?next=%2Fpayments%2Fnew"),
                Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                Ok(form) => view! { <PaymentFormCard form /> }.into_any(),
            }
        })}
    }
}

#[component]
fn PaymentFormCard(form: PaymentFormView) -> impl IntoView {
    // After a round trip without JavaScript, what was typed in this form.
    let fields = ["idempotency_key", "amount", "currency", "description"];
    let typed = use_context::<FormValues>()
        .map(|v| v.0)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| fields.contains(&k.as_str()) || k.starts_with("beneficiary_"))
        .collect();
    view! {
        <section class="card narrow" data-testid="new-payment">
            <h1>"New payment"</h1>
            <p class="lead">"Pay an amount, and share it with the people you support if you like."</p>
            <PaymentForm form typed />
        </section>
    }
}

#[island]
fn PaymentForm(form: PaymentFormView, typed: Vec<(String, String)>) -> impl IntoView {
    let action = ServerAction::<CreatePayment>::new();
    let pending = action.pending();
    let value = action.value();
    let echoed = |field: &str| typed.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone());
    // After a refused post without JavaScript the same key comes back: the
    // corrected form still pays once.
    let key = echoed("idempotency_key").unwrap_or(form.idempotency_key);
    let chosen = echoed("currency").unwrap_or_default();
    let (amount, description) = (echoed("amount").unwrap_or_default(), echoed("description").unwrap_or_default());
    let beneficiaries: Vec<_> = (0..FORM_BENEFICIARIES)
        .map(|i| {
            let (name, share) = (keyhold_field(i, true), keyhold_field(i, false));
            (name, share, echoed(name).unwrap_or_default(), echoed(share).unwrap_or_default())
        })
        .collect();
    let shares_error = move || value.get().and_then(|r| r.err()).and_then(|e| e.field("beneficiaries"));
    view! {
            <FormAlert message=form_error(value) />
            <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="payment-form">
                <input type="hidden" name="idempotency_key" value=key />
                <div class="row-2">
                    <TextField action_value=value name="amount" label="Amount" inputmode="decimal" required=true
                        maxlength=20 hint="Like 12.50" value=amount />
                    <div class="field">
                        <label for="currency">"Currency"</label>
                        <select id="currency" name="currency">
                            {form.currencies.iter().map(|c| {
                                view! { <option value=c.clone() selected=*c == chosen>{c.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                </div>
                <TextField action_value=value name="description" label="Description" maxlength=140
                    value=description />
                <fieldset class="group">
                    <legend>"Beneficiaries " <span class="optional">"(optional)"</span></legend>
                    <p class="hint">"Their shares may add up to the amount at most."</p>
                    {beneficiaries.into_iter().map(|(name, share, typed_name, typed_share)| {
                        view! {
                            <div class="row-2">
                                <TextField action_value=value name=name label="Username" autocomplete="off"
                                    maxlength=32 value=typed_name />
                                <TextField action_value=value name=share label="Share" inputmode="decimal"
                                    maxlength=20 value=typed_share />
                            </div>
                        }
                    }).collect_view()}
                    <p class="field-error" role="alert" id="beneficiaries-error" data-testid="beneficiaries-error"
                        hidden=move || shares_error().is_none()>{shares_error}</p>
                </fieldset>
                {form.sandbox.then(|| view! {
                    <TextField action_value=value name="card" label="Test card number" inputmode="numeric"
                        maxlength=23 hint="Sandbox: leave empty to succeed; 4000 0000 0000 0002 declines, 4000 0000 0000 0259 settles later." />
                })}
                <button type="submit" class="button button-wide" disabled=move || pending.get()>
                    {move || if pending.get() { "Paying…" } else { "Pay" }}
                </button>
            </ActionForm>
    }
}

/// The form's field names for beneficiary row `i` (the flow's names).
fn keyhold_field(i: usize, username: bool) -> &'static str {
    let names: [&'static str; FORM_BENEFICIARIES * 2] = [
        "beneficiary_0_username",
        "beneficiary_0_amount",
        "beneficiary_1_username",
        "beneficiary_1_amount",
        "beneficiary_2_username",
        "beneficiary_2_amount",
    ];
    names[i * 2 + usize::from(!username)]
}

#[component]
pub fn PaymentPage() -> impl IntoView {
    let params = use_params_map();
    let refunded = use_query_map().get_untracked().get("refunded").is_some();
    let data = payment_detail(params.get_untracked().get("id").unwrap_or_default());
    view! {
        <Title text="Payment" />
        {Suspend::new(async move {
            match data.await {
                Err(e) if e.is(code::NOT_LOGGED_IN) => login_redirect("/login?next=%2Fpayments"),
                Err(e) if e.is("not_found") => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                Ok(row) => view! { <Detail row refunded /> }.into_any(),
            }
        })}
    }
}

#[component]
fn Detail(row: PaymentRow, refunded: bool) -> impl IntoView {
    view! {
        <section class="card narrow" data-testid="payment-detail">
            <p><a href="/payments">"← Payments"</a></p>
            <div class="title-row">
                <h1 data-testid="amount">{row.amount.clone()}</h1>
                <StatusBadge status=row.status.clone() />
            </div>
            {refunded.then(|| view! {
                <div class="alert alert-success" role="status" data-testid="notice">"The payment is refunded."</div>
            })}
            <dl class="facts">
                <dt>"Paid by"</dt><dd>"@"{row.payer.clone()}</dd>
                <dt>"Description"</dt><dd>{if row.description.is_empty() { "—".to_owned() } else { row.description.clone() }}</dd>
                <dt>"Date"</dt><dd>{row.created.clone()}</dd>
                {row.provider_ref.clone().map(|r| view! { <dt>"Reference"</dt><dd><code>{r}</code></dd> })}
            </dl>
            <h2>"Beneficiaries"</h2>
            {if row.shares.is_empty() {
                view! { <p class="muted">"None: the whole amount went to the platform."</p> }.into_any()
            } else {
                view! {
                    <ul class="shares" data-testid="shares">
                        {row.shares.iter().map(|(u, a)| view! { <li><span>"@"{u.clone()}</span><span>{a.clone()}</span></li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {row.can_refund.then(|| view! { <RefundForm id=row.id.clone() /> })}
        </section>
    }
}

#[island]
fn RefundForm(id: String) -> impl IntoView {
    let refund = ServerAction::<RefundPayment>::new();
    let refund_pending = refund.pending();
    view! {
        <FormAlert message=form_error(refund.value()) />
        <ActionForm action=refund attr:class="form">
            <input type="hidden" name="id" value=id />
            <button type="submit" class="button button-secondary" disabled=move || refund_pending.get()>"Refund this payment"</button>
        </ActionForm>
    }
}
