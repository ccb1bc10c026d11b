//! lsmkv-server's command line: the REST API (API.md) and the playground
//! over the store in `--data-dir`, or with `--cluster`, one node of a
//! replicated group (README.md, "A three-node cluster").

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lsmkv::{Db, FsStorage, Options};
use lsmkv_server::api;
use lsmkv_server::cluster::{self, Node, NodeId, Tuning};
use lsmkv_server::data::DataStore;

const USAGE: &str = "\
usage: lsmkv-server [--data-dir DIR] [--preset teaching|production] [--bind ADDR]
                    [--web-root DIR] [--max-body-bytes N]
                    [--cluster --node-id N [--raft-heartbeat-ms N] [--raft-election-ms N]
                     [--raft-snapshot-logs N] [--raft-keep-logs N]]

  --data-dir DIR        the store's directory (default: $KV_DATA_DIR, else ./kv_data)
  --preset NAME         teaching: the original's 30-entry memtable and SSTables (default);
                        production: byte-sized limits, background flushes and compactions
  --bind ADDR           address to listen on (default 127.0.0.1:5000; port 0 picks one)
  --web-root DIR        serve the Trunk-built playground from DIR at /
  --max-body-bytes N    refuse larger request bodies with 413 (default 33554432)

cluster mode (README.md): one node of a Raft group; every node has its own --data-dir
  --cluster             run as a cluster node; join the nodes with POST /cluster/init
  --node-id N           this node's id, a whole number from 1 (required with --cluster)
                        (a restarted node binds the address it had before when --bind
                        is absent or has port 0)
  --raft-heartbeat-ms N leader heartbeat interval (default 250)
  --raft-election-ms N  election timeout, randomized between N and 2N (default 1000)
  --raft-snapshot-logs N  build a snapshot every N applied entries (default 5000)
  --raft-keep-logs N    entries kept behind the snapshot for lagging followers (default 1000)";

struct Config {
    data_dir: PathBuf,
    preset: String,
    /// None: the default address (in cluster mode, the one the node had).
    bind: Option<String>,
    web_root: Option<PathBuf>,
    max_body_bytes: usize,
    cluster: bool,
    node_id: Option<NodeId>,
    tuning: Tuning,
}

const DEFAULT_BIND: &str = "127.0.0.1:5000";

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("{flag} must be a number, not {value:?}"))
}

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        data_dir: std::env::var_os("KV_DATA_DIR").map_or_else(|| PathBuf::from("kv_data"), PathBuf::from),
        preset: "teaching".into(),
        bind: None,
        web_root: None,
        max_body_bytes: 32 << 20,
        cluster: false,
        node_id: None,
        tuning: Tuning::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--cluster" => {
                config.cluster = true;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => config.data_dir = value.into(),
            "--preset" if value == "teaching" || value == "production" => config.preset = value,
            "--preset" => return Err(format!("--preset must be teaching or production, not {value:?}")),
            "--bind" => config.bind = Some(value),
            "--web-root" => config.web_root = Some(value.into()),
            "--max-body-bytes" => config.max_body_bytes = number(&flag, &value)?,
            "--node-id" => match number(&flag, &value)? {
                0 => return Err("--node-id must be at least 1".into()),
                id => config.node_id = Some(id),
            },
            "--raft-heartbeat-ms" => config.tuning.heartbeat_ms = number(&flag, &value)?,
            "--raft-election-ms" => {
                config.tuning.election_min_ms = number(&flag, &value)?;
                config.tuning.election_max_ms = 2 * config.tuning.election_min_ms;
            }
            "--raft-snapshot-logs" => config.tuning.snapshot_logs = number(&flag, &value)?,
            "--raft-keep-logs" => config.tuning.keep_logs = number(&flag, &value)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match (config.cluster, config.node_id) {
        (true, None) => Err("--cluster needs --node-id".into()),
        (false, Some(_)) => Err("--node-id is for --cluster".into()),
        _ => config.tuning.raft_config().map(|_| config),
    }
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
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lsmkv-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match config.node_id {
        Some(id) => run_node(&config, id, options, &runtime),
        None => run_single(&config, options, &runtime),
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    code
}

/// The message and exit status for a store that would not open (2: held by
/// another process).
fn open_failed(dir: &Path, e: &lsmkv::Error) -> ExitCode {
    eprintln!("lsmkv-server: LSMKV_{}: cannot open {}: {e}", e.code(), dir.display());
    ExitCode::from(if e.code() == "LOCKED" { 2 } else { 1 })
}

fn app_state(config: &Config, data: Arc<DataStore>, cluster: Option<Arc<Node>>) -> Arc<api::AppState> {
    Arc::new(api::AppState {
        data,
        cluster,
        preset: config.preset.clone(),
        data_dir: config.data_dir.display().to_string(),
        max_body_bytes: config.max_body_bytes,
        web_root: config.web_root.clone(),
        stopping: tokio::sync::watch::channel(false).0,
    })
}

/// Reports how the server and the closing of its stores went.
fn finish(served: Result<(), String>, closed: lsmkv::Result<()>) -> ExitCode {
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

fn run_single(config: &Config, options: Options, runtime: &tokio::runtime::Runtime) -> ExitCode {
    if cluster::is_node_dir(&config.data_dir) {
        eprintln!(
            "lsmkv-server: {} is a cluster node's directory: start it with --cluster --node-id N",
            config.data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let db = match FsStorage::open(&config.data_dir).and_then(|storage| Db::open(storage, options)) {
        Ok(db) => db,
        Err(e) => return open_failed(&config.data_dir, &e),
    };
    let data = Arc::new(DataStore::fixed(db));
    let state = app_state(config, data.clone(), None);
    let bind = config.bind.as_deref().unwrap_or(DEFAULT_BIND);
    let served = runtime.block_on(async {
        let listener = bind_listener(bind).await?;
        serve(listener, state).await
    });
    // In-flight requests have finished: close the engine (syncs the WAL).
    finish(served, data.close())
}

fn run_node(config: &Config, id: NodeId, options: Options, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let dir = &config.data_dir;
    let previous =
        match std::fs::create_dir_all(dir).map_err(|e| e.to_string()).and_then(|()| cluster::claim_dir(dir, id)) {
            Ok(previous) => previous,
            Err(message) => {
                eprintln!("lsmkv-server: {message}");
                return ExitCode::FAILURE;
            }
        };
    let stores = match cluster::open_stores(dir, options) {
        Ok(stores) => stores,
        Err(e) => return open_failed(dir, &e),
    };
    // A node keeps its address: the others know it by it.
    let bind = match (&config.bind, previous) {
        (Some(bind), _) if !bind.ends_with(":0") => bind.clone(),
        (_, Some(previous)) => previous,
        (bind, None) => bind.clone().unwrap_or_else(|| DEFAULT_BIND.to_owned()),
    };
    let served = runtime.block_on(async {
        let listener = bind_listener(&bind).await?;
        let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
        cluster::save_identity(dir, id, &address).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
        let node = Arc::new(Node::start(id, address, &stores, &config.tuning).await?);
        let state = app_state(config, stores.data.clone(), Some(node.clone()));
        let served = serve(listener, state).await;
        let _ = node.raft.shutdown().await;
        served
    });
    let closed = stores.data.close().and(stores.log.close());
    finish(served, closed)
}

/// Binds `address`, retrying for a while if it is still in use (a node
/// restarted right after being killed binds its old address again).
async fn bind_listener(address: &str) -> Result<tokio::net::TcpListener, String> {
    let mut tries = 0;
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("cannot listen on {address}: {e}")),
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<api::AppState>) -> Result<(), String> {
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
