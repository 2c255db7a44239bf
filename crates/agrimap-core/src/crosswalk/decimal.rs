//! Decimal numbers as written in a table (`1234`, `-0.5`, `12.750`), held
//! exactly as whole units of a common scale, so that splitting and summing
//! them never loses a unit.

/// Most digits after the point a value may have.
pub const MAX_SCALE: u32 = 9;
/// Values are held below this many units: 18 digits, so that a value moved to
/// 9 decimal places and multiplied by 2³² still fits in 128 bits.
const MAX_UNITS: i128 = 10_i128.pow(18);

/// A decimal read from text: `units` × 10^-`scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    pub units: i128,
    pub scale: u32,
}

impl Decimal {
    /// Reads `[-+]digits[.digits]`.
    ///
    /// # Errors
    /// A message saying what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
            return Err(format!(
                "'{}' is not a number (write it like 1234.5)",
                crate::echo(t, 30)
            ));
        }
        let scale = u32::try_from(fraction.len()).unwrap_or(u32::MAX);
        if scale > MAX_SCALE {
            return Err(format!(
                "'{}' has more than {MAX_SCALE} digits after the point",
                crate::echo(t, 30)
            ));
        }
        let units: i128 = format!("{whole}{fraction}")
            .parse::<i128>()
            .ok()
            .filter(|u| *u < MAX_UNITS)
            .ok_or_else(|| format!("'{}' is too large", crate::echo(t, 30)))?;
        Ok(Self {
            units: if negative { -units } else { units },
            scale,
        })
    }

    /// The units of this value at a larger (or equal) scale.
    #[must_use]
    pub fn at_scale(self, scale: u32) -> i128 {
        self.units * 10_i128.pow(scale - self.scale)
    }
}

/// Units at `scale` written as a decimal (`-12.50` for -1250 at scale 2).
#[must_use]
pub fn format_units(units: i128, scale: u32) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let digits = units.unsigned_abs().to_string();
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Splits `units` by `weights` (non-negative, not all zero) into whole
/// units that add up to `units` exactly. The weights are first made whole
/// numbers (parts of 2³²); each part then gets the whole units of its
/// share, computed in integers, and the units left over (fewer than the
/// parts) go one each to the largest remainders (Hamilton's method; ties to
/// the earlier weight).
#[must_use]
pub fn split(units: i128, weights: &[f64]) -> Vec<i128> {
    const ONE: f64 = 4_294_967_296.0;
    let total: f64 = weights.iter().sum();
    let whole: Vec<u128> = weights
        .iter()
        .map(|w| (w / total * ONE).round().max(0.0) as u128)
        .collect();
    let sum: u128 = whole.iter().sum::<u128>().max(1);
    let magnitude = units.unsigned_abs();
    let mut parts: Vec<u128> = whole.iter().map(|w| magnitude * w / sum).collect();
    let remainders: Vec<u128> = whole.iter().map(|w| magnitude * w % sum).collect();
    let left = magnitude - parts.iter().sum::<u128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for &i in order.iter().take(usize::try_from(left).unwrap_or(usize::MAX)) {
        parts[i] += 1;
    }
    parts
        .into_iter()
        .map(|p| {
            let p = i128::try_from(p).unwrap_or(i128::MAX);
            if units < 0 { -p } else { p }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_decimals_exactly() {
        assert_eq!(Decimal::parse("12.750").expect("n"), Decimal { units: 12750, scale: 3 });
        assert_eq!(Decimal::parse("-0.5").expect("n").at_scale(3), -500);
        assert_eq!(Decimal::parse("+7").expect("n").units, 7);
        assert!(Decimal::parse("1e3").is_err());
        assert!(Decimal::parse("").is_err());
        assert!(Decimal::parse(".").is_err());
        assert_eq!(format_units(-1250, 2), "-12.50");
        assert_eq!(format_units(5, 3), "0.005");
        assert_eq!(format_units(42, 0), "42");
    }

    #[test]
    fn splits_add_up_to_the_whole() {
        assert!(Decimal::parse("1234567890123456789").is_err());
        assert_eq!(split(100, &[1.0, 1.0, 1.0]), [34, 33, 33]);
        assert_eq!(split(-100, &[0.7, 0.3]), [-70, -30]);
        assert_eq!(split(7, &[0.0, 2.0]), [0, 7]);
        for units in [1_i128, 999, 123_456_789, 10_i128.pow(27) + 3] {
            let parts = split(units, &[0.123, 0.456, 0.421, 1e-9]);
            assert_eq!(parts.iter().sum::<i128>(), units);
        }
    }
}
