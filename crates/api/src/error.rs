//! The API error type: one enum, named by HTTP meaning, that owns the
//! mapping to `application/problem+json` (RFC 9457) bodies.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use babyshield_monitoring::{request_id, ErrorKind};
use serde::Serialize;

/// Media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is invalid; the text names the value and the rule.
    #[error("{0}")]
    BadRequest(String),
    /// The body is not JSON of the expected shape.
    #[error("{detail}")]
    InvalidJson {
        /// 400, 413 or 415 as axum's JSON extractor decided.
        status: StatusCode,
        /// Description of the problem with the body.
        detail: String,
    },
    /// No route matches the path.
    #[error("no route matches {0}")]
    NotFound(String),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid request, but this caller may not make it.
    #[error("{0}")]
    Forbidden(String),
    /// The caller used up its rate-limit window.
    #[error("rate limit exceeded; retry after {retry_after_seconds} s")]
    RateLimited {
        /// Seconds until the window resets, at least 1.
        retry_after_seconds: u64,
    },
    /// The request body did not arrive within its time limit.
    #[error("the request body was not received within {0} ms")]
    BodyTimeout(u64),
    /// The service is at its concurrency limit and shed the request.
    #[error("the service is at capacity")]
    Overloaded,
    /// Redis failed where the operation has no fallback.
    #[error("redis unavailable")]
    RedisUnavailable(String),
    /// The route exists but not for this method.
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    /// Postgres failed or could not be reached.
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// The request ran past its time limit.
    #[error("the request timed out")]
    Timeout,
    /// A bug or unexpected state.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Problem details body (RFC 9457) with the `code` and `traceId` extension
/// members that existing clients read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI reference naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this request.
    pub detail: String,
    /// Stable machine-readable code, e.g. `BAD_REQUEST`.
    pub code: String,
    /// Request id, also sent in the `X-Request-Id` header.
    #[serde(rename = "traceId")]
    pub trace_id: String,
}

impl ApiError {
    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidJson { status, .. } => *status,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RedisUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::DatabaseUnavailable(_) | ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BAD_REQUEST",
            ApiError::InvalidJson { status, .. } => match *status {
                StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
                _ => "INVALID_JSON",
            },
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::RedisUnavailable(_) => "REDIS_UNAVAILABLE",
            ApiError::BodyTimeout(_) => "REQUEST_TIMEOUT",
            ApiError::Overloaded => "OVERLOADED",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::DatabaseUnavailable(_) => "DATABASE_UNAVAILABLE",
            ApiError::Timeout => "TIMEOUT",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// Returns the `detail` shown to the client: specific for client errors,
    /// generic for server errors so that no internal text (or secret)
    /// reaches the body.
    fn detail(&self) -> String {
        match self {
            ApiError::DatabaseUnavailable(_) => {
                "The recall database is unavailable; retry shortly.".to_owned()
            }
            ApiError::Timeout => "The request took too long; retry shortly.".to_owned(),
            ApiError::RedisUnavailable(_) => "Redis is unavailable; retry shortly.".to_owned(),
            ApiError::Overloaded => {
                "The service is at capacity; retry after the Retry-After delay.".to_owned()
            }
            ApiError::Internal(_) => "An unexpected error occurred.".to_owned(),
            other => other.to_string(),
        }
    }

    /// Builds the problem body for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let code = self.code();
        Problem {
            problem_type: format!(
                "https://babyshield.cureviax.ai/problems/{}",
                code.to_ascii_lowercase().replace('_', "-")
            ),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            trace_id: request_id::current(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Shed requests are counted, not logged: under overload a line per
        // request would add to the load.
        if status.is_server_error() && !matches!(self, ApiError::Overloaded) {
            // Logged once, here, with the request's id, method and route.
            // The cause chain never contains a password, because connection
            // URLs are not part of sqlx's error text.
            let cause = std::error::Error::source(&self).map(ToString::to_string);
            let logged = request_id::with_current(|request| {
                tracing::error!(
                    request_id = %request.id,
                    method = request.method,
                    route = request.route(),
                    error = %self,
                    cause,
                    "request failed"
                );
            });
            if logged.is_none() {
                tracing::error!(error = %self, cause, "request failed");
            }
        }
        let kind = match self {
            ApiError::DatabaseUnavailable(_) => Some(ErrorKind::Database),
            ApiError::RedisUnavailable(_) => Some(ErrorKind::Redis),
            ApiError::Overloaded => Some(ErrorKind::Overload),
            ApiError::Timeout => Some(ErrorKind::Timeout),
            ApiError::Internal(_) => Some(ErrorKind::Internal),
            _ => None,
        };
        let mut response = problem_response(status, &self.problem());
        match self {
            ApiError::RateLimited {
                retry_after_seconds,
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            ApiError::Overloaded => {
                // Shedding lasts only as long as the current burst.
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        if let Some(kind) = kind {
            // The request layer counts it in `error_total{kind}`.
            response.extensions_mut().insert(kind);
        }
        response
    }
}

/// Serialises a problem body with the problem+json content type.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            // Valid JSON of the wrong shape: a plain bad request, with
            // serde's text naming the member (e.g. "limit: invalid type").
            JsonRejection::JsonDataError(error) => ApiError::BadRequest(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::InvalidJson {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail: "Content-Type must be application/json.".to_owned(),
            },
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::InvalidJson {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                detail: "The request body is too large.".to_owned(),
            },
            other => ApiError::InvalidJson {
                status: other.status(),
                detail: other.body_text(),
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        match error {
            // 57014: query_canceled, raised by statement_timeout.
            sqlx::Error::Database(ref db) if db.code().as_deref() == Some("57014") => {
                ApiError::Timeout
            }
            // No pool connection within the acquire timeout: the server is
            // down, hung, or every connection is busy with slow queries.
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => ApiError::DatabaseUnavailable(error),
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57")) =>
            {
                // Class 08 is connection exceptions, class 57 operator
                // intervention such as an administrator shutdown.
                ApiError::DatabaseUnavailable(error)
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use babyshield_monitoring::request_id::{self, RequestContext};

    use super::*;

    /// Log output collected in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn server_error_line_names_the_request() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let context = RequestContext {
            id: "req-42".to_owned(),
            method: "POST",
            route: None,
        };
        let response = request_id::scope(context, async {
            ApiError::Internal(anyhow::anyhow!("disk on fire")).into_response()
        })
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

        let text = String::from_utf8(captured.0.lock().expect("log buffer").clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["message"], "request failed");
        assert_eq!(line["request_id"], "req-42");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["route"], "unmatched");
        assert_eq!(line["cause"], "disk on fire");
    }
}
