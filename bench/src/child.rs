//! One engine's phases in a child process: the parent re-executes its own
//! binary with `--child JOB` (the job as JSON), reads the child's stdout as
//! JSON lines (one `Message` each) and files them into its `Results`. The
//! child's progress lines go to stderr, which it shares with the parent.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::{Kind, Res};
use crate::{report, Results, Sample, WriteInfo};

/// The hidden argument that makes the binary a child.
pub const FLAG: &str = "--child";

/// What one child runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub config: Config,
    pub kind: Kind,
    /// The engine's name in the report (`lsmkv`, `lsmkv-teaching@20000`, …).
    pub label: String,
    pub num: u64,
    pub workloads: Vec<String>,
    /// The child's databases go in subdirectories of this one.
    pub dir: PathBuf,
}

/// One line of a child's stdout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Sample { workload: String, threads: usize, sample: Sample },
    Write { workload: String, threads: usize, info: WriteInfo },
    Anomaly { what: String },
    Note { text: String },
}

/// Parent side: runs `job` in a child process and files its messages.
pub fn run(job: &Job, results: &mut Results) -> Res<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg(FLAG)
        .arg(serde_json::to_string(job)?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        match serde_json::from_str::<Message>(&line) {
            Ok(message) => file(job, message, results),
            // Not ours (an engine printing to stdout): pass it on.
            Err(_) => eprintln!("{line}"),
        }
    }
    let status = child.wait()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("its process ended with {status}").into())
    }
}

fn file(job: &Job, message: Message, results: &mut Results) {
    let label = job.label.clone();
    match message {
        Message::Sample { workload, threads, sample } => {
            results.samples.entry((label, workload, threads)).or_default().push(sample)
        }
        Message::Write { workload, threads, info } => {
            results.writes.entry((label, workload, threads)).or_default().push(info)
        }
        Message::Anomaly { what } => results.anomalies.push(format!("{label}: {what}")),
        Message::Note { text } => {
            results.notes.insert(label, text);
        }
    }
}

/// Child side: runs the job and exits (1 on an error, which it prints).
pub fn main(job: &str) -> ! {
    let outcome = serde_json::from_str::<Job>(job)
        .map_err(|e| format!("bad job: {e}").into())
        .and_then(|job| crate::phases::run(&job, &mut Out));
    match outcome {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            // Into the report too, not only the scrolled-away progress lines.
            Out.send(&Message::Anomaly { what: format!("stopped by an error: {e}") });
            std::process::exit(1);
        }
    }
}

/// The child's side of the channel: messages to stdout, progress to stderr.
pub struct Out;

impl Out {
    pub fn send(&mut self, message: &Message) {
        if let Message::Sample { workload, threads, sample } = message {
            let name = if *threads > 1 { format!("{workload} ×{threads}") } else { workload.clone() };
            eprintln!(
                "  {name:<20} {:>10.0} ops/s  p50 {:>8}  p99 {:>8}  p99.9 {:>8}  max {:>8}",
                sample.ops_per_sec,
                report::nanos(sample.p50_ns),
                report::nanos(sample.p99_ns),
                report::nanos(sample.p999_ns),
                report::nanos(sample.max_ns)
            );
        }
        if let Message::Anomaly { what } = message {
            eprintln!("  !! {what}");
        }
        let line = serde_json::to_string(message).expect("messages serialize");
        let mut stdout = std::io::stdout().lock();
        // The parent reads until EOF; if it is gone there is no one to tell.
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }
}
