//! `ui_conns`: the page with 10,000 connections, in headless Chromium. The browser side and
//! the peers are a Node.js script (`bench/ui_conns/ui_conns.js`), run by
//! [`browser::run_script`].

use anyhow::Result;

use super::{browser, Suite};

pub async fn run(suite: &Suite) -> Result<()> {
    // As many as the idle scenario holds: 10,000, or 1,000 in a smoke run.
    let peers = suite.plan.idle_conns;
    let what = format!(
        "{peers} peers, {} runs in headless Chromium",
        suite.plan.runs
    );
    let env = [("PEERS", peers.to_string())];
    browser::run_script(suite, "ui_conns", "bench/ui_conns/ui_conns.js", &env, what).await
}
