//! Finds the screens that are files (`crates/tui/src/screens/<name>.rs`, each with a `pub const UI:
//! ScreenUi`) so that adding one needs no registry line: `screens/mod.rs` includes the list
//! this writes to `$OUT_DIR/screen_files.rs`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("src/screens");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("src/screens exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| name != "mod")
        .collect();
    names.sort();
    let mut out = String::new();
    for name in &names {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "src/screens/{name}.rs: a screen file is named like a module (lower case, digits, _)"
        );
        let path = dir.join(format!("{name}.rs"));
        writeln!(out, "#[path = {:?}]\nmod {name};", path.display().to_string()).unwrap();
    }
    let list: Vec<String> = names.iter().map(|n| format!("{n}::UI")).collect();
    writeln!(
        out,
        "/// Every screen that is a file under `src/screens/`, by file name.\nconst FILE_UIS: &[ScreenUi] = &[{}];",
        list.join(", ")
    )
    .unwrap();
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("screen_files.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
