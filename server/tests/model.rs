//! Model test of lsmkv-server: several client threads send thousands of
//! seeded random REST requests — put, get, delete, both forms of batch_put,
//! mixed atomic batches, ranges and key listings with every kind of bound,
//! prefix, limit and direction, range deletes, flushes, compactions, batches
//! that must be refused whole — to a real server process, and every answer
//! is checked against a `BTreeMap` model; between rounds the server is now
//! and then restarted gracefully (SIGTERM, then a new process on the same
//! directory), and the whole store is compared with the union of the models.
//!
//! Deterministic per seed despite the concurrency: each client owns a
//! disjoint key prefix (`c<i>/`), draws from its own generator and keeps its
//! own model, so every answer it gets is exact whatever the other clients do
//! meanwhile (flushes and compactions, which any client may trigger, change
//! no content). Values are JSON of every kind — nested objects (member order
//! kept), arrays, numbers like `1.0`, `-0.0`, `1E+400` and big integers,
//! strings of any Unicode (escaped or not) and `{"$base64": …}` bytes — and
//! must come back exactly: the test parses answers with its own small JSON
//! reader that keeps number text and member order, rather than serde_json
//! (whose order- and text-preserving features would be unified into the
//! server binary under test and hide the very bugs this test looks for).
//!
//! `LSMKV_MODEL_SEED=n` replays one seed, `LSMKV_MODEL_CASES=n` runs n seeds,
//! `LSMKV_MODEL_OPS=n` sets the requests per client (default 600).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use common::TestServer;
use lsmkv::testing::{seeds, Rng};

// ---------------------------------------------------------------------------
// JSON that keeps what the server must keep: number text, member order.

/// A JSON value as written: numbers as their text, objects as ordered members.
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    fn field(&self, name: &str) -> &Json {
        self.get(name).unwrap_or_else(|| panic!("no member {name:?} in {}", self.text()))
    }

    fn str(&self) -> &str {
        match self {
            Json::String(s) => s,
            other => panic!("not a string: {}", other.text()),
        }
    }

    fn number(&self) -> u64 {
        match self {
            Json::Number(n) => n.parse().unwrap_or_else(|_| panic!("not a count: {n}")),
            other => panic!("not a number: {}", other.text()),
        }
    }

    fn array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            other => panic!("not an array: {}", other.text()),
        }
    }

    fn members(&self) -> &[(String, Json)] {
        match self {
            Json::Object(members) => members,
            other => panic!("not an object: {}", other.text()),
        }
    }

    /// The bytes of a binary value (`{"$base64": …}`, exactly one member).
    fn binary(&self) -> Option<Vec<u8>> {
        match self {
            Json::Object(members) if members.len() == 1 && members[0].0 == "$base64" => match &members[0].1 {
                Json::String(text) => Some(base64_decode(text)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Compact text, for messages and for request bodies.
    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    /// Writes the value; with a generator, also varies what JSON allows to
    /// vary (escapes of any character, white space), which must not matter.
    fn write(&self, out: &mut String, mut rng: Option<&mut Rng>) {
        let space = |out: &mut String, rng: &mut Option<&mut Rng>| {
            if let Some(rng) = rng.as_deref_mut() {
                if rng.chance(10) {
                    out.push_str([" ", "\n", "\t ", "\r\n  "][rng.below(4) as usize]);
                }
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(out, s, rng),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, &mut rng);
                    item.write(out, rng.as_deref_mut());
                }
                space(out, &mut rng);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, &mut rng);
                    write_string(out, name, rng.as_deref_mut());
                    out.push(':');
                    space(out, &mut rng);
                    value.write(out, rng.as_deref_mut());
                }
                space(out, &mut rng);
                out.push('}');
            }
        }
    }
}

fn write_string(out: &mut String, s: &str, mut rng: Option<&mut Rng>) {
    out.push('"');
    for c in s.chars() {
        let escape_anyway = rng.as_deref_mut().is_some_and(|rng| rng.chance(5));
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || escape_anyway => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A strict reader of JSON text (RFC 8259), keeping number text and member order.
struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

fn parse_json(text: &[u8]) -> Result<Json, String> {
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.at != text.len() {
        return Err(format!("text after the value at byte {}", reader.at));
    }
    Ok(value)
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, word: &str) -> Result<(), String> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            Err(format!("expected {word} at byte {}", self.at))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return Err("nested too deep".into());
        }
        self.skip_space();
        match self.peek() {
            Some(b'n') => self.expect("null").map(|_| Json::Null),
            Some(b't') => self.expect("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.expect("false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.at)),
                    }
                }
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_space();
                    let name = self.string()?;
                    self.skip_space();
                    self.expect(":")?;
                    members.push((name, self.value(depth + 1)?));
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.at)),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("no value at byte {}", self.at)),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.at += 1;
            }
            r.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        if self.peek() == Some(b'0') {
            self.at += 1;
        } else if !digits(self) {
            return Err(format!("bad number at byte {start}"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return Err(format!("bad fraction at byte {start}"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(format!("bad exponent at byte {start}"));
            }
        }
        Ok(Json::Number(String::from_utf8(self.text[start..self.at].to_vec()).expect("ASCII")))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.text.get(self.at..self.at + 4).ok_or("short \\u escape")?;
        let hex = std::str::from_utf8(hex).map_err(|_| "bad \\u escape")?;
        self.at += 4;
        u32::from_str_radix(hex, 16).map_err(|_| format!("bad \\u escape {hex}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect("\"")?;
        let mut bytes = Vec::new();
        loop {
            let Some(b) = self.peek() else { return Err("unterminated string".into()) };
            self.at += 1;
            match b {
                b'"' => return String::from_utf8(bytes).map_err(|_| "string is not UTF-8".into()),
                b'\\' => {
                    let Some(e) = self.peek() else { return Err("unterminated escape".into()) };
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&unit) {
                                self.expect("\\u")?;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return Err("unpaired surrogate".into());
                                }
                                0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                            } else {
                                unit
                            };
                            char::from_u32(code).ok_or("unpaired surrogate")?
                        }
                        _ => return Err(format!("bad escape at byte {}", self.at)),
                    };
                    bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0x00..=0x1f => return Err(format!("raw control character at byte {}", self.at - 1)),
                b => bytes.push(b),
            }
        }
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { BASE64[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let sextets: Vec<u32> = text
        .bytes()
        .filter(|&b| b != b'=')
        .map(|b| BASE64.iter().position(|&c| c == b).unwrap_or_else(|| panic!("not base64: {text:?}")) as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &s)| n | s << (18 - 6 * i));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// HTTP

/// An answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Json {
        parse_json(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The JSON body of a 200 with `"success": true`.
    fn ok(&self, what: &str) -> Json {
        assert_eq!(self.status, 200, "{what}: {}", String::from_utf8_lossy(&self.body));
        let json = self.json();
        assert_eq!(json.get("success"), Some(&Json::Bool(true)), "{what}: {}", json.text());
        json
    }

    /// Asserts the error shape of the API: status, `success: false`, `error.code`.
    fn error(&self, status: u16, code: &str, what: &str) {
        let json = self.json();
        assert_eq!(
            (self.status, json.get("error").and_then(|e| e.get("code"))),
            (status, Some(&Json::String(code.into()))),
            "{what}: {}",
            json.text()
        );
        assert_eq!(json.get("success"), Some(&Json::Bool(false)), "{what}");
    }
}

fn agent() -> ureq::Agent {
    // Bounded: a server that stops answering fails the test instead of hanging it.
    ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build()
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<(&str, &[u8])>) -> Answer {
    let response = common::respond(agent, method, url, body);
    let status = response.status();
    let content_type = response.header("Content-Type").unwrap_or("").to_string();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).unwrap();
    Answer { status, content_type, body }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// path segment or a query value (so `/`, `+`, `%`, space, `?`, `#` all survive).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Random keys and values

/// Pieces of key suffixes: path characters, characters that need percent
/// encoding in a path or a query, and multi-byte UTF-8 (ordering is by bytes).
const KEY_PIECES: &[&str] = &[
    "a", "b", "z", "ab", "0", "9", "/", " ", "%", "%20", "?", "#", "&", "=", "+", "é", "日本", "🦀", "~", "a.b",
    "\u{7f}", "ÿ",
];

/// A client's key space: its prefix and a fixed set of keys under it, small
/// enough that puts overwrite, deletes hit and ranges find something.
fn key_space(rng: &mut Rng, prefix: &str, size: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..size * 4 {
        if keys.len() == size {
            break;
        }
        let mut key = prefix.to_string();
        for _ in 0..1 + rng.below(3) {
            key.push_str(KEY_PIECES[rng.below(KEY_PIECES.len() as u64) as usize]);
        }
        // `.` or `..` as a whole path segment would be folded away by URL
        // parsing (of any client), so it cannot be addressed in a path.
        if !keys.contains(&key) && !key.split('/').any(|s| s == "." || s == "..") {
            keys.push(key);
        }
    }
    keys
}

/// Number texts that a round trip through a float or an i64 would change.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1.0",
    "-0.0",
    "1.50",
    "0.1",
    "1e3",
    "1E+400",
    "-2.5e-8",
    "6.02E23",
    "9007199254740993",
    "18446744073709551616",
    "-123456789012345678901234567890",
    "3.14159265358979323846264338327950288",
    "100",
    "1e-400",
];

const STRING_PIECES: &[&str] = &[
    "abc",
    " ",
    "\"",
    "\\",
    "\n",
    "\t",
    "\r",
    "\u{1}",
    "\u{1f}",
    "/",
    "é",
    "日本語",
    "🦀",
    "\u{2028}",
    "\u{ffff}",
    "\u{10ffff}",
    "{\"a\":1}",
    "[1,2]",
    "123",
    "true",
    "null",
    "$base64",
    "<b>&amp;</b>",
    "'",
];

fn random_string(rng: &mut Rng) -> String {
    (0..rng.below(6)).map(|_| STRING_PIECES[rng.below(STRING_PIECES.len() as u64) as usize]).collect()
}

fn random_value(rng: &mut Rng, depth: u32) -> Json {
    let kinds = if depth == 0 { 6 } else { 8 };
    match rng.below(kinds) {
        0 => Json::Null,
        1 => Json::Bool(rng.chance(50)),
        2 => Json::Number(match rng.below(3) {
            0 => NUMBERS[rng.below(NUMBERS.len() as u64) as usize].to_string(),
            1 => (rng.next_u64() as i64 >> rng.below(63)).to_string(),
            _ => format!("{}.{:03}", rng.below(1000), rng.below(1000)),
        }),
        3 => Json::String(random_string(rng)),
        4 => {
            // Bytes, one member `$base64`; now and then an object that only
            // looks like one (a second member), which is plain JSON.
            let len = rng.below(48) as usize;
            let bytes = rng.bytes(len);
            let mut members = vec![("$base64".to_string(), Json::String(base64_encode(&bytes)))];
            if rng.chance(15) {
                members.push(("other".to_string(), Json::Number("1.0".into())));
            }
            Json::Object(members)
        }
        5 => Json::String(format!("{}", rng.below(1_000_000))),
        6 => Json::Array((0..rng.below(5)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => {
            let mut members: Vec<(String, Json)> = Vec::new();
            for _ in 0..rng.below(5) {
                let name = if rng.chance(30) {
                    ["z", "a", "m", "é", "", "$base64", "🦀"][rng.below(7) as usize].to_string()
                } else {
                    random_string(rng)
                };
                if !members.iter().any(|(n, _)| *n == name) {
                    members.push((name, random_value(rng, depth - 1)));
                }
            }
            // A lone `$base64` string member means bytes (case 4): keep this one plain.
            if matches!(members.as_slice(), [(name, Json::String(_))] if name == "$base64") {
                members.push(("other".to_string(), Json::Null));
            }
            Json::Object(members)
        }
    }
}

// ---------------------------------------------------------------------------
// One client

type Model = BTreeMap<String, Json>;

/// A client thread's state: its own generator, key space and model.
struct Client {
    name: String,
    prefix: String,
    keys: Vec<String>,
    model: Model,
    rng: Rng,
    agent: ureq::Agent,
    base: String,
    ops: u64,
}

/// The bounds of a range request, as query parameters.
#[derive(Clone, Debug, Default)]
struct Bounds {
    lower: Option<(&'static str, String)>,
    upper: Option<(&'static str, String)>,
    prefix: Option<String>,
}

impl Bounds {
    fn contains(&self, key: &str) -> bool {
        let lower = match &self.lower {
            None => true,
            Some(("gt", b)) => key > b.as_str(),
            Some((_, b)) => key >= b.as_str(), // start, gte
        };
        let upper = match &self.upper {
            None => true,
            Some(("lte", b)) => key <= b.as_str(),
            Some((_, b)) => key < b.as_str(), // end, lt
        };
        lower && upper && self.prefix.as_ref().is_none_or(|p| key.starts_with(p.as_str()))
    }

    fn query(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in self.lower.iter().chain(&self.upper) {
            out.push(format!("{name}={}", encode(value)));
        }
        if let Some(prefix) = &self.prefix {
            out.push(format!("prefix={}", encode(prefix)));
        }
        out
    }
}

impl Client {
    fn new(index: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index as u64 + 1));
        let prefix = format!("c{index}/");
        let keys = key_space(&mut rng, &prefix, 40);
        Client {
            name: format!("seed {seed} client {index}"),
            prefix,
            keys,
            model: Model::new(),
            rng,
            agent: agent(),
            base: String::new(),
            ops: 0,
        }
    }

    fn key(&mut self) -> String {
        self.keys[self.rng.below(self.keys.len() as u64) as usize].clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn json_body(&mut self, value: &Json) -> String {
        let mut text = String::new();
        value.write(&mut text, Some(&mut self.rng));
        text
    }

    fn post(&mut self, path: &str, body: &Json) -> Answer {
        let text = self.json_body(body);
        send(&self.agent, "POST", &self.url(path), Some(("application/json", text.as_bytes())))
    }

    fn get(&self, path: &str) -> Answer {
        send(&self.agent, "GET", &self.url(path), None)
    }

    fn run(&mut self, ops: u64) {
        for _ in 0..ops {
            self.step();
            self.ops += 1;
        }
    }

    fn step(&mut self) {
        let what = format!("{} op {}", self.name, self.ops);
        match self.rng.below(1000) {
            0..=179 => self.put(&what),
            180..=239 => self.put_kv(&what),
            240..=269 => self.put_bytes(&what),
            270..=419 => self.check_get(&what),
            420..=479 => self.check_get_kv(&what),
            480..=559 => self.delete(&what),
            560..=619 => self.batch_put(&what),
            620..=689 => self.batch(&what),
            690..=709 => self.refused_batch(&what),
            710..=829 => self.range(&what),
            830..=889 => self.keys(&what),
            890..=919 => self.delete_range(&what),
            920..=964 => {
                self.post("/api/flush", &Json::Object(vec![])).ok(&what);
            }
            _ => {
                self.post("/api/compact", &Json::Object(vec![])).ok(&what);
            }
        }
    }

    fn put(&mut self, what: &str) {
        let (key, value) = (self.key(), random_value(&mut self.rng, 3));
        let body = Json::Object(vec![("key".into(), Json::String(key.clone())), ("value".into(), value.clone())]);
        let answer = self.post("/api/put", &body).ok(what);
        assert_eq!(
            (answer.field("key"), answer.field("value")),
            (&Json::String(key.clone()), &value),
            "{what}: put echo"
        );
        self.model.insert(key, value);
    }

    fn put_kv(&mut self, what: &str) {
        let (key, value) = (self.key(), random_value(&mut self.rng, 3));
        let text = self.json_body(&value);
        let url = self.url(&format!("/api/kv/{}", encode(&key)));
        send(&self.agent, "PUT", &url, Some(("application/json", text.as_bytes()))).ok(what);
        self.model.insert(key, value);
    }

    fn put_bytes(&mut self, what: &str) {
        let key = self.key();
        let len = self.rng.below(64) as usize;
        let bytes = self.rng.bytes(len);
        let url = self.url(&format!("/api/kv/{}", encode(&key)));
        send(&self.agent, "PUT", &url, Some(("application/octet-stream", &bytes))).ok(what);
        self.model.insert(key, Json::Object(vec![("$base64".into(), Json::String(base64_encode(&bytes)))]));
    }

    fn check_get(&mut self, what: &str) {
        let key = self.key();
        let answer = self.get(&format!("/api/get/{}", encode(&key))).ok(what);
        let want = self.model.get(&key);
        assert_eq!(answer.field("key"), &Json::String(key.clone()), "{what}: get key");
        assert_eq!(answer.field("exists"), &Json::Bool(want.is_some()), "{what}: get {key:?} exists");
        assert_eq!(answer.field("value"), want.unwrap_or(&Json::Null), "{what}: get {key:?}");
    }

    fn check_get_kv(&mut self, what: &str) {
        let key = self.key();
        let answer = self.get(&format!("/api/kv/{}", encode(&key)));
        match self.model.get(&key) {
            None => answer.error(404, "LSMKV_NOT_FOUND", what),
            Some(want) => {
                assert_eq!(answer.status, 200, "{what}: kv get {key:?}");
                match want.binary() {
                    Some(bytes) => {
                        assert!(
                            answer.content_type.starts_with("application/octet-stream"),
                            "{what}: {}",
                            answer.content_type
                        );
                        assert_eq!(answer.body, bytes, "{what}: kv get {key:?} bytes");
                    }
                    None => {
                        assert!(answer.content_type.starts_with("application/json"), "{what}: {}", answer.content_type);
                        assert_eq!(&answer.json(), want, "{what}: kv get {key:?}");
                    }
                }
            }
        }
    }

    fn delete(&mut self, what: &str) {
        let key = self.key();
        let url = self.url(&format!("/api/delete/{}", encode(&key)));
        let answer = send(&self.agent, "DELETE", &url, None).ok(what);
        assert_eq!(answer.field("deleted"), &Json::Bool(self.model.remove(&key).is_some()), "{what}: delete {key:?}");
    }

    /// Up to 12 distinct keys with new values.
    fn random_items(&mut self) -> Vec<(String, Json)> {
        let mut items: Vec<(String, Json)> = Vec::new();
        for _ in 0..1 + self.rng.below(12) {
            let key = self.key();
            if !items.iter().any(|(k, _)| *k == key) {
                items.push((key, random_value(&mut self.rng, 2)));
            }
        }
        items
    }

    fn batch_put(&mut self, what: &str) {
        let items = self.random_items();
        let object = Json::Object(items.clone());
        // The web API's `{ "items": {…} }`, or the bare object of `batch_put({…})`.
        let body = if self.rng.chance(50) { Json::Object(vec![("items".into(), object)]) } else { object };
        let answer = self.post("/api/batch_put", &body).ok(what);
        let n = items.len() as u64;
        assert_eq!(
            (answer.field("total").number(), answer.field("successful").number()),
            (n, n),
            "{what}: batch_put counts"
        );
        let results = answer.field("results").members();
        assert_eq!(results.len(), items.len(), "{what}: batch_put results");
        for (key, value) in items {
            assert!(results.iter().any(|(k, v)| *k == key && *v == Json::Bool(true)), "{what}: no result for {key:?}");
            self.model.insert(key, value);
        }
    }

    /// Ops of a mixed batch, applied to a copy of the model.
    fn random_ops(&mut self) -> (Vec<Json>, Model) {
        let mut next = self.model.clone();
        let mut ops = Vec::new();
        // Keys may repeat: a later op on a key wins, as in a WriteBatch.
        for _ in 0..1 + self.rng.below(15) {
            let key = self.key();
            if self.rng.chance(35) {
                ops.push(Json::Object(vec![
                    ("type".into(), Json::String("delete".into())),
                    ("key".into(), Json::String(key.clone())),
                ]));
                next.remove(&key);
            } else {
                let value = random_value(&mut self.rng, 2);
                let op = vec![
                    ("type".into(), Json::String("put".into())),
                    ("key".into(), Json::String(key.clone())),
                    ("value".into(), value.clone()),
                ];
                ops.push(Json::Object(op));
                next.insert(key, value);
            }
        }
        (ops, next)
    }

    fn batch(&mut self, what: &str) {
        let (ops, next) = self.random_ops();
        let n = ops.len() as u64;
        let answer = self.post("/api/batch", &Json::Object(vec![("ops".into(), Json::Array(ops))])).ok(what);
        assert_eq!(answer.field("count").number(), n, "{what}: batch count");
        self.model = next;
    }

    /// A batch with one bad op among good ones must be refused whole.
    fn refused_batch(&mut self, what: &str) {
        let (mut ops, _) = self.random_ops();
        let at = self.rng.below(ops.len() as u64 + 1) as usize;
        let (bad, code) = match self.rng.below(3) {
            0 => (
                vec![
                    ("type", Json::String("put".into())),
                    ("key", Json::String(String::new())),
                    ("value", Json::Number("1".into())),
                ],
                "LSMKV_INVALID_KEY",
            ),
            1 => (
                vec![
                    ("type", Json::String("put".into())),
                    ("key", Json::String(self.key())),
                    ("value", Json::Object(vec![("$base64".into(), Json::String("*not base64*".into()))])),
                ],
                "LSMKV_INVALID_ARGUMENT",
            ),
            _ => (
                vec![("type", Json::String("rename".into())), ("key", Json::String(self.key()))],
                "LSMKV_INVALID_ARGUMENT",
            ),
        };
        ops.insert(at, Json::Object(bad.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
        let answer = self.post("/api/batch", &Json::Object(vec![("ops".into(), Json::Array(ops))]));
        answer.error(400, code, what);
        // Nothing of it may have been applied.
        self.check_whole_prefix(what);
    }

    /// Random bounds inside this client's prefix (ranges of other clients'
    /// keys would not be exact while they write).
    fn random_bounds(&mut self) -> Bounds {
        let mut bounds = Bounds::default();
        let bound = |rng: &mut Rng, names: [&'static str; 2], keys: &[String]| {
            let key = &keys[rng.below(keys.len() as u64) as usize];
            // A stored key, or a point between stored keys.
            let key = if rng.chance(30) {
                format!("{key}{}", KEY_PIECES[rng.below(KEY_PIECES.len() as u64) as usize])
            } else {
                key.clone()
            };
            (names[rng.below(2) as usize], key)
        };
        if self.rng.chance(70) {
            let names = [["start", "gte"], ["gt", "gt"]][self.rng.below(2) as usize];
            bounds.lower = Some(bound(&mut self.rng, names, &self.keys));
        }
        if self.rng.chance(70) {
            let names = [["end", "lt"], ["lte", "lte"]][self.rng.below(2) as usize];
            bounds.upper = Some(bound(&mut self.rng, names, &self.keys));
        }
        // Without both bounds, a prefix keeps the request inside our keys.
        if bounds.lower.is_none() || bounds.upper.is_none() || self.rng.chance(30) {
            let key = self.key();
            let cut: Vec<usize> =
                key.char_indices().map(|(i, _)| i).filter(|&i| i >= self.prefix.len()).chain([key.len()]).collect();
            let end =
                if self.rng.chance(40) { self.prefix.len() } else { cut[self.rng.below(cut.len() as u64) as usize] };
            bounds.prefix = Some(key[..end].to_string());
        }
        bounds
    }

    /// A range query: the bounds, then now and then `limit` and `reverse`.
    fn range_query(&mut self, bounds: &Bounds) -> (String, Option<usize>, bool) {
        let mut query = bounds.query();
        let limit = self.rng.chance(30).then(|| 1 + self.rng.below(8) as usize);
        let reverse = self.rng.chance(40);
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if reverse {
            query.push("reverse=true".into());
        }
        (query.join("&"), limit, reverse)
    }

    fn expect(&self, bounds: &Bounds, limit: Option<usize>, reverse: bool) -> Vec<(String, Json)> {
        let mut want: Vec<_> =
            self.model.iter().filter(|(k, _)| bounds.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if reverse {
            want.reverse();
        }
        want.truncate(limit.unwrap_or(usize::MAX));
        want
    }

    fn range(&mut self, what: &str) {
        let bounds = self.random_bounds();
        let (query, limit, reverse) = self.range_query(&bounds);
        let answer = self.get(&format!("/api/range?{query}")).ok(what);
        check_range(&answer, &self.expect(&bounds, limit, reverse), &format!("{what}: range ?{query}"));
    }

    fn keys(&mut self, what: &str) {
        let bounds = self.random_bounds();
        let (query, limit, reverse) = self.range_query(&bounds);
        let answer = self.get(&format!("/api/keys?{query}")).ok(what);
        let want: Vec<Json> = self.expect(&bounds, limit, reverse).into_iter().map(|(k, _)| Json::String(k)).collect();
        assert_eq!(answer.field("data").array(), want, "{what}: keys ?{query}");
        assert_eq!(answer.field("count").number(), want.len() as u64, "{what}: keys count");
    }

    fn delete_range(&mut self, what: &str) {
        let bounds = self.random_bounds();
        let query = bounds.query().join("&");
        let url = self.url(&format!("/api/range?{query}"));
        let answer = send(&self.agent, "DELETE", &url, None).ok(what);
        let gone: Vec<String> = self.model.keys().filter(|k| bounds.contains(k)).cloned().collect();
        match answer.field("deleted") {
            Json::Array(keys) => assert_eq!(
                keys,
                &gone.iter().map(|k| Json::String(k.clone())).collect::<Vec<_>>(),
                "{what}: delete range ?{query}"
            ),
            count => assert_eq!(count.number(), gone.len() as u64, "{what}: delete range ?{query}"),
        }
        for key in gone {
            self.model.remove(&key);
        }
    }

    fn check_whole_prefix(&self, what: &str) {
        let answer = self.get(&format!("/api/range?prefix={}", encode(&self.prefix))).ok(what);
        let want: Vec<_> = self.model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        check_range(&answer, &want, &format!("{what}: whole prefix"));
    }
}

/// Checks a range answer: `items` in order, `data` with the same entries, `count`.
fn check_range(answer: &Json, want: &[(String, Json)], what: &str) {
    let items: Vec<(String, Json)> = answer
        .field("items")
        .array()
        .iter()
        .map(|item| (item.field("key").str().to_string(), item.field("value").clone()))
        .collect();
    if items != want {
        let at = items.iter().zip(want).position(|(a, b)| a != b).unwrap_or(items.len().min(want.len()));
        let show = |e: Option<&(String, Json)>| e.map(|(k, v)| format!("{k:?} = {}", v.text()));
        panic!(
            "{what}: {} items, want {}; first difference at {at}:\n got {:?}\nwant {:?}",
            items.len(),
            want.len(),
            show(items.get(at)),
            show(want.get(at))
        );
    }
    let mut data = answer.field("data").members().to_vec();
    data.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sorted = want.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(data == sorted, "{what}: data differs from items");
    assert_eq!(answer.field("count").number(), want.len() as u64, "{what}: count");
}

// ---------------------------------------------------------------------------
// The run

const CLIENTS: usize = 4;
const ROUNDS: u64 = 6;

/// Everything in the store equals the union of the clients' models.
fn check_everything(server_base: &str, clients: &[Client], what: &str) {
    let agent = agent();
    let union: Model = clients.iter().flat_map(|c| c.model.clone()).collect();
    let want: Vec<_> = union.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let answer = send(&agent, "GET", &format!("{server_base}/api/range"), None).ok(what);
    check_range(&answer, &want, &format!("{what}: full scan"));
    let mut reversed = want.clone();
    reversed.reverse();
    let answer = send(&agent, "GET", &format!("{server_base}/api/range?reverse=true"), None).ok(what);
    check_range(&answer, &reversed, &format!("{what}: full reverse scan"));
    let keys = send(&agent, "GET", &format!("{server_base}/api/keys"), None).ok(what);
    assert_eq!(
        keys.field("data").array(),
        want.iter().map(|(k, _)| Json::String(k.clone())).collect::<Vec<_>>(),
        "{what}: all keys"
    );
}

/// Flushes and compactions since the server started, from `/api/stats`.
fn work_done(base: &str) -> (u64, u64) {
    let stats = send(&agent(), "GET", &format!("{base}/api/stats"), None).ok("stats");
    let data = stats.field("data");
    (data.field("flushes").number(), data.field("compactions").number())
}

fn run(seed: u64, preset: &str, ops_per_client: u64) {
    let mut server = TestServer::start_with(&["--preset", preset]);
    let mut rng = Rng::new(seed);
    let mut clients: Vec<Client> = (0..CLIENTS).map(|i| Client::new(i, seed)).collect();
    let (mut restarts, mut flushes, mut compactions) = (0, 0, 0);
    for round in 0..ROUNDS {
        let base = server.base_url().to_string();
        let ops = ops_per_client / ROUNDS + u64::from(round < ops_per_client % ROUNDS);
        let handles: Vec<_> = clients
            .drain(..)
            .map(|mut client| {
                client.base = base.clone();
                thread::spawn(move || {
                    client.run(ops);
                    client
                })
            })
            .collect();
        // A client's panic fails the test with its message (join re-raises it).
        clients = handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        check_everything(&base, &clients, &format!("seed {seed} after round {round}"));
        if rng.chance(50) {
            let (f, c) = work_done(&base);
            (flushes, compactions) = (flushes + f, compactions + c);
            server.terminate();
            server.restart();
            restarts += 1;
            check_everything(server.base_url(), &clients, &format!("seed {seed} after restart {restarts}"));
        }
    }
    let (f, c) = work_done(server.base_url());
    let (flushes, compactions) = (flushes + f, compactions + c);
    let keys: usize = clients.iter().map(|c| c.model.len()).sum();
    let ops: u64 = clients.iter().map(|c| c.ops).sum();
    eprintln!("model seed {seed} ({preset}): {ops} requests by {CLIENTS} clients, {restarts} restarts, {flushes} flushes, {compactions} compactions, {keys} keys at the end");
    assert!(flushes > 0 && compactions > 0, "the workload exercised flush ({flushes}) and compaction ({compactions})");
}

fn ops_per_client(default: u64) -> u64 {
    std::env::var("LSMKV_MODEL_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[test]
fn model_of_concurrent_clients_with_the_teaching_preset() {
    for seed in seeds(0, 1) {
        run(seed, "teaching", ops_per_client(600));
    }
}

#[test]
fn model_of_concurrent_clients_with_the_production_preset() {
    for seed in seeds(1000, 1) {
        run(seed, "production", ops_per_client(300));
    }
}

#[test]
fn the_test_json_reader_keeps_number_text_and_member_order() {
    let text = r#"{"b":1.0,"a":[-0,1E+400,"\u00e9\ud83e\udd80"],"c":{"$base64":"AAE="}}"#;
    let value = parse_json(text.as_bytes()).unwrap();
    assert_eq!(value.text(), "{\"b\":1.0,\"a\":[-0,1E+400,\"é🦀\"],\"c\":{\"$base64\":\"AAE=\"}}");
    assert_eq!(value.field("c").binary(), Some(vec![0, 1]));
    assert_ne!(parse_json(br#"{"a":1,"b":2}"#), parse_json(br#"{"b":2,"a":1}"#));
    let mut rng = Rng::new(7);
    for _ in 0..2000 {
        let value = random_value(&mut rng, 3);
        let mut varied = String::new();
        value.write(&mut varied, Some(&mut rng));
        assert_eq!(parse_json(varied.as_bytes()).unwrap(), value, "{varied}");
        let len = rng.below(20) as usize;
        let bytes = rng.bytes(len);
        assert_eq!(base64_decode(&base64_encode(&bytes)), bytes);
    }
    assert_eq!(base64_encode(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
}
