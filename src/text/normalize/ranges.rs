//! Ranges a newsreader reads with more than "to" (issue 17): day ranges after a month ("May
//! 1-5" → "May first to fifth") and numeric ranges before a unit ("40-50 mph" → "forty to
//! fifty miles per hour").
use super::numbers::{num_words, ordinal_of, parse_num};
use super::{day_of, month_tok, tables, Cx, Match, Period};

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

/// "40-50 mph", "2–3 km" (units that are never ordinary words).
pub(super) fn match_unit_range(cx: &Cx, i: usize) -> Option<Match> {
    let t = cx.tok(i);
    if !t.post.is_empty() {
        return None;
    }
    let (a, b) = split_range(t.core)?;
    let (na, nb) = (parse_num(a)?, parse_num(b)?);
    let n = cx.tok(i + 1);
    // Letters that are also words or initials stay with the general rules.
    if matches!(n.core, "p" | "l" | "L" | "in" | "cc" | "min" | "g" | "m") {
        return None;
    }
    let (_, plural) = tables::unit(n.core)?;
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
