//! Graceful shutdown on SIGTERM and Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use babyshield_monitoring::Readiness;
use tokio::net::TcpListener;

use crate::config::Config;

/// Serves `app` on `listener` until a shutdown signal, then drains.
///
/// Order after the signal: readiness turns 503 at once; the listener keeps
/// accepting for the drain delay so the load balancer notices first; then
/// the listener closes, idle keep-alive connections are closed, and
/// in-flight requests get until the deadline (counted from the signal).
pub async fn run(
    listener: TcpListener,
    app: Router,
    readiness: Arc<Readiness>,
    config: &Config,
) -> anyhow::Result<()> {
    let drain_delay = Duration::from_secs(config.shutdown_drain_delay_seconds);
    let deadline = Duration::from_secs(config.shutdown_deadline_seconds);
    let (signalled_tx, signalled_rx) = tokio::sync::watch::channel(false);

    let drain = {
        let readiness = Arc::clone(&readiness);
        async move {
            wait_for_signal().await;
            let _ = signalled_tx.send(true);
            readiness.begin_shutdown();
            tracing::info!(
                drain_delay_seconds = drain_delay.as_secs(),
                deadline_seconds = deadline.as_secs(),
                "shutdown signal received, readiness now 503"
            );
            tokio::time::sleep(drain_delay).await;
            tracing::info!("drain delay over, closing the listener");
        }
    };

    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(drain);
    let mut signalled = signalled_rx;
    let hard_stop = async move {
        while !*signalled.borrow() {
            if signalled.changed().await.is_err() {
                // The sender is gone without a signal: the server ended on
                // its own, so there is nothing to cut short.
                std::future::pending::<()>().await;
            }
        }
        tokio::time::sleep(deadline).await;
    };

    tokio::select! {
        result = server => {
            result?;
            tracing::info!("shutdown complete");
        }
        () = hard_stop => {
            tracing::warn!(deadline_seconds = deadline.as_secs(), "shutdown deadline reached with requests in flight, exiting");
        }
    }
    Ok(())
}

/// Waits for SIGTERM (container stop) or Ctrl-C.
async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "listening for Ctrl-C failed");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "listening for SIGTERM failed");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
