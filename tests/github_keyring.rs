//! `auth login` stores the token in the OS keyring and the token chain finds it there. The OS
//! store is replaced by keyring-core's in-memory mock: nothing touches the real keyring.

use skydeck::providers::github::auth;

#[test]
fn a_stored_token_is_found_by_the_chain_and_named_by_source() {
    keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
    let host = "ghe.keyring-test.invalid";
    assert!(
        auth::resolve(host, None)
            .unwrap_err()
            .to_string()
            .contains("skydeck auth login github --host ghe.keyring-test.invalid")
    );
    let place = auth::store(host, "ghp_from_keyring").unwrap();
    assert!(place.contains("github:ghe.keyring-test.invalid"), "{place}");
    let token = auth::resolve(host, None).unwrap();
    assert_eq!(token.value, "ghp_from_keyring");
    assert_eq!(token.source, "OS keyring (skydeck auth login)");
    // Per host: another host's entry is not used.
    assert!(auth::resolve("ghe.other.invalid", None).is_err());
    auth::keyring_entry(host).unwrap().delete_credential().unwrap();
    assert!(auth::resolve(host, None).is_err());
}
