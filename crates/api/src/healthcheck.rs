//! `babyshield-api healthcheck`: a container health check that needs no
//! curl in the image.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Time limit of the whole check.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Returns `Ok` when `GET /api/v1/monitoring/healthz` on the local listener
/// answers 200, else what failed.
pub async fn check(bind_address: SocketAddr) -> Result<(), String> {
    let target = local_target(bind_address);
    tokio::time::timeout(TIMEOUT, request(target))
        .await
        .map_err(|_| format!("no answer from {target} within {} s", TIMEOUT.as_secs()))?
}

/// Turns a wildcard listen address into the loopback address of the same
/// family, where the check can connect.
fn local_target(bind_address: SocketAddr) -> SocketAddr {
    let mut target = bind_address;
    if target.ip().is_unspecified() {
        target.set_ip(match target {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    target
}

async fn request(target: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(target)
        .await
        .map_err(|e| format!("connecting to {target} failed: {e}"))?;
    let request = format!(
        "GET /api/v1/monitoring/healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\nUser-Agent: babyshield-healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(code) => Err(format!("healthz answered {code}")),
        None => Err("healthz sent no HTTP status line".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_address_becomes_loopback() {
        let target = local_target("0.0.0.0:8080".parse().unwrap());
        assert_eq!(target, "127.0.0.1:8080".parse().unwrap());
        let target = local_target("[::]:9000".parse().unwrap());
        assert_eq!(target, "[::1]:9000".parse().unwrap());
    }
}
