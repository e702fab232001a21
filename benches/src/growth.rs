//! How a cost grows with the number of accounts: the least-squares slope of
//! log(cost) against log(n), and the name of the growth that slope is
//! closest to. The name comes from the measured slope only; the slope is
//! always printed beside it.
//!
//! Between 10k and 1M, log n has a log-log slope of about 1/ln(n) ≈ 0.09 and
//! n log n about 1.09, so the bands below are wide around those values.

/// The least-squares slope of ln(value) over ln(n); `None` for fewer than two
/// distinct sizes or a non-positive value.
pub fn slope(points: &[(u64, f64)]) -> Option<f64> {
    if points
        .iter()
        .any(|&(n, v)| n == 0 || v <= 0.0 || !v.is_finite())
    {
        return None;
    }
    let xy: Vec<(f64, f64)> = points
        .iter()
        .map(|&(n, v)| ((n as f64).ln(), v.ln()))
        .collect();
    let k = xy.len() as f64;
    let mx = xy.iter().map(|p| p.0).sum::<f64>() / k;
    let my = xy.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx < 1e-12 {
        return None;
    }
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(sxy / sxx)
}

/// The growth a log-log slope stands for, as a verb phrase.
pub fn name(slope: f64) -> &'static str {
    match slope {
        s if s < -0.25 => "falls with n",
        s if s < 0.04 => "stays constant",
        s if s < 0.25 => "grows like log n",
        s if s < 0.75 => "grows like √n",
        s if s < 1.05 => "grows linearly (n)",
        s if s < 1.3 => "grows like n log n",
        _ => "grows faster than n log n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(f: impl Fn(f64) -> f64) -> Vec<(u64, f64)> {
        [10_000u64, 100_000, 500_000, 1_000_000]
            .iter()
            .map(|&n| (n, f(n as f64)))
            .collect()
    }

    #[test]
    fn names_the_textbook_curves() {
        type Curve = fn(f64) -> f64;
        let cases: [(&str, Curve); 6] = [
            ("stays constant", |_| 7.0),
            ("grows like log n", |n| 3.0 * n.ln()),
            ("grows like √n", |n| n.sqrt()),
            ("grows linearly (n)", |n| 2.0 * n),
            ("grows like n log n", |n| n * n.ln()),
            ("grows faster than n log n", |n| n * n),
        ];
        for (want, f) in cases {
            let s = slope(&curve(f)).unwrap();
            assert_eq!(name(s), want, "slope {s}");
        }
    }

    #[test]
    fn slope_is_exact_on_a_power_law() {
        let s = slope(&curve(|n| 5.0 * n.powf(0.5))).unwrap();
        assert!((s - 0.5).abs() < 1e-9, "{s}");
    }

    #[test]
    fn refuses_what_it_cannot_fit() {
        assert_eq!(slope(&[(10, 1.0)]), None);
        assert_eq!(slope(&[(10, 1.0), (10, 2.0)]), None);
        assert_eq!(slope(&[(10, 1.0), (100, 0.0)]), None);
    }
}
