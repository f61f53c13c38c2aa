//! Validation rules of the snapshot APIs, written once. Each returns the field it checked and why
//! it failed, so every dialect can render the same rule in its own error format.

use std::sync::LazyLock;

use regex::Regex;

use crate::engine::EngineFamily;
use crate::error::CoreError;

static RESOURCE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$").expect("valid regex"));

/// Characters a snapshot description may not contain.
const DESCRIPTION_FORBIDDEN: &[char] = &['!', '<', '>', '=', '&', '"', '\''];
/// Characters an index list may not contain (besides uppercase letters and white space).
const INDICES_FORBIDDEN: &[char] = &['"', '\\', '<', '|', '>', '/', '?'];
const MAX_DESCRIPTION: usize = 256;
const MAX_INDICES: usize = 1024;

/// A new snapshot's name as its engine family takes it. Search engines (Elasticsearch's and
/// OpenSearch's `SnapshotsService.validate`): not empty, lowercase, none of `\/*?"<>| ,#`, not
/// starting with `_`; snapkeep also bounds it to 255 bytes. Databases: a label as `display_name`.
/// Dialects hold names to their own, stricter rules before this one.
pub fn snapshot_name(family: EngineFamily, name: &str) -> Result<(), CoreError> {
    match family {
        EngineFamily::Search => search_snapshot_name(name).map_err(|message| CoreError::invalid("name", message)),
        EngineFamily::Database => display_name("name", name),
    }
}

fn search_snapshot_name(name: &str) -> Result<(), String> {
    engine_name(name, "\\/*?\"<>| ,#", "_")
}

/// The rule names share in the engines: not empty, none of `forbidden`, lowercase, not starting
/// with one of `first`, at most 255 bytes.
fn engine_name(name: &str, forbidden: &str, first: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = name.chars().find(|c| forbidden.contains(*c)) {
        return Err(format!("must not contain {c:?}"));
    }
    if name.chars().any(char::is_uppercase) {
        return Err("must be lowercase".into());
    }
    if let Some(c) = name.chars().next().filter(|c| first.contains(*c)) {
        return Err(format!("must not start with '{c}'"));
    }
    if name.len() > 255 {
        return Err("must be at most 255 bytes".into());
    }
    Ok(())
}

/// A description: at most 256 characters, none of `!<>=&"'`.
pub fn description(text: &str) -> Result<(), CoreError> {
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(CoreError::invalid("description", "must be at most 256 characters"));
    }
    if let Some(c) = text.chars().find(|c| DESCRIPTION_FORBIDDEN.contains(c)) {
        return Err(CoreError::invalid("description", format!("must not contain '{c}'")));
    }
    Ok(())
}

/// An index list or pattern (`a,b`, `2018-06*`): at most 1024 characters, no uppercase, no white
/// space, none of `"\<|>/?`.
pub fn indices(field: &'static str, value: &str) -> Result<(), CoreError> {
    if value.chars().count() > MAX_INDICES {
        return Err(CoreError::invalid(field, "must be at most 1024 characters"));
    }
    if let Some(c) = value.chars().find(|c| c.is_uppercase() || c.is_whitespace() || INDICES_FORBIDDEN.contains(c)) {
        return Err(CoreError::invalid(field, format!("must not contain {c:?}")));
    }
    Ok(())
}

/// A rename pattern or replacement: the index rule, no `,`, and (for the pattern) a valid regex.
pub fn rename(pattern: Option<&str>, replacement: Option<&str>) -> Result<Option<(String, String)>, CoreError> {
    for (field, value) in [("rename_pattern", pattern), ("rename_replacement", replacement)] {
        if let Some(value) = value {
            indices(field, value)?;
            if value.contains(',') {
                return Err(CoreError::invalid(field, "must not contain ','"));
            }
        }
    }
    match (non_empty(pattern), non_empty(replacement)) {
        (Some(p), Some(r)) => {
            snapkeep_rename::Rename::new(p, r)
                .map_err(|e| CoreError::invalid("rename_pattern", format!("is not a valid regular expression: {e}")))?;
            Ok(Some((p.to_owned(), r.to_owned())))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(CoreError::invalid("rename_replacement", "must be set together with rename_pattern")),
        (None, Some(_)) => Err(CoreError::invalid("rename_pattern", "must be set together with rename_replacement")),
    }
}

/// An index name as the engines create one (`MetadataCreateIndexService.validateIndexOrAliasName`):
/// not empty, lowercase, at most 255 bytes, none of `\/*?"<>| ,#:`, not starting with `_`, `-` or
/// `+`, not `.` or `..`. The error says what the name breaks.
pub fn index_name(name: &str) -> Result<(), String> {
    engine_name(name, "\\/*?\"<>| ,#:", "_-+")?;
    if name == "." || name == ".." {
        return Err("must not be '.' or '..'".into());
    }
    Ok(())
}

/// Moves a password written into an endpoint URL (`https://user:pass@host`,
/// `postgres://user:pass@host/db`) out of it: returns the URL without its user part and the user
/// and password, which are then sealed like any other, so the URL stored and shown holds none.
/// Errors: a password both in the URL and given apart, or a user in the URL other than
/// `username`.
pub fn credentials_in_url(
    endpoint: &str,
    username: Option<String>,
    password: Option<String>,
) -> Result<(String, Option<String>, Option<String>), CoreError> {
    let Ok(mut url) = url::Url::parse(endpoint) else { return Ok((endpoint.to_owned(), username, password)) };
    let Some(in_url) = url.password() else { return Ok((endpoint.to_owned(), username, password)) };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let (user, secret) = (decode(url.username()), decode(in_url));
    if password.is_some() {
        return Err(CoreError::invalid("endpoint", "holds a password, and one was given apart: give it once, apart"));
    }
    if username.as_ref().is_some_and(|u| *u != user) {
        return Err(CoreError::invalid("endpoint", "names another user than username"));
    }
    let _ = url.set_password(None);
    let _ = url.set_username("");
    let stripped = url.as_str().trim_end_matches('/').to_owned();
    Ok((stripped, Some(user), Some(secret)))
}

/// Splits a validated index list into its names or patterns.
pub fn split_indices(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A caller-chosen resource id (cluster id): 1–64 of letters, digits, `-`, `_`.
pub fn resource_id(field: &'static str, id: &str) -> Result<(), CoreError> {
    if RESOURCE_ID.is_match(id) {
        Ok(())
    } else {
        Err(CoreError::invalid(field, "must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"))
    }
}

/// A display name (project, cluster): 1–128 printable characters.
pub fn display_name(field: &'static str, name: &str) -> Result<(), CoreError> {
    let len = name.chars().count();
    if len == 0 || len > 128 || name.chars().any(char::is_control) || name.trim() != name {
        return Err(CoreError::invalid(
            field,
            "must be 1 to 128 printable characters without leading or trailing spaces",
        ));
    }
    Ok(())
}

/// A cluster endpoint: an `http` or `https` URL without query or fragment, or a
/// `postgres://host:port/database` URL (a socket directory may be given as `?host=/dir`).
pub fn endpoint(url: &str) -> Result<(), CoreError> {
    if let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        if (host.is_empty() && !rest.contains("?host=/")) || url.contains(['#', ' ']) {
            return Err(CoreError::invalid("endpoint", "must be a postgres:// URL with a host"));
        }
        return Ok(());
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| CoreError::invalid("endpoint", "must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.contains(['?', '#', ' ']) {
        return Err(CoreError::invalid("endpoint", "must be a URL with a host and no query"));
    }
    Ok(())
}

/// An idempotency key: 1–64 printable ASCII characters.
pub fn idempotency_key(token: &str) -> Result<(), CoreError> {
    if !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(CoreError::invalid("idempotency_key", "must be 1 to 64 printable ASCII characters"))
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// A profile name: 1–64 of lowercase letters, digits, `-` and `_`, starting with a letter or
/// digit (it doubles as the engine's client name and as a CSS `agency`); not `local`.
pub fn profile_name(name: &str) -> Result<(), CoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(CoreError::invalid(
            "name",
            "must be 1 to 64 of a-z, 0-9, '-' and '_', starting with a letter or digit",
        ));
    }
    if name == crate::storage::LOCAL_PROFILE {
        return Err(CoreError::invalid("name", "\"local\" is the built-in filesystem profile"));
    }
    Ok(())
}

/// An object-storage endpoint: an `http` or `https` URL with a host and nothing after it.
pub fn storage_endpoint(value: &str) -> Result<String, CoreError> {
    let url = url::Url::parse(value).map_err(|e| CoreError::invalid("endpoint", format!("{value:?}: {e}")))?;
    let bare = url.path() == "/" && url.query().is_none() && url.username().is_empty() && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare {
        return Err(CoreError::invalid("endpoint", "must be http(s)://host[:port] with nothing after it"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// An `fs` profile's root in normal form: absolute, without `.`, `..` or empty segments (one
/// trailing `/` is dropped), so that locations under it compare as the filesystem resolves them.
pub fn fs_root(value: &str) -> Result<String, CoreError> {
    let root = value.strip_suffix('/').filter(|r| !r.is_empty()).unwrap_or(value);
    let normal = root.starts_with('/') && root[1..].split('/').all(|s| !matches!(s, "" | "." | ".."));
    if !normal || root == "/" {
        return Err(CoreError::invalid(
            "base_path",
            "an fs profile needs the absolute root directory in normal form (no '.', '..' or '//')",
        ));
    }
    Ok(root.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug, CoreError>) -> &'static str {
        match result {
            Err(CoreError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid-field error, got {other:?}"),
        }
    }

    #[test]
    fn postgres_endpoints_need_a_host_or_socket_directory() {
        assert!(endpoint("postgres://backup@127.0.0.1:5432/postgres").is_ok());
        assert!(endpoint("postgresql://db.internal").is_ok());
        assert!(endpoint("postgres://backup@/postgres?host=/run/postgresql").is_ok());
        assert!(endpoint("postgres:///postgres").is_err());
        assert!(endpoint("postgres://h:1/db#x").is_err());
    }

    #[test]
    fn snapshot_names_follow_their_engine_family() {
        let search = |name: &str| snapshot_name(EngineFamily::Search, name);
        for ok in ["snap", "s", "1abc", "snap.1", "es-a_20261130120000", "snäp", &"a".repeat(255)] {
            assert!(search(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_abc", "Snap", "snap shot", "a,b", "a#b", "a/b", "a*", "a\"b", &"a".repeat(256)] {
            assert_eq!(field_of(search(bad)), "name", "{bad}");
        }
        let database = |name: &str| snapshot_name(EngineFamily::Database, name);
        assert!(database("Nightly Backup 01").is_ok(), "database snapshots are labels");
        assert_eq!(field_of(database("")), "name");
    }

    #[test]
    fn descriptions_refuse_the_listed_characters_and_length() {
        assert!(description("").is_ok());
        assert!(description("nightly backup (v2) ok?").is_ok());
        assert!(description(&"x".repeat(256)).is_ok());
        assert!(description(&"é".repeat(256)).is_ok());
        for bad in ["a!", "<b>", "a=b", "a&b", "say \"hi\"", "it's", &"x".repeat(257)] {
            assert_eq!(field_of(description(bad)), "description", "{bad}");
        }
    }

    #[test]
    fn index_lists_allow_wildcards_and_refuse_the_rest() {
        assert!(indices("indices", "").is_ok());
        assert!(indices("indices", "myindex1,myindex2").is_ok());
        assert!(indices("indices", "2018-06*,logs-*").is_ok());
        for bad in ["MyIndex", "a b", "a\"b", "a\\b", "a<b", "a|b", "a>b", "a/b", "a?b", &"a".repeat(1025)] {
            assert_eq!(field_of(indices("indices", bad)), "indices", "{bad}");
        }
        assert_eq!(split_indices(" a, b ,,c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn rename_needs_both_halves_and_a_valid_pattern() {
        assert_eq!(rename(None, None).unwrap(), None);
        assert_eq!(rename(Some(""), Some("")).unwrap(), None);
        assert_eq!(
            rename(Some("index_(.+)"), Some("restored_index_$1")).unwrap(),
            Some(("index_(.+)".into(), "restored_index_$1".into()))
        );
        assert_eq!(field_of(rename(Some("index_(.+)"), None)), "rename_replacement");
        assert_eq!(field_of(rename(None, Some("x"))), "rename_pattern");
        assert_eq!(field_of(rename(Some("a,b"), Some("c"))), "rename_pattern");
        assert_eq!(field_of(rename(Some("a"), Some("B"))), "rename_replacement");
        assert_eq!(field_of(rename(Some("index_(.+"), Some("x"))), "rename_pattern");
    }

    #[test]
    fn index_names_follow_the_engines_rule() {
        assert_eq!(index_name("logs-2024.06"), Ok(()));
        for (name, why) in [
            ("", "must not be empty"),
            ("a b", "must not contain ' '"),
            ("a:b", "must not contain ':'"),
            ("Logs", "must be lowercase"),
            ("-logs", "must not start with '-'"),
            ("..", "must not be '.' or '..'"),
        ] {
            assert_eq!(index_name(name), Err(why.to_owned()), "{name}");
        }
        assert!(index_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn passwords_in_urls_move_to_the_sealed_fields() {
        let moved = credentials_in_url("https://elastic:s%40cret@es.local:9200", None, None).unwrap();
        assert_eq!(moved, ("https://es.local:9200".into(), Some("elastic".into()), Some("s@cret".into())));
        let pg = credentials_in_url("postgres://backup:pw@db1:5432/postgres?sslmode=require", None, None).unwrap();
        assert_eq!(pg.0, "postgres://db1:5432/postgres?sslmode=require");
        assert_eq!((pg.1.as_deref(), pg.2.as_deref()), (Some("backup"), Some("pw")));
        let plain = credentials_in_url("postgres://postgres@127.0.0.1:5432/db", None, None).unwrap();
        assert_eq!(plain, ("postgres://postgres@127.0.0.1:5432/db".into(), None, None), "a user alone stays");
        assert_eq!(field_of(credentials_in_url("http://u:p@h", None, Some("q".into()))), "endpoint");
        assert_eq!(field_of(credentials_in_url("http://u:p@h", Some("v".into()), None)), "endpoint");
    }

    #[test]
    fn idempotency_keys() {
        assert!(idempotency_key("tok-1_A.b").is_ok());
        assert!(idempotency_key(&"x".repeat(64)).is_ok());
        for bad in ["", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(field_of(idempotency_key(bad)), "idempotency_key", "{bad}");
        }
    }

    #[test]
    fn ids_names_and_endpoints() {
        assert!(resource_id("id", "es-prod_1").is_ok());
        assert_eq!(field_of(resource_id("id", "-x")), "id");
        assert_eq!(field_of(resource_id("id", "a/b")), "id");
        assert!(display_name("name", "Prod search").is_ok());
        assert_eq!(field_of(display_name("name", " x")), "name");
        assert_eq!(field_of(display_name("name", "")), "name");
        assert!(endpoint("http://127.0.0.1:9200").is_ok());
        assert!(endpoint("https://es.internal/prefix/").is_ok());
        assert_eq!(field_of(endpoint("ftp://x")), "endpoint");
        assert_eq!(field_of(endpoint("http://")), "endpoint");
        assert_eq!(field_of(endpoint("http://x/?a=b")), "endpoint");
    }

    #[test]
    fn profile_names_are_engine_client_names() {
        for good in ["backup", "s3-main", "obs_2", "9lives"] {
            profile_name(good).unwrap();
        }
        for bad in ["", "Backup", "-x", "a b", "a.b", "local", &"x".repeat(65)] {
            assert!(profile_name(bad).is_err(), "{bad:?}");
        }
    }
    #[test]
    fn endpoints_are_bare_http_urls() {
        assert_eq!(storage_endpoint("http://127.0.0.1:9000/").unwrap(), "http://127.0.0.1:9000");
        storage_endpoint("https://obs.example.test").unwrap();
        for bad in ["127.0.0.1:9000", "ftp://h", "http://h/bucket", "http://u:p@h", "http://h?x=1"] {
            assert!(storage_endpoint(bad).is_err(), "{bad:?}");
        }
    }
}
