//! Request ids: taken from a valid incoming `X-Request-Id` header or made
//! here, sent back in the response header, and readable anywhere inside the
//! request's task (problem bodies carry it as `traceId`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Header that carries the request id both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: String, future: F) -> F::Output {
    CURRENT.scope(id, future).await
}

/// Returns the current request id, or an empty string outside a request.
pub fn current() -> String {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
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
    format!("{prefix:08x}-{n:010x}")
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
    fn generated_ids_differ() {
        assert_ne!(accept_or_generate(None), accept_or_generate(None));
    }
}
