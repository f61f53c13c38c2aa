//! The automatic-snapshot policy as CSS sends it: strings for booleans, frequencies and periods
//! (`"enable": "true"`, `"frequency": "DAY"`, `"period": "16:00 GMT+08:00"`), held to CSS's
//! rules (prefix, keepday 1–90) and translated into core's [`PolicyChange`].

use snapkeep_core::policy::{Frequency, Period};
use snapkeep_core::{CoreError, NameStyle, PolicyChange, Schedule, SnapshotPolicy, validate};

/// A policy change as CSS sends it (strings as sent; `change` checks them).
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    pub enable: Option<String>,
    pub prefix: Option<String>,
    pub period: Option<String>,
    pub keepday: Option<i64>,
    pub frequency: Option<String>,
    pub indices: Option<String>,
    pub delete_auto: Option<String>,
}

impl PolicyInput {
    /// The change this input asks for: `enable` is required; an `enable: "true"` request needs
    /// `prefix`, `keepday` and (unless hourly) `period`; `delete_auto: "true"` with
    /// `enable: "false"` also deletes the automatic snapshots.
    pub fn change(&self) -> Result<PolicyChange, CoreError> {
        let enable = self.enable.as_deref().ok_or_else(|| CoreError::invalid("enable", "is required"))?;
        let enable = string_bool("enable", enable)?;
        let delete_auto = self.delete_auto.as_deref().map(|v| string_bool("delete_auto", v)).transpose()?;
        if enable {
            return Ok(PolicyChange::On(self.policy()?));
        }
        Ok(PolicyChange::Off { delete_automatic: delete_auto == Some(true) })
    }

    /// The policy of an `enable: "true"` request, every rule checked.
    fn policy(&self) -> Result<SnapshotPolicy, CoreError> {
        let frequency = match self.frequency.as_deref() {
            None => Frequency::Day,
            Some(f) => Frequency::parse(f).ok_or_else(|| {
                CoreError::invalid("frequency", "must be one of HOUR, DAY, SUN, MON, TUE, WED, THU, FRI, SAT")
            })?,
        };
        let prefix = self.prefix.clone().ok_or_else(|| CoreError::invalid("prefix", "is required"))?;
        check_prefix(&prefix)?;
        let keepday = keepday(self.keepday.ok_or_else(|| CoreError::invalid("keepday", "is required"))?)?;
        let period = match (self.period.as_deref(), frequency) {
            (Some(period), _) => Period::parse(period)?,
            (None, Frequency::Hour) => Period { hour: 0, offset_minutes: 0 },
            (None, _) => return Err(CoreError::invalid("period", "is required unless frequency is HOUR")),
        };
        let indices = self.indices.clone().unwrap_or_default();
        validate::indices("indices", &indices)?;
        Ok(SnapshotPolicy {
            enabled: true,
            prefix,
            schedule: Schedule::periodic(frequency, period),
            keepday,
            indices,
            name_style: NameStyle::Prefixed,
        })
    }
}

/// A policy prefix: 1–32 characters of lowercase letters, digits, `-` and `_`, starting with a
/// letter. Errors: `InvalidPrefix` (CSS.5044).
fn check_prefix(value: &str) -> Result<(), CoreError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if (1..=32).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value.chars().all(allowed)
    {
        return Ok(());
    }
    Err(CoreError::InvalidPrefix(value.to_owned()))
}

/// keepday: 1–90 days. Errors: `InvalidRetention` (CSS.5017).
fn keepday(value: i64) -> Result<u32, CoreError> {
    match value {
        1..=90 => Ok(value as u32),
        _ => Err(CoreError::InvalidRetention(value)),
    }
}

/// A `"true"`/`"false"` string (CSS sends these booleans as strings).
fn string_bool(field: &'static str, value: &str) -> Result<bool, CoreError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(CoreError::invalid(field, "must be \"true\" or \"false\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_of(input: &PolicyInput) -> Result<SnapshotPolicy, CoreError> {
        let input = PolicyInput { enable: Some("true".into()), ..input.clone() };
        match input.change()? {
            PolicyChange::On(policy) => Ok(policy),
            off => panic!("an enable request turned the policy off: {off:?}"),
        }
    }

    #[test]
    fn policies_need_their_fields_when_enabled() {
        let full = PolicyInput {
            prefix: Some("snap".into()),
            keepday: Some(2),
            period: Some("16:00 GMT+08:00".into()),
            ..Default::default()
        };
        let policy = policy_of(&full).unwrap();
        assert_eq!((policy.schedule.as_periodic().unwrap().0, policy.keepday), (Frequency::Day, 2));
        let hourly = PolicyInput { frequency: Some("HOUR".into()), period: None, ..full.clone() };
        assert_eq!(policy_of(&hourly).unwrap().schedule.as_periodic().unwrap().0, Frequency::Hour);
        let no_period = PolicyInput { period: None, ..full.clone() };
        assert!(matches!(policy_of(&no_period), Err(CoreError::Invalid { field: "period", .. })));
        assert!(matches!(
            policy_of(&PolicyInput { prefix: None, ..full.clone() }),
            Err(CoreError::Invalid { field: "prefix", .. })
        ));
        assert!(matches!(
            policy_of(&PolicyInput { keepday: Some(0), ..full.clone() }),
            Err(CoreError::InvalidRetention(0))
        ));
        assert!(matches!(
            policy_of(&PolicyInput { frequency: Some("WEEK".into()), ..full.clone() }),
            Err(CoreError::Invalid { field: "frequency", .. })
        ));
        assert!(matches!(
            policy_of(&PolicyInput { period: Some("16:30 GMT+08:00".into()), ..full }),
            Err(CoreError::InvalidPeriod(_))
        ));
    }

    #[test]
    fn policy_field_rules() {
        let ok = |p: &str| check_prefix(p).is_ok();
        assert!(ok("snapshot") && ok("a") && ok(&format!("a{}", "b".repeat(31))));
        for bad in ["", "1a", "Snap", "snap.x", &"a".repeat(33)] {
            assert!(matches!(check_prefix(bad), Err(CoreError::InvalidPrefix(_))), "{bad}");
        }
        assert_eq!(keepday(1).unwrap(), 1);
        assert_eq!(keepday(90).unwrap(), 90);
        assert!(matches!(keepday(0), Err(CoreError::InvalidRetention(0))));
        assert!(matches!(keepday(91), Err(CoreError::InvalidRetention(91))));
        assert!(string_bool("enable", "true").unwrap() && !string_bool("enable", "false").unwrap());
        assert!(string_bool("enable", "True").is_err() && string_bool("enable", "yes").is_err());
    }

    #[test]
    fn turning_off_deletes_automatic_snapshots_only_when_asked() {
        let off = |delete_auto: Option<&str>| {
            PolicyInput { enable: Some("false".into()), delete_auto: delete_auto.map(Into::into), ..Default::default() }
                .change()
        };
        assert!(matches!(off(None), Ok(PolicyChange::Off { delete_automatic: false })));
        assert!(matches!(off(Some("true")), Ok(PolicyChange::Off { delete_automatic: true })));
        assert!(matches!(off(Some("yes")), Err(CoreError::Invalid { field: "delete_auto", .. })));
        assert!(matches!(PolicyInput::default().change(), Err(CoreError::Invalid { field: "enable", .. })));
    }
}
