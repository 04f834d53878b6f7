//! The tools for a recording (a `--transcript` file, or the page's JSON Lines download), as
//! subcommands of the one binary: `bridge pcap`, `bridge replay`, `bridge learn`. Each says what it did on stdout,
//! and what stopped it (a file it cannot read, a flag it cannot use) on stderr with exit code 2;
//! `replay` exits 1 when a reply differs.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Subcommand};
use protocol::{ConnId, Transport};

use crate::recording::{self, replay, Conversation};
use crate::tls::ClientOptions;

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Write a recording's conversations as a pcapng file for Wireshark or tshark: synthetic
    /// Ethernet, IP and TCP (handshake, sequence numbers that follow the bytes, FIN or RST at
    /// the close) or UDP around the recorded bytes, at the recorded times. TLS conversations are
    /// written as the plaintext the bridge saw.
    Pcap(PcapArgs),
    /// Play a recording's client side against a real server or device, and compare each reply
    /// with the recorded one. The client is the side that connected: for a conversation the
    /// bridge dialled, what the bridge sent; for one it accepted, what its peer sent; for a
    /// proxied one, what the client sent. Each message is sent once the replies recorded before
    /// it have arrived; each reply is cut as the recording cut it (up to its line feed if it
    /// ended with one, else by its recorded length; over UDP, one datagram). Prints each
    /// difference; exits 0 when every reply matches, 1 otherwise.
    Replay(ReplayArgs),
    /// Write a rules file that makes `bridge --rules FILE` answer as the recorded server (the
    /// side that did not connect) answered: each request it received, paired with what it
    /// sent back before the next one, and what it sent on connect as a greeting. Replies that
    /// differ only in a counter, a trailing checksum or an echo of the request's varying bytes
    /// are learnt once, generalised; others as the exact pairs in order, said in a comment.
    Learn(LearnArgs),
}

#[derive(Clone, Debug, Args)]
pub struct LearnArgs {
    #[command(flatten)]
    pub input: Input,

    /// Where to write the rules (TOML) [default: standard output]
    #[arg(short, long, value_name = "rules.toml")]
    pub output: Option<PathBuf>,
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

#[derive(Clone, Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub input: Input,

    /// The server or device to play against, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,

    /// tcp, tls or udp [default: as each conversation was recorded]
    #[arg(long, value_name = "TRANSPORT", value_parser = parse_transport)]
    pub transport: Option<Transport>,

    /// `recorded`: also wait, before each message, as long after the first as was recorded.
    /// By default each is sent as soon as the replies before it have arrived.
    #[arg(long, value_name = "recorded", value_parser = ["recorded"])]
    pub timing: Option<String>,

    /// Bytes of a reply that may differ (a counter, a timestamp, a checksum): hex with ?? for
    /// such a byte and a final * for any further bytes (e.g. "01 03 04 ?? ?? *"), applied to a
    /// reply that matches it recorded and now; or @N / @N..M, offsets of every reply. May be
    /// repeated.
    #[arg(long, value_name = "PATTERN", value_parser = replay::Ignore::parse)]
    pub ignore: Vec<replay::Ignore>,

    /// How long to wait for each reply (5s, 500ms) before saying it did not come, and
    /// stopping that conversation.
    #[arg(long, value_name = "TIME", default_value = "5s", value_parser = parse_duration)]
    pub reply_timeout: Duration,

    /// Write a JUnit XML report here too (a test case per conversation), for CI.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// TLS: accept whatever certificate the server presents (a device's self-signed one).
    #[arg(long)]
    pub accept_any_certificate: bool,

    /// TLS: certificate authorities (PEM) to trust besides the bundled Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

fn parse_transport(text: &str) -> Result<Transport, String> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Transport::Tcp),
        "tls" => Ok(Transport::Tls),
        "udp" => Ok(Transport::Udp),
        _ => Err("tcp, tls or udp".into()),
    }
}

/// `5s`, `500ms`, `1.5s`, or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 0.001)
    } else {
        (t.strip_suffix('s').unwrap_or(t), 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(Duration::from_secs_f64(n * scale)),
        _ => Err("a time such as 5s or 500ms".into()),
    }
}

/// Runs a tool; its exit code.
pub async fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Pcap(args) => pcap(&args),
        Command::Replay(args) => replay(&args).await,
        Command::Learn(args) => learn(&args),
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

async fn replay(args: &ReplayArgs) -> Result<ExitCode, String> {
    let conversations = args.input.read()?;
    let extra_roots_pem = match &args.tls_ca {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --tls-ca {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let options = replay::Options {
        to: args.to.clone(),
        transport: args.transport,
        timing_recorded: args.timing.is_some(),
        ignore: args.ignore.clone(),
        reply_timeout: args.reply_timeout,
        tls: ClientOptions {
            accept_any_certificate: args.accept_any_certificate,
            extra_roots_pem,
            alpn: Vec::new(),
            handshake_timeout: args.reply_timeout.max(Duration::from_secs(5)),
        },
    };
    let cases = replay::replay(&conversations, &options, |line| println!("{line}")).await;
    if let Some(path) = &args.junit {
        let title = format!(
            "replay of {} against {}",
            args.input.transcript.display(),
            args.to
        );
        std::fs::write(path, replay::junit(&title, &cases))
            .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))?;
    }
    let failed = cases.iter().filter(|c| !c.passed()).count();
    if failed == 0 {
        println!("every reply as recorded ({} conversations)", cases.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{failed} of {} conversations answered otherwise",
            cases.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn learn(args: &LearnArgs) -> Result<ExitCode, String> {
    let conversations = args.input.read()?;
    let source = args.input.transcript.file_name().map_or_else(
        || "a recording".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    // What it writes must be a rules file the bridge starts with.
    let recording::learn::LearntFile {
        text: rules,
        summary,
        ..
    } = recording::learn::learn_checked(&conversations, &source)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &rules)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("{}: {summary}", path.display());
        }
        None => {
            print!("{rules}");
            eprintln!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
