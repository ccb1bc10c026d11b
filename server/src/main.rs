//! lsmkv-server: the original product's REST API (API.md) and the
//! playground over the native, on-disk engine.

mod api;
mod error;
mod query;
mod value;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use lsmkv::{Db, FsStorage, Options};

const USAGE: &str = "\
usage: lsmkv-server [--data-dir DIR] [--preset teaching|production] [--bind ADDR]
                    [--web-root DIR] [--max-body-bytes N]

  --data-dir DIR        the store's directory (default: $KV_DATA_DIR, else ./kv_data)
  --preset NAME         teaching: the original's 30-entry memtable and SSTables (default);
                        production: byte-sized limits, background flushes and compactions
  --bind ADDR           address to listen on (default 127.0.0.1:5000; port 0 picks one)
  --web-root DIR        serve the Trunk-built playground from DIR at /
  --max-body-bytes N    refuse larger request bodies with 413 (default 33554432)";

struct Config {
    data_dir: PathBuf,
    preset: String,
    bind: String,
    web_root: Option<PathBuf>,
    max_body_bytes: usize,
}

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        data_dir: std::env::var_os("KV_DATA_DIR").map_or_else(|| PathBuf::from("kv_data"), PathBuf::from),
        preset: "teaching".into(),
        bind: "127.0.0.1:5000".into(),
        web_root: None,
        max_body_bytes: 32 << 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => config.data_dir = value.into(),
            "--preset" if value == "teaching" || value == "production" => config.preset = value,
            "--preset" => return Err(format!("--preset must be teaching or production, not {value:?}")),
            "--bind" => config.bind = value,
            "--web-root" => config.web_root = Some(value.into()),
            "--max-body-bytes" => {
                config.max_body_bytes =
                    value.parse().map_err(|_| format!("--max-body-bytes must be a number, not {value:?}"))?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(config) => config,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("lsmkv-server: {message}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let options = if config.preset == "production" { Options::production() } else { Options::teaching() };
    let db = match FsStorage::open(&config.data_dir).and_then(|storage| Db::open(storage, options)) {
        Ok(db) => db,
        Err(e) => {
            let code = if e.code() == "LOCKED" { 2 } else { 1 };
            eprintln!("lsmkv-server: LSMKV_{}: cannot open {}: {e}", e.code(), config.data_dir.display());
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lsmkv-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = Arc::new(api::AppState {
        db: db.clone(),
        preset: config.preset.clone(),
        data_dir: config.data_dir.display().to_string(),
        max_body_bytes: config.max_body_bytes,
        web_root: config.web_root.clone(),
        stopping: tokio::sync::watch::channel(false).0,
    });
    let served = runtime.block_on(serve(&config.bind, state));
    // In-flight requests have finished: close the engine (syncs the WAL).
    let closed = db.close();
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match (served, closed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(message), _) => {
            eprintln!("lsmkv-server: {message}");
            ExitCode::FAILURE
        }
        (_, Err(e)) => {
            eprintln!("lsmkv-server: closing the store failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(bind: &str, state: Arc<api::AppState>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("lsmkv-server listening on http://{addr}");
    let stopping = state.stopping.clone();
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stopping.send_replace(true);
        })
        .await
        .map_err(|e| format!("the server failed: {e}"))
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
