//! Dispatches requests by method and path the way the engines route them, after the simulator's
//! own concerns: basic auth, the request log, and injected faults.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{EsError, EsResult};
use crate::faults::{Faults, Injection};
use crate::fleet::Fleet;
use crate::request::Request;
use crate::sim::Sim;
use crate::{indices, repositories, snapshots};

const MAX_BODY: usize = 64 * 1024 * 1024;
/// The engines' `http.max_initial_line_length` default: the longest request line
/// (`METHOD SP target SP HTTP/1.1`) they read, in bytes.
const MAX_INITIAL_LINE: usize = 4096;
const MAX_LOG: usize = 200_000;

/// One served request, as `GET /_essim/requests` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

pub struct App {
    pub fleet: Fleet,
    pub log: Mutex<Vec<LogEntry>>,
    pub path_prefix: String,
    /// `user:password` required on every engine request, when set.
    pub basic_auth: Option<String>,
}

pub async fn handle(State(app): State<Arc<App>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let query_string = parts.uri.query().unwrap_or_default().to_owned();
    let routed = raw_path.strip_prefix(app.path_prefix.as_str()).and_then(|path| Some((path, app.fleet.route(path)?)));
    let Some((path, (sim, inner))) = routed else {
        return EsError::new(404, "not_found", format!("no handler found for uri [{raw_path}]")).into_response();
    };
    let line = parts.method.as_str().len() + parts.uri.path_and_query().map_or(1, |p| p.as_str().len()) + 10;
    if line > MAX_INITIAL_LINE {
        let kind = sim.lock().expect("sim lock").profile.long_line_error();
        return EsError::new(400, kind, format!("An HTTP line is larger than {MAX_INITIAL_LINE} bytes."))
            .into_response();
    }
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(e) => return EsError::bad_request(e.to_string()).into_response(),
    };
    let request = Request {
        method: parts.method.clone(),
        segments: inner
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect(),
        query: url_query(&query_string),
        body,
    };
    if request.segments.first().map(String::as_str) == Some("_essim") {
        return control(&app, &sim, &request);
    }
    let response = serve(&app, &sim, &parts.headers, &request, inner).await;
    let mut log = app.log.lock().expect("log lock");
    if log.len() < MAX_LOG {
        log.push(LogEntry {
            method: parts.method.to_string(),
            path: path.to_owned(),
            query: query_string,
            status: response.status().as_u16(),
        });
    }
    response
}

async fn serve(app: &App, sim: &Mutex<Sim>, headers: &HeaderMap, request: &Request, path: &str) -> Response {
    if let Some(expected) = &app.basic_auth
        && !authorized(headers, expected)
    {
        let mut response = EsError::new(
            401,
            "security_exception",
            format!("missing authentication credentials for REST request [{path}]"),
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"security\" charset=\"UTF-8\"".parse().expect("valid header"),
        );
        return response;
    }
    let injection = sim.lock().expect("sim lock").state.faults.decide(path);
    match injection {
        Injection::Error(status) => {
            return EsError::new(status, "essim_injected_exception", "fault injected by essim").into_response();
        }
        Injection::Delay(delay) => tokio::time::sleep(delay).await,
        Injection::None => {}
    }
    match route(sim, request).await {
        Ok((status, Value::String(text))) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
            text,
        )
            .into_response(),
        Ok((status, _)) if request.method == Method::HEAD => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Body::empty()).into_response()
        }
        Ok((status, body)) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(body)).into_response()
        }
        Err(e) if request.method == Method::HEAD => e.status.into_response(),
        Err(e) => e.into_response(),
    }
}

fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(encoded) = value.strip_prefix("Basic ") else { return false };
    base64::engine::general_purpose::STANDARD.decode(encoded.trim()).is_ok_and(|d| d == expected.as_bytes())
}

async fn route(sim: &Mutex<Sim>, req: &Request) -> EsResult<(u16, Value)> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let ok = |v: Value| Ok((200, v));
    let m = &req.method;
    let is = |method: Method| *m == method;
    let write = is(Method::PUT) || is(Method::POST);
    let read = is(Method::GET) || is(Method::HEAD);
    let lock = || sim.lock().expect("sim lock");
    match segs.as_slice() {
        [] if read => {
            let s = lock();
            ok(s.profile.root(&s.cluster_name, "essim-node-1", &s.cluster_uuid))
        }
        ["_snapshot"] if read => ok(repositories::get(&lock(), None)?),
        ["_snapshot", "_status"] if read => ok(snapshots::status(&lock(), None, None, req)?),
        ["_snapshot", repo] if read => ok(repositories::get(&lock(), Some(repo))?),
        ["_snapshot", repo] if write => ok(repositories::put(&mut lock(), repo, req)?),
        ["_snapshot", repo] if is(Method::DELETE) => ok(repositories::delete(&mut lock(), repo)?),
        ["_snapshot", repo, "_verify"] if is(Method::POST) => ok(repositories::verify(&lock(), repo)?),
        ["_snapshot", repo, "_cleanup"] if is(Method::POST) => ok(repositories::cleanup(&lock(), repo)?),
        ["_snapshot", repo, "_status"] if read => ok(snapshots::status(&lock(), Some(repo), None, req)?),
        ["_snapshot", repo, snap] if write => ok(snapshots::create(sim, repo, snap, req).await?),
        ["_snapshot", repo, snap] if read => ok(snapshots::get(&lock(), repo, snap, req)?),
        ["_snapshot", repo, snap] if is(Method::DELETE) => ok(snapshots::delete(&mut lock(), repo, snap)?),
        ["_snapshot", repo, snap, "_status"] if read => ok(snapshots::status(&lock(), Some(repo), Some(snap), req)?),
        ["_snapshot", repo, snap, "_restore"] if is(Method::POST) => {
            ok(snapshots::restore(sim, repo, snap, req).await?)
        }
        ["_snapshot", repo, src, "_clone", target] if is(Method::PUT) => {
            ok(snapshots::clone(&mut lock(), repo, src, target, req)?)
        }
        ["_cat", "indices"] if read => ok(indices::cat(&lock(), None, req)?),
        ["_cat", "indices", expr] if read => ok(indices::cat(&lock(), Some(expr), req)?),
        ["_recovery"] if read => ok(indices::recovery(&lock(), None, req)?),
        [expr, "_recovery"] if read => ok(indices::recovery(&lock(), Some(expr), req)?),
        ["_bulk"] if write => ok(indices::bulk(&mut lock(), None, req)?),
        [index, "_bulk"] if write => ok(indices::bulk(&mut lock(), Some(index), req)?),
        ["_refresh"] | [_, "_refresh"] if write || read => {
            ok(json!({"_shards": {"total": 1, "successful": 1, "failed": 0}}))
        }
        ["_count"] if read || write => ok(indices::count(&lock(), "_all")?),
        [expr, "_count"] if read || write => ok(indices::count(&lock(), expr)?),
        ["_search"] if read || write => ok(indices::search(&lock(), "_all", req)?),
        [expr, "_search"] if read || write => ok(indices::search(&lock(), expr, req)?),
        [expr, "_close"] if is(Method::POST) => ok(indices::set_open(&mut lock(), expr, false)?),
        [expr, "_open"] if is(Method::POST) => ok(indices::set_open(&mut lock(), expr, true)?),
        [index, "_doc"] if is(Method::POST) => indices::put_doc(&mut lock(), index, None, req),
        [index, "_doc", id] if write => indices::put_doc(&mut lock(), index, Some(id), req),
        [index, "_doc", id] if read => indices::get_doc(&lock(), index, id),
        [index, "_doc", id] if is(Method::DELETE) => indices::delete_doc(&mut lock(), index, id),
        [index] if is(Method::PUT) => ok(indices::create(&mut lock(), index, req)?),
        [expr] if is(Method::DELETE) => ok(indices::delete(&mut lock(), expr)?),
        [expr] if read && !expr.starts_with('_') => ok(indices::get(&lock(), expr)?),
        _ => Err(EsError::new(
            405,
            "method_not_allowed",
            format!("Incorrect HTTP method for uri [/{}] and method [{}]", req.segments.join("/"), req.method),
        )),
    }
}

/// The simulator's own API: `/_essim/faults`, `/_essim/requests`, `/_essim/settings`.
fn control(app: &App, sim: &Mutex<Sim>, req: &Request) -> Response {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let result: EsResult<Value> = match (req.method.clone(), segs.as_slice()) {
        (Method::GET, ["_essim", "faults"]) => Ok(json!(sim.lock().expect("sim lock").state.faults)),
        (Method::PUT, ["_essim", "faults"]) => {
            serde_json::from_slice::<Faults>(&req.body).map_err(|e| EsError::bad_request(e.to_string())).map(|faults| {
                let mut sim = sim.lock().expect("sim lock");
                sim.state.faults = faults;
                sim.save();
                json!({"acknowledged": true})
            })
        }
        (Method::GET, ["_essim", "requests"]) => Ok(json!(*app.log.lock().expect("log lock"))),
        (Method::DELETE, ["_essim", "requests"]) => {
            app.log.lock().expect("log lock").clear();
            Ok(json!({"acknowledged": true}))
        }
        (Method::PUT, ["_essim", "settings"]) => {
            serde_json::from_slice::<Value>(&req.body).map_err(|e| EsError::bad_request(e.to_string())).map(|body| {
                let mut sim = sim.lock().expect("sim lock");
                if let Some(rate) = body.get("rate_bytes_per_sec").and_then(Value::as_u64) {
                    sim.rate_bytes_per_sec = rate.max(1);
                }
                json!({"acknowledged": true, "rate_bytes_per_sec": sim.rate_bytes_per_sec})
            })
        }
        _ => Err(EsError::new(404, "not_found", "unknown simulator control endpoint")),
    };
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A query string's parameters, decoded (`+` is a space).
fn url_query(query: &str) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
