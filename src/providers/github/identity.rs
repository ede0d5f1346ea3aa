//! GitHub's identity. Built in every build (`providers/mod.rs` points `github` at it without
//! the `github` feature).

use crate::model::{Provider, ProviderInfo};

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    // A deploy credential kept in GitHub is renewed on the app registration behind it.
    new_secret_value: Some((false, "empty: a new client secret is made on the app registration")),
    ..ProviderInfo::named("github", "GitHub")
});
