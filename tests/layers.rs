//! The layers stay layers. The domain is the `skydeck-core` crate (`crates/core`) and the TUI
//! `skydeck-tui` (`crates/tui`): the compiler sees to it that core cannot name the TUI and the
//! TUI no provider; neither may link a cloud SDK. In this crate, which re-exports the TUI, the
//! providers and the config and plugin wrappers never reach up into it (`app`, `views`), nor
//! do the TUI's themes; the leaf module `screen` (screen ids, keys, commands, the screen
//! registry) imports none of the config, the providers, the store or the keymap.

use std::path::{Path, PathBuf};

/// This crate's modules below the TUI.
const DOMAIN: [&str; 3] = ["providers", "config", "plugins"];

/// Crates that are a cloud's SDK (or only a provider needs): none may be in core's tree.
const SDKS: [&str; 9] = [
    "octocrab",
    "aws-config",
    "aws-sdk-",
    "azure_core",
    "azure_identity",
    "gcp_auth",
    "kube",
    "k8s-openapi",
    "yaml-rust2",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/src")
}

fn tui_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/tui/src")
}

/// `SRC/NAME.rs` and everything under `SRC/NAME/`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// Every `crate::<layer>` a file mentions, with its line number.
fn mentions(path: &Path, layers: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for layer in layers {
            let needle = format!("crate::{layer}");
            if let Some(at) = line.find(&needle) {
                let next = line[at + needle.len()..].chars().next();
                if next.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn domain_modules_do_not_import_the_tui() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for module in DOMAIN {
        let files = files_of(&src(), module);
        assert!(!files.is_empty(), "no source for the domain module '{module}'");
        seen += files.len();
        for file in files {
            bad.extend(mentions(&file, &["app", "views"]));
        }
    }
    let themes = files_of(&tui_src(), "theme");
    assert_eq!(themes.len(), 1, "the TUI's theme module");
    bad.extend(themes.iter().flat_map(|file| mentions(file, &["app", "views"])));
    assert!(seen >= DOMAIN.len());
    assert!(bad.is_empty(), "domain modules reach into the TUI:\n{}", bad.join("\n"));
}

/// The crates `cargo tree` says `package` builds and links, every one by name.
fn linked_crates(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "--locked", "-p", package, "-e", "normal,build", "--prefix", "none"])
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    tree.lines().filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

/// The cloud SDKs, and the crates of the layers `above` it, that `package` links.
fn forbidden_in(package: &str, above: &[&str]) -> Vec<String> {
    let crates = linked_crates(package);
    assert!(crates.len() > 50 && crates.iter().any(|c| c == "rusqlite"), "read the tree: {crates:?}");
    crates.into_iter().filter(|c| above.contains(&c.as_str()) || SDKS.iter().any(|sdk| c.starts_with(sdk))).collect()
}

#[test]
fn the_core_crate_links_no_cloud_sdk() {
    let linked = forbidden_in("skydeck-core", &["skydeck", "skydeck-tui"]);
    assert!(linked.is_empty(), "skydeck-core depends on {linked:?}");
}

#[test]
fn the_tui_crate_links_no_cloud_sdk() {
    assert!(linked_crates("skydeck-tui").iter().any(|c| c == "ratatui"), "read the TUI's tree");
    let linked = forbidden_in("skydeck-tui", &["skydeck"]);
    assert!(linked.is_empty(), "skydeck-tui depends on {linked:?}");
}

#[test]
fn the_screen_registry_is_a_leaf() {
    let files = files_of(&core_src(), "screen");
    assert!(!files.is_empty());
    let mut bad = Vec::new();
    for file in files {
        bad.extend(mentions(&file, &["app", "views", "config", "providers", "store", "keymap", "plugins"]));
    }
    assert!(bad.is_empty(), "the leaf module imports:\n{}", bad.join("\n"));
}

/// The check itself finds what it looks for (a test that cannot fail proves nothing).
#[test]
fn the_check_sees_a_mention() {
    let dir = std::env::temp_dir().join(format!("skydeck-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("probe.rs");
    std::fs::write(&file, "use crate::app::Screen;\nuse crate::apps::X;\nlet v = crate::views::render;\n").unwrap();
    let found = mentions(&file, &["app", "views"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
}

/// A test file that talks to a provider (its module beyond the identity, or a `[name]` config
/// section) declares the provider's feature, so a one-provider test run
/// (`cargo test --no-default-features --features aws`) builds.
#[test]
fn provider_test_files_declare_their_features() {
    const PROVIDERS: [&str; 5] = ["github", "aws", "azure", "gcp", "kubernetes"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let declared = |name: &str| -> Vec<String> {
        let tests = manifest.get("test").and_then(|t| t.as_array()).cloned().unwrap_or_default();
        tests
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
            .and_then(|t| t.get("required-features")?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect()
    };
    let mut missing = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("tests")).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let features = declared(&name);
        for p in PROVIDERS {
            let module = format!("providers::{p}::");
            // The identity (`PROVIDER`, `kind::`) is in every build; anything else is not.
            let uses_module = text.match_indices(&module).any(|(at, _)| {
                let rest = &text[at + module.len()..];
                !(rest.starts_with("PROVIDER") || rest.starts_with("kind::"))
            });
            let uses_section = text.contains(&format!("[{p}]")) || text.contains(&format!("[[{p}"));
            if (uses_module || uses_section) && !features.iter().any(|f| f == p) {
                missing.push(format!("tests/{name}.rs uses {p} but its [[test]] has no required-features \"{p}\""));
            }
        }
        seen += 1;
    }
    assert!(seen > 20, "found the test files");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
