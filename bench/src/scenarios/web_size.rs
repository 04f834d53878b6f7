//! `web_size`: what a browser downloads: the `.wasm`, and the whole `dist/`, raw and gzipped.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::{figure, Suite};

pub fn run(suite: &Suite) -> Result<()> {
    let dir = &suite.dist;
    if !dir.is_dir() {
        bail!(
            "no web app build at {}: build it with `trunk build --release` (scripts/run.sh does)",
            dir.display()
        );
    }
    let (mut wasm, mut wasm_gz) = (0, 0);
    let (mut all, mut all_gz) = (0, 0);
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let (raw, gz) = sizes(&path)?;
        all += raw;
        all_gz += gz;
        if path.extension().is_some_and(|e| e == "wasm") {
            wasm += raw;
            wasm_gz += gz;
        }
    }
    figure("wasm_size", format!("{:.1}", kb(wasm)), "KB");
    figure("wasm_size_gzip", format!("{:.1}", kb(wasm_gz)), "KB");
    figure("dist_size", format!("{:.1}", kb(all)), "KB");
    figure("dist_size_gzip", format!("{:.1}", kb(all_gz)), "KB");
    Ok(())
}

/// A file's size, raw and gzipped at the highest level.
fn sizes(path: &Path) -> Result<(u64, u64)> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&data)?;
    Ok((data.len() as u64, gz.finish()?.len() as u64))
}

fn kb(bytes: u64) -> f64 {
    bytes as f64 / 1000.0
}
