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
    let mut filter = EnvFilter::try_from_env("SKYDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // The AWS SDK's orchestrator logs the resolved identity (the access key id) at debug: kept
    // at info unless asked for by name.
    if !std::env::var("SKYDECK_LOG").unwrap_or_default().contains("aws_smithy_runtime")
        && let Ok(d) = "aws_smithy_runtime=info".parse()
    {
        filter = filter.add_directive(d);
    }
    tracing_subscriber::fmt().with_writer(Mutex::new(file)).with_ansi(false).with_env_filter(filter).try_init().ok()?;
    Some(path)
}
