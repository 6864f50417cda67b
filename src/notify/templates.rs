//! The words of every message Keyhold sends.

use super::{EmailMessage, SmsMessage};
use crate::domain::Email;
use url::Url;

/// Minutes a code stays valid, as shown to people.
fn minutes(ttl_secs: u64) -> u64 {
    ttl_secs.div_ceil(60)
}

/// `/verify/link?email=…&token=…` on the public URL.
pub fn magic_link(app_url: &Url, email: &Email, token: &str) -> String {
    let mut url = app_url.clone();
    url.set_path("/verify/link");
    url.query_pairs_mut().clear().append_pair("email", email.as_str()).append_pair("token", token);
    url.to_string()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html_page(body: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1f2330\">\
         {body}<p style=\"color:#5b6170;font-size:13px\">Keyhold</p></body></html>"
    )
}

/// The code and magic link of a registration. `another_attempt`: this
/// registration replaced one already under way for the address, which may
/// have been someone else's: the mail says so plainly.
pub fn registration_code(to: &Email, code: &str, link: &str, ttl_secs: u64, another_attempt: bool) -> EmailMessage {
    let mins = minutes(ttl_secs);
    let link_html = escape_html(link);
    let warning = if another_attempt {
        "Note: a new registration was started for this address while another was under way. \
         This code belongs to the new one, and codes and links from earlier emails no longer work. \
         If you did not start a new registration just now, do not use this code or link: \
         someone else is trying to register your address."
    } else {
        ""
    };
    let (warning_text, warning_html) = match warning {
        "" => (String::new(), String::new()),
        w => (format!("{w}\n\n"), format!("<p style=\"padding:8px;border-left:4px solid #b45309\">{w}</p>")),
    };
    EmailMessage {
        to: to.to_string(),
        subject: "Your Keyhold verification code".to_owned(),
        text: format!(
            "Welcome to Keyhold!\n\n{warning_text}Your verification code is {code}\n\n\
             Or confirm your address with this link:\n{link}\n\n\
             The code and the link expire in {mins} minutes. \
             If you did not sign up, ignore this email.\n"
        ),
        html: html_page(&format!(
            "<h1 style=\"font-size:20px\">Welcome to Keyhold</h1>{warning_html}\
             <p>Your verification code is</p>\
             <p style=\"font-size:28px;font-weight:700;letter-spacing:4px\">{code}</p>\
             <p>Or <a href=\"{link_html}\">confirm your address</a>.</p>\
             <p>The code and the link expire in {mins} minutes. If you did not sign up, ignore this email.</p>"
        )),
    }
}

/// Asks the owner of an address given at an SMS registration to confirm it.
pub fn confirm_email(to: &Email, username: &str, link: &str, ttl_secs: u64) -> EmailMessage {
    let hours = ttl_secs.div_ceil(3600);
    let link_html = escape_html(link);
    EmailMessage {
        to: to.to_string(),
        subject: "Confirm your address for Keyhold".to_owned(),
        text: format!(
            "Someone (maybe you) created the Keyhold account @{username} by text message and gave this \
             email address.\n\n\
             If it was you, confirm the address with this link:\n{link}\n\n\
             Until then the address cannot be used to log in or to reset the password. \
             The link expires in {hours} hours. If it was not you, ignore this email: \
             the address stays yours.\n"
        ),
        html: html_page(&format!(
            "<p>Someone (maybe you) created the Keyhold account <strong>@{username}</strong> by text message \
             and gave this email address.</p>\
             <p>If it was you, <a href=\"{link_html}\">confirm the address</a>.</p>\
             <p>Until then the address cannot be used to log in or to reset the password. The link expires \
             in {hours} hours. If it was not you, ignore this email: the address stays yours.</p>"
        )),
    }
}

/// Sent instead of a code when the address already has an account, so the
/// registration form never tells a stranger who is registered.
pub fn already_registered(to: &Email, login_url: &str) -> EmailMessage {
    let login_html = escape_html(login_url);
    EmailMessage {
        to: to.to_string(),
        subject: "Someone tried to register with your address".to_owned(),
        text: format!(
            "Someone (maybe you) tried to create a Keyhold account with this email address, \
             but it already has an account.\n\nIf it was you, log in instead: {login_url}\n\
             If you forgot your password, use \"Forgot password\" on that page.\n\
             If it was not you, you can ignore this email; nothing has changed.\n"
        ),
        html: html_page(&format!(
            "<p>Someone (maybe you) tried to create a Keyhold account with this email address, \
             but it already has an account.</p>\
             <p>If it was you, <a href=\"{login_html}\">log in instead</a>. If you forgot your password, \
             use “Forgot password” on that page.</p>\
             <p>If it was not you, you can ignore this email; nothing has changed.</p>"
        )),
    }
}

pub fn password_reset_code(to: &Email, code: &str, reset_url: &str, ttl_secs: u64) -> EmailMessage {
    let mins = minutes(ttl_secs);
    let url_html = escape_html(reset_url);
    EmailMessage {
        to: to.to_string(),
        subject: "Reset your Keyhold password".to_owned(),
        text: format!(
            "Someone (hopefully you) asked to reset the password of your Keyhold account.\n\n\
             Your code is {code}\n\nEnter it at {reset_url}\n\nIt expires in {mins} minutes. \
             If you did not ask, ignore this email: your password stays as it is.\n"
        ),
        html: html_page(&format!(
            "<p>Someone (hopefully you) asked to reset the password of your Keyhold account.</p>\
             <p>Your code is</p><p style=\"font-size:28px;font-weight:700;letter-spacing:4px\">{code}</p>\
             <p>Enter it on the <a href=\"{url_html}\">reset page</a>. It expires in {mins} minutes.</p>\
             <p>If you did not ask, ignore this email: your password stays as it is.</p>"
        )),
    }
}

pub fn password_change_code(to: &Email, code: &str, ttl_secs: u64) -> EmailMessage {
    let mins = minutes(ttl_secs);
    EmailMessage {
        to: to.to_string(),
        subject: "Confirm your new Keyhold password".to_owned(),
        text: format!(
            "You asked to change the password of your Keyhold account.\n\nYour code is {code}\n\n\
             It expires in {mins} minutes. If this was not you, change your password now: \
             someone knows your current one.\n"
        ),
        html: html_page(&format!(
            "<p>You asked to change the password of your Keyhold account.</p>\
             <p>Your code is</p><p style=\"font-size:28px;font-weight:700;letter-spacing:4px\">{code}</p>\
             <p>It expires in {mins} minutes. If this was not you, change your password now: \
             someone knows your current one.</p>"
        )),
    }
}

pub fn code_sms(to: &str, code: &str, ttl_secs: u64) -> SmsMessage {
    SmsMessage {
        to: to.to_owned(),
        body: format!("Your Keyhold code is {code}. It expires in {} minutes.", minutes(ttl_secs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_links_encode_the_address() {
        let email = Email::parse("a+b@example.com").unwrap();
        let link = magic_link(&Url::parse("http://127.0.0.1:3000/").unwrap(), &email, "TOKEN");
        assert_eq!(link, "http://127.0.0.1:3000/verify/link?email=a%2Bb%40example.com&token=TOKEN");
    }

    #[test]
    fn code_email_carries_code_link_and_expiry() {
        let email = Email::parse("a@example.com").unwrap();
        let m = registration_code(&email, "123456", "http://x/verify/link?a=1&b=2", 600, false);
        assert!(m.text.contains("123456") && m.text.contains("10 minutes"));
        assert!(m.html.contains("http://x/verify/link?a=1&amp;b=2"));
    }
}
