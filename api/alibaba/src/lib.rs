//! The Alibaba Cloud Elasticsearch snapshot dialect (`/openapi/instances/{InstanceId}/…`, ROA,
//! version 2017-06-13). An instance is a registered cluster; the tenant is the project of the
//! access key the request is signed with, verified by the gateway (`dialect`). Answers carry `RequestId`; errors are
//! `{"RequestId","Code","Message"}`.

mod body;
mod dialect;
mod error;
mod routes;
mod tenant;

pub use routes::{instance_policy, instance_snapshot, router};
