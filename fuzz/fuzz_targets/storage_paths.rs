//! Storage path normalisation on arbitrary spellings: an accepted base path, joined under a
//! cluster, is already the place a filesystem resolves it to, so two clusters' accepted
//! repositories overlap as the catalog compares them exactly when their places do; an accepted
//! `fs` root is its resolved directory. The oracle is `std::path`'s own component walk.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use snapkeep_core::policy::base_path;
use snapkeep_core::validate::fs_root;
use snapkeep_core::{RepositoryLocation, StorageProfile, join_path};

/// Where a filesystem puts `path` (relative to `/`): `.` and empty segments dropped, `..` one up.
fn resolved(path: &str) -> Vec<String> {
    let mut place = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(segment) => place.push(segment.to_string_lossy().into_owned()),
            Component::ParentDir => {
                place.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    place
}

/// Whether one place is the other or inside it.
fn nested(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn location(path: String) -> RepositoryLocation {
    RepositoryLocation { profile: StorageProfile::local("p", "/unused"), bucket: None, path }
}

fuzz_target!(|input: (String, String, String)| {
    let (a, b, root) = input;
    if base_path(&a).is_ok() && base_path(&b).is_ok() {
        let (x, y) = (join_path(&[&a, "c1"]), join_path(&[&b, "c2"]));
        let (place_x, place_y) = (resolved(&format!("{a}/c1")), resolved(&format!("{b}/c2")));
        assert_eq!(x, place_x.join("/"), "{a:?} joined is not its place");
        assert_eq!(location(x).overlaps(&location(y)), nested(&place_x, &place_y), "{a:?} / {b:?}");
    }
    if let Ok(normal) = fs_root(&root) {
        assert_eq!(normal, format!("/{}", resolved(&root).join("/")), "{root:?}");
    }
});
