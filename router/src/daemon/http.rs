//! The HTTP side of the API (unix socket) and of `/metrics` (TCP), with axum. Handlers only
//! forward requests to the actor and wait for its answer; they hold no routing state.

use std::path::Path;

use anyhow::Context as _;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bgp::wire::Family;
use serde::Deserialize;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, oneshot};

use super::{Input, Reply, Request};
use crate::api::ApiError;

type Tx = mpsc::Sender<Input>;

/// Binds the API socket, replacing a stale one left by an earlier run.
pub(super) fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    UnixListener::bind(path).with_context(|| format!("binding the API socket {}", path.display()))
}

async fn ask(tx: &Tx, req: Request) -> Response {
    let (reply, rx) = oneshot::channel();
    if tx.send(Input::Api(req, reply)).await.is_err() {
        return error(503, "the daemon is stopping".into());
    }
    match rx.await {
        Ok(Reply::Json(v)) => Json(v).into_response(),
        Ok(Reply::Text(t)) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            t,
        )
            .into_response(),
        Ok(Reply::Error(status, message)) => error(status, message),
        Err(_) => error(503, "the daemon did not answer".into()),
    }
}

fn error(status: u16, message: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ApiError { error: message })).into_response()
}

#[derive(Debug, Deserialize)]
struct RoutesQuery {
    family: Option<String>,
    prefix: Option<String>,
    vrf: Option<String>,
}

async fn routes(State(tx): State<Tx>, Query(q): Query<RoutesQuery>) -> Response {
    let name = q.family.as_deref().unwrap_or("ipv4-unicast");
    let Some(family) = Family::from_name(name) else {
        let known: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        return error(
            400,
            format!("unknown family {name:?}; one of {}", known.join(", ")),
        );
    };
    let prefix = match q.prefix.as_deref().map(str::parse::<ipnet::IpNet>) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => match q.prefix.as_deref().map(str::parse::<std::net::IpAddr>) {
            Some(Ok(ip)) => Some(ipnet::IpNet::from(ip)),
            _ => {
                return error(
                    400,
                    format!(
                        "prefix {:?} is not a prefix or address",
                        q.prefix.unwrap_or_default()
                    ),
                )
            }
        },
    };
    let vrf = q.vrf.filter(|v| v != "default");
    ask(
        &tx,
        Request::Routes {
            family,
            prefix,
            vrf,
        },
    )
    .await
}

/// Serves the API on `listener` until the actor goes away.
pub async fn serve_api(listener: UnixListener, tx: Tx) {
    let app = Router::new()
        .route(
            "/v1/bgp/summary",
            get(|State(tx): State<Tx>| async move { ask(&tx, Request::Summary).await }),
        )
        .route(
            "/v1/bgp/neighbors",
            get(|State(tx): State<Tx>| async move { ask(&tx, Request::Neighbors(None)).await }),
        )
        .route(
            "/v1/bgp/neighbors/{addr}",
            get(
                |State(tx): State<Tx>, UrlPath(addr): UrlPath<String>| async move {
                    ask(&tx, Request::Neighbors(Some(addr))).await
                },
            ),
        )
        .route(
            "/v1/bgp/neighbors/{addr}/reset",
            post(
                |State(tx): State<Tx>, UrlPath(addr): UrlPath<String>| async move {
                    ask(&tx, Request::Reset(addr)).await
                },
            ),
        )
        .route(
            "/v1/bgp/neighbors/{addr}/shutdown",
            post(
                |State(tx): State<Tx>, UrlPath(addr): UrlPath<String>| async move {
                    ask(&tx, Request::Shutdown(addr)).await
                },
            ),
        )
        .route("/v1/bgp/routes", get(routes))
        .route(
            "/v1/reload",
            post(|State(tx): State<Tx>| async move { ask(&tx, Request::Reload(None)).await }),
        )
        .route(
            "/metrics",
            get(|State(tx): State<Tx>| async move { ask(&tx, Request::Metrics).await }),
        )
        .with_state(tx);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "api server stopped");
    }
}

/// Serves `/metrics` over TCP.
pub(super) async fn serve_metrics(listener: TcpListener, tx: Tx) {
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(tx): State<Tx>| async move { ask(&tx, Request::Metrics).await }),
        )
        .with_state(tx);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}
