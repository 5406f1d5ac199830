//! Ranges a newsreader reads with more than "to" (issue 17): day ranges after a month ("May
//! 1-5" → "May first to fifth"), ranges across two months ("June 28–July 2", "Dec.
//! 2025–Jan. 2026") and numeric ranges before a unit ("40-50 mph" → "forty to fifty miles
//! per hour").
use super::numbers::{num_words, ordinal_of, parse_num, year_words};
use super::{day_of, is_capitalized, month_tok, tables, year_of, Cx, Match, Period};

fn split_range(core: &str) -> Option<(&str, &str)> {
    let (a, b) = core.split_once(['-', '\u{2013}'])?;
    (!a.is_empty() && !b.is_empty()).then_some((a, b))
}

/// "May 1-5", "Jan. 3–7".
pub(super) fn match_day_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let (month, _) = month_tok(t, cx.headline)?;
    if !(t.post.is_empty() || t.post == ".") {
        return None;
    }
    let n = cx.tok(i + 1);
    let (a, b) = split_range(n.core)?;
    let (da, db) = (day_of(a)?, day_of(b)?);
    if da >= db {
        return None;
    }
    let words = format!(
        "{month} {} to {}",
        ordinal_of(&da.to_string()),
        ordinal_of(&db.to_string())
    );
    Some(Match::with(words, 2, Period::Kept))
}

/// "June 28–July 2" → "June twenty-eighth to July second", "Dec. 2025–Jan. 2026" →
/// "December twenty twenty-five to January twenty twenty-six": a month, a day (or year) joined
/// by a dash to the next month, then a day (or year) of the same kind; a year may follow the
/// days after a comma ("June 28–July 2, 2026").
pub(super) fn match_cross_month_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    let (m1, _) = month_tok(t, cx.headline)?;
    if !(t.post.is_empty() || t.post == ".") {
        return None;
    }
    let mid = cx.tok(i + 1);
    let (a, raw) = mid.core.split_once(['-', '\u{2013}'])?;
    let (m2, _) = tables::month(raw).filter(|_| is_capitalized(raw))?;
    // The period after an abbreviated month ("Jan.") is the abbreviation's.
    let full = raw.len() > 3 && raw.eq_ignore_ascii_case(m2);
    if !(mid.post.is_empty() || !full && mid.post == ".") || !mid.pre.is_empty() {
        return None;
    }
    let end = cx.tok(i + 2);
    if !end.pre.is_empty() {
        return None;
    }
    let (mut words, mut used) = if let (Some(ya), Some(yb)) = (year_of(a), year_of(end.core)) {
        (
            format!("{m1} {} to {m2} {}", year_words(ya), year_words(yb)),
            3,
        )
    } else {
        let (da, db) = (day_of(a)?, day_of(end.core)?);
        (
            format!(
                "{m1} {} to {m2} {}",
                ordinal_of(&da.to_string()),
                ordinal_of(&db.to_string())
            ),
            3,
        )
    };
    if end.post == "," && year_of(end.core).is_none() {
        if let Some(y) = year_of(cx.core(i + 3)) {
            words.push_str(", ");
            words.push_str(&year_words(y));
            used = 4;
        }
    }
    Some(Match::plain(words, used))
}

/// "40-50 mph", "2–3 km" (units that are never ordinary words).
pub(super) fn match_unit_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    if !t.post.is_empty() {
        return None;
    }
    let (a, b) = split_range(t.core)?;
    let (na, nb) = (parse_num(a)?, parse_num(b)?);
    let n = cx.tok(i + 1);
    // Letters that are also words or initials stay with the general rules, except where a
    // measure is certain as after a single number: ending the line ("50–100 m", "2–4 L") or
    // before "of" ("2–3 in. of rain"); "m" anywhere unless it means million ("5–10 m people").
    let line_end = i + 2 == cx.toks.len() && n.post.trim_end_matches('.').is_empty();
    let of_next = (n.post.is_empty() || n.post == ".") && cx.core(i + 2) == "of";
    let million = n.core == "m" && super::m_means_million(cx.prev(i).core, cx.core(i + 2));
    if million && n.post.is_empty() {
        let w = format!("{} to {} million", num_words(&na), num_words(&nb));
        return Some(Match::plain(w, 2));
    }
    let ambiguous_ok = match n.core {
        "m" => !million,
        "in" | "l" | "L" | "g" | "W" => line_end || of_next,
        _ => false,
    };
    if matches!(
        n.core,
        "p" | "l" | "L" | "in" | "cc" | "min" | "g" | "m" | "W"
    ) && !ambiguous_ok
    {
        return None;
    }
    let plural = match n.core {
        "in" => "inches",
        u => tables::unit(u)?.1,
    };
    let period = if n.post.starts_with('.') && n.core.len() <= 3 {
        Period::Abbrev
    } else {
        Period::Kept
    };
    Some(Match::with(
        format!("{} to {} {plural}", num_words(&na), num_words(&nb)),
        2,
        period,
    ))
}
