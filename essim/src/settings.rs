//! Node settings (`--setting key=value`, as in `elasticsearch.yml` and the keystore): the
//! `s3.client.<name>.*` clients that `s3` repositories name, and byte-size values such as the
//! repositories' throttles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{EsError, EsResult};

/// The node's settings.
#[derive(Debug, Clone, Default)]
pub struct NodeSettings(BTreeMap<String, String>);

/// One S3 client's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3Client {
    pub endpoint: String,
    pub protocol: String,
    pub path_style_access: bool,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Client {
    pub fn endpoint_url(&self) -> String {
        format!("{}://{}", self.protocol, self.endpoint)
    }
}

impl NodeSettings {
    /// Parses `key=value` pairs.
    pub fn parse(pairs: &[String]) -> anyhow::Result<Self> {
        let mut settings = BTreeMap::new();
        for pair in pairs {
            let (key, value) =
                pair.split_once('=').ok_or_else(|| anyhow::anyhow!("setting {pair:?} is not key=value"))?;
            settings.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        Ok(Self(settings))
    }

    /// The S3 client `name`, as the engines resolve `s3.client.<name>.*`.
    pub fn s3_client(&self, repo: &str, name: &str) -> EsResult<S3Client> {
        let prefix = format!("s3.client.{name}.");
        let get = |key: &str| self.0.get(&format!("{prefix}{key}")).cloned();
        let Some(endpoint) = get("endpoint") else {
            let known: Vec<&str> = self
                .0
                .keys()
                .filter_map(|k| k.strip_prefix("s3.client.")?.split('.').next())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            return Err(EsError::new(
                500,
                "repository_exception",
                format!("[{repo}] Unknown s3 client name [{name}]. Existing client configs: {}", known.join(",")),
            ));
        };
        Ok(S3Client {
            endpoint,
            protocol: get("protocol").unwrap_or_else(|| "https".into()),
            path_style_access: get("path_style_access").is_some_and(|v| v == "true"),
            region: get("region").unwrap_or_else(|| "us-east-1".into()),
            access_key: get("access_key").unwrap_or_default(),
            secret_key: get("secret_key").unwrap_or_default(),
        })
    }
}

/// A byte size such as `40mb`, `1g` or `512` (bytes); `0` or `-1` mean unlimited (`None`).
pub fn byte_size(value: &str) -> Option<u64> {
    let value = value.trim().to_ascii_lowercase();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let number: u64 = value[..digits].parse().ok()?;
    let unit = match value[digits..].trim().trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return None,
    };
    (number > 0).then(|| number * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_as_the_engines_read_them() {
        assert_eq!(byte_size("40mb"), Some(40 << 20));
        assert_eq!(byte_size("2kb"), Some(2048));
        assert_eq!(byte_size("1g"), Some(1 << 30));
        assert_eq!(byte_size("512"), Some(512));
        assert_eq!(byte_size("0"), None);
        assert_eq!(byte_size("-1"), None);
        assert_eq!(byte_size("fast"), None);
    }

    #[test]
    fn clients_come_from_their_node_settings() {
        let settings = NodeSettings::parse(&[
            "s3.client.backup.endpoint=127.0.0.1:9000".into(),
            "s3.client.backup.protocol=http".into(),
            "s3.client.backup.path_style_access=true".into(),
            "s3.client.backup.access_key=AK".into(),
            "s3.client.backup.secret_key=SK".into(),
        ])
        .unwrap();
        let client = settings.s3_client("r", "backup").unwrap();
        assert_eq!((client.endpoint_url().as_str(), client.path_style_access), ("http://127.0.0.1:9000", true));
        let err = settings.s3_client("r", "other").unwrap_err();
        assert_eq!(err.reason, "[r] Unknown s3 client name [other]. Existing client configs: backup");
    }
}
