//! Tracking of operations: the operator's listing of the durable operations of any cluster,
//! newest first in pages, and one operation by id, until each ends and after.

use crate::error::{CoreError, NotFound};
use crate::model::Operation;
use crate::page::{OperationFilter, OperationPage, Page, Scope, split_page};
use crate::snapkeep::Snapkeep;

impl Snapkeep {
    /// A page of the operations of `scope` that `filter` lets through, newest first.
    pub async fn operation_page(
        &self,
        scope: Scope<'_>,
        page: &Page,
        filter: &OperationFilter,
    ) -> Result<OperationPage, CoreError> {
        let (limit, after) = page.checked()?;
        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let read = self.store.operations_page(scope, filter, after, limit + 1).await?;
        let (operations, next) = split_page(read, limit, |op| (op.created_at, op.id.as_str()));
        Ok(OperationPage { operations, next })
    }

    /// The scope a listing names: the cluster when given (in the project, when that is given
    /// too), else the project when given, else the whole fleet. Errors: `NotFound` for a
    /// project or cluster that does not exist (or a cluster of another project).
    pub async fn scope<'a>(
        &self,
        project_id: Option<&'a str>,
        cluster_id: Option<&'a str>,
    ) -> Result<Scope<'a>, CoreError> {
        match (project_id, cluster_id) {
            (Some(project), Some(cluster)) => {
                self.cluster_in_project(project, cluster).await.map(|_| Scope::Cluster(cluster))
            }
            (None, Some(cluster)) => self.cluster(cluster).await.map(|_| Scope::Cluster(cluster)),
            (Some(project), None) => self.project(project).await.map(|_| Scope::Project(project)),
            (None, None) => Ok(Scope::Fleet),
        }
    }

    /// An operation of any cluster, by id.
    pub async fn operation(&self, id: &str) -> Result<Operation, CoreError> {
        self.store.get_operation(id).await?.ok_or(CoreError::NotFound(NotFound::Operation))
    }
}
