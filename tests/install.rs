//! Integration tests for `install.sh`: install, idempotency, user-modified
//! themes, uninstall, error handling, and shellcheck cleanliness.
//!
//! Every test uses its own temporary directory for the prefix, `HOME` and
//! `XDG_CONFIG_HOME`, so they are independent and never touch the real user.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    repo_dir().join("install.sh")
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skydeck"))
}

/// The shipped `themes/*.toml` files, sorted by name.
fn shipped_themes() -> Vec<PathBuf> {
    let mut themes: Vec<PathBuf> = fs::read_dir(repo_dir().join("themes"))
        .expect("themes/ directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    themes.sort();
    assert!(!themes.is_empty(), "no themes/*.toml shipped");
    themes
}

fn config_dir(tmp: &Path) -> PathBuf {
    tmp.join("config").join("skydeck")
}

fn prefix(tmp: &Path) -> PathBuf {
    tmp.join("prefix")
}

/// `bash install.sh ARGS` with HOME / `XDG_CONFIG_HOME` pointing into `tmp`.
fn command(tmp: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .args(args)
        .env("HOME", tmp.join("home"))
        .env("XDG_CONFIG_HOME", tmp.join("config"))
        .env_remove("PREFIX")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(tmp);
    cmd
}

fn run(tmp: &Path, args: &[&str]) -> Output {
    command(tmp, args).output().expect("failed to run bash install.sh")
}

fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn install_args(tmp: &Path) -> Vec<String> {
    vec!["--binary".into(), binary().display().to_string(), "--prefix".into(), prefix(tmp).display().to_string()]
}

fn install(tmp: &Path) -> Output {
    let args = install_args(tmp);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(tmp, &args)
}

fn uninstall(tmp: &Path) -> Output {
    let prefix = prefix(tmp).display().to_string();
    run(tmp, &["--uninstall", "--prefix", &prefix])
}

/// Every regular file under `dir` (relative path -> contents).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn new_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir).into_keys().filter(|p| p.to_string_lossy().ends_with(".new")).collect()
}

fn assert_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed\n{}", describe(out));
}

fn assert_failure(out: &Output, what: &str) {
    assert!(!out.status.success(), "{what} unexpectedly succeeded\n{}", describe(out));
}

#[test]
fn install_reinstall_modify_and_uninstall() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let cfg = config_dir(tmp);
    let themes_dir = cfg.join("themes");
    let installed_bin = prefix(tmp).join("bin").join("skydeck");

    // --- first install --------------------------------------------------
    let out = install(tmp);
    assert_success(&out, "first install");

    let meta = fs::metadata(&installed_bin).expect("binary installed");
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o755, "installed binary should have mode 755");
    assert_eq!(meta.len(), fs::metadata(binary()).unwrap().len(), "installed binary should be a copy of --binary");

    for theme in shipped_themes() {
        let dest = themes_dir.join(theme.file_name().unwrap());
        let installed = fs::read(&dest).unwrap_or_else(|e| panic!("{} not installed: {e}", dest.display()));
        assert_eq!(installed, fs::read(&theme).unwrap(), "{}", dest.display());
    }

    let manifest = fs::read_to_string(cfg.join(".installed-files")).expect("manifest written");
    assert!(manifest.lines().any(|l| Path::new(l) == installed_bin), "manifest should list the binary:\n{manifest}");

    let last_line = stdout(&out).lines().last().unwrap_or_default().to_owned();
    assert!(
        last_line.contains(&prefix(tmp).join("bin").display().to_string()) && last_line.contains("PATH"),
        "final line should say where it installed and whether it is on PATH: {last_line:?}"
    );

    // --- second install: idempotent ---------------------------------------
    let before = snapshot(tmp);
    let out = install(tmp);
    assert_success(&out, "second install");
    assert!(new_files(tmp).is_empty(), "no .new files expected\n{}", describe(&out));
    assert_eq!(
        snapshot(tmp).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "second install should produce the same files"
    );
    assert_eq!(snapshot(tmp), before, "second install should change nothing");

    // --- the user modifies a theme and adds their own files -----------------
    let shipped_dark = repo_dir().join("themes").join("dark.toml");
    assert!(shipped_dark.is_file(), "themes/dark.toml should be shipped");
    let user_dark = themes_dir.join("dark.toml");
    let mut modified = fs::read_to_string(&user_dark).unwrap();
    modified.push_str("# my tweak\naccent = \"#ff00ff\"\n");
    fs::write(&user_dark, &modified).unwrap();
    let user_theme = themes_dir.join("mine.toml");
    fs::write(&user_theme, "name = \"mine\"\n").unwrap();
    let user_config = cfg.join("config.toml");
    fs::write(&user_config, "theme = \"mine\"\n").unwrap();

    let out = install(tmp);
    assert_success(&out, "install over a modified theme");
    assert_eq!(fs::read_to_string(&user_dark).unwrap(), modified, "the user's modified theme must be kept");
    let dark_new = themes_dir.join("dark.toml.new");
    assert_eq!(
        fs::read(&dark_new).expect("dark.toml.new written"),
        fs::read(&shipped_dark).unwrap(),
        "dark.toml.new should be the shipped theme"
    );
    assert!(stdout(&out).contains("dark.toml.new"), "install should point out the .new file\n{}", describe(&out));
    assert_eq!(
        new_files(tmp),
        vec![PathBuf::from("config/skydeck/themes/dark.toml.new")],
        "only the modified theme gets a .new file"
    );
    assert_eq!(fs::read_to_string(&user_config).unwrap(), "theme = \"mine\"\n");
    assert_eq!(fs::read_to_string(&user_theme).unwrap(), "name = \"mine\"\n");

    // Still idempotent with the modification in place.
    let before = snapshot(tmp);
    let out = install(tmp);
    assert_success(&out, "re-install over a modified theme");
    assert_eq!(snapshot(tmp), before, "re-install should change nothing");

    // --- uninstall -------------------------------------------------------
    let out = uninstall(tmp);
    assert_success(&out, "uninstall");
    assert!(stdout(&out).contains("removed"), "uninstall should say what it removed\n{}", describe(&out));
    assert!(!installed_bin.exists(), "binary should be removed");
    for theme in shipped_themes() {
        let name = theme.file_name().unwrap();
        if name == "dark.toml" {
            continue;
        }
        let dest = themes_dir.join(name);
        assert!(!dest.exists(), "{} should be removed", dest.display());
    }
    // The user's modified theme is their data: kept. The shipped copy beside
    // it (.new) was ours: removed.
    assert_eq!(fs::read_to_string(&user_dark).unwrap(), modified, "uninstall must keep the user-modified theme");
    assert!(!dark_new.exists(), "dark.toml.new should be removed");
    assert!(new_files(tmp).is_empty());
    // User-added files and config.toml are never touched.
    assert_eq!(fs::read_to_string(&user_theme).unwrap(), "name = \"mine\"\n");
    assert_eq!(fs::read_to_string(&user_config).unwrap(), "theme = \"mine\"\n");

    // --- second uninstall: nothing to do ----------------------------------
    let out = uninstall(tmp);
    assert_success(&out, "second uninstall");
    assert!(
        stdout(&out).to_lowercase().contains("nothing to remove"),
        "second uninstall should say there is nothing to remove\n{}",
        describe(&out)
    );
    assert_eq!(fs::read_to_string(&user_dark).unwrap(), modified);
    assert_eq!(fs::read_to_string(&user_config).unwrap(), "theme = \"mine\"\n");
}

#[test]
fn uninstall_of_clean_install_removes_everything_shipped() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    assert_success(&install(tmp), "install");
    assert_success(&uninstall(tmp), "uninstall");
    let left: Vec<PathBuf> = snapshot(tmp).into_keys().collect();
    assert!(left.is_empty(), "files left after uninstall: {left:?}");
}

#[test]
fn help_mentions_uninstall() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["--help"]);
    assert_success(&out, "--help");
    let text = stdout(&out);
    assert!(text.contains("--uninstall"), "--help should mention --uninstall:\n{text}");
    assert!(text.contains("--prefix") && text.contains("--binary"), "{text}");
    assert!(snapshot(tmp.path()).is_empty(), "--help must not install anything");
}

#[test]
fn unknown_option_fails_with_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["--frobnicate"]);
    assert_failure(&out, "unknown option");
    assert!(
        stderr(&out).contains("unknown option") && stderr(&out).contains("--frobnicate"),
        "expected an 'unknown option' message\n{}",
        describe(&out)
    );
    assert!(snapshot(tmp.path()).is_empty(), "nothing should be installed");
}

#[test]
fn unwritable_prefix_fails_with_message() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    // A prefix below a regular file can never be created, even as root.
    let file = tmp.join("file");
    fs::write(&file, "not a directory\n").unwrap();
    let bad_prefix = file.join("prefix");
    let out = run(tmp, &["--binary", &binary().display().to_string(), "--prefix", &bad_prefix.display().to_string()]);
    assert_failure(&out, "install to an unwritable prefix");
    let err = stderr(&out);
    assert!(
        err.contains("cannot write to") && err.contains(&bad_prefix.display().to_string()),
        "expected a 'cannot write to <prefix>' message\n{}",
        describe(&out)
    );
    assert!(err.contains("--prefix"), "message should suggest --prefix\n{err}");
    assert!(!config_dir(tmp).exists(), "nothing should be installed");
}

#[test]
fn missing_binary_fails_with_message() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let missing = tmp.join("no-such-skydeck");
    let out = run(tmp, &["--binary", &missing.display().to_string(), "--prefix", &prefix(tmp).display().to_string()]);
    assert_failure(&out, "install of a missing --binary");
    assert!(
        stderr(&out).contains(&missing.display().to_string()),
        "message should name the missing binary\n{}",
        describe(&out)
    );
    assert!(!prefix(tmp).exists() && !config_dir(tmp).exists(), "nothing should be installed");
}

/// A directory holding only the tools install.sh needs (symlinks to the
/// system's), so `cargo` is certainly not on a PATH made of it.
fn path_without_cargo(tmp: &Path) -> PathBuf {
    let dir = tmp.join("sysbin");
    fs::create_dir_all(&dir).unwrap();
    let tools = ["bash", "cat", "chmod", "cmp", "cp", "dirname", "mkdir", "mktemp", "mv", "rm", "rmdir", "sort"];
    for tool in tools {
        let found =
            ["/usr/bin", "/bin", "/usr/local/bin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.is_file());
        if let Some(target) = found {
            std::os::unix::fs::symlink(target, dir.join(tool)).unwrap();
        }
    }
    assert!(dir.join("bash").exists(), "bash not found in /usr/bin or /bin");
    assert!(!dir.join("cargo").exists());
    dir
}

#[test]
fn missing_cargo_fails_with_message() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let sysbin = path_without_cargo(tmp);
    let out = command(tmp, &["--prefix", &prefix(tmp).display().to_string()])
        .env("PATH", &sysbin)
        .output()
        .expect("failed to run bash install.sh");
    assert_failure(&out, "install without cargo");
    assert!(
        stderr(&out).contains("cargo not found") && stderr(&out).contains("https://rustup.rs"),
        "expected 'cargo not found: install Rust from https://rustup.rs'\n{}",
        describe(&out)
    );
    assert!(!prefix(tmp).join("bin").join("skydeck").exists());
}

#[test]
fn install_sh_is_shellcheck_clean() {
    let out = match Command::new("shellcheck").arg("install.sh").current_dir(repo_dir()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "shellcheck is not installed, so install.sh cannot be checked. \
             scripts/test.sh installs it (apt-get install -y shellcheck); \
             run the tests through scripts/test.sh or install shellcheck first"
        ),
        Err(e) => panic!("failed to run shellcheck: {e}"),
    };
    assert!(out.status.success(), "shellcheck install.sh reported problems\n{}", describe(&out));
}
