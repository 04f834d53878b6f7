//! `bridge`: parses the flags, starts the bridge, prints where to find it, and runs until Ctrl-C
//! or SIGTERM. A failure to start is one line on stderr and exit code 2. With a subcommand
//! (`pcap`, `replay`, `learn`), it runs that tool on a recording instead.

use std::process::ExitCode;

use bridge::Config;
use clap::Parser;
use protocol::Transport;
use tracing_subscriber::EnvFilter;

mod allocator;

#[tokio::main]
async fn main() -> ExitCode {
    allocator::tune();
    let mut config = Config::parse();
    if let Some(command) = config.command.take() {
        return bridge::subcommands::run(command).await;
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let stop =
        bridge::stop_signal().map_err(|e| format!("cannot watch for Ctrl-C and SIGTERM: {e}"))?;
    tokio::pin!(stop);
    let bridge = tokio::select! {
        started = bridge::start(config) => started?,
        // Stopped while starting (waiting for a FIFO's reader, say): nothing to close yet, and
        // a thread may still wait in that open, which the runtime would wait for at exit.
        () = &mut stop => std::process::exit(0),
    };
    match (bridge.listen_addr, &bridge.listen_problem) {
        (Some(addr), _) => println!("TCP listener on {addr}"),
        (None, Some(problem)) => println!("TCP listener not started: {}", problem.message),
        (None, None) => println!("TCP listener off (--no-listen)"),
    }
    if let Some(addr) = bridge.tls_addr {
        println!("TLS listener on {addr}");
    }
    if let Some(fingerprint) = bridge
        .tls_fingerprint
        .as_ref()
        .filter(|_| bridge.tls_addr.is_some())
    {
        println!("  its certificate's SHA-256 fingerprint: {fingerprint}");
    }
    if let Some(addr) = bridge.udp_addr {
        println!("UDP socket on {addr}");
    }
    for (addr, target, client) in &bridge.proxies {
        let kind = match client {
            Transport::Tcp => "Proxy".to_owned(),
            transport => format!("{} proxy", transport.label()),
        };
        println!("{kind} on {addr}, relaying each client to {target}");
    }
    let tls_proxies = bridge.proxies.iter().any(|(_, _, c)| *c == Transport::Tls);
    if let Some(fingerprint) = bridge
        .tls_fingerprint
        .as_ref()
        .filter(|_| tls_proxies && bridge.tls_addr.is_none())
    {
        println!("  the TLS proxies' certificate's SHA-256 fingerprint: {fingerprint}");
    }
    println!("Open {} in your browser", bridge.url());
    stop.await;
    bridge.shutdown().await;
    Ok(())
}
