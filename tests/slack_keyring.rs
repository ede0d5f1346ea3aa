//! `skydeck auth login slack` keeps the bot token in the OS keyring (here keyring-core's mock
//! store) and `[notify.slack]` finds it there; the variable still wins.

use skydeck::notify::slack::{
    KEYRING_TOKEN, KEYRING_WEBHOOK, Mode, SlackConfig, SlackSetupError, keyring_entry, resolve,
};

#[test]
fn tokens_and_webhook_urls_come_from_the_keyring() {
    keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
    let bot = SlackConfig {
        channel: Some("C0123".into()),
        token_env: Some("SKYDECK_TEST_SLACK_TOKEN_NEVER_SET".into()),
        ..SlackConfig::default()
    };
    let err = resolve(&bot).unwrap_err();
    assert!(matches!(&err, SlackSetupError::NoToken { env } if env == "SKYDECK_TEST_SLACK_TOKEN_NEVER_SET"), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("set SKYDECK_TEST_SLACK_TOKEN_NEVER_SET or run `skydeck auth login slack`"), "{err}");
    keyring_entry(KEYRING_TOKEN).unwrap().set_password("xoxb-from-keyring").unwrap();
    let (mode, source) = resolve(&bot).unwrap();
    assert_eq!(source, "the OS keyring (skydeck auth login)");
    match &mode {
        Mode::Bot { token, channel } => assert_eq!((token.expose(), channel.as_str()), ("xoxb-from-keyring", "C0123")),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{mode:?}").contains("xoxb"), "Debug never shows it");

    let hook = SlackConfig { webhook_url_env: Some("SKYDECK_TEST_HOOK_NEVER_SET".into()), ..SlackConfig::default() };
    assert!(resolve(&hook).unwrap_err().to_string().contains("skydeck auth login slack-webhook"));
    keyring_entry(KEYRING_WEBHOOK).unwrap().set_password("https://hooks.slack.com/services/T/B/k").unwrap();
    assert!(matches!(resolve(&hook).unwrap().0, Mode::Webhook { .. }));
    keyring_entry(KEYRING_WEBHOOK).unwrap().set_password("hooks.slack.com/services/T/B/k").unwrap();
    let err = resolve(&hook).unwrap_err().to_string();
    assert!(err.contains("does not start with https://") && !err.contains("services/T/B/k"), "{err}");
}
