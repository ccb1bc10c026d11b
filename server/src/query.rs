//! Range and key-listing parameters from a query string: the original's
//! `start` (inclusive) and `end` (exclusive), and `gte`/`gt`/`lte`/`lt`,
//! `prefix`, `limit`, `reverse`.

use std::ops::Bound;

use lsmkv::RangeOptions;

use crate::error::{ApiError, ApiResult};

/// Parsed parameters; `start`/`end` are kept to echo them back.
pub struct RangeQuery {
    pub options: RangeOptions,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Whether any bound or prefix was given (a range delete needs one).
    pub bounded: bool,
    /// `stale=true`: in cluster mode, read this node's store as it is,
    /// without first making the read linearizable.
    pub stale: bool,
}

pub fn pairs(raw: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| ApiError::bad(format!("bad query string: {e}")))
}

pub fn range(raw: Option<&str>) -> ApiResult<RangeQuery> {
    let mut q = RangeQuery { options: RangeOptions::default(), start: None, end: None, bounded: false, stale: false };
    let mut lower_set = false;
    let mut upper_set = false;
    for (name, value) in pairs(raw)? {
        let bytes = value.clone().into_bytes();
        match name.as_str() {
            "start" | "gte" | "gt" => {
                let bound = if name == "gt" { Bound::Excluded(bytes) } else { Bound::Included(bytes) };
                q.options.start = once(&mut lower_set, "start, gte and gt", bound)?;
                q.start = q.start.take().or((name == "start").then_some(value));
            }
            "end" | "lt" | "lte" => {
                let bound = if name == "lte" { Bound::Included(bytes) } else { Bound::Excluded(bytes) };
                q.options.end = once(&mut upper_set, "end, lt and lte", bound)?;
                q.end = q.end.take().or((name == "end").then_some(value));
            }
            "prefix" => {
                if bytes.is_empty() {
                    return Err(ApiError::bad("prefix must not be empty"));
                }
                q.options.prefix = Some(bytes);
                q.bounded = true;
            }
            "limit" => {
                let limit: usize =
                    value.parse().map_err(|_| ApiError::bad(format!("limit must be a whole number, not {value:?}")))?;
                q.options.limit = Some(limit);
            }
            "reverse" => q.options.reverse = flag(&name, &value)?,
            "stale" => q.stale = flag(&name, &value)?,
            other => return Err(ApiError::bad(format!("unknown query parameter {other:?}"))),
        }
    }
    q.bounded |= lower_set || upper_set;
    Ok(q)
}

fn flag(name: &str, value: &str) -> ApiResult<bool> {
    match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad(format!("{name} must be true or false, not {value:?}"))),
    }
}

/// The `stale` parameter of a single-key read (other parameters are
/// ignored there, as they always were).
pub fn stale(raw: Option<&str>) -> ApiResult<bool> {
    let mut stale = false;
    for (name, value) in pairs(raw).unwrap_or_default() {
        if name == "stale" {
            stale = flag(&name, &value)?;
        }
    }
    Ok(stale)
}

/// One side of a range, which may be given under any of `names` but once.
fn once(set: &mut bool, names: &str, bound: Bound<Vec<u8>>) -> ApiResult<Bound<Vec<u8>>> {
    if std::mem::replace(set, true) {
        return Err(ApiError::bad(format!("give at most one of {names}")));
    }
    Ok(bound)
}
