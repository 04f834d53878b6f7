//! `ui_conns`: the page with 10,000 connections, in headless Chromium. The browser side and
//! the peers are a Node.js script (`bench/ui_conns/ui_conns.js`, driving Chromium with the
//! end-to-end tests' packages); this runs it against the same bridge binary and passes its
//! figures on.

use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context as _, Result};
use tokio::process::Command;

use super::{figure, progress, Suite};

const SCRIPT: &str = "bench/ui_conns/ui_conns.js";

pub async fn run(suite: &Suite) -> Result<()> {
    let missing = [
        (
            Path::new(SCRIPT),
            "the script (run from the repository's root)",
        ),
        (
            Path::new("e2e/node_modules/playwright-core"),
            "the e2e packages (scripts/test.sh installs them)",
        ),
        (
            Path::new("/usr/bin/chromium"),
            "Chromium (scripts/test.sh installs it)",
        ),
    ]
    .into_iter()
    .find(|(path, _)| !path.exists());
    if let Some((_, what)) = missing {
        progress("ui_conns", format!("skipped: no {what}"));
        figure("ui_conns", "skipped", "");
        return Ok(());
    }
    // As many as the idle scenario holds: 10,000, or 1,000 in a smoke run.
    let peers = suite.plan.idle_conns;
    progress(
        "ui_conns",
        format!(
            "{peers} peers, {} runs in headless Chromium",
            suite.plan.runs
        ),
    );
    let output = Command::new("node")
        .arg(SCRIPT)
        .env("BRIDGE_BIN", &suite.bridge)
        .env("RUNS", suite.plan.runs.to_string())
        .env("PEERS", peers.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("cannot run node")?;
    if !output.status.success() {
        bail!("{SCRIPT} failed ({})", output.status);
    }
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}
