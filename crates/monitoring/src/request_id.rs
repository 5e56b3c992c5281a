//! Request ids: taken from a valid incoming `X-Request-Id` header or made
//! here, and sent back in the response header. Anywhere inside the request's
//! task, the id is readable together with the request's method and route.
//! Problem bodies carry the id as `traceId`, and error log lines carry all
//! three.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::MatchedPath;
use tokio::task::futures::TaskLocalFuture;

use crate::metrics::UNMATCHED_ROUTE;

/// Header that carries the request id both ways.
pub const HEADER: &str = "x-request-id";

/// The request being served: its id, method label and matched route.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Request id.
    pub id: String,
    /// Method label, as in the HTTP metrics.
    pub method: &'static str,
    /// Matched route template; `None` when no route matched.
    pub route: Option<MatchedPath>,
}

impl RequestContext {
    /// Returns the route label, as in the HTTP metrics.
    pub fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
    }
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// Wraps `future` so that `context` is the current request while it runs.
pub fn scope<F: std::future::Future>(
    context: RequestContext,
    future: F,
) -> TaskLocalFuture<RequestContext, F> {
    CURRENT.scope(context, future)
}

/// Returns the current request id, or an empty string outside a request.
pub fn current() -> String {
    CURRENT
        .try_with(|context| context.id.clone())
        .unwrap_or_default()
}

/// Calls `f` with the current request, or returns `None` outside a request.
pub fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
    CURRENT.try_with(f).ok()
}

/// Returns the incoming id when it is short and printable, so a client
/// cannot inject log lines or huge headers through it, else a new id.
pub fn accept_or_generate(incoming: Option<&[u8]>) -> String {
    match incoming {
        Some(bytes)
            if !bytes.is_empty()
                && bytes.len() <= 64
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            // The check above admits ASCII only, so this cannot fail.
            String::from_utf8_lossy(bytes).into_owned()
        }
        _ => generate(),
    }
}

/// Makes an id unique within this process and, through a start-time prefix,
/// unlikely to repeat across processes.
fn generate() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0);
        nanos ^ std::process::id().rotate_left(16)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Written digit by digit: `format!` costs several times more, on every
    // request.
    let mut id = String::with_capacity(19);
    push_hex(&mut id, u64::from(*prefix), 8);
    id.push('-');
    push_hex(&mut id, n, 10);
    id
}

/// Appends the lowest `digits` hexadecimal digits of `value`, zero-padded.
fn push_hex(out: &mut String, value: u64, digits: u32) {
    for shift in (0..digits).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_incoming_id_is_kept() {
        assert_eq!(accept_or_generate(Some(b"abc-123_x.y")), "abc-123_x.y");
    }

    #[test]
    fn hostile_incoming_id_is_replaced() {
        for bad in [&b""[..], b"a\nb", b"with space", &[b'a'; 65][..]] {
            let id = accept_or_generate(Some(bad));
            assert_ne!(id.as_bytes(), bad);
            assert_eq!(id.len(), 19, "generated id {id}");
        }
    }

    #[test]
    fn hex_digits_are_zero_padded() {
        let mut out = String::new();
        push_hex(&mut out, 0x2a, 8);
        out.push('-');
        push_hex(&mut out, 0x1234_5678_9abc, 10);
        assert_eq!(out, "0000002a-3456789abc");
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(accept_or_generate(None), accept_or_generate(None));
    }
}
