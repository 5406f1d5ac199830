//! Number words: cardinals of any length (digit-by-digit past the named scales), ordinals,
//! years, decimals, fractions and plural forms. Works on ASCII digit strings so callers never
//! parse into fixed-width integers and overflow cannot happen.

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
/// Named scales up to 10^33; an integer part longer than this is read digit by digit.
const SCALES: [&str; 12] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
];
pub const MAX_CARDINAL_DIGITS: usize = 36;

/// One digit as a word; non-digits give "".
pub fn digit_word(c: char) -> &'static str {
    match c.to_digit(10) {
        Some(d) if c.is_ascii_digit() => ONES[d as usize],
        _ => "",
    }
}

/// Every ASCII digit as a word, space-separated; other characters ignored.
pub fn digit_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 5);
    for c in s.chars().filter(|c| c.is_ascii_digit()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(digit_word(c));
    }
    out
}

/// Words for 0..=99 (hyphenated compounds, "twenty-four").
pub fn two_digit(n: u32) -> String {
    let n = n % 100;
    if n < 20 {
        ONES[n as usize].to_string()
    } else if n.is_multiple_of(10) {
        TENS[(n / 10) as usize].to_string()
    } else {
        format!("{}-{}", TENS[(n / 10) as usize], ONES[(n % 10) as usize])
    }
}

fn under_thousand(n: u32, out: &mut Vec<String>) {
    let n = n % 1000;
    if n >= 100 {
        out.push(ONES[(n / 100) as usize].to_string());
        out.push("hundred".to_string());
    }
    if !n.is_multiple_of(100) {
        out.push(two_digit(n % 100));
    }
}

/// Small integer words ("twelve"), for values the caller already holds as a number.
pub fn small(n: u64) -> String {
    int_words(&n.to_string())
}

/// Cardinal words for a string of ASCII digits (leading zeros ignored). Longer than
/// MAX_CARDINAL_DIGITS significant digits: read digit by digit.
pub fn int_words(digits: &str) -> String {
    let d: Vec<u8> = digits.bytes().filter(|b| b.is_ascii_digit()).collect();
    let start = d.iter().position(|&b| b != b'0').unwrap_or(d.len());
    let d = &d[start..];
    if d.is_empty() {
        return "zero".to_string();
    }
    if d.len() > MAX_CARDINAL_DIGITS {
        return digit_words(std::str::from_utf8(d).unwrap_or(""));
    }
    let ngroups = d.len().div_ceil(3);
    let first_len = d.len() - (ngroups - 1) * 3;
    let mut words = Vec::new();
    let mut pos = 0;
    for g in 0..ngroups {
        let len = if g == 0 { first_len } else { 3 };
        let mut v = 0u32;
        for &b in &d[pos..pos + len] {
            v = v * 10 + (b - b'0') as u32;
        }
        pos += len;
        if v != 0 {
            under_thousand(v, &mut words);
            let scale = SCALES[ngroups - 1 - g];
            if !scale.is_empty() {
                words.push(scale.to_string());
            }
        }
    }
    words.join(" ")
}

/// Turn cardinal words into ordinal words: "twenty-four" → "twenty-fourth".
pub fn ordinalize(words: &str) -> String {
    let (head, last) = match words.rfind([' ', '-']) {
        Some(i) => (&words[..=i], &words[i + 1..]),
        None => ("", words),
    };
    let last_ord = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last_ord}")
}

/// Plural of the last word of a number phrase: "nineteen ninety" → "nineteen nineties".
pub fn pluralize_last(words: &str) -> String {
    if let Some(stem) = words.strip_suffix('y') {
        format!("{stem}ies")
    } else if words.ends_with('x') {
        format!("{words}es")
    } else {
        format!("{words}s")
    }
}

/// A year as spoken: 1920 "nineteen twenty", 1905 "nineteen oh five", 1900 "nineteen hundred",
/// 2000 "two thousand", 2005 "two thousand five", 2026 "twenty twenty-six".
pub fn year_words(n: u32) -> String {
    if !(1000..10000).contains(&n) {
        return small(n as u64);
    }
    let hi = n / 100;
    let lo = n % 100;
    if n % 1000 < 10 && (n / 1000 == 1 || n / 1000 == 2) && (n < 1010 || (2000..2010).contains(&n))
    {
        return small(n as u64);
    }
    if lo == 0 {
        return format!("{} hundred", two_digit(hi));
    }
    if lo < 10 {
        return format!("{} oh {}", two_digit(hi), ONES[lo as usize]);
    }
    format!("{} {}", two_digit(hi), two_digit(lo))
}

/// Decade words from the decade's first year: 1990 → "nineteen nineties", 2000 → "two
/// thousands", 1900 → "nineteen hundreds", 2010 → "twenty tens".
pub fn decade_words(n: u32) -> String {
    pluralize_last(&year_words(n))
}

/// A parsed numeric literal: sign, integer digits (no separators) and optional fraction digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Num {
    pub neg: bool,
    pub plus: bool,
    pub int: String,
    pub frac: Option<String>,
    pub grouped: bool,
}

impl Num {
    /// The integer value when it fits; None for huge numbers.
    pub fn int_value(&self) -> Option<u64> {
        if self.int.len() > 18 {
            return None;
        }
        if self.int.is_empty() {
            return Some(0);
        }
        self.int.parse().ok()
    }
    pub fn is_plain_int(&self) -> bool {
        !self.neg && !self.plus && self.frac.is_none()
    }
    /// True when this is exactly the integer one (drives singular units).
    pub fn is_one(&self) -> bool {
        self.frac.is_none() && self.int_value() == Some(1)
    }
}

/// Parse "1,234.5", "-3", "+2", ".5", "600000". Commas must group by three. European forms
/// are read where they cannot be English: "1.234.567" (two or more dot groups),
/// "1.234,56" (dot groups and a decimal comma), "3,5" / "2,50" (a comma followed by one or
/// two digits) and "1'234'567" (Swiss grouping). "1.234" and "45.000" stay English decimals.
/// None otherwise.
pub fn parse_num(s: &str) -> Option<Num> {
    parse_english(s).or_else(|| parse_european(s))
}

fn parse_english(s: &str) -> Option<Num> {
    let mut rest = s;
    let mut neg = false;
    let mut plus = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('\u{2212}') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        plus = true;
        rest = r;
    }
    let (ip, fp) = match rest.find('.') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if let Some(f) = fp {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    if ip.is_empty() && fp.is_none() {
        return None;
    }
    let mut grouped = false;
    let mut int = String::with_capacity(ip.len());
    if ip.contains(',') {
        let mut first = true;
        for g in ip.split(',') {
            let ok = g.bytes().all(|b| b.is_ascii_digit())
                && if first {
                    (1..=3).contains(&g.len())
                } else {
                    g.len() == 3
                };
            if !ok {
                return None;
            }
            first = false;
            int.push_str(g);
        }
        grouped = true;
    } else {
        if !ip.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        int.push_str(ip);
    }
    Some(Num {
        neg,
        plus,
        int,
        frac: fp.map(str::to_string),
        grouped,
    })
}

/// The European forms `parse_num` accepts; see there.
fn parse_european(s: &str) -> Option<Num> {
    let (neg, rest) = match s.strip_prefix(['-', '\u{2212}']) {
        Some(r) => (true, r),
        None => (false, s),
    };
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    // Groups of three after a 1-3 digit head, joined by `sep`; at least `min_seps` separators.
    let grouped = |ip: &str, sep: char, min_seps: usize| -> Option<String> {
        let groups: Vec<&str> = ip.split(sep).collect();
        let ok = groups.len() > min_seps
            && groups.iter().all(|g| digits(g))
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3);
        ok.then(|| groups.concat())
    };
    let (int, frac) = if let Some((ip, fp)) = rest.split_once(',') {
        // Decimal comma: one or two digits after it (three would be English grouping).
        if !digits(fp) {
            return None;
        }
        if ip.contains('.') {
            (grouped(ip, '.', 1)?, fp.to_string())
        } else if digits(ip) && ip.len() <= 3 && fp.len() <= 2 {
            (ip.to_string(), fp.to_string())
        } else {
            return None;
        }
    } else if rest.contains('.') {
        (grouped(rest, '.', 2)?, String::new())
    } else if rest.contains('\'') {
        (grouped(rest, '\'', 1)?, String::new())
    } else {
        return None;
    };
    Some(Num {
        neg,
        plus: false,
        grouped: frac.is_empty() || int.len() > 3,
        int,
        frac: (!frac.is_empty()).then_some(frac),
    })
}

/// Cardinal reading of a parsed number: "minus three point five".
pub fn num_words(n: &Num) -> String {
    let mut s = String::new();
    if n.neg {
        s.push_str("minus ");
    } else if n.plus {
        s.push_str("plus ");
    }
    if n.int.is_empty() {
        if n.frac.is_none() {
            s.push_str("zero");
        }
    } else if !n.grouped && ((n.int.len() > 1 && n.int.starts_with('0')) || n.int.len() > 15) {
        s.push_str(&digit_words(&n.int));
    } else {
        s.push_str(&int_words(&n.int));
    }
    if let Some(f) = &n.frac {
        if !n.int.is_empty() {
            s.push(' ');
        }
        s.push_str("point ");
        s.push_str(&digit_words(f));
    }
    s
}

/// "3" → "third", "24" → "twenty-fourth".
pub fn ordinal_of(digits: &str) -> String {
    ordinalize(&int_words(digits))
}

/// A fraction: 1/2 "one half", 3/4 "three quarters", 2/3 "two thirds". Denominator 0 or 1
/// is read "n over d".
pub fn fraction_words(num: &str, den: &str) -> String {
    let n_words = int_words(num);
    let one = int_words(num) == "one";
    let den_trim = den.trim_start_matches('0');
    let d = match den_trim {
        "2" => {
            if one {
                "half".to_string()
            } else {
                "halves".to_string()
            }
        }
        "4" => {
            if one {
                "quarter".to_string()
            } else {
                "quarters".to_string()
            }
        }
        "" | "1" => return format!("{n_words} over {}", int_words(den)),
        _ => {
            let o = ordinal_of(den);
            if one {
                o
            } else {
                format!("{o}s")
            }
        }
    };
    format!("{n_words} {d}")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn basics() {
        assert_eq!(int_words("600000"), "six hundred thousand");
        assert_eq!(int_words("1000001"), "one million one");
        assert_eq!(int_words("0"), "zero");
        assert_eq!(ordinal_of("24"), "twenty-fourth");
        assert_eq!(ordinal_of("101"), "one hundred first");
        assert_eq!(year_words(1920), "nineteen twenty");
        assert_eq!(year_words(2026), "twenty twenty-six");
        assert_eq!(year_words(2000), "two thousand");
        assert_eq!(year_words(2005), "two thousand five");
        assert_eq!(year_words(1905), "nineteen oh five");
        assert_eq!(year_words(1066), "ten sixty-six");
        assert_eq!(year_words(2010), "twenty ten");
        assert_eq!(decade_words(1990), "nineteen nineties");
        assert_eq!(decade_words(2000), "two thousands");
        assert_eq!(fraction_words("3", "4"), "three quarters");
        assert_eq!(fraction_words("2", "3"), "two thirds");
        assert_eq!(int_words(&"9".repeat(40)).split(' ').count(), 40);
    }
    #[test]
    fn european_separators() {
        let w = |s: &str| parse_num(s).map(|n| num_words(&n));
        assert_eq!(
            w("1.234.567").as_deref(),
            Some("one million two hundred thirty-four thousand five hundred sixty-seven")
        );
        assert_eq!(
            w("1.234,56").as_deref(),
            Some("one thousand two hundred thirty-four point five six")
        );
        assert_eq!(w("3,5").as_deref(), Some("three point five"));
        assert_eq!(w("-0,25").as_deref(), Some("minus zero point two five"));
        assert_eq!(
            w("1'250'000").as_deref(),
            Some("one million two hundred fifty thousand")
        );
        // Ambiguous or malformed: English reading or nothing.
        assert_eq!(w("1.234").as_deref(), Some("one point two three four"));
        assert_eq!(
            w("1,234").as_deref(),
            Some("one thousand two hundred thirty-four")
        );
        assert_eq!(w("1.23.4"), None);
        assert_eq!(w("1,2,3"), None);
        assert_eq!(w("1234,5"), None);
        assert_eq!(w("192.168.1.1"), None);
    }
}
