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
}

impl From<lsmkv::Error> for ApiError {
    fn from(e: lsmkv::Error) -> Self {
        let (status, code) = match e.code() {
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
        ApiError::new(status, code, e.to_string())
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
