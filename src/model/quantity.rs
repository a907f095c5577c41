//! Kubernetes resource quantities ("500m", "1Gi", "2", "1e3", "129M"), parsed exactly.
//!
//! Invariant: no floating point. A quantity is `mantissa × 10^exp10 × 2^exp2`, read digit by
//! digit; conversions round up to whole units exactly as `resource.Quantity.Value()` and
//! `MilliValue()` do.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Syntax,
    #[error("unknown quantity suffix {0:?} (expected one of Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E or an exponent like e3)")]
    Suffix(String),
    #[error("quantity is too large")]
    TooLarge,
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(QuantityError::Syntax);
        }
        let (neg, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(QuantityError::Syntax);
        }
        let mut mantissa: i128 = 0;
        let mut exp10: i32 = 0;
        let mut after_point = false;
        for c in num.chars() {
            if c == '.' {
                after_point = true;
                continue;
            }
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(c.to_digit(10).unwrap_or(0) as i128))
                .ok_or(QuantityError::TooLarge)?;
            if after_point {
                exp10 -= 1;
            }
        }
        let (e10, e2) = parse_suffix(suffix)?;
        exp10 = exp10.checked_add(e10).ok_or(QuantityError::TooLarge)?;
        if neg {
            mantissa = -mantissa;
        }
        let q = Quantity {
            mantissa,
            exp10,
            exp2: e2,
        };
        // Reject values that cannot be represented in the units we use (milli-units, i64).
        q.scaled_ceil(3).ok_or(QuantityError::TooLarge)?;
        Ok(q)
    }

    /// `Value()`: whole units, rounded up.
    pub fn value(&self) -> i64 {
        self.scaled_ceil(0).expect("checked at parse")
    }

    /// `MilliValue()`: thousandths, rounded up.
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(3).expect("checked at parse")
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// ceil(mantissa × 2^exp2 × 10^(exp10 + extra)) as i64, or None on overflow.
    fn scaled_ceil(&self, extra: i32) -> Option<i64> {
        let mut n = self.mantissa;
        for _ in 0..self.exp2 {
            n = n.checked_mul(2)?;
        }
        let e = self.exp10 + extra;
        let v = if e >= 0 {
            let mut v = n;
            for _ in 0..e {
                v = v.checked_mul(10)?;
            }
            v
        } else {
            let mut d: i128 = 1;
            for _ in 0..(-e) {
                d = match d.checked_mul(10) {
                    Some(d) => d,
                    // Divisor beyond i128: the value is a tiny fraction, ceil is 1 or 0.
                    None => return Some(if n > 0 { 1 } else { 0 }),
                };
            }
            let q = n.div_euclid(d);
            if n.rem_euclid(d) != 0 {
                q + 1
            } else {
                q
            }
        };
        i64::try_from(v).ok()
    }
}

fn parse_suffix(s: &str) -> Result<(i32, u32), QuantityError> {
    let r = match s {
        "" => (0, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        _ => {
            let rest = s
                .strip_prefix('e')
                .or_else(|| s.strip_prefix('E'))
                .ok_or_else(|| QuantityError::Suffix(s.to_string()))?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(QuantityError::Suffix(s.to_string()));
            }
            let e: i32 = rest.parse().map_err(|_| QuantityError::TooLarge)?;
            if e.abs() > 40 {
                return Err(QuantityError::TooLarge);
            }
            (e, 0)
        }
    };
    Ok(r)
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.milli_value();
        if m % 1000 == 0 {
            write!(f, "{}", m / 1000)
        } else {
            write!(f, "{m}m")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    // Cases from kubernetes/apimachinery pkg/api/resource/quantity_test.go (TestQuantityParse,
    // TestQuantityValue rounding up) restated as (input, Value, MilliValue).
    #[test]
    fn upstream_quantity_parse_cases() {
        let cases: &[(&str, i64, i64)] = &[
            ("0", 0, 0),
            ("0m", 0, 0),
            ("500m", 1, 500),
            ("1", 1, 1000),
            ("2", 2, 2000),
            ("1.5", 2, 1500),
            ("0.1", 1, 100),
            ("100m", 1, 100),
            ("1Ki", 1024, 1_024_000),
            ("1Mi", 1 << 20, (1 << 20) * 1000),
            ("1Gi", 1 << 30, (1i64 << 30) * 1000),
            ("32Gi", 32 << 30, (32i64 << 30) * 1000),
            ("1k", 1000, 1_000_000),
            ("129M", 129_000_000, 129_000_000_000),
            ("1e3", 1000, 1_000_000),
            ("1E3", 1000, 1_000_000),
            ("1e-3", 1, 1),
            ("1.5Gi", 1_610_612_736, 1_610_612_736_000),
            ("1n", 1, 1),
            ("1u", 1, 1),
            ("123456789n", 1, 124),
            (".5", 1, 500),
            ("5.", 5, 5000),
            ("+1", 1, 1000),
        ];
        for (s, v, m) in cases {
            let x = q(s);
            assert_eq!((x.value(), x.milli_value()), (*v, *m), "{s}");
        }
    }

    #[test]
    fn negative_values_round_up_toward_positive_infinity() {
        assert_eq!(q("-1.5").value(), -1);
        assert_eq!(q("-500m").milli_value(), -500);
    }

    #[test]
    fn rejects_malformed_quantities() {
        for bad in [
            "", "abc", "1.2.3", "1Gb", "1 Gi", "Gi", "1e", "1e+", ".", "1ki", "--1",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            Quantity::parse("1Gb"),
            Err(QuantityError::Suffix("Gb".into()))
        );
        assert_eq!(Quantity::parse("1e30"), Err(QuantityError::TooLarge));
    }
}
