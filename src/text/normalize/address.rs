//! Street addresses the way a newsreader says them (issue 17): house numbers in pairs ("1600"
//! → "sixteen hundred", "123" → "one twenty-three"), compass points and street types spelled
//! out ("W. 42nd St." → "West Forty-second Street"), unit numbers ("Apt. 4B" → "Apartment
//! four B") and ZIP codes digit by digit after a state code ("IL 62701" → "Illinois six two
//! seven zero one"). Each rule needs the whole shape (number, name, street type) before it
//! fires, so ordinary numbers in prose are left to the number rules.
use super::numbers::{digit_words, ordinal_of, small, two_digit, year_words};
use super::{all_digits, cap_first, characters, ordinal_digits, tables, Cx, Match, Period};

/// Street types: abbreviation or full word → spoken word.
const STREET_TYPES: [(&str, &str); 37] = [
    ("St", "Street"),
    ("Street", "Street"),
    ("Ave", "Avenue"),
    ("Avenue", "Avenue"),
    ("Rd", "Road"),
    ("Road", "Road"),
    ("Blvd", "Boulevard"),
    ("Boulevard", "Boulevard"),
    ("Dr", "Drive"),
    ("Drive", "Drive"),
    ("Ln", "Lane"),
    ("Lane", "Lane"),
    ("Ct", "Court"),
    ("Court", "Court"),
    ("Pl", "Place"),
    ("Place", "Place"),
    ("Way", "Way"),
    ("Loop", "Loop"),
    ("Pkwy", "Parkway"),
    ("Parkway", "Parkway"),
    ("Ter", "Terrace"),
    ("Terrace", "Terrace"),
    ("Sq", "Square"),
    ("Square", "Square"),
    ("Cir", "Circle"),
    ("Circle", "Circle"),
    ("Hwy", "Highway"),
    ("Highway", "Highway"),
    ("Route", "Route"),
    ("Rte", "Route"),
    ("Pike", "Pike"),
    ("Trl", "Trail"),
    ("Trail", "Trail"),
    ("Plaza", "Plaza"),
    ("Alley", "Alley"),
    ("Row", "Row"),
    // Only with a compass point after it: "Central Park W.", "Park Ave." is Avenue.
    ("Park", "Park"),
];

const COMPASS: [(&str, &str); 8] = [
    ("N", "North"),
    ("S", "South"),
    ("E", "East"),
    ("W", "West"),
    ("NE", "Northeast"),
    ("NW", "Northwest"),
    ("SE", "Southeast"),
    ("SW", "Southwest"),
];

const UNITS: [(&str, &str); 9] = [
    ("Apt", "Apartment"),
    ("Apartment", "Apartment"),
    ("Suite", "Suite"),
    ("Ste", "Suite"),
    ("Unit", "Unit"),
    ("Fl", "Floor"),
    ("Room", "Room"),
    ("Rm", "Room"),
    ("Box", "Box"),
];

/// US state and territory codes (USPS) → names.
const STATES: [(&str, &str); 52] = [
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "D C"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("PR", "Puerto Rico"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
];

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// House numbers in pairs: 7 → "seven", 123 → "one twenty-three", 101 → "one oh one", 500 →
/// "five hundred", 1600 → "sixteen hundred", 4059 → "forty fifty-nine"; longer ones digit by
/// digit. A trailing letter is spelled ("221B" → "two twenty-one B").
fn house_number(core: &str) -> Option<String> {
    let (digits, letter) = match core.char_indices().last() {
        Some((k, c)) if c.is_ascii_uppercase() && k > 0 => (&core[..k], Some(c)),
        _ => (core, None),
    };
    if !all_digits(digits) || digits.is_empty() || digits.len() > 5 || digits.starts_with('0') {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    let mut words = match digits.len() {
        1 | 2 => small(n as u64),
        3 if n.is_multiple_of(100) => small(n as u64),
        3 if n % 100 < 10 => format!("{} oh {}", small((n / 100) as u64), small((n % 10) as u64)),
        3 => format!("{} {}", small((n / 100) as u64), small((n % 100) as u64)),
        // Whole thousands as thousands ("4000" four thousand), the rest in pairs like a year
        // but with "oh" for a zero tens digit ("2001" twenty oh one, not two thousand one).
        4 if n.is_multiple_of(1000) => small(n as u64),
        4 if (1..10).contains(&(n % 100)) => {
            format!("{} oh {}", two_digit(n / 100), small((n % 100) as u64))
        }
        4 => year_words(n),
        _ => digit_words(digits),
    };
    if let Some(l) = letter {
        words.push(' ');
        words.push(l);
    }
    Some(words)
}

/// "one hundred twenty-fifth" → "One Hundred Twenty-fifth": a numbered street is a name.
fn title_words(s: &str) -> String {
    s.split(' ').map(cap_first).collect::<Vec<_>>().join(" ")
}

/// Street types that follow a numbered street's name without a house number ("34th St.",
/// "E. 14th St.", "3rd Ave."); the rarer types stay with the house-number rule.
/// ("2nd Place" is more often a ranking than a street, so Place is not among them.)
const NUMBERED_STREET_TYPES: [&str; 12] = [
    "St",
    "Street",
    "Ave",
    "Avenue",
    "Rd",
    "Road",
    "Blvd",
    "Boulevard",
    "Ter",
    "Terrace",
    "Pkwy",
    "Parkway",
];

fn is_name_word(core: &str) -> bool {
    let mut cs = core.chars();
    cs.next().is_some_and(|c| c.is_uppercase())
        && cs.all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        && core.chars().count() >= 2
}

/// "123 Main St.", "1234 W. 42nd St.", "1600 Pennsylvania Ave. NW", "2500 Route 9".
pub(super) fn match_address(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    if !t.post.is_empty() {
        return None;
    }
    let number = house_number(t.core)?;
    let mut words = vec![number];
    let mut j = i + 1;
    // An optional compass point before the name.
    let c = cx.tok(j);
    if let Some(w) = lookup(&COMPASS, c.core) {
        if c.post == "." || (c.post.is_empty() && c.core.len() == 2) {
            words.push(w.to_string());
            j += 1;
        }
    }
    let mut names = 0;
    loop {
        let n = cx.tok(j);
        if names > 0 || matches!(n.core, "Route" | "Rte" | "Hwy" | "Highway") {
            if let Some(ty) = lookup(&STREET_TYPES, n.core) {
                let dotted = n.post.starts_with('.');
                let abbr = ty != n.core;
                // "St" needs its period or a clause end; a full word needs nothing.
                if abbr && !dotted && !n.post.is_empty() && !matches!(n.core, "Rte" | "Hwy") {
                    return None;
                }
                words.push(ty.to_string());
                // Numbered roads: "Route 9", "Hwy. 1".
                if names == 0 {
                    let num = cx.tok(j + 1);
                    if !(n.post.is_empty() || n.post == ".") || !all_digits(num.core) {
                        return None;
                    }
                    // The road's number reads in pairs like a house number: "Hwy. 290" two
                    // ninety; a compass point after it is the direction ("Hwy. 290 W.").
                    words.push(house_number(num.core)?);
                    let c = cx.tok(j + 2);
                    if num.post.is_empty() {
                        if let Some(w) = lookup(&COMPASS, c.core) {
                            if c.pre.is_empty()
                                && (c.post.is_empty() || c.post.starts_with(['.', ',']))
                            {
                                words.push(w.to_string());
                                let period = if c.post.starts_with('.') {
                                    Period::Abbrev
                                } else {
                                    Period::Kept
                                };
                                return Some(Match::with(words.join(" "), j + 3 - i, period));
                            }
                        }
                    }
                    return Some(Match::plain(words.join(" "), j + 2 - i));
                }
                let mut used = j + 1 - i;
                let compass_next = lookup(&COMPASS, cx.core(j + 1)).is_some();
                if n.core == "Park" && (!(n.post.is_empty() || n.post == ".") || !compass_next) {
                    return None;
                }
                let mut period = if abbr && dotted {
                    Period::Abbrev
                } else {
                    Period::Kept
                };
                // A compass point after the street type: "Ave. NW", "Park Ave. S."
                if n.post.is_empty() || n.post == "." {
                    let c = cx.tok(j + 1);
                    if let Some(w) = lookup(&COMPASS, c.core) {
                        if c.post.is_empty() || c.post.starts_with(['.', ',']) {
                            words.push(w.to_string());
                            used += 1;
                            period = if c.post.starts_with('.') {
                                Period::Abbrev
                            } else {
                                Period::Kept
                            };
                        }
                    }
                }
                return Some(Match::with(words.join(" "), used, period));
            }
        }
        if names >= 3 {
            return None;
        }
        let lettered = n.core.len() == 1
            && n.core.bytes().all(|b| b.is_ascii_uppercase())
            && n.post.is_empty()
            && NUMBERED_STREET_TYPES.contains(&cx.core(j + 1));
        // Lower-case particles inside a name: "Ponce de Leon Ave.", "Van der Berg Rd."
        if names > 0
            && n.post.is_empty()
            && matches!(
                n.core,
                "de" | "del" | "la" | "le" | "da" | "di" | "du" | "van" | "von" | "der"
            )
            && is_name_word(cx.core(j + 1))
        {
            words.push(n.core.to_string());
            j += 1;
            continue;
        }
        let w = if lettered {
            // A lettered street: "2300 N St. NW" (Washington's alphabet streets).
            n.core.to_string()
        } else if let Some(d) = ordinal_digits(n.core).filter(|_| n.post.is_empty()) {
            title_words(&ordinal_of(&d))
        } else if n.core == "Mt" && n.post == "." {
            "Mount".to_string()
        } else if is_name_word(n.core) && n.post.is_empty() {
            n.core.to_string()
        } else {
            return None;
        };
        words.push(w);
        names += 1;
        j += 1;
    }
}

/// "34th St." → "Thirty-fourth Street", "E. 14th St." → "East Fourteenth Street": a
/// numbered street named without a house number, as in "at 3rd Ave. and E. 14th St.".
pub(super) fn match_numbered_street(cx: &Cx, i: usize) -> Option<Match> {
    let mut j = i;
    let mut words = Vec::new();
    let c = cx.tok(j);
    if let Some(w) = lookup(&COMPASS, c.core) {
        if c.post == "." || c.post.is_empty() {
            words.push(w.to_string());
            j += 1;
        }
    }
    let o = cx.tok(j);
    if !o.post.is_empty() || (j > i && !o.pre.is_empty()) {
        return None;
    }
    words.push(title_words(&ordinal_of(&ordinal_digits(o.core)?)));
    let ty = cx.tok(j + 1);
    if !NUMBERED_STREET_TYPES.contains(&ty.core) || !ty.pre.is_empty() {
        return None;
    }
    let full = lookup(&STREET_TYPES, ty.core)?;
    let abbr = full != ty.core;
    let dotted = ty.post.starts_with('.');
    // An abbreviated type needs its period or a clause end ("3rd Ave and", "34th St,").
    if abbr && !dotted && !(ty.post.is_empty() || ty.post.starts_with(',')) {
        return None;
    }
    words.push(full.to_string());
    let period = if abbr && dotted {
        Period::Abbrev
    } else {
        Period::Kept
    };
    Some(Match::with(words.join(" "), j + 2 - i, period))
}

/// "Apt. 4B" → "Apartment four B", "Suite 2100" → "Suite twenty-one hundred", "Room 214" →
/// "Room two fourteen", "P.O. Box 4410" → "Box forty-four ten": unit and box numbers are
/// read in pairs, like house numbers.
pub(super) fn match_unit(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    if let Some(m) = unit_range(cx, i) {
        return Some(m);
    }
    // "89 Beach Rd., #204": a number sign after a street is a unit number, read in pairs.
    if let Some(num) = t.core.strip_prefix('#') {
        let prev = cx.prev(i);
        let after_street = prev.post.ends_with(',')
            && (lookup(&STREET_TYPES, prev.core).is_some()
                || lookup(&COMPASS, prev.core).is_some());
        if after_street && num.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(Match::plain(format!("number {}", house_number(num)?), 1));
        }
        return None;
    }
    let unit = lookup(&UNITS, t.core)?;
    if !(t.post.is_empty() || t.post == ".") {
        return None;
    }
    // After an address clause (the previous token ends with a comma) or opening the line;
    // "Room" anywhere; "Box" after "P.O." or "PO".
    let prev = cx.prev(i);
    let placed = match unit {
        "Room" => true,
        "Box" => matches!(prev.core, "P.O" | "PO") && prev.post.len() <= 1,
        _ => i == 0 || prev.post.ends_with(','),
    };
    if !placed {
        return None;
    }
    let n = cx.tok(i + 1);
    if !n.pre.is_empty() {
        return None;
    }
    let words = format!("{unit} {}", house_number(n.core)?);
    Some(Match::plain(words, 2))
}

/// "Rooms 101-105" → "Rooms one oh one to one oh five": a plural unit word before a range
/// reads both ends like unit numbers.
fn unit_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let unit = lookup(&UNITS, t.core.strip_suffix('s')?)?;
    let n = cx.tok(i + 1);
    if !t.post.is_empty() || !n.pre.is_empty() || unit == "Box" {
        return None;
    }
    let (a, b) = n.core.split_once(['-', '\u{2013}'])?;
    let words = format!("{}s {} to {}", unit, house_number(a)?, house_number(b)?);
    Some(Match::plain(words, 2))
}

/// "10th Fl." after an address clause → "Tenth Floor.": a floor named by its ordinal.
pub(super) fn match_floor(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let prev = cx.prev(i);
    if !t.post.is_empty() || !(i == 0 || prev.post.ends_with(',')) {
        return None;
    }
    let d = ordinal_digits(t.core)?;
    let f = cx.tok(i + 1);
    let dotted = f.post.starts_with('.');
    if !(f.core == "Fl" && dotted || f.core == "Floor") || !f.pre.is_empty() {
        return None;
    }
    let words = format!("{} Floor", title_words(&ordinal_of(&d)));
    let period = if dotted { Period::Abbrev } else { Period::Kept };
    Some(Match::with(words, 2, period))
}

/// "IL 62701" / "TX 78701-1234" after a comma → state name and ZIP digits; also after a
/// state written out or in AP style ("Austin, Texas 78701", "Denver, Colo. 80202").
pub(super) fn match_state_zip(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let state = if t.post.is_empty() {
        lookup(&STATES, t.core).or_else(|| STATES.iter().map(|(_, v)| *v).find(|v| *v == t.core))?
    } else if t.post == "." {
        tables::state(t.core)?
    } else {
        return None;
    };
    if !cx.prev(i).post.ends_with(',') || !cx.tok(i + 1).pre.is_empty() {
        return None;
    }
    let z = cx.tok(i + 1).core;
    let (five, four) = z.split_once('-').unwrap_or((z, ""));
    if five.len() != 5
        || !all_digits(five)
        || !(four.is_empty() || four.len() == 4 && all_digits(four))
    {
        return None;
    }
    let mut words = format!("{state} {}", digit_words(five));
    if !four.is_empty() {
        words.push_str(", ");
        words.push_str(&digit_words(four));
    }
    Some(Match::plain(words, 2))
}

/// Canadian provinces and territories (postal abbreviations), read in full before a postal
/// code ("Ottawa, ON K1A 0B1").
const PROVINCES: [(&str, &str); 13] = [
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// Character classes of a postcode half: 'A' a capital letter, '9' a digit.
fn shape(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'A' => c.is_ascii_uppercase(),
            b'9' => c.is_ascii_digit(),
            // Either a letter or a digit.
            _ => c.is_ascii_uppercase() || c.is_ascii_digit(),
        })
}

/// A British postcode ("SW1A 2AA", "M1 1AE") or a Canadian one ("K1A 0B1"), read letter by
/// letter and digit by digit with a pause between its halves; a Canadian province code before
/// it after a comma is read in full ("Ottawa, ON K1A 0B1").
pub(super) fn match_postcode(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let province = lookup(&PROVINCES, t.core)
        .filter(|_| t.post.is_empty() && i > 0 && cx.prev(i).post.ends_with(','));
    let k = if province.is_some() { i + 1 } else { i };
    let (out, inw) = (cx.tok(k), cx.tok(k + 1));
    if !out.post.is_empty() || !out.pre.is_empty() || !inw.pre.is_empty() {
        return None;
    }
    let canadian = shape(out.core, "A9A") && shape(inw.core, "9A9");
    let british = (shape(out.core, "A9")
        || shape(out.core, "A9*")
        || shape(out.core, "AA9")
        || shape(out.core, "AA9*"))
        && shape(inw.core, "9AA");
    if !(canadian || british && province.is_none()) {
        return None;
    }
    let code = format!("{}, {}", characters(out.core), characters(inw.core));
    let words = match province {
        Some(p) => format!("{p} {code}"),
        None => code,
    };
    Some(Match::plain(words, k + 2 - i))
}

/// "Central Park W." ending a line or a clause: a compass letter after a street type is the
/// street's direction, not an initial.
pub(super) fn match_trailing_compass(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let dir = lookup(&COMPASS, t.core).filter(|_| t.core.len() == 1 && t.post.starts_with('.'))?;
    let (street, name) = (cx.prev(i), cx.tok(i.checked_sub(2)?));
    let typed = lookup(&STREET_TYPES, street.core).is_some()
        && (street.post.is_empty() || street.post == "." && street.core != "Park");
    let next = cx.tok(i + 1);
    let ends = next.core.is_empty() || !next.core.starts_with(|c: char| c.is_uppercase());
    (typed && name.post.is_empty() && is_name_word(name.core) && ends)
        .then(|| Match::with(dir.to_string(), 1, Period::Abbrev))
}

/// The spoken street type for a street type token ("St" → Street), if it is one.
pub(super) fn street_type(core: &str) -> Option<&'static str> {
    lookup(&STREET_TYPES, core)
}
