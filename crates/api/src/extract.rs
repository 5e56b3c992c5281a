//! Request extractors whose rejections are problem+json bodies.

use axum::extract::FromRequest;

use crate::error::ApiError;

/// `axum::Json` with [`ApiError`] as its rejection: malformed JSON, a
/// missing or wrong content type (parameters such as `charset=utf-8` are
/// accepted) and oversized bodies answer problem+json.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
