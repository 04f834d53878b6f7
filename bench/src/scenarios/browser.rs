//! What the browser scenarios share: a Node.js script drives headless Chromium with the
//! end-to-end tests' packages against the suite's bridge binary, and prints its figures, which
//! are passed on. Without the script, those packages or Chromium, the scenario is skipped with a
//! note rather than failed.

use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context as _, Result};
use tokio::process::Command;

use super::{figure, progress, Suite};

/// Runs `script` for scenario `name`, with `RUNS` and `env` in its environment; `what` is said
/// before it starts.
pub async fn run_script(
    suite: &Suite,
    name: &str,
    script: &str,
    env: &[(&str, String)],
    what: String,
) -> Result<()> {
    let missing = [
        (
            Path::new(script),
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
    if let Some((_, needed)) = missing {
        progress(name, format!("skipped: missing {needed}"));
        figure(name, "skipped", "");
        return Ok(());
    }
    progress(name, what);
    let output = Command::new("node")
        .arg(script)
        .env("BRIDGE_BIN", &suite.bridge)
        .env("RUNS", suite.plan.runs.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("cannot run node")?;
    if !output.status.success() {
        bail!("{script} failed ({})", output.status);
    }
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}
