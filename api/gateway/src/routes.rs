//! A dialect's route table: every route once, with its method, path template, handler and — for
//! a change — the vendor's name of the action, which the audit log records. The router and the
//! audit's names both come from the one table, so they cannot drift apart.

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use snapkeep_core::Snapkeep;

use crate::{Dialect, Gateway, guard};

/// One route of a dialect.
pub struct Route {
    method: Method,
    path: &'static str,
    handler: MethodRouter<Snapkeep>,
    /// The vendor's name of the action; every route but a read has one.
    action: Option<&'static str>,
}

impl Route {
    /// A read (`GET`): not audited.
    pub fn read<H: Handler<T, Snapkeep>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self { method: Method::GET, path, handler: on(MethodFilter::GET, handler), action: None }
    }

    /// A change (`POST`, `PUT`, `DELETE`, …), recorded in the audit log as `action`.
    ///
    /// # Panics
    /// When `method` is one axum cannot route (a programming error, caught by any test).
    pub fn change<H: Handler<T, Snapkeep>, T: 'static>(
        method: Method,
        path: &'static str,
        action: &'static str,
        handler: H,
    ) -> Self {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        Self { method, path, handler: on(filter, handler), action: Some(action) }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn path(&self) -> &'static str {
        self.path
    }
}

/// The names of a table's changes: (method, path template, action).
#[derive(Debug, Clone, Default)]
pub(crate) struct Actions(Arc<Vec<(Method, &'static str, &'static str)>>);

impl Actions {
    fn of(routes: &[Route]) -> Self {
        Self(Arc::new(routes.iter().filter_map(|r| Some((r.method.clone(), r.path, r.action?))).collect()))
    }

    /// The action of `method` on `route`; `METHOD route` for one the table does not name.
    pub(crate) fn name(&self, method: &Method, route: &str) -> String {
        self.0
            .iter()
            .find(|(m, r, _)| m == method && *r == route)
            .map_or_else(|| format!("{method} {route}"), |(_, _, action)| (*action).to_owned())
    }
}

/// The router of `routes`, every one guarded by the gateway of `dialect`.
pub fn dialect_router<D: Dialect>(core: Snapkeep, dialect: D, routes: Vec<Route>) -> Router {
    let gateway = Gateway::new(core.clone(), dialect, Actions::of(&routes));
    routes
        .into_iter()
        .fold(Router::new(), |router, route| router.route(route.path, route.handler))
        .route_layer(from_fn_with_state(gateway, guard::<D>))
        .with_state(core)
}
