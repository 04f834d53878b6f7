//! The tools for a recording (a `--transcript` file, or the page's JSON Lines download), as
//! subcommands of the one binary: `bridge pcap`. Each says what it did on stdout, and what went
//! wrong on stderr with exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use protocol::ConnId;

use crate::recording::{self, Conversation};

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Write a recording's conversations as a pcapng file for Wireshark or tshark: synthetic
    /// Ethernet, IP and TCP (handshake, sequence numbers that follow the bytes, FIN or RST at
    /// the close) or UDP around the recorded bytes, at the recorded times. TLS conversations are
    /// written as the plaintext the bridge saw.
    Pcap(PcapArgs),
}

/// What every tool reads.
#[derive(Clone, Debug, Args)]
pub struct Input {
    /// The recording: a --transcript file, or the page's JSON Lines download.
    #[arg(value_name = "TRANSCRIPT")]
    pub transcript: PathBuf,

    /// Only conversation N (in every run of the bridge the file holds); by default, all.
    #[arg(long, value_name = "N")]
    pub conn: Option<ConnId>,

    /// Leave out lines that are not the format (a last line cut short by a crash), naming
    /// each on stderr, instead of refusing the file.
    #[arg(long)]
    pub skip_bad: bool,
}

impl Input {
    /// The conversations picked, with each line skipped said on stderr.
    pub fn read(&self) -> Result<Vec<Conversation>, String> {
        let recording = recording::read_file(&self.transcript, self.skip_bad)
            .map_err(|e| format!("{}: {e}", self.transcript.display()))?;
        for bad in &recording.skipped {
            eprintln!("{}: skipped {bad}", self.transcript.display());
        }
        recording
            .pick(self.conn)
            .map_err(|e| format!("{}: {e}", self.transcript.display()))
    }
}

#[derive(Clone, Debug, Args)]
pub struct PcapArgs {
    #[command(flatten)]
    pub input: Input,

    /// The pcapng file to write.
    #[arg(short, long, value_name = "FILE.pcapng")]
    pub output: PathBuf,
}

/// Runs a tool; its exit code.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Pcap(args) => pcap(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn pcap(args: &PcapArgs) -> Result<ExitCode, String> {
    let conversations = args.input.read()?;
    let file = std::fs::File::create(&args.output)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let written = recording::pcap::write(&conversations, &mut out)?;
    std::io::Write::flush(&mut out)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    println!(
        "{}: {} conversation{}, {} packets",
        args.output.display(),
        written.conversations,
        if written.conversations == 1 { "" } else { "s" },
        written.packets
    );
    Ok(ExitCode::SUCCESS)
}
