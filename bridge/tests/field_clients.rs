//! The device examples answer clients of the field that nobody here wrote, as their real
//! devices would: pymodbus reads and writes the Modbus RTU example's registers, and PyVISA (with
//! its pure-Python backend, over a raw TCP socket) queries the SCPI example. Each runs against
//! the real binary started with the example's rules file, as the example's comments say to.
//!
//! The clients live in the virtual environment `scripts/test.sh` makes (`PEERS_PYTHON` names its
//! interpreter); without it these tests fail and say how to get them.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a client may take, start to end.
const WAIT: Duration = Duration::from_secs(30);

/// The bridge binary, with a rules file, on loopback ports of its own; killed when dropped.
struct Bridge {
    child: Child,
    port: u16,
}

impl Bridge {
    fn with_rules(example: &str) -> Bridge {
        let rules = format!("{}/../examples/{example}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_bridge"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--rules",
                &rules,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the bridge binary starts");
        let mut out = child.stdout.take().expect("its stdout");
        let mut said = String::new();
        let mut byte = [0u8; 1];
        let port = loop {
            let line = said
                .lines()
                .find_map(|l| l.strip_prefix("TCP listener on 127.0.0.1:"));
            if let Some(port) = line.filter(|_| said.ends_with('\n')) {
                break port.trim().parse().expect("a port");
            }
            match out.read(&mut byte) {
                Ok(1) => said.push(byte[0] as char),
                _ => panic!("the bridge ended before saying where it listens: {said}"),
            }
        };
        // What it says afterwards goes nowhere; the pipe must not fill.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Bridge { child, port }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `script` with the field clients' Python, `port` its argument; its output lines.
fn run_client(script: &str, port: u16) -> Vec<String> {
    let python = std::env::var("PEERS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}); scripts/test.sh installs it"));
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > WAIT {
            let _ = child.kill();
            panic!("the client took more than {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("its output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the client failed: {stderr}\n(without pymodbus and PyVISA: scripts/test.sh installs \
         them and sets PEERS_PYTHON; or pip install pymodbus pyvisa pyvisa-py)"
    );
    String::from_utf8(output.stdout)
        .expect("text")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn pymodbus_reads_and_writes_the_modbus_rtu_example() {
    let bridge = Bridge::with_rules("modbus-like.toml");
    let lines = run_client(
        r#"
import sys
from pymodbus.client import ModbusTcpClient
from pymodbus.framer import FramerType
client = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]), framer=FramerType.RTU, timeout=5, retries=0)
assert client.connect()
for _ in range(2):
    print(client.read_holding_registers(0, count=2, slave=1).registers)
written = client.write_register(5, 1234, slave=1)
print(written.address, written.registers)
refused = client.read_holding_registers(0, count=3, slave=1)
print(refused.isError(), refused.exception_code)
client.close()
"#,
        bridge.port,
    );
    // Register 0 counts the reads, register 1 holds 42; the write is echoed, as Modbus does; a
    // read of another count is "illegal data address" (2). Each reply's CRC was checked by
    // pymodbus, which drops a frame whose CRC is wrong.
    assert_eq!(lines, ["[1, 42]", "[2, 42]", "5 [1234]", "True 2"]);
}

#[test]
fn pyvisa_queries_the_scpi_example() {
    let bridge = Bridge::with_rules("scpi-device.toml");
    let lines = run_client(
        r#"
import sys, pyvisa
manager = pyvisa.ResourceManager("@py")
instrument = manager.open_resource(
    f"TCPIP0::127.0.0.1::{sys.argv[1]}::SOCKET",
    read_termination="\n", write_termination="\n", timeout=5000)
print(instrument.read())
for query in ["*IDN?", "MEAS:VOLT?", "meas:volt?", "SYST:ERR?", "FOO?"]:
    print(instrument.query(query))
instrument.close()
"#,
        bridge.port,
    );
    assert_eq!(
        lines,
        [
            "ACME Instruments DMM-1000 ready",
            "ACME Instruments,DMM-1000,SN0001,1.0.3",
            "+1.000E-03",
            "+2.000E-03",
            "0,\"No error\"",
            "-113,\"Undefined header\"",
        ]
    );
}
