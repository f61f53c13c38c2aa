//! Automatic snapshots: a cluster's snapshot settings (the CSS "basic settings") and its policy,
//! their validation rules, and the schedule arithmetic that tells when the next snapshot is due.
//!
//! Retention (`keepday`) is counted in **days**: an automatic snapshot taken for the slot at time
//! S is deleted at the first retention pass at or after S + keepday × 24 h, whether it completed
//! or failed: a failed one stays listed with its reason until then, so a policy failing every hour
//! shows. Manual snapshots are never deleted by retention.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Timelike, Utc, Weekday};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;

static PERIOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{2}):(\d{2}) GMT([+-])(\d{2}):(\d{2})$").expect("valid regex"));
static THROTTLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(-1|\d{1,4})\s*(b|k|kb|m|mb|g|gb|t|tb|p|pb)?$").expect("valid regex"));

/// How often automatic snapshots are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    Hour,
    Day,
    Weekly(Weekday),
}

impl Frequency {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HOUR" => Self::Hour,
            "DAY" => Self::Day,
            "MON" => Self::Weekly(Weekday::Mon),
            "TUE" => Self::Weekly(Weekday::Tue),
            "WED" => Self::Weekly(Weekday::Wed),
            "THU" => Self::Weekly(Weekday::Thu),
            "FRI" => Self::Weekly(Weekday::Fri),
            "SAT" => Self::Weekly(Weekday::Sat),
            "SUN" => Self::Weekly(Weekday::Sun),
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "HOUR",
            Self::Day => "DAY",
            Self::Weekly(day) => match day {
                Weekday::Mon => "MON",
                Weekday::Tue => "TUE",
                Weekday::Wed => "WED",
                Weekday::Thu => "THU",
                Weekday::Fri => "FRI",
                Weekday::Sat => "SAT",
                Weekday::Sun => "SUN",
            },
        }
    }
}

/// `HH:00 GMT±hh:mm`: the hour of day, in a fixed-offset zone, at which snapshots start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub hour: u32,
    /// Offset east of UTC in minutes.
    pub offset_minutes: i32,
}

impl Period {
    /// Parses `"16:00 GMT+08:00"`; the minutes must be `00`.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::InvalidPeriod(format!("{s:?} is not \"HH:00 GMT+hh:mm\" on the hour"));
        let caps = PERIOD.captures(s).ok_or_else(bad)?;
        let num = |i: usize| caps[i].parse::<i32>().map_err(|_| bad());
        let (hour, minute, sign, off_h, off_m) = (num(1)?, num(2)?, &caps[3], num(4)?, num(5)?);
        if hour > 23 || minute != 0 || off_h > 14 || off_m > 59 {
            return Err(bad());
        }
        let offset_minutes = (off_h * 60 + off_m) * if sign == "-" { -1 } else { 1 };
        Ok(Self { hour: hour as u32, offset_minutes })
    }

    fn zone(self) -> FixedOffset {
        FixedOffset::east_opt(self.offset_minutes * 60).expect("offset within ±14 h")
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.abs();
        write!(f, "{:02}:00 GMT{sign}{:02}:{:02}", self.hour, off / 60, off % 60)
    }
}

/// When automatic snapshots are due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// Every hour, every day, or one weekday, at a full hour of a fixed-offset zone (how CSS
    /// sets its policies). Catalogs written before this name stored it as `Css`.
    #[serde(alias = "Css")]
    Periodic {
        frequency: Frequency,
        /// For HOUR: only its zone matters (hours start on the hour there).
        period: Period,
    },
    /// A 7-field Quartz cron expression (seconds … year), evaluated in UTC.
    Quartz(Box<QuartzCron>),
}

impl Schedule {
    pub fn periodic(frequency: Frequency, period: Period) -> Self {
        Self::Periodic { frequency, period }
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Periodic { frequency, period } => periodic_next_after(*frequency, *period, t),
            Self::Quartz(cron) => cron.next_after(t),
        }
    }

    /// The latest slot at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Periodic { frequency, period } => {
                let step = match frequency {
                    Frequency::Hour => Duration::hours(1),
                    Frequency::Day => Duration::days(1),
                    Frequency::Weekly(_) => Duration::weeks(1),
                };
                periodic_next_after(*frequency, *period, t - step)
            }
            Self::Quartz(cron) => cron.latest_at_or_before(t),
        }
    }

    /// The same slots as a 7-field Quartz expression evaluated in UTC, how a dialect that speaks
    /// Quartz (Alibaba) shows a schedule set in CSS terms: `00:00 GMT+08:00` daily is
    /// `0 0 16 ? * * *`, and a weekly slot moves to the UTC weekday it falls on.
    pub fn as_quartz(&self) -> String {
        let (frequency, period) = match self {
            Self::Quartz(cron) => return cron.as_str().to_owned(),
            Self::Periodic { frequency, period } => (*frequency, *period),
        };
        let local_minutes = i64::from(period.hour) * 60 - i64::from(period.offset_minutes);
        let (days, minutes) = (local_minutes.div_euclid(24 * 60), local_minutes.rem_euclid(24 * 60));
        let (hour, minute) = (minutes / 60, minutes % 60);
        match frequency {
            Frequency::Hour => format!("0 {minute} * ? * * *"),
            Frequency::Day => format!("0 {minute} {hour} ? * * *"),
            Frequency::Weekly(day) => {
                let utc_day = match days {
                    d if d < 0 => day.pred(),
                    d if d > 0 => day.succ(),
                    _ => day,
                };
                format!("0 {minute} {hour} ? * {} *", utc_day.to_string().to_uppercase())
            }
        }
    }

    /// The frequency and period of a periodic schedule.
    pub fn as_periodic(&self) -> Option<(Frequency, Period)> {
        match self {
            Self::Periodic { frequency, period } => Some((*frequency, *period)),
            Self::Quartz(_) => None,
        }
    }
}

fn periodic_next_after(frequency: Frequency, period: Period, t: DateTime<Utc>) -> DateTime<Utc> {
    let zone = period.zone();
    let local = t.with_timezone(&zone);
    let hour_start = zone
        .with_ymd_and_hms(local.year(), local.month(), local.day(), local.hour(), 0, 0)
        .single()
        .expect("fixed offsets have no gaps");
    if frequency == Frequency::Hour {
        return (hour_start + Duration::hours(1)).with_timezone(&Utc);
    }
    let day_start = hour_start - Duration::hours(i64::from(local.hour()));
    let mut candidate = day_start + Duration::hours(i64::from(period.hour));
    loop {
        let weekday_ok = match frequency {
            Frequency::Weekly(day) => candidate.weekday() == day,
            _ => true,
        };
        if weekday_ok && candidate > local {
            return candidate.with_timezone(&Utc);
        }
        candidate += Duration::days(1);
    }
}

/// A validated Quartz cron expression: `sec min hour day-of-month month day-of-week [year]`,
/// with `?`, `L`, `W`, `#`, `a/b` steps and Quartz weekday numbering (1 = Sunday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuartzCron {
    expression: String,
    cron: croner::Cron,
}

impl QuartzCron {
    pub fn parse(expression: &str) -> Result<Self, CoreError> {
        let fields = expression.split_whitespace().count();
        if !(6..=7).contains(&fields) {
            return Err(CoreError::invalid(
                "quartz",
                format!("{expression:?} has {fields} fields; Quartz takes 6 or 7"),
            ));
        }
        Self::check_day_fields(expression)?;
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .year(croner::parser::Year::Optional)
            .alternative_weekdays(true)
            .sloppy_ranges(true)
            .build()
            .parse(expression)
            .map_err(|e| {
                CoreError::invalid("quartz", format!("{expression:?} is not a valid Quartz expression: {e}"))
            })?;
        // An expression that never fires (e.g. only past years) is refused too.
        cron.find_next_occurrence(&Utc::now(), false)
            .map_err(|_| CoreError::invalid("quartz", format!("{expression:?} never fires")))?;
        Ok(Self { expression: expression.to_owned(), cron })
    }

    /// Quartz takes a day-of-month or a day-of-week, never both: exactly one of the two fields
    /// is `?` (`CronExpression` refuses both given, "Support for specifying both a day-of-week
    /// AND a day-of-month parameter is not implemented", and both `?`). A cron library would
    /// fire on either day instead.
    fn check_day_fields(expression: &str) -> Result<(), CoreError> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        match (fields[3] == "?", fields[5] == "?") {
            (true, false) | (false, true) => Ok(()),
            (false, false) => Err(CoreError::invalid(
                "quartz",
                format!("{expression:?} gives both a day-of-month and a day-of-week; Quartz needs '?' in one of them"),
            )),
            (true, true) => Err(CoreError::invalid(
                "quartz",
                format!(
                    "{expression:?} has '?' in both day fields; Quartz takes it in day-of-month or day-of-week only"
                ),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.expression
    }

    fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.cron.find_next_occurrence(&t, false).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn latest_at_or_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.cron.find_previous_occurrence(&t, true).unwrap_or(t)
    }
}

impl TryFrom<String> for QuartzCron {
    type Error = CoreError;

    fn try_from(expression: String) -> Result<Self, Self::Error> {
        Self::parse(&expression)
    }
}

impl From<QuartzCron> for String {
    fn from(cron: QuartzCron) -> Self {
        cron.expression
    }
}

/// How snapshot names are made, per dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameStyle {
    /// CSS: `<prefix>-<yyyyMMddHHmmss>`.
    #[default]
    Prefixed,
    /// Alibaba: `<instance id>_<yyyyMMddHHmmss>`.
    Instance,
}

impl NameStyle {
    /// The snapshot name for `at` (UTC), lowercase as the engines require.
    pub fn name(self, prefix: &str, cluster_id: &str, at: DateTime<Utc>) -> String {
        let stamp = at.format("%Y%m%d%H%M%S");
        match self {
            Self::Prefixed => format!("{prefix}-{stamp}"),
            Self::Instance => format!("{}_{stamp}", cluster_id.to_lowercase()),
        }
    }
}

/// A cluster's automatic-snapshot policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPolicy {
    pub enabled: bool,
    pub prefix: String,
    pub schedule: Schedule,
    /// Days an automatic snapshot is kept (1–90).
    pub keepday: u32,
    /// Indices to snapshot (empty: all).
    pub indices: String,
    #[serde(default)]
    pub name_style: NameStyle,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            prefix: "snapshot".into(),
            schedule: Schedule::periodic(Frequency::Day, Period { hour: 0, offset_minutes: 0 }),
            keepday: 7,
            indices: String::new(),
            name_style: NameStyle::Prefixed,
        }
    }
}

/// A cluster's snapshot settings (CSS basic settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSettings {
    /// Whether the snapshot function is on (CSS `backupAvailable`).
    pub enabled: bool,
    pub bucket: Option<String>,
    pub agency: Option<String>,
    pub base_path: Option<String>,
    /// Normalised throttle (`40mb`, `0` for unlimited).
    pub max_snapshot_rate: String,
    pub max_restore_rate: String,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bucket: None,
            agency: None,
            base_path: None,
            max_snapshot_rate: "40mb".into(),
            max_restore_rate: "0".into(),
        }
    }
}

/// Everything stored about a cluster's snapshots besides the snapshots themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotConfig {
    pub settings: SnapshotSettings,
    pub policy: SnapshotPolicy,
}

/// The longest retention snapkeep keeps automatic snapshots for, in days (ten years); each
/// dialect holds retention to its own, shorter bound first.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// A retention in days: 1 to `MAX_RETENTION_DAYS`. Errors: `InvalidRetention`.
pub fn retention_days(value: i64) -> Result<u32, CoreError> {
    match u32::try_from(value) {
        Ok(days @ 1..=MAX_RETENTION_DAYS) => Ok(days),
        _ => Err(CoreError::InvalidRetention(value)),
    }
}

/// A byte rate `0`–`9999` with an optional unit (b, k/kb, m/mb, g/gb, t/tb, p/pb); `0`, `-1`
/// and `0<unit>` mean unlimited (normalised to `0`).
pub fn byte_rate(field: &'static str, value: &str) -> Result<String, CoreError> {
    let trimmed = value.trim();
    let caps = THROTTLE.captures(trimmed).ok_or_else(|| {
        CoreError::invalid(field, "must be a number from 0 to 9999 with an optional unit (b, kb, mb, gb, tb, pb)")
    })?;
    let number = &caps[1];
    if number == "-1" || number.trim_start_matches('0').is_empty() {
        return Ok("0".into());
    }
    let unit = caps.get(2).map_or("b", |m| m.as_str()).to_lowercase();
    let unit = if unit.len() == 1 && unit != "b" { format!("{unit}b") } else { unit };
    Ok(format!("{}{unit}", number.trim_start_matches('0')))
}

/// A base path: ≤512 characters, no leading `/`, no leading or trailing `.`, none of
/// `\:*?"<>|'{}`, no `//` runs longer than two, no `..` and no `.` segment. What passes is in
/// normal form once `storage::join_path` drops its empty segments, so locations compared as
/// strings are the places the storage resolves (`a/./b` would be `a/b` on a filesystem).
pub fn base_path(value: &str) -> Result<(), CoreError> {
    let bad = |why: &str| Err(CoreError::invalid("base_path", why.to_owned()));
    if value.chars().count() > 512 {
        return bad("must be at most 512 characters");
    }
    if value.starts_with('/') {
        return bad("must not start with '/'");
    }
    if value.starts_with('.') || value.ends_with('.') {
        return bad("must not start or end with '.'");
    }
    if let Some(c) = value.chars().find(|c| "\\:*?\"<>|'{}".contains(*c)) {
        return bad(&format!("must not contain '{c}'"));
    }
    if value.contains("..") || value.contains("///") {
        return bad("must not contain '..' or more than two consecutive '/'");
    }
    if value.split('/').any(|segment| segment == ".") {
        return bad("must not contain a '.' segment");
    }
    Ok(())
}

/// A bucket name: 3–63 of lowercase letters, digits, `-`, `.`, starting and ending with a letter
/// or digit.
pub fn bucket(value: &str) -> Result<(), CoreError> {
    static BUCKET: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$").expect("valid regex"));
    if BUCKET.is_match(value) { Ok(()) } else { Err(CoreError::invalid("bucket", "is not a valid bucket name")) }
}

/// An agency (the name of credentials snapkeep uses for the bucket): 1–64 of letters, digits,
/// `-`, `_`, `.`.
pub fn agency(value: &str) -> Result<(), CoreError> {
    static AGENCY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]{1,64}$").expect("valid regex"));
    if AGENCY.is_match(value) { Ok(()) } else { Err(CoreError::InvalidAgency(value.to_owned())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSS schedule and its Quartz rendering fire at the same instants, zones and weekdays
    /// crossing midnight included.
    #[test]
    fn periodic_schedules_read_the_same_as_quartz() {
        let start = Utc.with_ymd_and_hms(2026, 11, 20, 7, 13, 0).unwrap();
        let cases = [
            (Frequency::Day, "00:00 GMT+08:00", "0 0 16 ? * * *"),
            (Frequency::Weekly(Weekday::Mon), "02:00 GMT+08:00", "0 0 18 ? * SUN *"),
            (Frequency::Weekly(Weekday::Sat), "22:00 GMT-05:00", "0 0 3 ? * SUN *"),
            (Frequency::Hour, "00:00 GMT+05:30", "0 30 * ? * * *"),
            (Frequency::Day, "13:00 GMT+00:00", "0 0 13 ? * * *"),
        ];
        for (frequency, period, quartz) in cases {
            let periodic = Schedule::periodic(frequency, Period::parse(period).unwrap());
            assert_eq!(periodic.as_quartz(), quartz, "{period}");
            let cron = Schedule::Quartz(Box::new(QuartzCron::parse(quartz).unwrap()));
            let (mut a, mut b) = (start, start);
            for _ in 0..20 {
                (a, b) = (periodic.next_after(a), cron.next_after(b));
                assert_eq!(a, b, "{quartz}");
            }
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(frequency: &str, period: &str) -> Schedule {
        Schedule::periodic(Frequency::parse(frequency).unwrap(), Period::parse(period).unwrap())
    }

    fn quartz(expression: &str) -> Schedule {
        Schedule::Quartz(Box::new(QuartzCron::parse(expression).unwrap()))
    }

    #[test]
    fn quartz_expressions_as_the_alibaba_api_sends_them() {
        let daily = quartz("0 0 01 ? * * *");
        assert_eq!(daily.next_after(utc("2026-11-23T00:59:59Z")), utc("2026-11-23T01:00:00Z"));
        assert_eq!(daily.next_after(utc("2026-11-23T01:00:00Z")), utc("2026-11-24T01:00:00Z"));
        assert_eq!(daily.latest_at_or_before(utc("2026-11-23T01:00:00Z")), utc("2026-11-23T01:00:00Z"));
        let half_hourly = quartz("0 0/30 * * * ?");
        assert_eq!(half_hourly.next_after(utc("2026-11-23T10:05:00Z")), utc("2026-11-23T10:30:00Z"));
        assert_eq!(half_hourly.next_after(utc("2026-11-23T10:30:00Z")), utc("2026-11-23T11:00:00Z"));
        let weekdays = quartz("0 0 2 ? * MON-FRI *");
        // Friday 2026-11-27 02:00, then Monday 2026-11-30.
        assert_eq!(weekdays.next_after(utc("2026-11-27T02:00:00Z")), utc("2026-11-30T02:00:00Z"));
        assert_eq!(
            quartz("0 0 12 ? * 2 *").next_after(utc("2026-11-22T00:00:00Z")),
            utc("2026-11-23T12:00:00Z"),
            "Quartz 2 is Monday"
        );
        for bad in ["0 0 1 * *", "0 0 25 ? * * *", "x 0 1 ? * * *", "0 0 1 ? * * 1999"] {
            assert!(QuartzCron::parse(bad).is_err(), "{bad}");
        }
        let stored = serde_json::to_string(&quartz("0 0 01 ? * * *")).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&stored).unwrap(), quartz("0 0 01 ? * * *"));
        assert!(serde_json::from_str::<Schedule>(r#"{"Quartz":"nonsense"}"#).is_err());
    }

    /// The examples of Quartz's CronTrigger tutorial, each with its next fire after Monday
    /// 2026-11-30 12:00:00 UTC (worked out rule by rule, not by the cron library), and the
    /// forms Quartz refuses.
    #[test]
    fn quartz_fires_as_the_quartz_documentation_says() {
        let after = utc("2026-11-30T12:00:00Z");
        for (expression, next) in [
            ("0 0 12 * * ?", "2026-12-01T12:00:00Z"),
            ("0 15 10 ? * *", "2026-12-01T10:15:00Z"),
            ("0 * 14 * * ?", "2026-11-30T14:00:00Z"),
            ("0 0/5 14,18 * * ?", "2026-11-30T14:00:00Z"),
            ("0 0-5 14 * * ?", "2026-11-30T14:00:00Z"),
            ("0 10,44 14 ? 3 WED", "2027-03-03T14:10:00Z"),
            ("0 15 10 ? * MON-FRI", "2026-12-01T10:15:00Z"),
            ("0 15 10 15 * ?", "2026-12-15T10:15:00Z"),
            ("0 15 10 L * ?", "2026-12-31T10:15:00Z"),
            ("0 15 10 ? * 6L", "2026-12-25T10:15:00Z"),
            ("0 15 10 ? * 6#3", "2026-12-18T10:15:00Z"),
            ("0 0 12 1/5 * ?", "2026-12-01T12:00:00Z"),
            ("0 11 11 11 11 ?", "2027-11-11T11:11:00Z"),
        ] {
            assert_eq!(quartz(expression).next_after(after), utc(next), "{expression}");
        }
        for refused in ["0 0 1 15 * MON", "0 0 12 * * *", "0 0 12 ? * ?", "0 0 1 15 * MON *"] {
            let error = QuartzCron::parse(refused).unwrap_err().to_string();
            assert!(error.contains("day-of-month"), "{refused}: {error}");
        }
    }

    #[test]
    fn periods_parse_on_the_hour_only() {
        assert_eq!(Period::parse("16:00 GMT+08:00").unwrap(), Period { hour: 16, offset_minutes: 480 });
        assert_eq!(Period::parse("00:00 GMT-05:30").unwrap(), Period { hour: 0, offset_minutes: -330 });
        assert_eq!(Period::parse("16:00 GMT+08:00").unwrap().to_string(), "16:00 GMT+08:00");
        for bad in ["16:30 GMT+08:00", "24:00 GMT+08:00", "16:00", "4:00 GMT+08:00", "16:00 UTC", "16:00 GMT+15:00"] {
            assert!(matches!(Period::parse(bad), Err(CoreError::InvalidPeriod(_))), "{bad}");
        }
    }

    #[test]
    fn daily_slots_are_at_the_hour_in_the_zone() {
        let s = schedule("DAY", "16:00 GMT+08:00");
        assert_eq!(s.next_after(utc("2026-11-23T07:59:59Z")), utc("2026-11-23T08:00:00Z"));
        assert_eq!(s.next_after(utc("2026-11-23T08:00:00Z")), utc("2026-11-24T08:00:00Z"));
        assert_eq!(s.latest_at_or_before(utc("2026-11-23T08:00:00Z")), utc("2026-11-23T08:00:00Z"));
        assert_eq!(s.latest_at_or_before(utc("2026-11-23T07:00:00Z")), utc("2026-11-22T08:00:00Z"));
        // A zone whose day starts on the previous UTC day.
        let s = schedule("DAY", "02:00 GMT+08:00");
        assert_eq!(s.next_after(utc("2026-11-23T12:00:00Z")), utc("2026-11-23T18:00:00Z"));
    }

    #[test]
    fn hourly_and_weekly_slots() {
        let hourly = schedule("HOUR", "00:00 GMT+05:30");
        assert_eq!(
            hourly.next_after(utc("2026-11-23T10:00:00Z")),
            utc("2026-11-23T10:30:00Z"),
            "local hours start at :30 UTC"
        );
        assert_eq!(hourly.next_after(utc("2026-11-23T10:30:00Z")), utc("2026-11-23T11:30:00Z"));
        let weekly = schedule("MON", "09:00 GMT+00:00");
        // 2026-11-23 is a Monday.
        assert_eq!(weekly.next_after(utc("2026-11-23T08:00:00Z")), utc("2026-11-23T09:00:00Z"));
        assert_eq!(weekly.next_after(utc("2026-11-23T09:00:00Z")), utc("2026-11-30T09:00:00Z"));
        assert_eq!(weekly.latest_at_or_before(utc("2026-11-29T00:00:00Z")), utc("2026-11-23T09:00:00Z"));
        let sunday_east = schedule("SUN", "01:00 GMT+09:00");
        assert_eq!(
            sunday_east.next_after(utc("2026-11-23T00:00:00Z")),
            utc("2026-11-28T16:00:00Z"),
            "Sunday 01:00 +09 is Saturday 16:00 UTC"
        );
    }

    #[test]
    fn policy_field_rules() {
        assert_eq!(retention_days(1).unwrap(), 1);
        assert_eq!(retention_days(3650).unwrap(), 3650);
        for bad in [0, -1, 3651, i64::MAX] {
            assert!(matches!(retention_days(bad), Err(CoreError::InvalidRetention(d)) if d == bad), "{bad}");
        }
        assert!(Frequency::parse("HOUR").is_some() && Frequency::parse("WEEK").is_none());
    }

    #[test]
    fn byte_rates_normalise_units_and_unlimited() {
        assert_eq!(byte_rate("r", "40MB").unwrap(), "40mb");
        assert_eq!(byte_rate("r", "40m").unwrap(), "40mb");
        assert_eq!(byte_rate("r", "9999").unwrap(), "9999b");
        assert_eq!(byte_rate("r", "1Pb").unwrap(), "1pb");
        for unlimited in ["0", "-1", "0mb", "000"] {
            assert_eq!(byte_rate("r", unlimited).unwrap(), "0", "{unlimited}");
        }
        for bad in ["10000", "1.5mb", "10 xb", "-2", "mb", ""] {
            assert!(byte_rate("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_paths_buckets_and_agencies() {
        assert!(base_path("css_repository/tests").is_ok());
        for bad in ["/abs", ".hidden", "trail.", "a\\b", "a:b", "a*b", "a{b}", "a/../b", "a///b", &"a".repeat(513)] {
            assert!(base_path(bad).is_err(), "{bad}");
        }
        assert!(bucket("es-backup").is_ok() && bucket("ab").is_err() && bucket("Bucket").is_err());
        assert!(agency("usearch").is_ok());
        assert!(matches!(agency("bad agency"), Err(CoreError::InvalidAgency(_))));
    }

    /// Catalogs written before the rename stored a periodic schedule as `Css`; they still read.
    #[test]
    fn periodic_schedules_stored_as_css_still_read() {
        let schedule = Schedule::periodic(Frequency::Day, Period::parse("00:00 GMT+08:00").unwrap());
        let stored = serde_json::to_string(&schedule).unwrap().replace("Periodic", "Css");
        assert!(stored.contains("\"Css\""), "{stored}");
        assert_eq!(serde_json::from_str::<Schedule>(&stored).unwrap(), schedule);
    }
}
