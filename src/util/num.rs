//! Rounding and rates for reports: one definition, so every report rounds
//! the same way.

/// `x` rounded to `places` decimal places (half away from zero).
pub fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// `n / secs`, or 0 for an empty interval.
pub fn rate(n: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        n / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_rates() {
        assert_eq!(round_to(1.23456, 3), 1.235);
        assert_eq!(round_to(1.25, 1), 1.3);
        assert_eq!(round_to(-0.0004, 3), -0.0);
        assert_eq!(rate(10.0, 2.0), 5.0);
        assert_eq!(rate(10.0, 0.0), 0.0);
    }
}
