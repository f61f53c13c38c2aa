//! The Huawei Cloud CSS snapshot dialect: `/v1.0/{project_id}/clusters/{cluster_id}/index_snapshot…`.
//! Every request is authenticated by the gateway (`dialect`); handlers parse, call one core
//! operation, and render; CSS error codes are decided in `error`.

mod body;
mod dialect;
mod error;
mod listing;
mod policy;
mod routes;
mod view;

pub use policy::PolicyInput;
pub use routes::router;
