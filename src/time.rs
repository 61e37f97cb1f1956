//! Time for every command: Kubernetes timestamps (RFC 3339) to Unix seconds, ages for people
//! (`5m`, `2h`, `3d`), and the one rule for durations given on the command line.

/// The most seconds a duration may have: `maxDeployTimeInSeconds` is an int32 in the CRDs, and
/// no wait needs more than 68 years.
pub(crate) const MAX_DURATION_SECS: u64 = i32::MAX as u64;

/// What a duration flag accepts, for error messages.
pub(crate) const DURATION_RULE: &str =
    "must be a positive duration in seconds, or with a unit: 1800, 1800s, 30m, 2h";

/// Parses a duration from the command line into seconds. The one rule for every flag (`setup
/// --timeout`, `deploy --timeout`, `--max-deploy-time`, `logs --since`, ...): surrounding spaces
/// and a leading `+` are ignored; a whole number of seconds, optionally followed by `s`, `m` or
/// `h`; more than zero and at most [`MAX_DURATION_SECS`]. On error, the rule ([`DURATION_RULE`]).
pub(crate) fn parse_duration(v: &str) -> Result<u64, &'static str> {
    let v = v.trim();
    let v = v.strip_prefix('+').unwrap_or(v);
    let (num, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    let n: u64 = num.parse().unwrap_or(0);
    let secs = n.saturating_mul(mult);
    if mult == 0 || secs == 0 || secs > MAX_DURATION_SECS {
        return Err(DURATION_RULE);
    }
    Ok(secs)
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Parses `2024-05-01T12:34:56Z`, with optional fraction and `+hh:mm` offset.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let oh: i64 = o.get(1..3)?.parse().ok()?;
            let om: i64 = o.get(4..6)?.parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// `2024-05-01T12:34:56.000000Z` (Kubernetes MicroTime) for seconds since the epoch.
pub(crate) fn format_rfc3339_micro(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `45s`, `12m`, `5h`, `3d`, as kubectl shows ages.
pub(crate) fn human(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 2 * 3600 {
        format!("{}m", s / 60)
    } else if s < 2 * 86400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_micro_time_that_parses_back() {
        assert_eq!(format_rfc3339_micro(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_rfc3339_micro(1709251200 + 3723),
            "2024-03-01T01:02:03.000000Z"
        );
        for t in [951782400, 1709251199, 4102444800, 1_000_000_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339_micro(t)), Some(t));
        }
    }

    #[test]
    fn parses_kubernetes_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-03-01T00:00:00Z"), Some(1709251200));
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00.123456Z"),
            Some(1709251200)
        );
        assert_eq!(parse_rfc3339("2024-03-01T02:00:00+02:00"), Some(1709251200));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(human(59), "59s");
        assert_eq!(human(600), "10m");
        assert_eq!(human(3 * 86400), "3d");
    }

    #[test]
    fn durations_accept_what_setup_and_deploy_accepted() {
        for (v, secs) in [
            ("90", 90),
            ("1800s", 1800),
            ("15m", 900),
            ("1h", 3600),
            (" 30m ", 1800),
            ("+5m", 300),
            ("2147483647", 2147483647),
        ] {
            assert_eq!(parse_duration(v), Ok(secs), "{v}");
        }
        for bad in [
            "",
            "0",
            "0s",
            "-1",
            "1d",
            "m",
            "1.5h",
            "x",
            "+",
            "99999999999",
            "1 m",
        ] {
            assert_eq!(parse_duration(bad), Err(DURATION_RULE), "{bad}");
        }
    }
}
