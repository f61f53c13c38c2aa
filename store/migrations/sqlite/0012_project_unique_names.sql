-- A snapshot name held unique in its project, compared without case (a create with a project-wide
-- name scope, as DWS asks), kept by the catalog itself: two requests or replicas racing for one
-- name cannot both win. Existing manual snapshots of database clusters take theirs where no other
-- database snapshot of the project has the same name.
ALTER TABLE snapshots ADD COLUMN project_unique_name TEXT;
UPDATE snapshots SET project_unique_name = lower(name)
 WHERE kind = 'manual'
   AND cluster_id IN (SELECT id FROM clusters WHERE flavor = 'postgres')
   AND NOT EXISTS (
       SELECT 1 FROM snapshots other
        WHERE other.project_id = snapshots.project_id
          AND other.id <> snapshots.id
          AND lower(other.name) = lower(snapshots.name)
          AND other.cluster_id IN (SELECT id FROM clusters WHERE flavor = 'postgres'));
CREATE UNIQUE INDEX snapshots_project_unique_name
    ON snapshots(project_id, project_unique_name) WHERE project_unique_name IS NOT NULL;
