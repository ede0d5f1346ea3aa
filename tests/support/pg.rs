//! A real `PostgreSQL` server per test: the `PostgreSQL` 15 server binaries (Debian's
//! `postgresql` package; scripts/test.sh installs it), a data dir copied from a template made
//! once with initdb, and a Unix socket in the test's temp dir (no TCP port, so tests never
//! collide, and the socket works inside the loopback-only network namespace).
//!
//! `PostgreSQL` refuses to run as root: as root, the server runs in a user namespace of its
//! own that maps us to uid 1000 (`unshare --map-user`). It is stopped when the `Pg` drops,
//! and also when the test process dies (the wrapper shell stops it at the end of its stdin).
//! There is no fallback: without the binaries these tests fail, saying what to install.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PORT: u16 = 5432;
pub const SUPERUSER: &str = "skydeck";

/// The directory holding initdb, postgres, `pg_isready` and psql.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SKYDECK_PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.flatten().map(|d| d.path().join("bin")).filter(|b| b.join("initdb").exists()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, SKYDECK_PG_BIN unset): \
             install Debian's `postgresql` package (scripts/test.sh does) and run again"
        )
    })
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The command line prefix that runs a server binary as a non-root user.
fn as_server(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("unshare");
        c.args(["--map-user=1000", "--map-group=1000", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// initdb once per build (kept in cargo's test temp dir), copied for each server.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let bin = bin_dir();
        let name = format!("pg-template-{}", bin.display().to_string().replace('/', "_"));
        let done = root.join(&name);
        if done.join("PG_VERSION").exists() {
            return done;
        }
        let scratch = root.join(format!("{name}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let out = as_server(&bin.join("initdb"))
            .arg("-D")
            .arg(&scratch)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Another test binary may have won the race: either copy is a good template.
        if std::fs::rename(&scratch, &done).is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        done
    })
}

pub struct Pg {
    pub dir: tempfile::TempDir,
    server: Option<Child>,
}

impl Pg {
    /// A fresh server with an empty database `skydeck`.
    pub fn start() -> Pg {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let status = Command::new("cp").arg("-a").arg(template()).arg(&data).status().unwrap();
        assert!(status.success(), "copy the template data dir");
        std::fs::create_dir(dir.path().join("sock")).unwrap();
        let mut pg = Pg { dir, server: None };
        pg.run();
        pg.sql("postgres", "CREATE DATABASE skydeck");
        pg
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Starts the server on the existing data dir and waits until it accepts connections.
    pub fn run(&mut self) {
        assert!(self.server.is_none(), "already running");
        let bin = bin_dir();
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let mut server = as_server(Path::new("sh"));
        // The wrapper: the server in the background; when our end of its stdin closes (we
        // stopped it, or this process died), a fast shutdown.
        server
            .args(["-c", r#""$@" & p=$!; cat >/dev/null; kill -INT "$p" 2>/dev/null; wait "$p""#, "pg-wrapper"])
            .arg(bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-k")
            .arg(self.socket_dir())
            .args(["-h", "", "-p", &PORT.to_string(), "-c", "fsync=off", "-c", "synchronous_commit=off"])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // `as_server` put unshare in front of sh: the whole wrapper runs as uid 1000.
        self.server = Some(server.spawn().expect("start postgres"));
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .arg("-h")
                .arg(self.socket_dir())
                .args(["-p", &PORT.to_string(), "-U", SUPERUSER, "-d", "postgres", "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(Ok(Some(status))) = self.server.as_mut().map(std::process::Child::try_wait) {
                panic!("postgres exited ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "postgres did not start in 60 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The URL skydeck is given for database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres:///{db}?host={}&port={PORT}&user={SUPERUSER}", self.socket_dir().display())
    }

    /// Runs SQL with psql; returns its unaligned, tuples-only output.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let mut child = Command::new(bin_dir().join("psql"))
            .arg("-h")
            .arg(self.socket_dir())
            .args(["-p", &PORT.to_string(), "-U", SUPERUSER, "-d", db, "-v", "ON_ERROR_STOP=1", "-tA", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop();
    }
}
