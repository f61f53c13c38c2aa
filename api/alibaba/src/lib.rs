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

/// What another cluster's repository is called when registered read-only on a cluster (then the
/// source's id): Alibaba's name for a reference repository (`aliyun_snapshot_from_<instance id>`),
/// so the engine shows what Alibaba's console and SDK users expect.
pub const SHARED_REPOSITORY_PREFIX: &str = "aliyun_snapshot_from_";
