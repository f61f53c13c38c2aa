//! snapkeep's web console at `/console/`: server-rendered pages over the core (the fleet's
//! protection, a cluster's snapshots with their chart, policy, create, delete and restore, live
//! operations, storage profiles, access keys, the audit log), with the vendored htmx (0BSD) for
//! their live parts. Nothing is built by the user: the assets are embedded in the binary.
//!
//! Every page but the login and the assets goes through the gateway like any dialect (`auth`):
//! changes are audited as `console`. Every answer carries a strict Content-Security-Policy (no
//! inline script or style), `nosniff`, `no-referrer` and `no-store`.

mod auth;
mod cluster;
mod error;
mod fleet;
mod layout;
mod lists;
mod login;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use snapkeep_api_gateway::{Route, dialect_router};
use snapkeep_core::Snapkeep;

pub use auth::Console;

/// The console, guarded by the admin token `token` (a login opens a session with it); session
/// cookies are `Secure` when `secure_cookies` (snapkeep listens beyond loopback, so browsers
/// reach it through TLS).
pub fn router(core: Snapkeep, token: &str, secure_cookies: bool) -> Router {
    let console = Console { token: Arc::from(token), secure_cookies };
    let open = Router::new()
        .route(login::PATH, get(login::form).post(login::submit))
        .route("/console/assets/htmx.min.js", get(htmx))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/favicon.svg", get(favicon))
        .route("/console", get(|| async { auth::see_other("/console/") }))
        .with_state((core.clone(), console.clone()));
    dialect_router(core, console, routes()).merge(open).layer(map_response(secure_headers))
}

fn routes() -> Vec<Route> {
    use axum::http::Method;
    const CLUSTER: &str = "/console/clusters/{id}";
    vec![
        Route::read("/console/", fleet::page),
        Route::read("/console/fleet/rows", fleet::rows),
        Route::read(CLUSTER, cluster::page),
        Route::read("/console/clusters/{id}/running", cluster::running),
        Route::read("/console/clusters/{id}/policy/preview", cluster::preview),
        Route::change(Method::POST, "/console/clusters/{id}/snapshots", "CreateSnapshot", cluster::create),
        Route::change(Method::POST, "/console/clusters/{id}/policy", "SetPolicy", cluster::set_policy),
        Route::read("/console/snapshots/{id}/restore", cluster::restore_form),
        Route::change(Method::POST, "/console/snapshots/{id}/restore", "RestoreSnapshot", cluster::restore),
        Route::change(Method::POST, "/console/snapshots/{id}/delete", "DeleteSnapshot", cluster::delete),
        Route::read("/console/operations", lists::operations),
        Route::read("/console/operations/rows", lists::operation_rows),
        Route::read("/console/storage", lists::storage),
        Route::read("/console/keys", lists::keys),
        Route::read("/console/audit", lists::audit),
        Route::change(Method::POST, "/console/logout", "Logout", login::logout),
    ]
}

const HTMX: &str = include_str!("../assets/htmx-2.0.11.min.js");
const CSS: &str = include_str!("../assets/console.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

async fn htmx() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], HTMX).into_response()
}

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response()
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// The headers every console answer carries.
async fn secure_headers(mut response: Response) -> Response {
    const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
