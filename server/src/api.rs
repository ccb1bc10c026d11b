//! The routes of API.md. Engine calls block (a write waits for its WAL
//! sync), so each runs on tokio's blocking pool: concurrent writers then
//! wait together and share one sync (the engine's group commit).

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use lsmkv::report::{self as view, KeyStyle};
use lsmkv::{Db, RangeOptions};
use serde_json::{json, Map, Value};

use crate::cluster::{self, Node};
use crate::command::{self, Command, Group, Op, Reply};
use crate::data::DataStore;
use crate::error::{ApiError, ApiResult};
use crate::{query, value};

/// What every handler shares.
pub struct AppState {
    /// The store the API reads (in cluster mode, the Raft state machine).
    pub data: Arc<DataStore>,
    /// Cluster mode: this node's Raft member (writes go through it).
    pub cluster: Option<Arc<Node>>,
    pub preset: String,
    pub data_dir: String,
    pub max_body_bytes: usize,
    pub web_root: Option<PathBuf>,
    /// Set to `true` once shutdown begins: event streams end on it, so an
    /// open stream (the playground keeps one) does not hold shutdown up.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

type Shared = State<Arc<AppState>>;

/// The OpenAPI description (checked against these routes by the tests).
pub const OPENAPI: &str = include_str!("../openapi.json");

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/stats", only(MethodFilter::GET, "GET", stats))
        .route("/api/health", only(MethodFilter::GET, "GET", health))
        .route("/api/keys", only(MethodFilter::GET, "GET", keys))
        .route("/api/get/{*key}", only(MethodFilter::GET, "GET", get))
        .route("/api/put", only(MethodFilter::POST, "POST", put))
        .route("/api/delete/{*key}", only(MethodFilter::DELETE, "DELETE", delete))
        .route("/api/batch_put", only(MethodFilter::POST, "POST", batch_put))
        .route(
            "/api/range",
            on(MethodFilter::GET, range).on(MethodFilter::DELETE, delete_range).fallback(not_allowed("GET, DELETE")),
        )
        .route("/api/flush", only(MethodFilter::POST, "POST", flush))
        .route("/api/compact", only(MethodFilter::POST, "POST", compact))
        .route(
            "/api/kv/{*key}",
            on(MethodFilter::GET, kv_get).on(MethodFilter::PUT, kv_put).fallback(not_allowed("GET, PUT")),
        )
        .route("/api/batch", only(MethodFilter::POST, "POST", batch))
        .route("/api/events", only(MethodFilter::GET, "GET", events))
        .route("/api/explain/{*key}", only(MethodFilter::GET, "GET", explain))
        .route("/api/inspect/{table}", only(MethodFilter::GET, "GET", inspect))
        .route("/api/space", only(MethodFilter::GET, "GET", space))
        .route("/api/openapi.json", only(MethodFilter::GET, "GET", openapi))
        .merge(cluster::routes::router())
        .fallback(fallback)
        .with_state(state)
}

/// A route answering one method, and 405 (with `Allow`) to the others.
pub(crate) fn only<H, T>(filter: MethodFilter, allow: &'static str, handler: H) -> MethodRouter<Arc<AppState>>
where
    H: axum::handler::Handler<T, Arc<AppState>>,
    T: 'static,
{
    on(filter, handler).fallback(not_allowed(allow))
}

fn not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<ApiError> + Clone + Send + 'static {
    move || std::future::ready(ApiError::method_not_allowed(allow))
}

/// Runs an engine call on the blocking pool.
async fn engine<T: Send + 'static>(
    state: &Arc<AppState>,
    call: impl FnOnce(&Db) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let generation = state.data.current();
    tokio::task::spawn_blocking(move || call(generation.db()))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "LSMKV_IO", format!("engine task failed: {e}")))?
}

/// Runs a write: at once against the store (single mode), or through the
/// cluster's leader. Returns the command's count (`command::Reply`).
async fn apply(state: &Arc<AppState>, command: Command) -> ApiResult<u64> {
    let reply = match &state.cluster {
        None => {
            engine(state, move |db| {
                let mut group = Group::new(db, false);
                let reply = group.stage(&command)?;
                group.commit()?;
                Ok(reply)
            })
            .await?
        }
        Some(node) => cluster::client::write(node, command).await?,
    };
    match reply {
        Reply::Applied { count } => Ok(count),
        Reply::Rejected { code, message } => Err(ApiError::engine(&code, message)),
        Reply::Many { .. } => Err(ApiError::engine("IO", "one write got the replies of several")),
    }
}

/// Before a read: in cluster mode, unless `stale`, waits until reading the
/// local store is linearizable; and keeps the Raft metadata out of `range`.
async fn before_read(state: &Arc<AppState>, stale: bool, range: Option<&mut RangeOptions>) -> ApiResult<()> {
    if let Some(node) = &state.cluster {
        if let Some(range) = range {
            command::hide_metadata(range);
        }
        if !stale {
            cluster::client::read_barrier(node).await?;
        }
    }
    Ok(())
}

/// `{ success: true, ...body }`, `success` first as the original writes it.
fn ok(body: Map<String, Value>) -> Response {
    let mut ordered = Map::new();
    ordered.insert("success".into(), Value::Bool(true));
    ordered.extend(body);
    Json(Value::Object(ordered)).into_response()
}

/// A member of an answer that carries stored values as their raw text.
enum Field {
    V(Value),
    R(value::Raw),
    /// The original's `data` object of key → value.
    Map(Vec<(String, value::Raw)>),
    /// `[{ key, value }, ...]`.
    Items(Vec<(Value, value::Raw)>),
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Field::V(v) => v.serialize(s),
            Field::R(r) => r.serialize(s),
            Field::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Field::Items(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for (key, value) in items {
                    seq.serialize_element(&Item { key, value })?;
                }
                seq.end()
            }
        }
    }
}

#[derive(serde::Serialize)]
struct Item<'a> {
    key: &'a Value,
    value: &'a value::Raw,
}

/// `{ success: true, ...members }` with raw values.
fn ok_raw(members: Vec<(&'static str, Field)>) -> Response {
    struct Body(Vec<(&'static str, Field)>);
    impl serde::Serialize for Body {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len() + 1))?;
            map.serialize_entry("success", &true)?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    Json(Body(members)).into_response()
}

fn ok_data(data: Value) -> Response {
    ok(obj([("data", data)]))
}

fn obj<const N: usize>(members: [(&str, Value); N]) -> Map<String, Value> {
    members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn to_value(report: impl serde::Serialize) -> ApiResult<Value> {
    serde_json::to_value(report).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "LSMKV_IO", format!("cannot write a report: {e}"))
    })
}

// ---------------------------------------------------------------------------
// Bodies

/// The body's bytes, at most `--max-body-bytes`.
async fn body_bytes(state: &AppState, body: Body) -> ApiResult<Bytes> {
    let limit = state.max_body_bytes;
    to_bytes(body, limit).await.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "LSMKV_PAYLOAD_TOO_LARGE",
            format!("the request body is over the limit of {limit} bytes ({e})"),
        )
    })
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// A body that is to be JSON, as bytes (its media type checked; none, or
/// curl -d's default form type, is taken as JSON, as the original did).
async fn json_bytes(state: &AppState, request: Request) -> ApiResult<Bytes> {
    let (parts, body) = request.into_parts();
    match content_type(&parts.headers).as_deref() {
        None | Some("application/json") | Some("application/x-www-form-urlencoded") | Some("text/plain") => {}
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "LSMKV_UNSUPPORTED_MEDIA_TYPE",
                format!("expected a JSON body (application/json), not {other}"),
            ))
        }
    }
    body_bytes(state, body).await
}

/// `{ "key": "...", "value": <any JSON> }`, the value kept as its text.
#[derive(serde::Deserialize)]
struct KeyValue {
    key: Value,
    #[serde(default, deserialize_with = "value::present")]
    value: Option<value::Raw>,
}

fn parse_key_value(body: &[u8]) -> ApiResult<(String, value::Raw)> {
    let kv: KeyValue = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("expected {{\"key\": ..., \"value\": ...}}: {e}")))?;
    let Value::String(key) = kv.key else { return Err(ApiError::bad("key must be a string")) };
    let value = kv.value.ok_or_else(|| ApiError::bad("missing field value"))?;
    Ok((key, value))
}

// ---------------------------------------------------------------------------
// The original endpoints

async fn stats(State(state): Shared) -> ApiResult<Response> {
    let stats = engine(&state, |db| Ok(db.stats())).await?;
    Ok(ok_data(to_value(view::stats(&stats, KeyStyle::Text))?))
}

async fn health(State(state): Shared) -> ApiResult<Response> {
    let health = state.data.current().db().health();
    let mut data = to_value(view::health(&health))?;
    if let Value::Object(members) = &mut data {
        members.insert("backend".into(), json!("fs"));
        members.insert(
            "server".into(),
            json!({ "version": env!("CARGO_PKG_VERSION"), "preset": state.preset, "dataDir": state.data_dir }),
        );
        if let Some(node) = &state.cluster {
            members.insert("cluster".into(), cluster::routes::health(node));
        }
    }
    Ok(ok_data(data))
}

async fn keys(State(state): Shared, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let mut q = query::range(raw.as_deref())?;
    before_read(&state, q.stale, Some(&mut q.options)).await?;
    let keys = engine(&state, move |db| Ok(db.keys(&q.options)?)).await?;
    let count = keys.len();
    let data: Vec<Value> = keys.iter().map(|k| value::key_json(k)).collect();
    Ok(ok(obj([("data", Value::Array(data)), ("count", json!(count))])))
}

async fn get(State(state): Shared, Path(key): Path<String>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    before_read(&state, query::stale(raw.as_deref())?, None).await?;
    let k = key.clone();
    let found = engine(&state, move |db| Ok(db.get(k.as_bytes())?)).await?;
    let (value, exists) = match found {
        Some(stored) => (Field::R(value::to_raw_json(&stored)?), true),
        None => (Field::V(Value::Null), false),
    };
    Ok(ok_raw(vec![("key", Field::V(Value::String(key))), ("value", value), ("exists", Field::V(Value::Bool(exists)))]))
}

async fn put(State(state): Shared, request: Request) -> ApiResult<Response> {
    let (key, v) = parse_key_value(&json_bytes(&state, request).await?)?;
    let stored = value::encode(&v)?;
    apply(&state, Command::Put { key: key.clone(), value: stored }).await?;
    Ok(ok_raw(vec![("key", Field::V(Value::String(key))), ("value", Field::R(v))]))
}

async fn delete(State(state): Shared, Path(key): Path<String>) -> ApiResult<Response> {
    let deleted = apply(&state, Command::Delete { key: key.clone() }).await? == 1;
    Ok(ok(obj([("key", Value::String(key)), ("deleted", Value::Bool(deleted))])))
}

async fn batch_put(State(state): Shared, request: Request) -> ApiResult<Response> {
    let bytes = json_bytes(&state, request).await?;
    type Members = indexmap::IndexMap<String, value::Raw>;
    let members: Members = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad(format!("batch_put takes an object of key → value, or {{\"items\": {{...}}}}: {e}"))
    })?;
    let items = match members.get("items") {
        Some(raw) if members.len() == 1 && raw.get().trim_start().starts_with('{') => {
            serde_json::from_str::<Members>(raw.get()).map_err(|e| ApiError::bad(format!("items: {e}")))?
        }
        _ => members,
    };
    let ops = items.iter().map(|(key, v)| Ok(Op::Put { key: key.clone(), value: value::encode(v)? }));
    let ops = ops.collect::<ApiResult<Vec<_>>>()?;
    let total = items.len();
    if total > 0 {
        apply(&state, Command::Batch { ops }).await?;
    }
    let results: Map<String, Value> = items.keys().map(|k| (k.clone(), Value::Bool(true))).collect();
    Ok(ok(obj([("results", Value::Object(results)), ("total", json!(total)), ("successful", json!(total))])))
}

async fn range(State(state): Shared, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let mut q = query::range(raw.as_deref())?;
    before_read(&state, q.stale, Some(&mut q.options)).await?;
    let (start, end) = (q.start.clone(), q.end.clone());
    let entries = engine(&state, move |db| Ok(db.range(&q.options)?)).await?;
    let mut data = Vec::with_capacity(entries.len());
    let mut items = Vec::with_capacity(entries.len());
    for (k, stored) in &entries {
        let v = value::to_raw_json(stored)?;
        let key = value::key_json(k);
        if let Value::String(text) = &key {
            data.push((text.clone(), v.clone()));
        }
        items.push((key, v));
    }
    Ok(ok_raw(vec![
        ("data", Field::Map(data)),
        ("items", Field::Items(items)),
        ("count", Field::V(json!(entries.len()))),
        ("start_key", Field::V(start.map_or(Value::Null, Value::String))),
        ("end_key", Field::V(end.map_or(Value::Null, Value::String))),
    ]))
}

async fn flush(State(state): Shared) -> ApiResult<Response> {
    let report = engine(&state, |db| Ok(db.flush()?)).await?;
    let (message, data) = match &report {
        Some(r) => (
            format!("Flushed {} memtable entries to {} table(s) at L0", r.memtable_entries, r.outputs.len()),
            to_value(view::flush_report(r, KeyStyle::Text))?,
        ),
        None => ("The memtable was empty: nothing to flush".to_owned(), Value::Null),
    };
    Ok(ok(obj([("message", Value::String(message)), ("data", data)])))
}

async fn compact(State(state): Shared) -> ApiResult<Response> {
    let reports = engine(&state, |db| Ok(db.compact()?)).await?;
    let views: Vec<_> = reports.iter().map(|r| view::compaction_report(r, KeyStyle::Text)).collect();
    let message = format!("Compaction finished: {} step(s)", reports.len());
    Ok(ok(obj([("message", Value::String(message)), ("data", to_value(views)?)])))
}

// ---------------------------------------------------------------------------
// Beyond the original

async fn kv_put(State(state): Shared, Path(key): Path<String>, request: Request) -> ApiResult<Response> {
    let stored = match content_type(request.headers()).as_deref() {
        Some("application/octet-stream") => value::encode_bytes(&body_bytes(&state, request.into_body()).await?),
        Some("application/json") | None => {
            let bytes = json_bytes(&state, request).await?;
            let raw: value::Raw = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad(format!("the body is not valid JSON: {e}")))?;
            value::encode(&raw)?
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "LSMKV_UNSUPPORTED_MEDIA_TYPE",
                format!("expected application/json or application/octet-stream, not {other}"),
            ))
        }
    };
    apply(&state, Command::Put { key: key.clone(), value: stored }).await?;
    Ok(ok(obj([("key", Value::String(key))])))
}

async fn kv_get(State(state): Shared, Path(key): Path<String>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    before_read(&state, query::stale(raw.as_deref())?, None).await?;
    let k = key.clone();
    let stored = engine(&state, move |db| Ok(db.get(k.as_bytes())?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no value for key {key:?}")))?;
    Ok(match value::decode(&stored)? {
        value::Stored::Bytes(bytes) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes.to_vec()).into_response()
        }
        value::Stored::Json(raw) => {
            ([(header::CONTENT_TYPE, "application/json")], raw.get().to_owned()).into_response()
        }
    })
}

async fn delete_range(State(state): Shared, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = query::range(raw.as_deref())?;
    if !q.bounded {
        return Err(ApiError::bad("a range delete needs a bound or a prefix (start/end, gte/gt/lte/lt, prefix)"));
    }
    let deleted = apply(&state, Command::delete_range(&q.options)).await?;
    Ok(ok(obj([("deleted", json!(deleted))])))
}

async fn batch(State(state): Shared, request: Request) -> ApiResult<Response> {
    #[derive(serde::Deserialize)]
    struct Op {
        #[serde(rename = "type")]
        kind: Value,
        key: Value,
        #[serde(default, deserialize_with = "value::present")]
        value: Option<value::Raw>,
    }
    #[derive(serde::Deserialize)]
    struct Ops {
        ops: Vec<Op>,
    }
    let bytes = json_bytes(&state, request).await?;
    let Ops { ops } = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad(format!(
            "batch takes {{\"ops\": [{{\"type\": \"put\"|\"delete\", \"key\": ..., \"value\": ...}}, ...]}}: {e}"
        ))
    })?;
    let mut staged = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let Value::String(key) = &op.key else { return Err(ApiError::bad(format!("ops[{i}]: key must be a string"))) };
        staged.push(match op.kind.as_str() {
            Some("put") => {
                let v = op.value.as_ref().ok_or_else(|| ApiError::bad(format!("ops[{i}]: missing field value")))?;
                command::Op::Put { key: key.clone(), value: value::encode(v)? }
            }
            Some("delete") | Some("del") => command::Op::Delete { key: key.clone() },
            _ => return Err(ApiError::bad(format!("ops[{i}]: type must be \"put\" or \"delete\""))),
        });
    }
    let count = ops.len();
    if count > 0 {
        apply(&state, Command::Batch { ops: staged }).await?;
    }
    Ok(ok(obj([("count", json!(count))])))
}

/// The event cursor to start after: `since`, else `Last-Event-ID`, else 0.
fn since(raw: Option<&str>, headers: &HeaderMap) -> ApiResult<u64> {
    let mut since = None;
    for (name, v) in query::pairs(raw)? {
        match name.as_str() {
            "since" => {
                since = Some(v.parse().map_err(|_| ApiError::bad(format!("since must be a whole number, not {v:?}")))?)
            }
            other => return Err(ApiError::bad(format!("unknown query parameter {other:?}"))),
        }
    }
    if since.is_none() {
        if let Some(id) = headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
            since = Some(id.trim().parse().map_err(|_| ApiError::bad("Last-Event-ID must be a whole number"))?);
        }
    }
    Ok(since.unwrap_or(0))
}

const EVENT_PAGE: usize = 256;

async fn events(State(state): Shared, RawQuery(raw): RawQuery, headers: HeaderMap) -> ApiResult<Response> {
    let cursor = since(raw.as_deref(), &headers)?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/event-stream"));
    if wants_json {
        let page = state.data.current().db().events(cursor, EVENT_PAGE);
        return Ok(ok_data(to_value(view::event_page(&page, KeyStyle::Text))?));
    }
    Ok(Sse::new(event_stream(state, cursor)).keep_alive(KeepAlive::default()).into_response())
}

/// Every event after `cursor`, as it happens (the feed is polled: the
/// engine keeps a bounded log, and a reader that falls behind sees `missed`).
fn event_stream(state: Arc<AppState>, cursor: u64) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let stopping = state.stopping.subscribe();
    stream::unfold(
        (state, stopping, cursor, Vec::<SseEvent>::new()),
        |(state, mut stopping, mut cursor, mut ready)| async move {
            loop {
                if *stopping.borrow() {
                    return None;
                }
                if let Some(event) = ready.pop() {
                    return Some((Ok(event), (state, stopping, cursor, ready)));
                }
                let generation = state.data.current();
                let page = generation.db().events(cursor, EVENT_PAGE);
                for e in page.events.iter().rev() {
                    let v = view::event(e, KeyStyle::Text);
                    let data = serde_json::to_string(&v).unwrap_or_else(|_| "{}".into());
                    ready.push(SseEvent::default().id(v.cursor().to_string()).event(v.type_name()).data(data));
                }
                cursor = page.next_cursor;
                if ready.is_empty() {
                    if matches!(generation.db().health().status, lsmkv::HealthStatus::Closed) {
                        return None;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = stopping.changed() => {}
                    }
                }
            }
        },
    )
}

async fn explain(State(state): Shared, Path(key): Path<String>) -> ApiResult<Response> {
    let trace = engine(&state, move |db| Ok(db.explain_get(key.as_bytes())?)).await?;
    let mut data = to_value(view::get_trace(&trace))?;
    let v = match &trace.value {
        Some(stored) => value::to_json(stored)?,
        None => Value::Null,
    };
    if let Value::Object(members) = &mut data {
        members.insert("value".into(), v);
    }
    Ok(ok_data(data))
}

async fn inspect(State(state): Shared, Path(table): Path<String>) -> ApiResult<Response> {
    let number: u64 = table.parse().map_err(|_| ApiError::bad(format!("a table number, not {table:?}")))?;
    let inspection = engine(&state, move |db| {
        db.inspect_table(number).map_err(|e| match e.code() {
            "INVALID_ARGUMENT" => ApiError::not_found(e.to_string()),
            _ => e.into(),
        })
    })
    .await?;
    let mut data = to_value(view::inspection(&inspection, KeyStyle::Text))?;
    if let Some(Value::Array(entries)) = data.get_mut("entries") {
        for (entry, inspected) in entries.iter_mut().zip(&inspection.entries) {
            let v = match inspected.kind {
                lsmkv::ValueKind::Put => value::to_json(&inspected.value).unwrap_or(Value::Null),
                _ => Value::Null,
            };
            if let Value::Object(members) = entry {
                members.insert("value".into(), v);
            }
        }
    }
    Ok(ok_data(data))
}

async fn space(State(state): Shared) -> ApiResult<Response> {
    let space = engine(&state, |db| Ok(db.space()?)).await?;
    Ok(ok_data(to_value(view::space(&space))?))
}

/// The playground learns that this server serves it (and so preselects its
/// "server" backend) from a `<meta name="lsmkv-server">` naming the API's
/// path, put just before `</head>`: no probing request, so a static host of
/// the same page sees no failed request.
fn mark_server_backend(html: Vec<u8>) -> Vec<u8> {
    const MARK: &[u8] = br#"<meta name="lsmkv-server" content="/api">"#;
    match html.windows(7).position(|w| w.eq_ignore_ascii_case(b"</head>")) {
        Some(at) => [&html[..at], MARK, &html[at..]].concat(),
        None => html,
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Unknown `/api` routes: 404; anything else: the playground's files.
async fn fallback(State(state): Shared, method: Method, request: Request) -> ApiResult<Response> {
    let path = request.uri().path().to_owned();
    let root = match (&state.web_root, path.starts_with("/api")) {
        (Some(root), false) => root,
        _ => return Err(ApiError::not_found(format!("no route {method} {path}"))),
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() { "index.html" } else { relative };
    if relative.split('/').any(|part| part == ".." || part.is_empty() || part.starts_with('.')) {
        return Err(ApiError::not_found(format!("no file {path}")));
    }
    let file = root.join(relative);
    let mut bytes = tokio::fs::read(&file).await.map_err(|_| ApiError::not_found(format!("no file {path}")))?;
    if relative == "index.html" {
        bytes = mark_server_backend(bytes);
    }
    let mime = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}
