//! Slack: `[notify.slack]`, where the token or webhook URL comes from, the HTTP client (Web API
//! `chat.postMessage` / `chat.update`, or an incoming webhook) with bounded retries, and the
//! text of every message.
//!
//! The bot token and the webhook URL are secrets: they live in [`Secret`] (redacted `Debug`,
//! no `Display`, no serde), errors never carry a URL (`reqwest::Error::without_url`) and
//! anything Slack answers is scrubbed of them before it is shown or audited.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::incident::{EntryKind, FIRST_STEPS, Incident};
use crate::model::human_duration;
use crate::store::{AuditEntry, AuditPhase};

pub const DEFAULT_API_URL: &str = "https://slack.com/api";
pub const TOKEN_ENV: &str = "SKYDECK_SLACK_TOKEN";
pub const WEBHOOK_ENV: &str = "SKYDECK_SLACK_WEBHOOK_URL";
/// Keyring accounts (service `skydeck`, as the GitHub tokens).
pub const KEYRING_TOKEN: &str = "slack:bot-token";
pub const KEYRING_WEBHOOK: &str = "slack:webhook-url";

/// `[notify.slack]`. With `channel`, skydeck posts as a bot (Web API, token with `chat:write`);
/// without it, to an incoming webhook.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Channel id (`C0123ABCD`) or name (`#oncall`) the bot posts in.
    pub channel: Option<String>,
    /// A variable holding the bot token, tried before `SKYDECK_SLACK_TOKEN`.
    pub token_env: Option<String>,
    /// A variable holding the incoming webhook URL, tried before `SKYDECK_SLACK_WEBHOOK_URL`.
    pub webhook_url_env: Option<String>,
    /// The Web API base (tests point it at loopback).
    pub api_url: String,
    /// Environments whose actions are posted (`"*"`: every one). Empty: none.
    pub actions: Vec<String>,
    /// Incidents: one message each, kept current, with the timeline as thread replies.
    pub incidents: bool,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            channel: None,
            token_env: None,
            webhook_url_env: None,
            api_url: DEFAULT_API_URL.into(),
            actions: Vec::new(),
            incidents: true,
        }
    }
}

impl SlackConfig {
    /// Are this environment's actions posted?
    pub fn posts_actions_of(&self, environment: &str) -> bool {
        self.actions.iter().any(|e| e == "*" || e == environment)
    }

    pub(super) fn validate(&self, line: &dyn Fn(&str) -> usize) -> Result<(), (usize, String)> {
        if !(self.api_url.starts_with("https://") || self.api_url.starts_with("http://")) {
            return Err((
                line("api_url"),
                format!("[notify.slack] api_url '{}' must start with https:// or http://", self.api_url),
            ));
        }
        if self.channel.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err((line("channel"), "[notify.slack] channel is empty (leave it out to use a webhook)".into()));
        }
        if self.actions.iter().any(|e| e.trim().is_empty()) {
            return Err((line("actions"), "[notify.slack] actions: an environment name is empty".into()));
        }
        for (key, name) in [("token_env", &self.token_env), ("webhook_url_env", &self.webhook_url_env)] {
            if let Some(n) = name
                && (n.is_empty() || n.contains('=') || n.contains(char::is_whitespace))
            {
                return Err((line(key), format!("[notify.slack] {key} '{n}' is not an environment variable name")));
            }
        }
        Ok(())
    }
}

/// A token or URL that must never be shown: `Debug` prints a placeholder, there is no
/// `Display` and no serde.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How skydeck reaches Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Web API with a bot token: threads and updates.
    Bot { token: Secret, channel: String },
    /// An incoming webhook: one channel, new messages only.
    Webhook { url: Secret },
}

impl Mode {
    pub fn threads(&self) -> bool {
        matches!(self, Mode::Bot { .. })
    }
}

/// Why Slack cannot be set up: no token or URL where it was looked for, or no keyring. Each
/// message says how to fix it and never holds the secret.
#[derive(Debug, thiserror::Error)]
pub enum SlackSetupError {
    #[error("no OS keyring is available ({0})")]
    NoKeyring(String),
    #[error("keyring: {0}")]
    Keyring(String),
    #[error(
        "no Slack bot token ([notify.slack] channel is set, so skydeck posts as a bot): set {env} or run `skydeck auth login slack` (token on stdin)"
    )]
    NoToken { env: String },
    #[error(
        "no Slack webhook URL: set {env} or run `skydeck auth login slack-webhook` (URL on stdin); or set [notify.slack] channel to post with a bot token"
    )]
    NoWebhook { env: String },
    #[error("the Slack webhook URL from {source_name} does not start with https://")]
    WebhookScheme { source_name: String },
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// The keyring entry for one Slack secret (the same service as GitHub's tokens, `paths::KEYRING_SERVICE`).
pub fn keyring_entry(account: &str) -> Result<keyring_core::Entry, SlackSetupError> {
    if keyring_core::get_default_store().is_none()
        && let Err(e) = keyring::Entry::store_status()
    {
        return Err(SlackSetupError::NoKeyring(e.to_string()));
    }
    keyring_core::Entry::new(crate::paths::KEYRING_SERVICE, account)
        .map_err(|e| SlackSetupError::Keyring(e.to_string()))
}

fn from_env(name: &str) -> Option<(Secret, String)> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| (Secret(v), format!("${name}")))
}

fn from_keyring(account: &str) -> Option<(Secret, String)> {
    let value = keyring_entry(account).ok()?.get_password().ok()?;
    (!value.trim().is_empty()).then(|| (Secret(value.trim().to_string()), "the OS keyring (skydeck auth login)".into()))
}

fn chain(first: Option<&str>, default: &str, account: &str) -> Option<(Secret, String)> {
    first.and_then(from_env).or_else(|| from_env(default)).or_else(|| from_keyring(account))
}

/// The mode and where its secret came from (for `auth status`; never the secret), or why
/// there is none and how to fix it.
pub fn resolve(cfg: &SlackConfig) -> Result<(Mode, String), SlackSetupError> {
    if let Some(channel) = &cfg.channel {
        let Some((token, source)) = chain(cfg.token_env.as_deref(), TOKEN_ENV, KEYRING_TOKEN) else {
            return Err(SlackSetupError::NoToken { env: cfg.token_env.as_deref().unwrap_or(TOKEN_ENV).to_string() });
        };
        Ok((Mode::Bot { token, channel: channel.clone() }, source))
    } else {
        let Some((url, source)) = chain(cfg.webhook_url_env.as_deref(), WEBHOOK_ENV, KEYRING_WEBHOOK) else {
            return Err(SlackSetupError::NoWebhook {
                env: cfg.webhook_url_env.as_deref().unwrap_or(WEBHOOK_ENV).to_string(),
            });
        };
        if !(url.0.starts_with("https://") || url.0.starts_with("http://")) {
            return Err(SlackSetupError::WebhookScheme { source_name: source });
        }
        Ok((Mode::Webhook { url }, source))
    }
}

/// Why a message did not get through. The text never holds the token or the webhook URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SlackError {
    #[error("{what}: rate limited by Slack{} ({})", retry_after.map(|s| format!(", Retry-After {s}s")).unwrap_or_default(), tries_text(*tries))]
    RateLimited { what: &'static str, retry_after: Option<u64>, tries: u32 },
    #[error("{what}: HTTP {status}{} ({})", if body.is_empty() { String::new() } else { format!(": {body}") }, tries_text(*tries))]
    Http { what: &'static str, status: u16, body: String, tries: u32 },
    #[error("{what}: Slack answered '{error}'{}", hint(error))]
    Api { what: &'static str, error: String },
    #[error("{what}: {message} ({})", tries_text(*tries))]
    Network { what: &'static str, message: String, tries: u32 },
    #[error("{what}: {message}")]
    Deadline { what: &'static str, message: String },
}

fn tries_text(n: u32) -> String {
    if n == 1 { "1 try".into() } else { format!("{n} tries") }
}

fn hint(error: &str) -> &'static str {
    match error {
        "not_in_channel" => ": invite the bot to the channel, or give it the chat:write.public scope",
        "channel_not_found" => ": check [notify.slack] channel (the bot must see the channel)",
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            ": the bot token is wrong or revoked (`skydeck auth login slack`)"
        }
        "missing_scope" => ": the token needs the chat:write scope",
        "msg_too_long" => ": the message is too long",
        _ => "",
    }
}

/// Bounded retries: how many tries, the longest `Retry-After` waited for, the pause after a
/// 5xx or a network error (doubling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    pub tries: u32,
    pub max_wait: Duration,
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { tries: 3, max_wait: Duration::from_secs(30), backoff: Duration::from_millis(500) }
    }
}

/// A posted message: the channel's id (what `chat.update` needs) and its `ts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Slack's limit is 40 000 characters; past that it truncates by itself, mid-word.
const MAX_TEXT: usize = 39_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Slack {
    http: reqwest::Client,
    api_url: String,
    mode: Mode,
    pub retry: Retry,
}

impl Slack {
    pub fn new(cfg: &SlackConfig, mode: Mode) -> Slack {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("skydeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Slack { http, api_url: cfg.api_url.trim_end_matches('/').to_string(), mode, retry: Retry::default() }
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Posts `text` (a reply in `thread_ts`'s thread when given and the mode can). A webhook
    /// returns no message id, so `None`.
    pub async fn post(
        &self,
        text: &str,
        thread_ts: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Option<Posted>, SlackError> {
        let text = clip(text);
        match &self.mode {
            Mode::Webhook { url } => {
                self.send("the incoming webhook", url.expose(), None, &json!({ "text": text }), deadline).await?;
                Ok(None)
            }
            Mode::Bot { token, channel } => {
                let mut body = json!({ "channel": channel, "text": text });
                if let Some(ts) = thread_ts {
                    body["thread_ts"] = json!(ts);
                }
                let url = format!("{}/chat.postMessage", self.api_url);
                let answer = self.send("chat.postMessage", &url, Some(token), &body, deadline).await?;
                let field = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_string);
                match (field("channel"), field("ts")) {
                    (Some(channel), Some(ts)) => Ok(Some(Posted { channel, ts })),
                    _ => Err(SlackError::Api {
                        what: "chat.postMessage",
                        error: "no channel or ts in the answer".into(),
                    }),
                }
            }
        }
    }

    /// Replaces the text of a posted message (bot mode only; a webhook cannot).
    pub async fn update(&self, at: &Posted, text: &str, deadline: Option<Instant>) -> Result<(), SlackError> {
        let Mode::Bot { token, .. } = &self.mode else {
            return Err(SlackError::Api { what: "chat.update", error: "an incoming webhook cannot update".into() });
        };
        let body = json!({ "channel": at.channel, "ts": at.ts, "text": clip(text) });
        let url = format!("{}/chat.update", self.api_url);
        self.send("chat.update", &url, Some(token), &body, deadline).await.map(|_| ())
    }

    /// The secrets that must not appear in anything shown.
    fn secrets(&self) -> Vec<&str> {
        match &self.mode {
            Mode::Bot { token, .. } => vec![token.expose()],
            Mode::Webhook { url } => {
                // The path is the secret part; the whole URL too.
                let path = url.expose().splitn(4, '/').nth(3).unwrap_or("");
                vec![url.expose(), path].into_iter().filter(|s| s.len() >= 8).collect()
            }
        }
    }

    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets() {
            out = out.replace(s, "<redacted>");
        }
        out.chars().filter(|c| !c.is_control()).take(200).collect()
    }

    /// One call with retries: 429 waits `Retry-After` (at most `retry.max_wait`, within the
    /// deadline), 5xx and network errors wait a doubling pause; other 4xx fail at once. A
    /// Web API answer `{"ok": false}` is an error (`ratelimited` is retried like a 429).
    async fn send(
        &self,
        what: &'static str,
        url: &str,
        token: Option<&Secret>,
        body: &Value,
        deadline: Option<Instant>,
    ) -> Result<Value, SlackError> {
        let mut pause = self.retry.backoff;
        let mut tries = 0;
        loop {
            tries += 1;
            let mut request = self.http.post(url).json(body);
            if let Some(t) = token {
                request = request.bearer_auth(t.expose());
            }
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(SlackError::Deadline {
                        what,
                        message: "no time left to post before skydeck exits".into(),
                    });
                }
                request = request.timeout(left.min(REQUEST_TIMEOUT));
            }
            let (wait, error) = match self.attempt(what, request, token.is_some(), tries, pause).await {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry(wait, error) => (wait, error),
            };
            if let Some(d) = deadline
                && Instant::now() + wait >= d
            {
                return Err(SlackError::Deadline {
                    what,
                    message: format!("{error}; no time left to try again before skydeck exits"),
                });
            }
            tracing::warn!("{error}; trying again in {} ms", wait.as_millis());
            tokio::time::sleep(wait).await;
            if !matches!(error, SlackError::RateLimited { .. }) {
                pause *= 2;
            }
        }
    }
}

enum Attempt {
    Done(Value),
    Retry(Duration, SlackError),
    Fail(SlackError),
}

impl Slack {
    /// One request and what to do about its answer.
    async fn attempt(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
        web_api: bool,
        tries: u32,
        pause: Duration,
    ) -> Attempt {
        let last = tries >= self.retry.tries.max(1);
        let retry =
            |wait: Duration, error: SlackError| if last { Attempt::Fail(error) } else { Attempt::Retry(wait, error) };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let message = self.scrub(&error_chain(&e.without_url()));
                return retry(pause, SlackError::Network { what, message, tries });
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = response.text().await.unwrap_or_default();
        if status == 429 {
            let wait = Duration::from_secs(retry_after.unwrap_or(1));
            let error = SlackError::RateLimited { what, retry_after, tries };
            return if wait > self.retry.max_wait { Attempt::Fail(error) } else { retry(wait, error) };
        }
        if status >= 500 {
            return retry(pause, SlackError::Http { what, status, body: self.scrub(&text), tries });
        }
        if status >= 400 {
            return Attempt::Fail(SlackError::Http { what, status, body: self.scrub(&text), tries });
        }
        if !web_api {
            return Attempt::Done(Value::Null); // a webhook answers `ok` as text
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if answer["ok"] == json!(true) {
            return Attempt::Done(answer);
        }
        let error = answer["error"].as_str().map_or_else(|| "no answer".into(), |e| self.scrub(e));
        if error == "ratelimited" {
            let wait = Duration::from_secs(retry_after.unwrap_or(1));
            return retry(wait, SlackError::RateLimited { what, retry_after, tries });
        }
        Attempt::Fail(SlackError::Api { what, error })
    }
}

/// The error and its causes on one line (reqwest's own text is only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_TEXT).collect();
    out.push_str("\n… (cut: too long for one Slack message)");
    out
}

/// Slack's own escaping: `&`, `<` and `>` only. It also keeps remote text from making links or
/// mentions (`<!channel>`, `<@U123>`).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn short(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    one_line.chars().take(max).collect::<String>() + "…"
}

/// Where an incident stands, for its message.
pub fn status_of(i: &Incident) -> &'static str {
    if i.closed_at.is_some() {
        "CLOSED"
    } else if i.step_done("mitigation").is_some() {
        "MITIGATING"
    } else {
        "OPEN"
    }
}

/// The incident's one message in the channel (the thread's parent), from the incident as
/// stored: severity, status, title, environment, who opened it, the first response.
pub fn parent_text(i: &Incident) -> String {
    let status = status_of(i);
    let icon = match status {
        "CLOSED" => ":large_green_circle:",
        "MITIGATING" => ":large_orange_circle:",
        _ => ":red_circle:",
    };
    let env = i.environment.as_deref().map(|e| format!(" ({})", escape(e))).unwrap_or_default();
    let mut out = format!(
        "{icon} *INC {} · {} · {status}* {}{env}\nopened {} UTC by {}",
        i.id,
        escape(&i.severity),
        escape(&i.title),
        i.opened_at.format("%Y-%m-%d %H:%M"),
        escape(&i.opened_by)
    );
    let steps = FIRST_STEPS.iter().filter(|(k, _)| i.step_done(k).is_some()).count();
    match i.first_response_at() {
        Some(at) => out.push_str(&format!(" · first response done in {}", human_duration(at - i.opened_at))),
        None if i.closed_at.is_none() => {
            out.push_str(&format!(" · first response: {steps}/{} steps", FIRST_STEPS.len()));
        }
        None => {}
    }
    if let Some(closed) = i.closed_at {
        out.push_str(&format!("\nclosed after {}", human_duration(closed - i.opened_at)));
        if let Some(r) = &i.resolution {
            out.push_str(&format!(": {}", escape(&short(r, 500))));
        }
    }
    out
}

/// A timeline entry as a thread reply: `03:04:10 *note* checked the LB — maria`.
pub fn reply_text(e: &crate::incident::Entry) -> String {
    format!("{} *{}* {} — {}", e.at.format("%H:%M:%S"), e.kind.as_str(), escape(&short(&e.text, 1000)), escape(&e.who))
}

/// A timeline entry as a message of its own (webhook mode, or no thread to reply in).
pub fn standalone_reply_text(i: &Incident, e: &crate::incident::Entry) -> String {
    if e.kind == EntryKind::Opened {
        return parent_text(i);
    }
    format!("*INC {}* {} · {}", i.id, escape(&short(&i.title, 100)), reply_text(e))
}

/// An action's outcome from the audit log: who, what, target, environment, result.
pub fn action_text(a: &AuditEntry) -> String {
    let (icon, result) = match a.phase {
        AuditPhase::Finished => (":white_check_mark:", "done"),
        AuditPhase::Failed => (":x:", "FAILED"),
        AuditPhase::Interrupted => (":warning:", "interrupted"),
        AuditPhase::Started => (":hourglass:", "started"),
        AuditPhase::Refused => (":no_entry:", "refused"),
    };
    let mut out = format!(
        "{icon} *{}* {} `{}` in *{}*: {result} — {}",
        escape(&a.user),
        escape(&a.verb),
        escape(&a.target_name),
        escape(&a.environment),
        escape(&short(&a.detail, 500))
    );
    if let Some(r) = &a.reason {
        out.push_str(&format!(" · reason: {}", escape(&short(r, 300))));
    }
    out
}

/// The shift-handover report in Slack's mrkdwn (no headings or tables there).
pub fn handover_text(r: &crate::runbook::Report) -> String {
    use crate::runbook::Verdict;
    let mut out = format!(
        ":clipboard: *Handover: {} — {}* (by {}, {} UTC)\n*{} passed, {} failed, {} unknown, {} open*\n",
        escape(&r.title),
        escape(&r.day),
        escape(&r.generated_by),
        r.generated_at.format("%H:%M"),
        r.passed,
        r.failed,
        r.unknown,
        r.open
    );
    let mut section = "";
    for i in &r.items {
        if i.section != section {
            section = &i.section;
            out.push_str(&format!("\n*{}*\n", escape(section)));
        }
        let mark = match i.verdict {
            Verdict::Pass => "✔",
            Verdict::Fail => "✖ *FAIL*",
            Verdict::Unknown if i.automatic => "? unknown",
            Verdict::Unknown => "☐",
        };
        out.push_str(&format!("{mark} {}", escape(&i.title)));
        if i.automatic {
            out.push_str(&format!(": {}", escape(&short(&i.value, 200))));
        }
        if let (Some(by), Some(at)) = (&i.done_by, i.done_at) {
            out.push_str(&format!(" — ticked by {} at {}", escape(by), at.format("%H:%M")));
        }
        out.push('\n');
        if let Some(note) = &i.note {
            out.push_str(&format!("    note: {}\n", escape(&short(note, 500))));
        }
        if i.verdict != Verdict::Pass {
            for e in i.evidence.iter().take(5) {
                out.push_str(&format!("    • {}\n", escape(&short(e, 200))));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Entry;
    use chrono::{TimeZone, Utc};

    fn incident() -> Incident {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        Incident {
            id: 7,
            title: "checkout <5xx> & more".into(),
            severity: "sev2".into(),
            environment: Some("production".into()),
            opened_at: t0,
            opened_by: "maria".into(),
            closed_at: None,
            resolution: None,
            timeline: vec![Entry { at: t0, kind: EntryKind::Opened, who: "maria".into(), text: "opened".into() }],
        }
    }

    #[test]
    fn the_parent_follows_status_and_escapes_remote_text() {
        let mut i = incident();
        assert_eq!(
            parent_text(&i),
            ":red_circle: *INC 7 · sev2 · OPEN* checkout &lt;5xx&gt; &amp; more (production)\nopened 2026-11-23 03:00 UTC by maria · first response: 0/3 steps"
        );
        let t = i.opened_at + chrono::Duration::minutes(9);
        i.timeline.push(Entry { at: t, kind: EntryKind::Step, who: "maria".into(), text: "mitigation: done".into() });
        assert!(
            parent_text(&i).starts_with(":large_orange_circle: *INC 7 · sev2 · MITIGATING*"),
            "{}",
            parent_text(&i)
        );
        assert!(parent_text(&i).ends_with("first response: 1/3 steps"));
        i.closed_at = Some(i.opened_at + chrono::Duration::minutes(42));
        i.resolution = Some("rolled back <!channel>".into());
        assert_eq!(
            parent_text(&i),
            ":large_green_circle: *INC 7 · sev2 · CLOSED* checkout &lt;5xx&gt; &amp; more (production)\nopened 2026-11-23 03:00 UTC by maria\nclosed after 42m: rolled back &lt;!channel&gt;"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_config_checks_name_their_key() {
        let m = Mode::Webhook { url: Secret::new("https://hooks.slack.com/services/T/B/XYZ") };
        assert!(!format!("{m:?}").contains("XYZ"));
        let cfg = SlackConfig { api_url: "slack.com/api".into(), ..SlackConfig::default() };
        let err = cfg.validate(&|k| if k == "api_url" { 4 } else { 1 }).unwrap_err();
        assert_eq!(err.0, 4);
        assert!(SlackConfig::default().validate(&|_| 1).is_ok());
        let cfg = SlackConfig { actions: vec!["production".into()], ..SlackConfig::default() };
        assert!(cfg.posts_actions_of("production") && !cfg.posts_actions_of("staging"));
        let all = SlackConfig { actions: vec!["*".into()], ..SlackConfig::default() };
        assert!(all.posts_actions_of("staging"));
    }

    #[test]
    fn long_text_is_cut_below_slacks_limit() {
        let long = "x".repeat(50_000);
        let cut = clip(&long);
        assert!(cut.chars().count() < 40_000 && cut.ends_with("too long for one Slack message)"));
        assert_eq!(clip("short"), "short");
    }
}
