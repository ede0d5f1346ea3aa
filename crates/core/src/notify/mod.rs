//! Notifications: consumers of the local journal. A notifier reads the audit log and the
//! incident timelines from the store *after* they are written and posts what is new, so it
//! can never block, slow down or fail an action: the action is done (and audited) before the
//! notifier looks. A post that fails after its bounded retries is recorded in the audit log
//! (source `slack`, phase `failed`, linked to the action by `action_id`) and skipped.
//!
//! Where it has read up to is kept per sink in the store, and every entry is claimed before it
//! is posted, so a TUI and a `skydeck act` on one store post each entry once.

pub mod slack;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::clock::Clock;
use crate::incident::EntryKind;
use crate::store::{AuditEntry, AuditPhase, Store, StoreError, Stream, Thread, TimelineRow};
use slack::{Posted, Slack, SlackConfig};

/// `[notify]`: one table per destination. Unknown keys are errors (a misspelt key would
/// silently turn notifications off).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    pub slack: Option<SlackConfig>,
}

/// Checks `[notify]` (`line` finds a key's line in the file).
pub fn validate(cfg: &NotifyConfig, line: &dyn Fn(&str) -> usize) -> Result<(), (usize, String)> {
    match &cfg.slack {
        Some(s) => s.validate(line),
        None => Ok(()),
    }
}

/// The sink name in the store and the audit log's `source` of a failed post.
pub const SINK: &str = "slack";
/// Entries older than this when first seen are not posted (a notifier switched on after a
/// week off does not post the week).
pub const MAX_AGE: chrono::Duration = chrono::Duration::hours(1);
/// How long a CLI command waits for its posts before exiting.
pub const CLI_FLUSH: Duration = Duration::from_secs(10);
/// How often the TUI's notifier looks at the journal.
const POLL: Duration = Duration::from_secs(1);
/// How long to wait for another skydeck that is posting an incident's message.
const THREAD_WAIT: Duration = Duration::from_secs(5);
const BATCH: usize = 100;

pub struct Notifier {
    store: Arc<Store>,
    slack: Slack,
    cfg: SlackConfig,
    clock: Arc<dyn Clock>,
    /// Who runs this skydeck (the user of a failure's audit entry).
    user: String,
}

impl Notifier {
    /// The notifier `[notify.slack]` asks for: `Ok(None)` when there is none, `Err` when it is
    /// configured but has no token or URL (with the fix). Starts the sink's position at the
    /// end of the journal the first time.
    pub fn from_config(
        config: &crate::config::Config,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        user: &str,
    ) -> Result<Option<Notifier>, slack::SlackSetupError> {
        let Some(cfg) = &config.notify.slack else { return Ok(None) };
        let (mode, _source) = slack::resolve(cfg)?;
        Ok(Some(Notifier::new(cfg, Slack::new(cfg, mode), store, clock, user)?))
    }

    pub fn new(
        cfg: &SlackConfig,
        slack: Slack,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        user: &str,
    ) -> Result<Notifier, StoreError> {
        store.notify_position(SINK)?;
        Ok(Notifier { store, slack, cfg: cfg.clone(), clock, user: user.to_string() })
    }

    pub fn slack(&self) -> &Slack {
        &self.slack
    }

    fn fresh(&self, at: crate::model::Timestamp) -> bool {
        self.clock.now() - at <= MAX_AGE
    }

    /// Posts everything new in the journal; returns how many entries it handled. Store errors
    /// end the pass (the next one starts where this one stopped); Slack errors are audited.
    pub async fn pass(&self, deadline: Option<Instant>) -> Result<usize, StoreError> {
        let (mut audit, mut timeline) = self.store.notify_read_position(SINK)?;
        let mut handled = 0;
        loop {
            let entries = self.store.audit_after(audit, BATCH)?;
            let Some(last) = entries.last().map(|e| e.seq) else { break };
            for e in &entries {
                if self.wants(e) && self.fresh(e.at) && self.store.notify_claim(SINK, Stream::Audit, e.seq)? {
                    if let Err(err) = self.slack.post(&slack::action_text(e), None, deadline).await {
                        self.record_failure(e.action_id, &e.target, &e.target_name, &e.environment, &err);
                    }
                    handled += 1;
                }
                self.store.notify_advance(SINK, Stream::Audit, e.seq)?;
            }
            audit = last;
        }
        loop {
            let rows = self.store.timeline_after(timeline, BATCH)?;
            let Some(last) = rows.last().map(|r| r.seq) else { break };
            for row in &rows {
                if self.cfg.incidents
                    && self.fresh(row.entry.at)
                    && self.store.notify_claim(SINK, Stream::Timeline, row.seq)?
                {
                    self.timeline_entry(row, deadline).await?;
                    handled += 1;
                }
                self.store.notify_advance(SINK, Stream::Timeline, row.seq)?;
            }
            timeline = last;
        }
        Ok(handled)
    }

    /// An action's closing entry, in an environment whose actions are posted. Never a
    /// "started" entry (the result is what counts), never a refusal (`--read-only` blocks
    /// post nothing), never this sink's own failure records.
    fn wants(&self, e: &AuditEntry) -> bool {
        e.source != SINK
            && matches!(e.phase, AuditPhase::Finished | AuditPhase::Failed | AuditPhase::Interrupted)
            && self.cfg.posts_actions_of(&e.environment)
    }

    async fn timeline_entry(&self, row: &TimelineRow, deadline: Option<Instant>) -> Result<(), StoreError> {
        let Some(incident) = self.store.incident(row.incident)? else { return Ok(()) };
        let subject = format!("incident/{}", incident.id);
        let name = format!("INC {}", incident.id);
        let env = incident.environment.clone().unwrap_or_default();
        let failed = |err: &slack::SlackError| self.record_failure(None, &subject, &name, &env, err);
        if !self.slack.mode().threads() {
            if let Err(err) =
                self.slack.post(&slack::standalone_reply_text(&incident, &row.entry), None, deadline).await
            {
                failed(&err);
            }
            return Ok(());
        }
        let thread = match self.thread_of(&incident, deadline).await? {
            Ok(Some(t)) => t,
            Ok(None) => {
                // Another skydeck is still posting the message: this entry goes out on its own.
                let text = slack::standalone_reply_text(&incident, &row.entry);
                if let Err(err) = self.slack.post(&text, None, deadline).await {
                    failed(&err);
                }
                return Ok(());
            }
            Err(err) => {
                failed(&err);
                return Ok(());
            }
        };
        let Some(ts) = thread.ts.clone() else { return Ok(()) };
        if row.entry.kind != EntryKind::Opened
            && let Err(err) = self.slack.post(&slack::reply_text(&row.entry), Some(&ts), deadline).await
        {
            failed(&err);
        }
        // Keep the message current: severity, status, first response, resolution.
        let text = slack::parent_text(&incident);
        if text != thread.text {
            let at = Posted { channel: thread.channel.clone(), ts: ts.clone() };
            match self.slack.update(&at, &text, deadline).await {
                Ok(()) => {
                    self.store.notify_thread_set(SINK, incident.id, &Thread { text, ..thread })?;
                }
                Err(err) => failed(&err),
            }
        }
        Ok(())
    }

    /// The incident's message, posting it first if nobody has. `Ok(None)`: another skydeck
    /// claimed it and has not posted it within [`THREAD_WAIT`].
    async fn thread_of(
        &self,
        incident: &crate::incident::Incident,
        deadline: Option<Instant>,
    ) -> Result<Result<Option<Thread>, slack::SlackError>, StoreError> {
        if let Some(t) = self.store.notify_thread(SINK, incident.id)?
            && t.ts.is_some()
        {
            return Ok(Ok(Some(t)));
        }
        if self.store.notify_thread_claim(SINK, incident.id)? {
            let text = slack::parent_text(incident);
            return match self.slack.post(&text, None, deadline).await {
                Ok(Some(posted)) => {
                    let thread = Thread { channel: posted.channel, ts: Some(posted.ts), text };
                    self.store.notify_thread_set(SINK, incident.id, &thread)?;
                    Ok(Ok(Some(thread)))
                }
                Ok(None) => Ok(Ok(None)),
                Err(err) => {
                    self.store.notify_thread_release(SINK, incident.id)?;
                    Ok(Err(err))
                }
            };
        }
        let until = Instant::now() + THREAD_WAIT;
        while Instant::now() < until && deadline.is_none_or(|d| Instant::now() < d) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(t) = self.store.notify_thread(SINK, incident.id)?
                && t.ts.is_some()
            {
                return Ok(Ok(Some(t)));
            }
        }
        Ok(Ok(None))
    }

    /// A post that did not get through, in the audit log (never the message, never a secret).
    fn record_failure(
        &self,
        action_id: Option<i64>,
        target: &str,
        target_name: &str,
        environment: &str,
        err: &slack::SlackError,
    ) {
        tracing::warn!("not posted to Slack: {err}");
        let entry = AuditEntry {
            seq: 0,
            action_id,
            at: self.clock.now(),
            user: self.user.clone(),
            verb: "notify".into(),
            target: target.to_string(),
            target_name: target_name.to_string(),
            environment: environment.to_string(),
            source: SINK.into(),
            phase: AuditPhase::Failed,
            reason: None,
            detail: format!("not posted to Slack: {err}"),
        };
        if let Err(e) = self.store.append_audit(&entry) {
            tracing::error!("could not record a failed Slack post: {e}");
        }
    }

    /// One pass that ends within `within` (a CLI command posts before it exits).
    pub async fn flush(&self, within: Duration) {
        let deadline = Instant::now() + within;
        match tokio::time::timeout(within, self.pass(Some(deadline))).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("notifications: {e}"),
            Err(_) => tracing::warn!("notifications: not everything was posted within {}s", within.as_secs()),
        }
    }

    /// Posts `text` now, outside the journal (the handover report on request). A failure is
    /// audited under `subject` and returned.
    pub async fn post_now(&self, text: &str, subject: &str, within: Duration) -> Result<(), slack::SlackError> {
        let deadline = Instant::now() + within;
        let result = self.slack.post(text, None, Some(deadline)).await.map(|_| ());
        if let Err(err) = &result {
            self.record_failure(None, subject, subject, "", err);
        }
        result
    }

    /// Runs in the background (the TUI): a pass every second until [`Running::finish`].
    pub fn spawn(self) -> Running {
        let notifier = Arc::new(self);
        let stop = Arc::new(tokio::sync::Notify::new());
        let (n, s) = (notifier.clone(), stop.clone());
        let handle = tokio::spawn(async move {
            loop {
                if let Err(e) = n.pass(None).await {
                    tracing::warn!("notifications: {e}");
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = s.notified() => return,
                }
            }
        });
        Running { notifier, stop, handle }
    }
}

/// A notifier running in the background.
pub struct Running {
    notifier: Arc<Notifier>,
    stop: Arc<tokio::sync::Notify>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the loop and posts what is left, within `within` (quitting the TUI right after
    /// an action still posts it).
    pub async fn finish(self, within: Duration) {
        let Running { notifier, stop, mut handle } = self;
        stop.notify_one();
        if tokio::time::timeout(within, &mut handle).await.is_err() {
            // A pass waiting out a Retry-After: what it had not claimed yet is posted below.
            handle.abort();
        }
        notifier.flush(within).await;
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn the_slack_section_parses_with_defaults() {
        let l = parse("[notify.slack]\nchannel = \"#oncall\"\nactions = [\"production\", \"staging\"]\n", "c.toml")
            .unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let s = l.config.notify.slack.unwrap();
        assert_eq!(s.channel.as_deref(), Some("#oncall"));
        assert_eq!(s.actions, ["production", "staging"]);
        assert_eq!(s.api_url, super::slack::DEFAULT_API_URL);
        assert!(s.incidents);
        assert_eq!(parse("", "c.toml").unwrap().config.notify.slack, None);
        let text = "[notify.slack]\ntoken_env = \"TEAM_SLACK\"\nwebhook_url_env = \"HOOK\"\napi_url = \"http://127.0.0.1:9/api\"\nincidents = false\n";
        let s = parse(text, "c.toml").unwrap().config.notify.slack.unwrap();
        assert_eq!((s.token_env.as_deref(), s.webhook_url_env.as_deref()), (Some("TEAM_SLACK"), Some("HOOK")));
        assert!(!s.incidents);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_with_their_line() {
        let err =
            parse("theme = \"dark\"\n[notify.slack]\nchannel = \"#oncall\"\nchanel = \"#x\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:4: unknown field `chanel`"), "{err}");
        // A secret in the file is refused like any unknown key (it belongs in the env or keyring).
        let err =
            parse("[notify.slack]\nwebhook_url = \"https://hooks.slack.com/services/T/B/X\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: unknown field `webhook_url`"), "{err}");
        let err = parse("[notify]\nteams = 1\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: unknown field `teams`"), "{err}");
        let err = parse("[notify.slack]\nchannel = \"#a\"\n\napi_url = \"slack.com/api\"\n", "x.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml:4: [notify.slack] api_url 'slack.com/api' must start with https:// or http://"
        );
        let err = parse("[notify.slack]\nactions = [\"production\", \"\"]\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:2: [notify.slack] actions: an environment name is empty");
        let err = parse("[notify.slack]\nactions = \"production\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
    }
}
