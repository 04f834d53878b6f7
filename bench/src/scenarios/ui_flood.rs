//! `ui_flood`: the page itself under a flood, in headless Chromium. The browser side is a Node.js
//! script (`bench/ui_flood/ui_flood.js`), run by [`browser::run_script`].

use anyhow::Result;

use super::{browser, Suite};

pub async fn run(suite: &Suite) -> Result<()> {
    let what = format!("{} runs in headless Chromium", suite.plan.runs);
    browser::run_script(suite, "ui_flood", "bench/ui_flood/ui_flood.js", &[], what).await
}
