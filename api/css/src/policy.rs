//! The automatic-snapshot policy as CSS sends it: strings for booleans, frequencies and periods
//! (`"enable": "true"`, `"frequency": "DAY"`, `"period": "16:00 GMT+08:00"`), translated into
//! core's [`PolicyChange`] with core's rules for each value.

use snapkeep_core::policy::{self, Frequency, Period};
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
        let enable = policy::string_bool("enable", enable)?;
        let delete_auto = self.delete_auto.as_deref().map(|v| policy::string_bool("delete_auto", v)).transpose()?;
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
        policy::prefix(&prefix)?;
        let keepday = policy::keepday(self.keepday.ok_or_else(|| CoreError::invalid("keepday", "is required"))?)?;
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
