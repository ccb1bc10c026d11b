//! Load benchmark of lsmkv-server: requests/s and p50/p99 latency of put,
//! get and range at 1, 16 and 64 concurrent keep-alive connections on
//! loopback, beside the engine's own numbers for the same operations called
//! directly (`lsmkv::Db` on `FsStorage`, same preset, `Durability::Sync`,
//! the same numbers of threads), in one run, so the cost of HTTP shows.
//!
//! ```sh
//! cargo run --release -p lsmkv-server --example load            # every phase, about 2 minutes
//! cargo run --release -p lsmkv-server --example load -- --help
//! ```
//!
//! It builds and starts the release server itself (`--bind 127.0.0.1:0`, a
//! fresh data directory under `$TMPDIR`), and stops it at the end. The client
//! is its own: one thread per connection, each a plain HTTP/1.1 keep-alive
//! connection with `TCP_NODELAY` sending one request at a time, so a
//! measured latency is one request's round trip. Each phase ends after
//! `--ops` requests or `--seconds`, whichever comes first.
//!
//! The operations: put = `POST /api/put` of a 100-byte string value (the
//! engine: `Db::put` of the same 101 bytes the server stores, its type tag
//! and the string) to a random one of `--keys` keys; get = `GET
//! /api/get/<key>` of a random present key (`Db::get`); range = `GET
//! /api/range?start=<key>&limit=10` (`Db::range` from that key, limit 10).
//! Before the phases both stores are loaded with every key (batches of 500)
//! and flushed, so gets and ranges read tables through the block cache.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsmkv::testing::Rng;
use lsmkv::{Db, Durability, FsStorage, Options, RangeOptions};

const HELP: &str = "\
load: lsmkv-server under load on loopback, beside the engine called directly

options:
  --preset teaching|production   both stores' preset (default production)
  --connections LIST             concurrent connections / threads (default 1,16,64)
  --ops N                        requests per phase at most (default 100000)
  --seconds S                    seconds per phase at most (default 4)
  --keys N                       keys loaded before the phases (default 20000)
  --value-bytes N                value size (default 100)
  --only http|engine             run one side only
  --server PATH                  the server binary (default: build and use the release one)
  --dir DIR                      where the data directories go (default $TMPDIR)";

#[derive(Clone)]
struct Args {
    preset: String,
    connections: Vec<usize>,
    ops_max: u64,
    phase_seconds_max: f64,
    keys: u64,
    value_bytes: usize,
    only: Option<String>,
    server: Option<PathBuf>,
    dir: PathBuf,
}

fn parse_args() -> Args {
    let mut args = Args {
        preset: "production".into(),
        connections: vec![1, 16, 64],
        ops_max: 100_000,
        phase_seconds_max: 4.0,
        keys: 20_000,
        value_bytes: 100,
        only: None,
        server: None,
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{HELP}");
            std::process::exit(0);
        }
        let value = it.next().unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        let number = |v: &str| v.parse::<u64>().unwrap_or_else(|_| fail(&format!("{flag}: not a number: {v}")));
        match flag.as_str() {
            "--preset" if value == "teaching" || value == "production" => args.preset = value,
            "--connections" => args.connections = value.split(',').map(|v| number(v) as usize).collect(),
            "--ops" => args.ops_max = number(&value),
            "--seconds" => args.phase_seconds_max = value.parse().unwrap_or_else(|_| fail("--seconds: not a number")),
            "--keys" => args.keys = number(&value).max(1),
            "--value-bytes" => args.value_bytes = number(&value) as usize,
            "--only" if value == "http" || value == "engine" => args.only = Some(value),
            "--server" => args.server = Some(value.into()),
            "--dir" => args.dir = value.into(),
            _ => fail(&format!("unknown option or value: {flag} {value}\n\n{HELP}")),
        }
    }
    if args.connections.contains(&0) {
        fail("--connections: each count must be at least 1");
    }
    args
}

fn fail(message: &str) -> ! {
    eprintln!("load: {message}");
    std::process::exit(2)
}

fn key(i: u64) -> String {
    format!("key{i:012}")
}

// ---------------------------------------------------------------------------
// Measuring

/// Latencies (µs) of one phase, and its wall time.
struct Measured {
    ops: u64,
    seconds: f64,
    latencies_us: Vec<u32>,
}

impl Measured {
    fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    fn percentile_us(&self, p: usize) -> u32 {
        self.latencies_us.get(self.latencies_us.len() * p / 100).copied().unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Put,
    Get,
    Range,
}

const OPS: [Op; 3] = [Op::Put, Op::Get, Op::Range];

/// Runs `threads` threads, each doing `op(thread, rng)` until the phase has
/// done `ops_max` operations or run `seconds_max`; returns every latency.
fn phase<S: Send + 'static>(
    threads: usize,
    args: &Args,
    seed: u64,
    setup: impl Fn(usize) -> S,
    op: impl Fn(&mut S, &mut Rng) + Send + Sync + 'static,
) -> Measured {
    let done = Arc::new(AtomicU64::new(0));
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.phase_seconds_max);
    let ops_max = args.ops_max;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut state = setup(t);
            let (done, op) = (done.clone(), op.clone());
            let mut rng = Rng::new(seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9));
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                while done.fetch_add(1, Ordering::Relaxed) < ops_max && Instant::now() < deadline {
                    let at = Instant::now();
                    op(&mut state, &mut rng);
                    latencies.push(at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                latencies
            })
        })
        .collect();
    let mut latencies_us: Vec<u32> =
        handles.into_iter().flat_map(|h| h.join().expect("a load thread panicked")).collect();
    let seconds = started.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    Measured { ops: latencies_us.len() as u64, seconds, latencies_us }
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client

struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    fn open(addr: &str) -> Connection {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| fail(&format!("connect {addr}: {e}")));
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Connection {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            request: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Sends one request and reads its whole answer; fails the run on anything but a 200.
    fn call(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> &[u8] {
        self.request.clear();
        let _ = write!(self.request, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(body) = body {
            let _ = write!(self.request, "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            self.request.extend_from_slice(body);
        } else {
            self.request.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&self.request).unwrap_or_else(|e| fail(&format!("{method} {path}: {e}")));
        self.read_answer(method, path)
    }

    fn read_answer(&mut self, method: &str, path: &str) -> &[u8] {
        let mut line = String::new();
        let mut status = 0;
        let (mut length, mut chunked) = (0usize, false);
        for i in 0..200 {
            line.clear();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                fail(&format!("{method} {path}: the connection closed"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if i == 0 {
                status = header.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        self.body.clear();
        if chunked {
            self.read_chunks();
        } else {
            self.body.resize(length, 0);
            self.reader.read_exact(&mut self.body).unwrap_or_else(|e| fail(&format!("{method} {path}: {e}")));
        }
        if status != 200 {
            fail(&format!("{method} {path}: status {status}: {}", String::from_utf8_lossy(&self.body)));
        }
        &self.body
    }

    fn read_chunks(&mut self) {
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
            let at = self.body.len();
            self.body.resize(at + size, 0);
            self.reader.read_exact(&mut self.body[at..]).unwrap();
            line.clear();
            self.reader.read_line(&mut line).unwrap(); // the CRLF after the chunk
            if size == 0 {
                return;
            }
        }
    }
}

/// The server process, stopped with SIGTERM (graceful) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release server next to this example (`target/release/examples/load`
/// → `target/release/lsmkv-server`), built first so it is never stale.
fn server_binary(args: &Args) -> PathBuf {
    if let Some(path) = &args.server {
        return path.clone();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "lsmkv-server", "--bin", "lsmkv-server", "--manifest-path"])
        .arg(&manifest)
        .status()
        .unwrap_or_else(|e| fail(&format!("cargo build: {e}")));
    if !status.success() {
        fail("cargo build of lsmkv-server failed");
    }
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(Path::parent).unwrap_or_else(|| fail("where is target/release?"));
    release.join("lsmkv-server")
}

fn start_server(binary: &Path, dir: &Path, preset: &str) -> Server {
    let mut child = Command::new(binary)
        .args(["--bind", "127.0.0.1:0", "--preset", preset, "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("start {}: {e}", binary.display())));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let Some(addr) = line.trim().strip_prefix("lsmkv-server listening on http://") else {
        let _ = child.kill();
        fail(&format!("unexpected first line from the server: {line:?}"))
    };
    Server { addr: addr.to_string(), child }
}

fn put_body(key: &str, value: &str) -> Vec<u8> {
    format!("{{\"key\":\"{key}\",\"value\":\"{value}\"}}").into_bytes()
}

fn run_http(args: &Args, dir: &Path) -> Vec<(Op, usize, Measured)> {
    let binary = server_binary(args);
    let server = start_server(&binary, dir, &args.preset);
    let addr = server.addr.clone();
    let value: String = "v".repeat(args.value_bytes);
    // Load every key, then flush, so reads find tables.
    let mut connection = Connection::open(&addr);
    for first in (0..args.keys).step_by(500) {
        let items: Vec<String> =
            (first..(first + 500).min(args.keys)).map(|i| format!("\"{}\":\"{value}\"", key(i))).collect();
        connection.call("POST", "/api/batch_put", Some(format!("{{\"items\":{{{}}}}}", items.join(",")).as_bytes()));
    }
    connection.call("POST", "/api/flush", Some(b"{}"));
    let mut results = Vec::new();
    for op in OPS {
        for &threads in &args.connections {
            let (addr, value, keys) = (addr.clone(), value.clone(), args.keys);
            let measured = phase(
                threads,
                args,
                7,
                move |_| Connection::open(&addr),
                move |c, rng| {
                    let k = key(rng.below(keys));
                    match op {
                        Op::Put => {
                            c.call("POST", "/api/put", Some(&put_body(&k, &value)));
                        }
                        Op::Get => {
                            c.call("GET", &format!("/api/get/{k}"), None);
                        }
                        Op::Range => {
                            c.call("GET", &format!("/api/range?start={k}&limit=10"), None);
                        }
                    }
                },
            );
            eprintln!("http   {op:?} x{threads}: {:.0}/s", measured.ops_per_second());
            results.push((op, threads, measured));
        }
    }
    drop(server);
    results
}

fn run_engine(args: &Args, dir: &Path) -> Vec<(Op, usize, Measured)> {
    let options = if args.preset == "teaching" { Options::teaching() } else { Options::production() };
    assert_eq!(options.durability, Durability::Sync, "the server writes with Durability::Sync");
    let db = Db::open(FsStorage::open(dir).unwrap_or_else(|e| fail(&format!("open {}: {e}", dir.display()))), options)
        .unwrap_or_else(|e| fail(&format!("open: {e}")));
    // What the server stores for a string value: its type tag 0x01, then the text.
    let mut value = vec![0x01];
    value.extend(std::iter::repeat_n(b'v', args.value_bytes));
    for first in (0..args.keys).step_by(500) {
        db.batch_put((first..(first + 500).min(args.keys)).map(|i| (key(i), value.clone()))).unwrap();
    }
    db.flush().unwrap();
    let mut results = Vec::new();
    for op in OPS {
        for &threads in &args.connections {
            let (db2, value, keys) = (db.clone(), value.clone(), args.keys);
            let measured = phase(
                threads,
                args,
                7,
                move |_| db2.clone(),
                move |db, rng| {
                    let k = key(rng.below(keys));
                    match op {
                        Op::Put => db.put(k.as_bytes(), &value).unwrap(),
                        Op::Get => assert!(db.get(k.as_bytes()).unwrap().is_some()),
                        Op::Range => {
                            let options = RangeOptions {
                                start: Bound::Included(k.into_bytes()),
                                limit: Some(10),
                                ..RangeOptions::default()
                            };
                            assert!(!db.range(&options).unwrap().is_empty());
                        }
                    }
                },
            );
            eprintln!("engine {op:?} x{threads}: {:.0}/s", measured.ops_per_second());
            results.push((op, threads, measured));
        }
    }
    db.close().unwrap();
    results
}

fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = read("/proc/sys/kernel/osrelease");
    format!(
        "{cpu}, {cores} cores, Linux {}, load average {}",
        kernel.trim(),
        read("/proc/loadavg").split(' ').take(3).collect::<Vec<_>>().join(" ")
    )
}

fn rate(ops_per_second: f64) -> String {
    match ops_per_second {
        r if r >= 1e6 => format!("{:.2}M", r / 1e6),
        r if r >= 1e4 => format!("{:.0}k", r / 1e3),
        r if r >= 1e3 => format!("{:.1}k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

fn micros(us: u32) -> String {
    if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn main() {
    let args = parse_args();
    println!("machine: {}", machine());
    let root = args.dir.join(format!("lsmkv-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let started = Instant::now();
    let http = if args.only.as_deref() != Some("engine") { run_http(&args, &root.join("server")) } else { Vec::new() };
    let engine =
        if args.only.as_deref() != Some("http") { run_engine(&args, &root.join("engine")) } else { Vec::new() };
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "\npreset {}, Durability::Sync, {} keys loaded and flushed, {}-byte values, each phase ≤ {} ops or {} s; {:.0} s in all; load average after: {}\n",
        args.preset,
        args.keys,
        args.value_bytes,
        args.ops_max,
        args.phase_seconds_max,
        started.elapsed().as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| op | connections | HTTP req/s | HTTP p50 | HTTP p99 | engine ops/s | engine p50 | engine p99 | HTTP / engine |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for op in OPS {
        for &threads in &args.connections {
            let find =
                |results: &[(Op, usize, Measured)]| results.iter().position(|(o, t, _)| *o == op && *t == threads);
            let show = |m: Option<&Measured>| match m {
                Some(m) => format!(
                    "{} | {} | {}",
                    rate(m.ops_per_second()),
                    micros(m.percentile_us(50)),
                    micros(m.percentile_us(99))
                ),
                None => "– | – | –".into(),
            };
            let h = find(&http).map(|i| &http[i].2);
            let e = find(&engine).map(|i| &engine[i].2);
            let ratio = match (h, e) {
                (Some(h), Some(e)) => format!("{:.2}×", h.ops_per_second() / e.ops_per_second()),
                _ => "–".into(),
            };
            println!("| {} | {threads} | {} | {} | {ratio} |", format!("{op:?}").to_lowercase(), show(h), show(e));
        }
    }
}
