//! Technical indicators over daily closes (oldest first), in exact decimals, and the deterministic
//! generator of labelled price history for development (the reference data has no history).

use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

/// Simple moving average of the last `n` closes; `None` with fewer than `n`.
pub fn sma(closes: &[Decimal], n: usize) -> Option<Decimal> {
    if n == 0 || closes.len() < n {
        return None;
    }
    let sum: Decimal = closes[closes.len() - n..].iter().sum();
    Some(round4(sum / Decimal::from(n)))
}

/// Wilder's RSI over `period` (14 by convention): needs `period + 1` closes. 100 when there were
/// no losses.
pub fn rsi(closes: &[Decimal], period: usize) -> Option<Decimal> {
    if period == 0 || closes.len() < period + 1 {
        return None;
    }
    let changes: Vec<Decimal> = closes.windows(2).map(|w| w[1] - w[0]).collect();
    let p = Decimal::from(period);
    let (mut gain, mut loss) = changes[..period]
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(g, l), c| if c.is_sign_positive() { (g + c, l) } else { (g, l - c) });
    gain /= p;
    loss /= p;
    for change in &changes[period..] {
        let (up, down) = if change.is_sign_positive() { (*change, Decimal::ZERO) } else { (Decimal::ZERO, -*change) };
        gain = (gain * (p - Decimal::ONE) + up) / p;
        loss = (loss * (p - Decimal::ONE) + down) / p;
    }
    if loss.is_zero() {
        return Some(Decimal::ONE_HUNDRED);
    }
    let rs = gain / loss;
    Some(round4(Decimal::ONE_HUNDRED - Decimal::ONE_HUNDRED / (Decimal::ONE + rs)))
}

/// Annualised volatility: sample standard deviation of the last `n` simple daily returns × √252.
pub fn volatility(closes: &[Decimal], n: usize) -> Option<Decimal> {
    if n < 2 || closes.len() < n + 1 {
        return None;
    }
    let returns: Vec<Decimal> = closes[closes.len() - n - 1..]
        .windows(2)
        .map(|w| if w[0].is_zero() { Decimal::ZERO } else { w[1] / w[0] - Decimal::ONE })
        .collect();
    let mean = returns.iter().sum::<Decimal>() / Decimal::from(n);
    let variance = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<Decimal>() / Decimal::from(n - 1);
    Some(round4(variance.sqrt()? * Decimal::from(252).sqrt()?))
}

/// Last close / first close − 1 over the whole slice.
pub fn total_return(closes: &[Decimal]) -> Option<Decimal> {
    let (first, last) = (closes.first()?, closes.last()?);
    if first.is_zero() {
        return None;
    }
    Some(round4(last / first - Decimal::ONE))
}

fn round4(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven).normalize()
}

/// A generated daily close series: `days` closes ending exactly at `last_price`, staying within
/// `[low, high]` when those are known (else ±25 % of the price). Deterministic in `seed`.
/// Development data only: callers label it as generated.
pub fn generate_closes(seed: u64, days: usize, last_price: Decimal, low: Option<Decimal>, high: Option<Decimal>) -> Vec<Decimal> {
    if days == 0 || last_price <= Decimal::ZERO {
        return Vec::new();
    }
    let low = low.filter(|l| *l > Decimal::ZERO && *l <= last_price).unwrap_or(last_price * Decimal::new(75, 2));
    let high = high.filter(|h| *h >= last_price).unwrap_or(last_price * Decimal::new(125, 2));
    // A random walk of small integer steps (xorshift64*), anchored so its last point is the
    // price and scaled so it stays within [low, high].
    let mut state = (seed ^ 0x9E37_79B9_7F4A_7C15).max(1);
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut walk: Vec<i64> = Vec::with_capacity(days);
    let mut level: i64 = 0;
    for _ in 0..days {
        level += (next() % 201) as i64 - 100;
        walk.push(level);
    }
    let end = *walk.last().unwrap_or(&0);
    let (min, max) = (*walk.iter().min().unwrap_or(&0), *walk.iter().max().unwrap_or(&0));
    let room_up = if max > end { (high - last_price) / Decimal::from(max - end) } else { Decimal::MAX };
    let room_down = if min < end { (last_price - low) / Decimal::from(end - min) } else { Decimal::MAX };
    let scale = room_up.min(room_down);
    let scale = if scale == Decimal::MAX { Decimal::ZERO } else { scale };
    walk.iter()
        .map(|w| (last_price + scale * Decimal::from(w - end)).round_dp_with_strategy(2, RoundingStrategy::ToZero).max(low).min(high))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn series(values: &[i64]) -> Vec<Decimal> {
        values.iter().map(|v| Decimal::from(*v)).collect()
    }

    #[test]
    fn sma_by_hand() {
        assert_eq!(sma(&series(&[1, 2, 3, 4, 5]), 3), Some(d("4")));
        assert_eq!(sma(&series(&[1, 2]), 3), None);
        assert_eq!(sma(&series(&[1, 2, 4]), 3), Some(d("2.3333")));
    }

    #[test]
    fn rsi_by_hand() {
        // Only gains: 100. Alternating +2/-1 over 14 changes: avg gain 1, avg loss 0.5, RS 2 → 66.6667.
        assert_eq!(rsi(&series(&(0..20).collect::<Vec<_>>()), 14), Some(d("100")));
        let mut closes = vec![100i64];
        for i in 0..14 {
            let last = *closes.last().unwrap();
            closes.push(if i % 2 == 0 { last + 2 } else { last - 1 });
        }
        assert_eq!(rsi(&series(&closes), 14), Some(d("66.6667")));
        assert_eq!(rsi(&series(&[1, 2, 3]), 14), None);
    }

    #[test]
    fn volatility_and_return_by_hand() {
        // Constant returns have zero spread.
        assert_eq!(volatility(&series(&[100, 100, 100, 100]), 3), Some(d("0")));
        // Returns +10 %, −10 %: mean 0, sample sd √0.02 = 0.141421…; × √252 = 2.2450.
        assert_eq!(volatility(&[d("100"), d("110"), d("99")], 2), Some(d("2.245")));
        assert_eq!(total_return(&series(&[50, 60, 75])), Some(d("0.5")));
    }

    #[test]
    fn generated_history_is_deterministic_bounded_and_ends_at_the_price() {
        let a = generate_closes(42, 260, d("178.96"), Some(d("139.34")), Some(d("184.9")));
        let b = generate_closes(42, 260, d("178.96"), Some(d("139.34")), Some(d("184.9")));
        assert_eq!(a, b);
        assert_eq!(a.len(), 260);
        assert_eq!(*a.last().unwrap(), d("178.96"));
        assert!(a.iter().all(|c| *c >= d("139.34") && *c <= d("184.9")));
        assert_ne!(a, generate_closes(43, 260, d("178.96"), Some(d("139.34")), Some(d("184.9"))));
        assert!(generate_closes(1, 10, Decimal::ZERO, None, None).is_empty());
    }
}
