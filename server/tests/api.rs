//! Every endpoint of API.md through a real HTTP client against a server on
//! an ephemeral 127.0.0.1 port: the original endpoints with their shapes,
//! the extras, the event stream, and every bad-input case with its status
//! and code.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::TestServer;
use serde_json::{json, Value};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build()
}

/// Status and JSON body of any answer (errors included).
fn call(method: &str, url: &str, body: Option<(&str, &[u8])>) -> (u16, Value, Option<String>) {
    let response = common::respond(&agent(), method, url, body);
    let status = response.status();
    let allow = response.header("Allow").map(str::to_owned);
    let text = response.into_string().expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, allow)
}

fn json_call(method: &str, url: &str, body: &str) -> (u16, Value) {
    let (status, body, _) = call(method, url, Some(("application/json", body.as_bytes())));
    (status, body)
}

fn get(url: &str) -> Value {
    let (status, body, _) = call("GET", url, None);
    assert_eq!(status, 200, "GET {url}: {body}");
    assert_eq!(body["success"], true);
    body
}

fn expect_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[test]
fn original_endpoints_keep_their_meaning_and_shapes() {
    let server = TestServer::start();
    let base = server.base_url();

    let health = get(&format!("{base}/api/health"));
    assert_eq!(health["data"]["status"], "ok");
    assert_eq!(health["data"]["backend"], "fs");
    assert_eq!(health["data"]["server"]["preset"], "teaching");

    let (status, put) = json_call(
        "POST",
        &format!("{base}/api/put"),
        r#"{"key":"product:1","value":{"name":"Laptop","price":999.99,"qty":1.0,"big":6.02E23}}"#,
    );
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["key"], "product:1");
    // Values come back exactly: number text and member order.
    let (_, raw, _) = call("GET", &format!("{base}/api/get/product:1"), None);
    assert_eq!(raw["exists"], true);
    let text = agent().get(&format!("{base}/api/get/product:1")).call().unwrap().into_string().unwrap();
    assert!(text.contains(r#"{"name":"Laptop","price":999.99,"qty":1.0,"big":6.02E23}"#), "{text}");

    let absent = get(&format!("{base}/api/get/nope"));
    assert_eq!((absent["exists"].clone(), absent["value"].clone()), (json!(false), Value::Null));

    // A key with a slash and a percent-encoded space.
    let (status, _) = json_call("POST", &format!("{base}/api/put"), r#"{"key":"a/b c","value":"text"}"#);
    assert_eq!(status, 200);
    assert_eq!(get(&format!("{base}/api/get/a/b%20c"))["value"], "text");

    // batch_put: both forms, atomic.
    let (status, batch) =
        json_call("POST", &format!("{base}/api/batch_put"), r#"{"items":{"user:1":"Ann","user:2":[1,2]}}"#);
    assert_eq!(status, 200, "{batch}");
    assert_eq!((batch["total"].clone(), batch["successful"].clone()), (json!(2), json!(2)));
    assert_eq!(batch["results"]["user:1"], true);
    let (status, _) = json_call("POST", &format!("{base}/api/batch_put"), r#"{"user:3":{"x":null},"user:4":true}"#);
    assert_eq!(status, 200);
    assert_eq!(get(&format!("{base}/api/get/user:4"))["value"], true);

    // keys and range: [start, end), prefix, limit, reverse.
    let keys = get(&format!("{base}/api/keys?prefix=user:"));
    assert_eq!(keys["data"], json!(["user:1", "user:2", "user:3", "user:4"]));
    assert_eq!(keys["count"], 4);
    let range = get(&format!("{base}/api/range?start=user:2&end=user:4"));
    assert_eq!(range["count"], 2);
    assert_eq!(range["data"], json!({"user:2": [1, 2], "user:3": {"x": null}}));
    assert_eq!((range["start_key"].clone(), range["end_key"].clone()), (json!("user:2"), json!("user:4")));
    let reversed = get(&format!("{base}/api/range?prefix=user:&reverse=true&limit=2"));
    let order: Vec<&str> = reversed["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(order, ["user:4", "user:3"]);
    assert_eq!(get(&format!("{base}/api/keys?gt=user:1&lte=user:3"))["data"], json!(["user:2", "user:3"]));

    // delete says whether the key held a value.
    let (status, deleted, _) = call("DELETE", &format!("{base}/api/delete/user:1"), None);
    assert_eq!((status, deleted["deleted"].clone()), (200, json!(true)));
    let (_, again, _) = call("DELETE", &format!("{base}/api/delete/user:1"), None);
    assert_eq!(again["deleted"], false);
    assert_eq!(get(&format!("{base}/api/get/user:1"))["exists"], false);

    // flush and compact report what they did.
    let (status, flush, _) = call("POST", &format!("{base}/api/flush"), None);
    assert_eq!(status, 200, "{flush}");
    assert!(flush["message"].as_str().is_some());
    assert_eq!(flush["data"]["outputs"][0]["level"], 0);
    let (status, compact, _) = call("POST", &format!("{base}/api/compact"), None);
    assert_eq!(status, 200, "{compact}");
    assert!(compact["data"].is_array());

    let stats = get(&format!("{base}/api/stats"));
    assert!(stats["data"]["flushes"].as_u64().unwrap() >= 1);
    assert_eq!(stats["data"]["memtableMaxEntries"], 30);
    // Data survives flush and compaction.
    assert_eq!(get(&format!("{base}/api/get/user:2"))["value"], json!([1, 2]));
}

#[test]
fn extras_binary_values_mixed_batches_range_deletes_and_reports() {
    let server = TestServer::start();
    let base = server.base_url();

    // Raw bytes in, raw bytes out; the same value as $base64 in JSON.
    let bytes = [0u8, 1, 2, 255, 254];
    let (status, _, _) = call("PUT", &format!("{base}/api/kv/bin"), Some(("application/octet-stream", &bytes)));
    assert_eq!(status, 200);
    let response = agent().get(&format!("{base}/api/kv/bin")).call().unwrap();
    assert_eq!(response.content_type(), "application/octet-stream");
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut back).unwrap();
    assert_eq!(back, bytes);
    assert_eq!(get(&format!("{base}/api/get/bin"))["value"], json!({"$base64": "AAEC//4="}));
    let (status, _) = json_call("POST", &format!("{base}/api/put"), r#"{"key":"b64","value":{"$base64":"aGk="}}"#);
    assert_eq!(status, 200);
    let raw = agent().get(&format!("{base}/api/kv/b64")).call().unwrap();
    assert_eq!(raw.into_string().unwrap(), "hi");
    let (status, _, _) = call("PUT", &format!("{base}/api/kv/j"), Some(("application/json", br#"{"n":1.50}"#)));
    assert_eq!(status, 200);
    assert_eq!(agent().get(&format!("{base}/api/kv/j")).call().unwrap().into_string().unwrap(), r#"{"n":1.50}"#);
    let (status, missing, _) = call("GET", &format!("{base}/api/kv/none"), None);
    expect_error(status, &missing, 404, "LSMKV_NOT_FOUND");

    // A mixed atomic batch.
    let (status, batch) = json_call(
        "POST",
        &format!("{base}/api/batch"),
        r#"{"ops":[{"type":"put","key":"p:1","value":1},{"type":"put","key":"p:2","value":2},{"type":"put","key":"p:3","value":3},{"type":"delete","key":"p:1"}]}"#,
    );
    assert_eq!((status, batch["count"].clone()), (200, json!(4)), "{batch}");
    assert_eq!(get(&format!("{base}/api/keys?prefix=p:"))["data"], json!(["p:2", "p:3"]));

    // A range delete needs a bound; with one it deletes what is there.
    let (status, refused, _) = call("DELETE", &format!("{base}/api/range"), None);
    expect_error(status, &refused, 400, "LSMKV_INVALID_ARGUMENT");
    let (status, deleted, _) = call("DELETE", &format!("{base}/api/range?prefix=p:"), None);
    assert_eq!((status, deleted["deleted"].clone()), (200, json!(2)));
    assert_eq!(get(&format!("{base}/api/keys?prefix=p:"))["count"], 0);

    // explain, inspect, space.
    let (status, _) = json_call("POST", &format!("{base}/api/put"), r#"{"key":"e","value":"v"}"#);
    assert_eq!(status, 200);
    let trace = get(&format!("{base}/api/explain/e"));
    assert_eq!(trace["data"]["probes"][0]["kind"], "memtable");
    assert_eq!(trace["data"]["value"], "v");
    let (_, flush, _) = call("POST", &format!("{base}/api/flush"), None);
    let table = flush["data"]["outputs"][0]["number"].as_u64().unwrap();
    let inspection = get(&format!("{base}/api/inspect/{table}"));
    assert!(inspection["data"]["entries"].as_array().unwrap().iter().any(|e| e["key"] == "e" && e["value"] == "v"));
    let (status, unknown, _) = call("GET", &format!("{base}/api/inspect/999999"), None);
    expect_error(status, &unknown, 404, "LSMKV_NOT_FOUND");
    assert!(get(&format!("{base}/api/space"))["data"]["liveKeys"].as_u64().unwrap() >= 1);

    // Events as one JSON page.
    let page = agent().get(&format!("{base}/api/events?since=0")).set("Accept", "application/json").call().unwrap();
    let page: Value = serde_json::from_reader(page.into_reader()).unwrap();
    let types: Vec<&str> =
        page["data"]["events"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"opened") && types.contains(&"flushed"), "{types:?}");
}

#[test]
fn server_sent_events_show_a_flush_and_a_compaction() {
    let server = TestServer::start();
    let base = server.base_url().to_string();
    let stream = agent().get(&format!("{base}/api/events")).call().unwrap();
    assert!(stream.content_type().starts_with("text/event-stream"));
    // Enough flushes (30 entries each) for an L0 compaction (4 tables).
    for round in 0..5 {
        let items: serde_json::Map<String, Value> = (0..30).map(|i| (format!("k{round}:{i:02}"), json!(i))).collect();
        let (status, _) = json_call("POST", &format!("{base}/api/batch_put"), &Value::Object(items).to_string());
        assert_eq!(status, 200);
    }
    let (status, _, _) = call("POST", &format!("{base}/api/compact"), None);
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    let mut last_id = 0;
    for line in BufReader::new(stream.into_reader()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event: ") {
            seen.push(name.to_string());
        }
        if let Some(id) = line.strip_prefix("id: ") {
            let id: u64 = id.parse().unwrap();
            assert!(id > last_id, "ids increase");
            last_id = id;
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let event: Value = serde_json::from_str(data).unwrap();
            assert!(event["cursor"].is_u64() && event["type"].is_string(), "{event}");
        }
        if seen.iter().any(|s| s == "flushed") && seen.iter().any(|s| s == "compacted") {
            break;
        }
    }
    assert!(seen.iter().any(|s| s == "opened"), "{seen:?}");
}

#[test]
fn bad_input_gets_a_4xx_with_a_code_and_nothing_applied() {
    let server = TestServer::start_with(&["--max-body-bytes", "4096"]);
    let base = server.base_url();
    let put = format!("{base}/api/put");

    let (s, b) = json_call("POST", &put, "{not json");
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b) = json_call("POST", &put, r#"{"value":1}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b) = json_call("POST", &put, r#"{"key":1,"value":1}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b) = json_call("POST", &put, r#"{"key":"k"}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b) = json_call("POST", &put, r#"{"key":"","value":1}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_KEY");
    let long_key = format!(r#"{{"key":"{}","value":1}}"#, "k".repeat(2000));
    let (s, b) = json_call("POST", &put, &long_key);
    expect_error(s, &b, 400, "LSMKV_INVALID_KEY");
    let (s, b) = json_call("POST", &put, r#"{"key":"k","value":{"$base64":"*"}}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let big = format!(r#"{{"key":"k","value":"{}"}}"#, "v".repeat(5000));
    let (s, b) = json_call("POST", &put, &big);
    expect_error(s, &b, 413, "LSMKV_PAYLOAD_TOO_LARGE");
    let (s, b, _) = call("POST", &put, Some(("application/xml", b"<a/>")));
    expect_error(s, &b, 415, "LSMKV_UNSUPPORTED_MEDIA_TYPE");
    let (s, b, _) = call("GET", &format!("{base}/api/nothing"), None);
    expect_error(s, &b, 404, "LSMKV_NOT_FOUND");
    let (s, b, allow) = call("GET", &put, None);
    expect_error(s, &b, 405, "LSMKV_METHOD_NOT_ALLOWED");
    assert_eq!(allow.as_deref(), Some("POST"));
    let (s, b, _) = call("GET", &format!("{base}/api/range?limit=ten"), None);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b, _) = call("GET", &format!("{base}/api/range?start=a&gte=b"), None);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    let (s, b, _) = call("GET", &format!("{base}/api/inspect/abc"), None);
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");

    // A batch with one bad op is refused whole.
    let (s, b) = json_call("POST", &format!("{base}/api/batch_put"), r#"{"ok:1":1,"":2}"#);
    expect_error(s, &b, 400, "LSMKV_INVALID_KEY");
    let (s, b) = json_call(
        "POST",
        &format!("{base}/api/batch"),
        r#"{"ops":[{"type":"put","key":"ok:2","value":1},{"type":"rename","key":"x"}]}"#,
    );
    expect_error(s, &b, 400, "LSMKV_INVALID_ARGUMENT");
    assert_eq!(get(&format!("{base}/api/keys"))["count"], 0, "nothing of a refused batch applied");

    // What is not an error (README's table): an empty batch, a reversed range.
    let (s, b) = json_call("POST", &format!("{base}/api/batch_put"), "{}");
    assert_eq!((s, &b["total"]), (200, &Value::from(0)), "{b}");
    json_call("POST", &put, r#"{"key":"m","value":1}"#);
    assert_eq!(get(&format!("{base}/api/range?start=z&end=a"))["count"], 0);
    let (s, b, _) = call("GET", &format!("{base}/api/inspect/999999"), None);
    expect_error(s, &b, 404, "LSMKV_NOT_FOUND");
    assert_eq!(get(&format!("{base}/api/health"))["data"]["status"], "ok");
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    for args in [&["--preset", "fast"][..], &["--max-body-bytes", "lots"], &["--colour", "red"], &["--bind"]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_lsmkv-server")).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("usage: lsmkv-server"), "{args:?}: {stderr}");
    }
}

#[test]
fn openapi_describes_exactly_the_routes() {
    let server = TestServer::start();
    let base = server.base_url();
    let (status, doc, _) = call("GET", &format!("{base}/api/openapi.json"), None);
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().unwrap();
    // Every documented operation answers something other than 404/405.
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = format!("{base}{}", path.replace("{key}", "some-key").replace("{table}", "1"));
            if method == "get" && path == "/api/events" {
                continue; // a stream; tested above
            }
            let (status, body, _) = call(&method.to_uppercase(), &url, Some(("application/json", b"{}")));
            assert!(
                status != 405
                    && !(status == 404 && body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no route"))),
                "{method} {path}: {status} {body}"
            );
        }
    }
    // Every route of API.md is documented.
    let api_md = include_str!("../API.md");
    for line in api_md.lines().filter(|l| l.starts_with("| `")) {
        let Some(route) = line.split('`').nth(1) else { continue };
        let Some((method, path)) = route.split_once(' ') else { continue };
        if !path.starts_with("/api/") {
            continue;
        }
        let path = path.replace("<key>", "{key}").replace("<table>", "{table}");
        assert!(
            paths.get(&path).and_then(|p| p.get(method.to_lowercase())).is_some(),
            "{method} {path} missing from openapi.json"
        );
    }
}

#[test]
fn a_second_server_on_the_same_directory_is_refused_with_locked() {
    let server = TestServer::start();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lsmkv-server"))
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("LSMKV_LOCKED"));
}

#[test]
fn sigterm_stops_gracefully_and_data_survives() {
    let mut server = TestServer::start();
    let (status, _) = json_call("POST", &format!("{}/api/put", server.base_url()), r#"{"key":"durable","value":42}"#);
    assert_eq!(status, 200);
    // An open event stream (the playground keeps one) must not hold the
    // shutdown up: it ends, and the process exits 0 well before the helper's
    // 30-second deadline kills it.
    let stream = agent().get(&format!("{}/api/events", server.base_url())).call().unwrap();
    let mut reader = BufReader::new(stream.into_reader());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "the stream started");
    assert_eq!(server.terminate().and_then(|s| s.code()), Some(0));
    let rest: Vec<String> = reader.lines().map_while(Result::ok).collect();
    assert!(rest.len() < 10_000, "the stream ended");
    server.restart();
    assert_eq!(get(&format!("{}/api/get/durable", server.base_url()))["value"], 42);
}

#[test]
fn the_playground_is_served_with_the_server_backend_marked() {
    let root = tempfile_dir("web-root");
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><html><head><title>t</title></head><body>app</body></html>",
    )
    .unwrap();
    std::fs::write(root.join("app.js"), "export {};").unwrap();
    let server = TestServer::start_with(&["--web-root", root.to_str().unwrap()]);
    let base = server.base_url();
    for path in ["/", "/index.html"] {
        let (status, body, _) = call("GET", &format!("{base}{path}"), None);
        assert_eq!(status, 200, "{path}");
        let text = body.as_str().unwrap();
        assert!(text.contains(r#"<meta name="lsmkv-server" content="/api"></head>"#), "{path}: {text}");
        assert!(text.ends_with("<body>app</body></html>"), "{text}");
    }
    let (status, body, _) = call("GET", &format!("{base}/app.js"), None);
    assert_eq!((status, body.as_str()), (200, Some("export {};")));
    let (status, body, _) = call("GET", &format!("{base}/missing.js"), None);
    expect_error(status, &body, 404, "LSMKV_NOT_FOUND");
    let (status, body, _) = call("GET", &format!("{base}/../Cargo.toml"), None);
    assert_eq!(status, 404, "{body}");
    let _ = std::fs::remove_dir_all(&root);
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lsmkv-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
