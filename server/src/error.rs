//! Errors as HTTP answers: `{ success: false, error: { code, message } }`
//! with the status API.md gives each code. A client mistake is a 4xx.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The methods a route accepts, for a 405's `Allow` header.
    pub allow: Option<&'static str>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), allow: None }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "LSMKV_INVALID_ARGUMENT", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "LSMKV_NOT_FOUND", message)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "LSMKV_METHOD_NOT_ALLOWED",
            format!("this route accepts {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "LSMKV_PAYLOAD_TOO_LARGE", message)
    }

    /// Cluster mode: no leader could be reached in time; nothing was written.
    pub fn no_leader() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "LSMKV_NO_LEADER",
            "no leader is known (an election is under way, or a majority of the nodes is down); nothing was written",
        )
    }

    /// Cluster mode: a write whose outcome is unknown.
    pub fn timeout(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "LSMKV_TIMEOUT",
            format!("{why}: the write may or may not have taken effect"),
        )
    }

    /// The node is shutting down.
    pub fn closed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "LSMKV_CLOSED", message)
    }

    /// A cluster route on a node started without `--cluster`.
    pub fn not_clustered() -> Self {
        Self::new(StatusCode::CONFLICT, "LSMKV_NOT_CLUSTERED", "this server was not started with --cluster")
    }

    /// A membership change that the cluster's state does not allow.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "LSMKV_CONFLICT", message)
    }

    /// The answer for an engine error code (`lsmkv::Error::code`).
    pub fn engine(code: &str, message: impl Into<String>) -> Self {
        let (status, code) = match code {
            "INVALID_KEY" => (StatusCode::BAD_REQUEST, "LSMKV_INVALID_KEY"),
            "INVALID_VALUE" => (StatusCode::BAD_REQUEST, "LSMKV_INVALID_VALUE"),
            "INVALID_ARGUMENT" | "INVALID_OPTIONS" => (StatusCode::BAD_REQUEST, "LSMKV_INVALID_ARGUMENT"),
            "CORRUPTION" | "UNSUPPORTED_FORMAT" => (StatusCode::INTERNAL_SERVER_ERROR, "LSMKV_CORRUPTION"),
            "QUOTA" => (StatusCode::INSUFFICIENT_STORAGE, "LSMKV_QUOTA"),
            "READ_ONLY" => (StatusCode::SERVICE_UNAVAILABLE, "LSMKV_READ_ONLY"),
            "CLOSED" => (StatusCode::SERVICE_UNAVAILABLE, "LSMKV_CLOSED"),
            "LOCKED" => (StatusCode::SERVICE_UNAVAILABLE, "LSMKV_LOCKED"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "LSMKV_IO"),
        };
        ApiError::new(status, code, message)
    }
}

impl From<lsmkv::Error> for ApiError {
    fn from(e: lsmkv::Error) -> Self {
        ApiError::engine(e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "success": false, "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(allow) = self.allow {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}
