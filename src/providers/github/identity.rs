//! GitHub's identity. Built in every build (`providers/mod.rs` points `github` at it without
//! the `github` feature).

use crate::model::{Provider, ProviderInfo};

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    // A deploy credential kept in GitHub is renewed on the app registration behind it.
    new_secret_value: Some((false, "empty: a new client secret is made on the app registration")),
    ..ProviderInfo::named("github", "GitHub")
});

/// Why `ack` and `silence` do not apply to GitHub security alerts (the adapter's refusals and
/// the demo's say the same).
pub const GITHUB_NO_ACK: &str = "GitHub security alerts have no acknowledgement; fix or dismiss them on GitHub";
pub const GITHUB_NO_SILENCE: &str =
    "GitHub security alerts notify once; there is nothing to silence (dismiss them on GitHub)";
