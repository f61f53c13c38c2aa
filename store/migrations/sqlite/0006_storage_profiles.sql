-- Storage profiles: where a project's snapshots live (S3, OSS, OBS or a shared filesystem), with
-- the secret access key sealed under the master key. At most one default per project.

CREATE TABLE storage_profiles (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    endpoint           TEXT,
    region             TEXT,
    bucket             TEXT,
    base_path          TEXT NOT NULL,
    path_style         INTEGER NOT NULL,
    access_key_id      TEXT,
    secret_sealed      BLOB,
    is_default         INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

CREATE UNIQUE INDEX storage_profiles_one_default ON storage_profiles(project_id) WHERE is_default = 1;
