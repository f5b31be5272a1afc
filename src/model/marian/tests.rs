//! Unit tests of the Marian model's own numerics: the sinusoidal position
//! table and `erf`.

use super::layers::erf;
use super::*;

#[test]
fn sinusoidal_matches_the_formula() {
    let t = sinusoidal(4, 6);
    assert_eq!(t[0..3], [0.0, 0.0, 0.0]);
    assert_eq!(t[3..6], [1.0, 1.0, 1.0]);
    let a = 2.0f64 / 10000f64.powf(2.0 / 6.0);
    assert!((t[2 * 6 + 1] as f64 - a.sin()).abs() < 1e-6);
    assert!((t[2 * 6 + 4] as f64 - a.cos()).abs() < 1e-6);
}

#[test]
fn erf_is_accurate() {
    for (x, want) in [
        (0.0, 0.0),
        (0.5, 0.520_499_9),
        (1.0, 0.842_700_8),
        (-2.0, -0.995_322_3),
    ] {
        assert!((erf(x) - want).abs() < 1e-6, "erf({x})");
    }
}
