//! What every console page shares: the document around it (navigation, the logout form, the
//! vendored htmx, no inline script or style so the CSP can forbid them), and how values read:
//! sizes, ages, times, protection badges and progress bars.

use chrono::{DateTime, Duration, Utc};
use maud::{DOCTYPE, Markup, html};
use snapkeep_core::{OperationProgress, Protection};

use crate::auth::Viewer;

/// The console's pages, as the navigation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Fleet,
    Operations,
    Storage,
    Keys,
    Audit,
}

const SECTIONS: [(Section, &str, &str); 5] = [
    (Section::Fleet, "/console/", "Fleet"),
    (Section::Operations, "/console/operations", "Operations"),
    (Section::Storage, "/console/storage", "Storage profiles"),
    (Section::Keys, "/console/keys", "Access keys"),
    (Section::Audit, "/console/audit", "Audit log"),
];

fn head(title: &str, refresh_to: Option<&str>) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
        @if let Some(to) = refresh_to {
            meta http-equiv="refresh" content=(format!("0;url={to}"));
        }
        title { (title) " · snapkeep" }
        link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml";
        link rel="stylesheet" href="/console/assets/console.css";
        script src="/console/assets/htmx.min.js" defer {}
    }
}

/// A page of the signed-in console: navigation with `current` marked, the logout form, `body`.
pub(crate) fn page(title: &str, current: Section, viewer: &Viewer, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title, None)) }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "snapkeep" }
                    nav aria-label="Sections" {
                        @for (section, href, name) in SECTIONS {
                            @if section == current {
                                a href=(href) aria-current="page" { (name) }
                            } @else {
                                a href=(href) { (name) }
                            }
                        }
                    }
                    form.logout method="post" action="/console/logout" {
                        (csrf_field(viewer))
                        button type="submit" { "Log out" }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// A page outside the session (the login, a refusal); `refresh_to` sends the browser on.
pub(crate) fn bare_page(title: &str, refresh_to: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title, refresh_to)) }
            body { main.narrow id="main" { (body) } }
        }
    }
}

/// A URL query of `pairs`, leaving out those with an empty value.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let given = pairs.iter().filter(|(_, value)| !value.is_empty());
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(given).finish()
}

/// The hidden CSRF field every form of the session carries.
pub(crate) fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A refusal shown above a form, announced to screen readers.
pub(crate) fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
    }
}

/// `1.5 GiB` and the like.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `3d 4h`, `12m 5s` and the like.
pub(crate) fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A time as `2026-11-30 17:02:03 UTC`, in a `<time>` element.
pub(crate) fn time(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// A protection state as a coloured badge.
pub(crate) fn badge(p: Protection) -> Markup {
    html! { span class=(format!("badge prot-{}", p.as_str())) { (p.as_str()) } }
}

/// A progress bar of bytes (and shards) done, with the figures beside it.
pub(crate) fn progress(p: &OperationProgress) -> Markup {
    let shards = p.shards.map(|(done, total)| (u64::from(done), u64::from(total)));
    let (done, total) = p.bytes.or(shards).unwrap_or((0, 0));
    html! {
        span.progress {
            @if total > 0 {
                progress value=(done) max=(total) aria-label="progress" { (done) " of " (total) }
            } @else {
                progress aria-label="progress, not known yet" {}
            }
            @if let Some((done, total)) = p.bytes {
                " " (bytes(done)) " of " (bytes(total))
            }
            @if let Some((done, total)) = p.shards {
                " · " (done) "/" (total) " shards"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_spans_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(span(Duration::seconds(59)), "59s");
        assert_eq!(span(Duration::seconds(3 * 3600 + 120)), "3h 2m");
        assert_eq!(span(Duration::days(2) + Duration::hours(5)), "2d 5h");
    }

    #[test]
    fn text_is_escaped() {
        let page = bare_page("<x>", None, html! { p { ("<script>alert(1)</script>") } }).into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
    }
}
