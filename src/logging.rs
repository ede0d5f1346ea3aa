//! tracing to a file under the XDG state dir, never to the screen. `SKYDECK_LOG` sets the
//! filter (default `info`). If the file cannot be opened, logging is off rather than
//! scribbling over the TUI.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub fn init() -> Option<PathBuf> {
    let dir = crate::paths::state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("skydeck.log");
    let file = OpenOptions::new().create(true).append(true).open(&path).ok()?;
    let filter = EnvFilter::try_from_env("SKYDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_writer(Mutex::new(file)).with_ansi(false).with_env_filter(filter).try_init().ok()?;
    Some(path)
}
