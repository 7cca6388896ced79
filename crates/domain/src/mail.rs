//! The e-mails Bourse sends, as queued (auth enqueues them, the consumer renders and sends them
//! through SES), and their plain-text and HTML templates. Pure: rendering is unit-tested here.

use serde::{Deserialize, Serialize};

/// One e-mail to send: the address, and what it says (a template and its values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Mail {
    /// Confirms a new account's address with a single-use token.
    VerifyEmail { to: String, token: String },
    /// Someone tried to register an address that already has an account (sent instead of a
    /// verification, so registration never tells who has an account).
    RegisteredAgain { to: String },
    /// A single-use password-reset token.
    PasswordReset { to: String, token: String },
    /// The password was changed or reset; every session was ended.
    PasswordChanged { to: String },
    /// Sign-ins to the account were slowed down after repeated wrong passwords.
    SignInsThrottled { to: String },
    /// The account and every item of its data were deleted (sent once erasure has finished).
    AccountDeleted { to: String },
    /// A notification from the inbox, for a user who turned e-mail delivery on.
    Notification { to: String, title: String, body: String },
}

/// The queue id of a notification's e-mail: `n-` and 32 hex digits of SHA-256 over the user and
/// the notification, so a producer telling twice sends once, and no id names the user.
pub fn notification_mail_id(user: &crate::UserId, notification_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{user}:{notification_id}").as_bytes());
    format!("n-{}", &crate::text::hex(&digest)[..32])
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// How long a verification token is valid.
pub const VERIFY_TOKEN_SECONDS: i64 = 24 * 60 * 60;
/// How long a password-reset token is valid.
pub const RESET_TOKEN_SECONDS: i64 = 30 * 60;

impl Mail {
    /// The recipient.
    pub fn to(&self) -> &str {
        match self {
            Mail::VerifyEmail { to, .. }
            | Mail::RegisteredAgain { to }
            | Mail::PasswordReset { to, .. }
            | Mail::PasswordChanged { to }
            | Mail::SignInsThrottled { to }
            | Mail::AccountDeleted { to }
            | Mail::Notification { to, .. } => to,
        }
    }

    /// The message, with links into the web app at `app_url` (no trailing slash). The app routes
    /// by the URL's hash (`#/reset-password?token=…`), so any static host serves the link, and the
    /// token, being in the fragment, is never sent to that host nor named in a `Referer`.
    pub fn render(&self, app_url: &str) -> Rendered {
        let (subject, paragraphs, link): (&str, Vec<String>, Option<(String, &str)>) = match self {
            Mail::Notification { title, body, .. } => (
                title.as_str(),
                vec![body.clone(),
                    "You get this e-mail because e-mail notifications are on for your Bourse account. To stop them, turn e-mail off in your notification preferences; your inbox keeps every notification either way.".into()],
                Some((format!("{app_url}/#/account"), "Notification preferences")),
            ),
            Mail::VerifyEmail { token, .. } => (
                "Confirm your e-mail address for Bourse",
                vec!["Welcome to Bourse. Confirm that this address is yours to finish setting up your account.".into(),
                    "The link works once and for 24 hours. If you did not sign up, ignore this message.".into()],
                Some((format!("{app_url}/#/verify-email?token={token}"), "Confirm my address")),
            ),
            Mail::RegisteredAgain { .. } => (
                "Someone tried to sign up with your address",
                vec!["Someone tried to create a Bourse account with this e-mail address, which already has one. Nothing was changed.".into(),
                    "If it was you, sign in instead, or reset your password if you have forgotten it.".into()],
                Some((format!("{app_url}/#/forgot-password"), "Reset my password")),
            ),
            Mail::PasswordReset { token, .. } => (
                "Reset your Bourse password",
                vec!["Someone asked to reset the password of the Bourse account with this address.".into(),
                    "The link works once and for 30 minutes. If it was not you, ignore this message: your password stays as it is.".into()],
                Some((format!("{app_url}/#/reset-password?token={token}"), "Choose a new password")),
            ),
            Mail::PasswordChanged { .. } => (
                "Your Bourse password was changed",
                vec!["The password of your Bourse account was just changed, and every device was signed out.".into(),
                    "If this was not you, reset your password now and review your account.".into()],
                Some((format!("{app_url}/#/forgot-password"), "Reset my password")),
            ),
            Mail::SignInsThrottled { .. } => (
                "Repeated failed sign-ins to your Bourse account",
                vec!["There were several sign-ins to your Bourse account with a wrong password, so further attempts are slowed down for a while. Your own sign-ins from your usual devices still work.".into(),
                    "If this was not you, no action is needed; choosing a stronger password never hurts.".into()],
                None,
            ),
            Mail::AccountDeleted { .. } => (
                "Your Bourse account was deleted",
                vec!["As you asked, your Bourse account and all of its data (portfolios, transactions, journal, usage and sessions) have been deleted.".into(),
                    "This address is free again: you are welcome to sign up anew at any time.".into()],
                None,
            ),
        };
        let mut text = paragraphs.join("\n\n");
        let mut html = paragraphs.iter().map(|p| format!("<p>{}</p>", escape(p))).collect::<Vec<_>>().join("\n");
        if let Some((url, label)) = link {
            text.push_str(&format!("\n\n{label}: {url}"));
            html.push_str(&format!("\n<p><a href=\"{}\">{}</a></p>", escape(&url), escape(label)));
        }
        text.push_str("\n\n— Bourse");
        let html = format!("<!doctype html>\n<html><body>\n{html}\n<p>— Bourse</p>\n</body></html>\n");
        Rendered { subject: subject.to_owned(), text, html }
    }
}

/// Text made safe inside HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_links_to_the_app_with_its_token_in_text_and_html() {
        let mail = Mail::VerifyEmail { to: "ada@example.com".into(), token: "tok_EN-123".into() };
        let rendered = mail.render("https://app.bourse.example");
        assert_eq!(mail.to(), "ada@example.com");
        assert!(rendered.text.contains("https://app.bourse.example/#/verify-email?token=tok_EN-123"), "{}", rendered.text);
        assert!(rendered.html.contains("href=\"https://app.bourse.example/#/verify-email?token=tok_EN-123\""));
        assert!(rendered.subject.contains("Confirm"));
    }

    /// The web app routes by the hash (`#/…`): every link is one of its pages, whatever the host.
    #[test]
    fn every_link_is_a_hash_route_of_the_app() {
        let app = "https://app.bourse.example";
        let to = || "ada@example.com".to_owned();
        let cases = [
            (Mail::VerifyEmail { to: to(), token: "tok_1".into() }, Some("/#/verify-email?token=tok_1")),
            (Mail::PasswordReset { to: to(), token: "tok_2".into() }, Some("/#/reset-password?token=tok_2")),
            (Mail::RegisteredAgain { to: to() }, Some("/#/forgot-password")),
            (Mail::PasswordChanged { to: to() }, Some("/#/forgot-password")),
            (Mail::SignInsThrottled { to: to() }, None),
            (Mail::AccountDeleted { to: to() }, None),
            (Mail::Notification { to: to(), title: "t".into(), body: "b".into() }, Some("/#/account")),
        ];
        for (mail, route) in cases {
            let rendered = mail.render(app);
            let links: Vec<&str> = rendered.text.split_whitespace().filter(|w| w.starts_with("http")).collect();
            match route {
                Some(route) => {
                    assert_eq!(links, [format!("{app}{route}")], "{mail:?}");
                    assert!(rendered.html.contains(&format!("href=\"{app}{route}\"")), "{}", rendered.html);
                }
                None => assert!(links.is_empty(), "{mail:?}: {links:?}"),
            }
        }
    }

    #[test]
    fn a_notification_mail_says_how_to_stop_them() {
        let mail = Mail::Notification { to: "a@b.co".into(), title: "Your job <finished>".into(), body: "3 symbols enriched.".into() };
        let rendered = mail.render("https://app.example");
        assert_eq!(rendered.subject, "Your job <finished>");
        assert!(rendered.text.starts_with("3 symbols enriched."), "{}", rendered.text);
        assert!(rendered.text.contains("turn e-mail off"), "{}", rendered.text);
        assert!(rendered.html.contains("turn e-mail off"));
    }

    #[test]
    fn html_is_escaped() {
        let rendered = Mail::PasswordReset { to: "a@b.co".into(), token: "x\"><script>".into() }.render("https://a.example");
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn mails_round_trip_with_their_template_name() {
        let mail = Mail::RegisteredAgain { to: "a@b.co".into() };
        let text = serde_json::to_string(&mail).unwrap();
        assert_eq!(text, r#"{"template":"registered-again","to":"a@b.co"}"#);
        assert_eq!(serde_json::from_str::<Mail>(&text).unwrap(), mail);
    }
}
