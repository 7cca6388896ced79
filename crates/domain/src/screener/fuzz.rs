//! Deterministic fuzzing and property tests of the filter language (seeds, budgets and replaying a
//! failure: see `import::property`).
//!
//! - Random token soups and random bytes never panic the parser; whatever parses evaluates without
//!   panicking and prints back to the same tree.
//! - Random valid trees (every field, every operator and its spellings, `and`/`or`/`not`, extra
//!   parentheses, numbers in every notation the lexer reads, strings holding the other quote) are
//!   written as text, parse to exactly that tree when within the documented limits (and are
//!   refused, naming the limit, when not), print back to text that parses to the same tree, and
//!   evaluate like an independent three-valued evaluator on stocks with any mix of missing and
//!   extreme values.
//! - Nesting beyond the documented depth is an error, not a stack overflow.

use super::*;
use crate::import::property::{Rng, check};
use crate::stock::{Metric, Stock, TextField};
use crate::symbol::Symbol;
use rust_decimal::Decimal;
use std::time::Duration;

const SEEDS: &[u64] = &[0x5eed, 0xF11_7E25];

const PIECES: &[&str] = &[
    "pe",
    "price",
    "sma_200",
    "market_cap",
    "sector",
    "symbol",
    "rsi_14",
    "nope",
    "and",
    "or",
    "not",
    "between",
    "in",
    "(",
    ")",
    ",",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "!=",
    "!",
    "15",
    "-3.5",
    "1e3",
    "10B",
    "3%",
    "0.",
    "'Energy'",
    "\"x\"",
    "'",
    "é",
    "99999999999999999999999999999999",
    "1e99999",
    "  ",
    "_",
    "--",
    "..",
    "1e-28%",
    ".e1",
    "5m",
    "<>",
    "==",
];

// ---- valid trees, and text that means them ----

/// A number and text of the language that reads as exactly it (`short`: a few characters).
fn number(rng: &mut Rng, short: bool) -> (Decimal, String) {
    if short {
        let (text, mantissa, scale) = *rng.pick(&[
            ("1%", 1, 2),
            ("5K", 5000, 0),
            ("2T", 2_000_000_000_000, 0),
            (".5", 5, 1),
            ("1e9", 1_000_000_000, 0),
            ("3b", 3_000_000_000, 0),
            ("-1%", -1, 2),
            ("9", 9, 0),
            ("7M", 7_000_000, 0),
        ]);
        return (Decimal::new(mantissa, scale), text.to_owned());
    }
    if rng.one_in(12) {
        let value =
            *rng.pick(&[Decimal::MAX, Decimal::MIN, Decimal::ZERO, Decimal::new(1, 28), Decimal::new(-1, 28), Decimal::ONE_HUNDRED]);
        return (value, value.to_string());
    }
    // value = ±mantissa × 10^exponent, kept well inside what a Decimal holds.
    let digits = 1 + rng.index(15) as u32;
    let mantissa = i128::from(rng.next_u64() % 10u64.pow(digits));
    let exponent = rng.range(-12, 10) as i32;
    let negative = rng.one_in(3);
    let value = Decimal::from_i128_with_scale(mantissa, 0) * pow10(exponent) * if negative { Decimal::NEGATIVE_ONE } else { Decimal::ONE };
    // A suffix takes its power of ten out of the written number.
    let (suffix, power) = *rng.pick(&[("", 0), ("", 0), ("%", -2), ("K", 3), ("k", 3), ("M", 6), ("B", 9), ("b", 9), ("T", 12), ("t", 12)]);
    let written = exponent - power;
    let digits: String = if mantissa == 0 { "0".into() } else { mantissa.to_string() };
    let body = if rng.one_in(3) {
        // d.ddd e±x: the point anywhere in the digits.
        let point = rng.index(digits.len() + 1);
        let e = written + (digits.len() - point) as i32;
        let (whole, fraction) = digits.split_at(point);
        let mantissa = match (whole.is_empty(), fraction.is_empty()) {
            (true, _) => format!("0.{fraction}"),
            (false, true) => whole.to_owned(),
            (false, false) => format!("{whole}.{fraction}"),
        };
        let sign = if e < 0 { "-" } else { *rng.pick(&["", "+"]) };
        format!("{mantissa}{}{sign}{}", rng.pick(&["e", "E"]), e.abs())
    } else {
        plain(rng, &digits, written)
    };
    (value, format!("{}{body}{suffix}", if negative { "-" } else { "" }))
}

fn pow10(exponent: i32) -> Decimal {
    if exponent >= 0 { Decimal::from_i128_with_scale(10i128.pow(exponent as u32), 0) } else { Decimal::new(1, exponent.unsigned_abs()) }
}

/// `digits × 10^exponent` in plain notation: leading zeros, `.5`, `5.`, trailing zeros.
fn plain(rng: &mut Rng, digits: &str, exponent: i32) -> String {
    let mut text = if exponent >= 0 {
        format!("{digits}{}", "0".repeat(exponent as usize))
    } else {
        let places = exponent.unsigned_abs() as usize;
        let padded = format!("{}{digits}", "0".repeat((places + 1).saturating_sub(digits.len())));
        let (whole, fraction) = padded.split_at(padded.len() - places);
        format!("{whole}.{fraction}")
    };
    if rng.one_in(4) {
        text.insert_str(0, &"0".repeat(1 + rng.index(2)));
    }
    if rng.one_in(4) {
        text.push_str(if text.contains('.') { "0" } else { "." });
    }
    if text.starts_with("0.") && text.len() > 2 && rng.one_in(3) {
        text.remove(0);
    }
    text
}

/// A quoted string: any text, holding the other kind of quote (there is no escape).
fn string(rng: &mut Rng) -> (String, String) {
    const PIECES: &[&str] = &[
        "Energy",
        "energy",
        " ",
        "O'Neil",
        "\"big\"",
        "a,b",
        "(x)",
        "and",
        "or not",
        "\\",
        "é",
        "日本",
        "%",
        "\t",
        "\n",
        "",
        "Utilities",
        "x'y\"z",
    ];
    let mut text: String = (0..rng.index(4)).map(|_| *rng.pick(PIECES)).collect();
    let quote = if text.contains('\'') {
        '"'
    } else if text.contains('"') {
        '\''
    } else {
        *rng.pick(&['\'', '"'])
    };
    text.retain(|c| c != quote);
    let literal = format!("{quote}{text}{quote}");
    (text, literal)
}

/// A piece of filter text: its tokens as written.
struct Written {
    tokens: Vec<String>,
    /// Deepest nesting (parentheses and `not`) of any comparison.
    depth: usize,
    clauses: usize,
    /// Few leaves before `room` runs out: trees reaching the depth limit.
    deep: bool,
    /// Numbers in short notations (`1%`, `2T`), which print longer: filters near the length limit.
    short: bool,
}

impl Written {
    fn push(&mut self, token: impl Into<String>) {
        self.tokens.push(token.into());
    }

    /// The tokens joined by random whitespace where it may go and must go.
    fn text(&self, rng: &mut Rng, spacing: u64) -> String {
        let mut text = String::new();
        for token in &self.tokens {
            let needed = text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '%' | '.'))
                && token.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !text.is_empty() && (needed || (spacing > 0 && rng.below(3) < spacing)) {
                text.push_str(rng.pick::<&str>(&[" ", " ", "  ", "\t", "\n", "\r\n"]));
            }
            text.push_str(token);
        }
        text
    }
}

fn keyword(rng: &mut Rng, word: &str) -> String {
    match rng.below(4) {
        0 => word.to_ascii_uppercase(),
        1 => word[..1].to_ascii_uppercase() + &word[1..],
        _ => word.to_owned(),
    }
}

fn field(rng: &mut Rng, name: &str) -> String {
    if rng.one_in(5) { name.to_ascii_uppercase() } else { name.to_owned() }
}

fn comparison(rng: &mut Rng, out: &mut Written) -> Comparison {
    let metric = *rng.pick(&Metric::ALL);
    let list = |rng: &mut Rng| if rng.one_in(40) { 50 + rng.index(600) } else { 1 + rng.index(5) };
    match rng.below(5) {
        0 => {
            let (op, spellings): (CmpOp, &[&str]) = *rng.pick(&[
                (CmpOp::Lt, &["<"][..]),
                (CmpOp::Le, &["<="][..]),
                (CmpOp::Gt, &[">"][..]),
                (CmpOp::Ge, &[">="][..]),
                (CmpOp::Eq, &["=", "=="][..]),
                (CmpOp::Ne, &["!=", "<>"][..]),
            ]);
            out.push(field(rng, metric.info().name));
            out.push(*rng.pick(spellings));
            let rhs = if rng.one_in(3) {
                let other = *rng.pick(&Metric::ALL);
                out.push(field(rng, other.info().name));
                Operand::Metric(other)
            } else {
                let (value, text) = number(rng, out.short);
                out.push(text);
                Operand::Value(value)
            };
            Comparison::Compare { metric, op, rhs }
        }
        1 => {
            let ((low, low_text), (high, high_text)) = (number(rng, out.short), number(rng, out.short));
            for token in [field(rng, metric.info().name), keyword(rng, "between"), low_text, keyword(rng, "and"), high_text] {
                out.push(token);
            }
            Comparison::Between { metric, low, high }
        }
        2 => {
            out.push(field(rng, metric.info().name));
            out.push(keyword(rng, "in"));
            out.push("(");
            let values: Vec<Decimal> = (0..list(rng))
                .map(|i| {
                    if i > 0 {
                        out.push(",");
                    }
                    let (value, text) = number(rng, out.short);
                    out.push(text);
                    value
                })
                .collect();
            out.push(")");
            Comparison::In { metric, values }
        }
        3 => {
            let text_field = *rng.pick(&TextField::ALL);
            let (op, spelling) = *rng.pick(&[(TextOp::Eq, "="), (TextOp::Eq, "=="), (TextOp::Ne, "!="), (TextOp::Ne, "<>")]);
            let (value, literal) = string(rng);
            for token in [field(rng, text_field.name()), spelling.to_owned(), literal] {
                out.push(token);
            }
            Comparison::Text { field: text_field, op, value }
        }
        _ => {
            let text_field = *rng.pick(&TextField::ALL);
            out.push(field(rng, text_field.name()));
            out.push(keyword(rng, "in"));
            out.push("(");
            let values: Vec<String> = (0..list(rng).min(40))
                .map(|i| {
                    if i > 0 {
                        out.push(",");
                    }
                    let (value, literal) = string(rng);
                    out.push(literal);
                    value
                })
                .collect();
            out.push(")");
            Comparison::TextIn { field: text_field, values }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Leaf,
    Not,
    And,
    Or,
}

/// The next node: a leaf once `room` (levels) or the comparisons (a few past the limit) run out.
fn shape(rng: &mut Rng, out: &Written, room: usize) -> Shape {
    if room == 0 || out.clauses > MAX_CLAUSES + 5 || rng.one_in(if out.deep { 20 } else { 3 }) {
        Shape::Leaf
    } else {
        *rng.pick(&[Shape::Not, Shape::Not, Shape::And, Shape::Or])
    }
}

/// A random tree, written as text as it goes (`depth`: parentheses and `not` around it).
fn tree(rng: &mut Rng, out: &mut Written, depth: usize, room: usize) -> Expr {
    let shape = shape(rng, out, room);
    build(rng, out, depth, room, shape)
}

fn build(rng: &mut Rng, out: &mut Written, depth: usize, room: usize, shape: Shape) -> Expr {
    if rng.one_in(12) {
        // Parentheses the grammar does not need.
        out.push("(");
        let inner = build(rng, out, depth + 1, room, shape);
        out.push(")");
        return inner;
    }
    match shape {
        Shape::Leaf => {
            out.depth = out.depth.max(depth);
            out.clauses += 1;
            Expr::Cmp(comparison(rng, out))
        }
        Shape::Not => {
            out.push(keyword(rng, "not"));
            Expr::Not(Box::new(child(rng, out, depth + 1, room - 1, &[Shape::And, Shape::Or])))
        }
        Shape::And | Shape::Or => {
            let (word, needs) = if shape == Shape::Or { ("or", &[Shape::Or][..]) } else { ("and", &[Shape::And, Shape::Or][..]) };
            let parts: Vec<Expr> = (0..2 + rng.index(3))
                .map(|i| {
                    if i > 0 {
                        out.push(keyword(rng, word));
                    }
                    child(rng, out, depth, room - 1, needs)
                })
                .collect();
            if shape == Shape::Or { Expr::Or(parts) } else { Expr::And(parts) }
        }
    }
}

/// A subtree where trees of the shapes `needs` must be parenthesised (`a and (b or c)`).
fn child(rng: &mut Rng, out: &mut Written, depth: usize, room: usize, needs: &[Shape]) -> Expr {
    let shape = shape(rng, out, room);
    if !needs.contains(&shape) {
        return build(rng, out, depth, room, shape);
    }
    out.push("(");
    let inner = build(rng, out, depth + 1, room, shape);
    out.push(")");
    inner
}

fn extreme(rng: &mut Rng) -> Option<Decimal> {
    match rng.below(8) {
        0 | 1 => None,
        2 => {
            Some(*rng.pick(&[Decimal::MAX, Decimal::MIN, Decimal::ZERO, Decimal::NEGATIVE_ONE, Decimal::new(1, 28), Decimal::new(-1, 28)]))
        }
        _ => Some(number(rng, false).0),
    }
}

fn stock(rng: &mut Rng) -> Stock {
    let mut stock = Stock::new(Symbol::parse(rng.pick::<&str>(&["A", "BRK.B", "ENERGY", "X1"])).unwrap(), "Test".into());
    for metric in Metric::ALL {
        stock.set(metric, extreme(rng));
    }
    if rng.one_in(10) {
        stock.metrics.clear(); // a stock stored before the metrics existed
    }
    let text = |rng: &mut Rng| match rng.below(4) {
        0 => None,
        1 => Some(string(rng).0),
        _ => Some(rng.pick(&["Energy", "ENERGY", "Utilities", "O'Neil", ""]).to_string()),
    };
    stock.sector = text(rng);
    stock.sub_industry = text(rng);
    stock
}

/// Three-valued evaluation, written independently of `eval`: `None` is unknown.
fn oracle(expr: &Expr, stock: &Stock) -> Option<bool> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match expr {
        Expr::Cmp(Comparison::Compare { metric, op, rhs }) => {
            let left = stock.metric(*metric)?;
            let right = match rhs {
                Operand::Value(v) => *v,
                Operand::Metric(m) => stock.metric(*m)?,
            };
            // Through the ordering, not the operators `eval` uses.
            let order = left.cmp(&right);
            Some(match op {
                CmpOp::Lt => order.is_lt(),
                CmpOp::Le => order.is_le(),
                CmpOp::Gt => order.is_gt(),
                CmpOp::Ge => order.is_ge(),
                CmpOp::Eq => order.is_eq(),
                CmpOp::Ne => order.is_ne(),
            })
        }
        Expr::Cmp(Comparison::Between { metric, low, high }) => stock.metric(*metric).map(|v| *low <= v && v <= *high),
        Expr::Cmp(Comparison::In { metric, values }) => stock.metric(*metric).map(|v| values.contains(&v)),
        Expr::Cmp(Comparison::Text { field, op, value }) => stock.text(*field).map(|t| same(t, value) == (*op == TextOp::Eq)),
        Expr::Cmp(Comparison::TextIn { field, values }) => stock.text(*field).map(|t| values.iter().any(|v| same(t, v))),
        Expr::Not(inner) => oracle(inner, stock).map(|b| !b),
        Expr::And(parts) => {
            let all: Vec<Option<bool>> = parts.iter().map(|p| oracle(p, stock)).collect();
            if all.contains(&Some(false)) {
                Some(false)
            } else if all.contains(&None) {
                None
            } else {
                Some(true)
            }
        }
        Expr::Or(parts) => {
            let all: Vec<Option<bool>> = parts.iter().map(|p| oracle(p, stock)).collect();
            if all.contains(&Some(true)) {
                Some(true)
            } else if all.contains(&None) {
                None
            } else {
                Some(false)
            }
        }
    }
}

fn truth(value: Option<bool>) -> Truth {
    match value {
        Some(true) => Truth::True,
        Some(false) => Truth::False,
        None => Truth::Unknown,
    }
}

/// What a parsed filter must do: print back to text within the limits that parses to the same
/// tree, and evaluate as the oracle says, without panicking.
fn check_parsed(expr: &Expr, source: &str, stocks: &[Stock]) {
    let printed = expr.to_string();
    assert_eq!(parse_filter(&printed).as_ref(), Ok(expr), "{source:?} printed as {printed:?}");
    for stock in stocks {
        assert_eq!(expr.truth(stock), truth(oracle(expr, stock)), "{source:?} on {stock:?}");
    }
}

// ---- the properties ----

#[test]
fn no_input_panics_and_what_parses_round_trips() {
    let stocks: Vec<Stock> = (0..4).map(|i| stock(&mut Rng::new(i))).collect();
    let (mut cases, mut parsed) = (0, 0);
    check("no_input_panics_and_what_parses_round_trips", SEEDS, 20_000, Duration::from_secs(2), |rng| {
        cases += 1;
        let text = match rng.below(5) {
            // Random token soup.
            0 | 1 => (0..1 + rng.index(12)).map(|_| *rng.pick(PIECES)).collect::<Vec<_>>().join(" "),
            // Random bytes.
            2 => String::from_utf8_lossy(&(0..rng.index(64)).map(|_| rng.below(256) as u8).collect::<Vec<_>>()).into_owned(),
            // A valid filter, now and then with one token replaced, dropped or repeated.
            _ => {
                let mut out = Written { tokens: Vec::new(), depth: 0, clauses: 0, deep: false, short: false };
                tree(rng, &mut out, 0, 3);
                let at = rng.index(out.tokens.len());
                match rng.below(6) {
                    0 => out.tokens[at] = rng.pick(PIECES).to_string(),
                    1 => drop(out.tokens.remove(at)),
                    2 => out.tokens.insert(at, out.tokens[at].clone()),
                    _ => {}
                }
                out.text(rng, 1)
            }
        };
        if let Ok(expr) = parse_filter(&text) {
            parsed += 1;
            check_parsed(&expr, &text, &stocks);
        }
    });
    assert!(parsed * 5 > cases, "the generator should also produce valid filters ({parsed} of {cases})");
}

#[test]
fn generated_filters_parse_to_their_tree_print_back_and_evaluate_as_three_valued_logic() {
    check(
        "generated_filters_parse_to_their_tree_print_back_and_evaluate_as_three_valued_logic",
        SEEDS,
        6000,
        Duration::from_secs(3),
        |rng| {
            let deep = rng.one_in(4);
            let mut out = Written { tokens: Vec::new(), depth: 0, clauses: 0, deep, short: rng.one_in(4) };
            let room = if deep { MAX_DEPTH / 2 + rng.index(MAX_DEPTH) } else { rng.index(6) };
            let expected = tree(rng, &mut out, 0, room);
            let spacing = rng.below(3);
            let text = out.text(rng, spacing);
            let stocks: Vec<Stock> = (0..3).map(|_| stock(rng)).collect();
            match parse_filter(&text) {
                Ok(expr) => {
                    assert!(
                        text.len() <= MAX_LEN && out.depth <= MAX_DEPTH && out.clauses <= MAX_CLAUSES,
                        "accepted beyond the limits: {text:?}"
                    );
                    assert_eq!(expr, expected, "{text:?}");
                    check_parsed(&expr, &text, &stocks);
                }
                Err(error) => {
                    let why = if text.len() > MAX_LEN {
                        "longer than"
                    } else if out.depth > MAX_DEPTH {
                        "nested"
                    } else {
                        "comparisons"
                    };
                    assert!(
                        text.len() > MAX_LEN || out.depth > MAX_DEPTH || out.clauses > MAX_CLAUSES,
                        "{error} for a valid filter: {text:?}"
                    );
                    // Depth and clauses may both be over; either limit may be named.
                    assert!(
                        error.message.contains(why) || (out.clauses > MAX_CLAUSES && error.message.contains("comparisons")),
                        "{error} for {text:?}"
                    );
                }
            }
        },
    );
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow() {
    check("nesting_beyond_the_limit_is_an_error_not_a_stack_overflow", SEEDS, 20_000, Duration::from_secs(2), |rng| {
        // Parentheses and `not`, mixed, to any depth the length limit allows.
        let levels = if rng.one_in(10) { rng.index(MAX_LEN / 2) } else { rng.index(3 * MAX_DEPTH) };
        let (mut open, mut close, mut depth) = (String::new(), String::new(), 0);
        for _ in 0..levels {
            match rng.below(3) {
                0 => open.push_str("not "),
                1 => {
                    open.push('(');
                    close.push(')');
                }
                _ => {
                    open.push_str("not (");
                    close.push(')');
                    depth += 1;
                }
            }
            depth += 1;
        }
        let text = format!("{open}pe > 1{close}");
        match parse_filter(&text) {
            Ok(expr) => {
                assert!(depth <= MAX_DEPTH && text.len() <= MAX_LEN, "{text}");
                check_parsed(&expr, &text, &[]);
            }
            Err(error) if text.len() > MAX_LEN => assert!(error.message.contains("longer than"), "{error}"),
            Err(error) => assert!(depth > MAX_DEPTH && error.message.contains("nested"), "{error} at depth {depth}"),
        }
    });
    // The deepest nesting the length allows, parsed on a small stack: refused before recursing.
    let deepest = format!("{}pe > 1{}", "(".repeat(997), ")".repeat(997));
    let refused = std::thread::Builder::new().stack_size(128 * 1024).spawn(move || parse_filter(&deepest)).unwrap().join().unwrap();
    assert!(refused.unwrap_err().message.contains("nested"));
}

/// A number as significant digits and a power of ten (`-1.50e3` → (true, "15", 2)), worked out
/// on the text: what the number written is, exactly.
fn exactly(text: &str) -> Option<(bool, String, i64)> {
    let (body, power) = match text.char_indices().last()? {
        (at, '%') => (&text[..at], -2),
        (at, 'K' | 'k') => (&text[..at], 3),
        (at, 'M') => (&text[..at], 6),
        (at, 'B' | 'b') => (&text[..at], 9),
        (at, 'T' | 't') => (&text[..at], 12),
        _ => (text, 0),
    };
    let (negative, body) = body.strip_prefix('-').map_or((false, body), |b| (true, b));
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = format!("{whole}{fraction}");
    let mut power = power + exponent - fraction.len() as i64;
    digits = digits.trim_start_matches('0').to_owned();
    while digits.ends_with('0') {
        digits.pop();
        power += 1;
    }
    Some(if digits.is_empty() { (false, String::new(), 0) } else { (negative, digits, power) })
}

#[test]
fn numbers_are_read_exactly_as_written_or_refused() {
    check("numbers_are_read_exactly_as_written_or_refused", SEEDS, 20_000, Duration::from_secs(2), |rng| {
        // Up to 40 digits, the point anywhere, an exponent and a suffix: many cannot be held.
        let digits: String = (0..1 + rng.size(40)).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        let point = rng.index(digits.len() + 1);
        let mut text = format!(
            "{}{}{}",
            if rng.one_in(3) { "-" } else { "" },
            &digits[..point],
            if point < digits.len() || rng.one_in(2) { "." } else { "" }
        );
        text.push_str(&digits[point..]);
        if text.ends_with(['.', '-']) && !text.chars().any(|c| c.is_ascii_digit()) {
            text.push('0');
        }
        if rng.one_in(3) {
            text.push_str(&format!("e{}", rng.range(-30, 30)));
        }
        text.push_str(rng.pick::<&str>(&["", "", "%", "K", "M", "b", "T"]));
        let (negative, digits, power) = exactly(&text).unwrap();
        if let Ok(Expr::Cmp(Comparison::Compare { rhs: Operand::Value(value), .. })) = parse_filter(&format!("pe > {text}")) {
            let value = value.normalize();
            let read = exactly(&value.to_string()).unwrap();
            assert_eq!(read, (negative && !digits.is_empty(), digits, power), "{text} read as {value}");
        }
    });
}
