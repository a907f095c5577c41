//! Go duration syntax (`time.ParseDuration`: "50s", "1m30s", "100ms", "1.5h"), parsed exactly
//! into [`SimDuration`], as Kubernetes flags and `metav1.Duration` fields take it.
//!
//! Invariant: integer arithmetic only; fractions are truncated to whole nanoseconds.

use crate::sim::SimDuration;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "invalid duration {0:?}: expected Go duration syntax such as \"50s\", \"1m30s\", \"100ms\""
    )]
    Syntax(String),
    #[error("invalid duration {0:?}: missing unit (ns, us, ms, s, m, h), e.g. \"{0}s\"")]
    MissingUnit(String),
    #[error("invalid duration {0:?}: unknown unit {1:?} (expected ns, us, µs, ms, s, m or h)")]
    Unit(String, String),
    #[error("invalid duration {0:?}: negative durations are not allowed here")]
    Negative(String),
    #[error("invalid duration {0:?}: too large (at most 2562047h47m16.854775807s, Go's maximum time.Duration)")]
    TooLarge(String),
}

pub fn parse_go_duration(text: &str) -> Result<SimDuration, DurationError> {
    let s = text.trim();
    let syntax = || DurationError::Syntax(text.to_string());
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return Err(syntax()),
    };
    if rest == "0" {
        return Ok(SimDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, r) = rest.split_at(int_end);
        let (frac_part, r) = match r.strip_prefix('.') {
            Some(r2) => {
                let fe = r2.find(|c: char| !c.is_ascii_digit()).unwrap_or(r2.len());
                r2.split_at(fe)
            }
            None => ("", r),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax());
        }
        let unit_end = r
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(r.len());
        let (unit, r) = r.split_at(unit_end);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(text.to_string()));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(DurationError::Unit(text.to_string(), unit.to_string())),
        };
        let too_large = || DurationError::TooLarge(text.to_string());
        let int_val: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_large())?
        };
        let mut v = int_val.checked_mul(scale).ok_or_else(too_large)?;
        if !frac_part.is_empty() {
            v += go_fraction(frac_part, scale);
        }
        total = total.checked_add(v).ok_or_else(too_large)?;
        // Go's ParseDuration stops at 2^63 − 1 ns (about 292 years): so does kubesim, which
        // keeps every instant plus any one span within the u64 clock.
        if total > SimDuration::MAX_INPUT.as_nanos() as u128 {
            return Err(too_large());
        }
        rest = r;
    }
    if neg && total > 0 {
        return Err(DurationError::Negative(text.to_string()));
    }
    Ok(SimDuration(total as u64))
}

/// Go's `leadingFraction` and `float64(f) * (float64(unit) / scale)`: IEEE double arithmetic,
/// which is exactly rounded and so identical on every platform.
fn go_fraction(digits: &str, unit: u128) -> u128 {
    let mut f: u64 = 0;
    let mut scale: f64 = 1.0;
    let mut overflow = false;
    for c in digits.bytes() {
        if overflow {
            continue;
        }
        if f > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = f * 10 + (c - b'0') as u64;
        if y > 1u64 << 63 {
            overflow = true;
            continue;
        }
        f = y;
        scale *= 10.0;
    }
    (f as f64 * (unit as f64 / scale)) as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cases from Go's src/time/time_test.go parseDurationTests (the non-negative ones).
    #[test]
    fn go_parse_duration_cases() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("+5s", 5_000_000_000),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.0s", 1_000_000_000),
            ("1.004s", 1_004_000_000),
            ("100.00100s", 100_001_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14_000_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000),
        ];
        for (s, ns) in cases {
            assert_eq!(parse_go_duration(s), Ok(SimDuration(*ns)), "{s}");
        }
    }

    #[test]
    fn go_parse_duration_errors() {
        for bad in [
            "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "50 s", "5ss", "1.2.3s",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
        assert!(matches!(
            parse_go_duration("50"),
            Err(DurationError::MissingUnit(_))
        ));
        assert!(matches!(
            parse_go_duration("-5s"),
            Err(DurationError::Negative(_))
        ));
    }
}
