//! A real `lsmkv-server` process for tests: started on an ephemeral
//! 127.0.0.1 port over a fresh data directory, stopped (SIGTERM, then
//! SIGKILL if it lingers) when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Option<Child>,
    base: String,
    dir: PathBuf,
    args: Vec<String>,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn fresh_dir() -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("lsmkv-server-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a data directory");
    dir
}

/// Starts the test build's binary with `args` on `dir`; returns it and its
/// base URL.
pub fn spawn(dir: &Path, args: &[String]) -> (Child, String) {
    // Set by cargo for tests; this module is also part of an example, which
    // passes its own binary to `spawn_binary`.
    match option_env!("CARGO_BIN_EXE_lsmkv-server") {
        Some(binary) => spawn_binary(Path::new(binary), dir, args),
        None => panic!("spawn is for tests, whose build names the binary"),
    }
}

/// Starts `binary` with `args` on `dir` and an ephemeral 127.0.0.1 port;
/// returns it and its base URL (read from its first line of output).
pub fn spawn_binary(binary: &Path, dir: &Path, args: &[String]) -> (Child, String) {
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(dir)
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start lsmkv-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("lsmkv-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
        .to_string();
    (child, base)
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Self {
        let dir = fresh_dir();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (child, base) = spawn(&dir, &args);
        TestServer { child: Some(child), base, dir, args }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait; returns the exit status (a graceful stop is 0).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a new process on the same directory (after kill9 or terminate).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart a stopped server");
        let (child, base) = spawn(&self.dir, &self.args);
        self.child = Some(child);
        self.base = base;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends a request and returns the response whatever its status: a 4xx or
/// 5xx is an answer too. A failure to get any answer fails the test.
pub fn respond(agent: &ureq::Agent, method: &str, url: &str, body: Option<(&str, &[u8])>) -> ureq::Response {
    let request = agent.request(method, url);
    let result = match body {
        Some((content_type, bytes)) => request.set("Content-Type", content_type).send_bytes(bytes),
        None => request.call(),
    };
    match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    }
}
