//! The rename rule of Elasticsearch and OpenSearch restores: each selected index becomes
//! `index.replaceAll(rename_pattern, rename_replacement)` (`RestoreService`), so the replacement
//! follows `java.util.regex.Matcher.appendReplacement`:
//!
//! - `$n` names group `n`; further digits extend the number only while the pattern has that many
//!   groups (`$10` with one group is group 1 followed by `0`); a group the pattern does not have
//!   is an error (`No group 2`), as is a `$` followed by anything else.
//! - `${name}` names a named group; a name the pattern does not have is an error.
//! - `\x` is a literal `x`; a trailing `\` is an error.
//! - A group that took no part in the match adds nothing.
//!
//! Java parses the replacement at each match, so a broken replacement is only an error for a
//! name the pattern matches; a name it does not match is kept as it is. The pattern is compiled
//! with the `regex` crate, whose syntax is Java's for everything but look-around and
//! back-references, which it refuses.

use regex::{Captures, Regex};

/// Why a rename cannot be computed, with the engines' own messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// The pattern does not compile.
    #[error("invalid rename_pattern: {0}")]
    Pattern(String),
    /// The replacement names a numbered group the pattern does not have (Java's
    /// `IndexOutOfBoundsException`, which the engines answer with HTTP 500).
    #[error("No group {0}")]
    NoGroup(usize),
    /// Any other malformed replacement (Java's `IllegalArgumentException`, HTTP 400).
    #[error("{0}")]
    Replacement(String),
}

/// A compiled `rename_pattern` and `rename_replacement`.
#[derive(Debug, Clone)]
pub struct Rename {
    pattern: Regex,
    /// The replacement's parts, or why it is malformed for this pattern.
    replacement: Result<Vec<Part>, RenameError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Group(usize),
}

impl Rename {
    /// Errors: `Pattern` when the pattern does not compile. A malformed replacement is only an
    /// error when `apply` meets a match, as in Java.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self, RenameError> {
        let pattern = Regex::new(pattern).map_err(|e| RenameError::Pattern(e.to_string()))?;
        let replacement = parse(&pattern, replacement);
        Ok(Self { pattern, replacement })
    }

    /// `name` with every match of the pattern replaced; `name` itself when nothing matches.
    pub fn apply(&self, name: &str) -> Result<String, RenameError> {
        if !self.pattern.is_match(name) {
            return Ok(name.to_owned());
        }
        let parts = self.replacement.as_ref().map_err(Clone::clone)?;
        Ok(self.pattern.replace_all(name, |captures: &Captures<'_>| expand(parts, captures)).into_owned())
    }
}

fn expand(parts: &[Part], captures: &Captures<'_>) -> String {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.as_str(),
            Part::Group(n) => captures.get(*n).map_or("", |m| m.as_str()),
        })
        .collect()
}

/// `Matcher.appendReplacement`'s reading of `replacement` for `pattern`.
fn parse(pattern: &Regex, replacement: &str) -> Result<Vec<Part>, RenameError> {
    let groups = pattern.captures_len() - 1;
    let chars: Vec<char> = replacement.chars().collect();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '\\' => {
                let escaped = chars.get(at + 1).ok_or_else(|| illegal("character to be escaped is missing"))?;
                text.push(*escaped);
                at += 2;
            }
            '$' => {
                let (group, next) = group_reference(pattern, groups, &chars, at + 1)?;
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(Part::Group(group));
                at = next;
            }
            c => {
                text.push(c);
                at += 1;
            }
        }
    }
    parts.push(Part::Text(text));
    Ok(parts)
}

/// The group a `$` at `chars[at - 1]` refers to, and where the replacement goes on.
fn group_reference(pattern: &Regex, groups: usize, chars: &[char], at: usize) -> Result<(usize, usize), RenameError> {
    match chars.get(at) {
        None => Err(illegal("Illegal group reference: group index is missing")),
        Some('{') => named_group(pattern, chars, at + 1),
        Some(c) if c.is_ascii_digit() => {
            let mut group = c.to_digit(10).unwrap_or_default() as usize;
            let mut next = at + 1;
            while let Some(digit) = chars.get(next).and_then(|c| c.to_digit(10)) {
                let longer = group * 10 + digit as usize;
                if longer > groups {
                    break;
                }
                group = longer;
                next += 1;
            }
            if group > groups {
                return Err(RenameError::NoGroup(group));
            }
            Ok((group, next))
        }
        Some(_) => Err(illegal("Illegal group reference")),
    }
}

/// `${name}`: ASCII letters and digits, not starting with a digit, a group of the pattern.
fn named_group(pattern: &Regex, chars: &[char], at: usize) -> Result<(usize, usize), RenameError> {
    let name: String = chars[at..].iter().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let close = at + name.chars().count();
    if name.is_empty() {
        return Err(illegal("named capturing group has 0 length name"));
    }
    if chars.get(close) != Some(&'}') {
        return Err(illegal("named capturing group is missing trailing '}'"));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(illegal(&format!("capturing group name {{{name}}} starts with digit character")));
    }
    let group = pattern
        .capture_names()
        .position(|n| n == Some(name.as_str()))
        .ok_or_else(|| illegal(&format!("No group with name {{{name}}}")))?;
    Ok((group, close + 1))
}

fn illegal(message: &str) -> RenameError {
    RenameError::Replacement(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename(pattern: &str, replacement: &str, name: &str) -> Result<String, RenameError> {
        Rename::new(pattern, replacement)?.apply(name)
    }

    /// What `"name".replaceAll(pattern, replacement)` gives in Java 17 (checked with jshell).
    #[test]
    fn replacements_read_as_java_reads_them() {
        let ok =
            |p: &str, r: &str, name: &str, want: &str| assert_eq!(rename(p, r, name).as_deref(), Ok(want), "{p} {r}");
        ok("index_(.+)", "restored_index_$1", "index_a", "restored_index_a");
        ok("(.+)", "$1_copy", "logs", "logs_copy");
        ok("(i)(x)", "c$10", "ix", "ci0");
        ok("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "$10-$1", "abcdefghij", "j-a");
        ok("(?<base>.+)-(?<n>\\d+)", "${base}_${n}", "logs-7", "logs_7");
        ok("-", "\\$", "a-b-c", "a$b$c");
        ok("(x)?a", "[$1]", "a", "[]");
        ok("logs-a", "copy-$1", "other", "other");
        ok("b", "X", "abcb", "aXcX");
    }

    #[test]
    fn broken_replacements_fail_as_in_java() {
        let err = |p: &str, r: &str, name: &str| rename(p, r, name).unwrap_err();
        assert_eq!(err("logs-a", "copy-$1", "logs-a"), RenameError::NoGroup(1));
        assert_eq!(err("(a)", "$2", "a"), RenameError::NoGroup(2));
        assert_eq!(err("a", "$", "a"), illegal("Illegal group reference: group index is missing"));
        assert_eq!(err("a", "$x", "a"), illegal("Illegal group reference"));
        assert_eq!(err("a", "x\\", "a"), illegal("character to be escaped is missing"));
        assert_eq!(err("(?<n>a)", "${m}", "a"), illegal("No group with name {m}"));
        assert_eq!(err("(?<n>a)", "${n", "a"), illegal("named capturing group is missing trailing '}'"));
        assert_eq!(err("(?<n>a)", "${}", "a"), illegal("named capturing group has 0 length name"));
        assert!(matches!(Rename::new("(", "x"), Err(RenameError::Pattern(_))));
    }
}
