//! The embeddable player: `player.js` and the pages (`/` demo article, `/embed`, `/stats`) compiled
//! into the binary, a content hash that versions the script's URL, and listening events
//! (`events`). The sources live in `player/` at the repository root; nothing is built.
pub mod demo;
pub mod events;

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The player script, served as is (plain modern JS, no build step).
pub const PLAYER_JS: &str = include_str!("../../player/player.js");
pub(crate) const DEMO_HTML: &str = include_str!("../../player/demo.html");
pub(crate) const EMBED_HTML: &str = include_str!("../../player/embed.html");
pub(crate) const STATS_HTML: &str = include_str!("../../player/stats.html");
/// The demo article's text (a copy of the shared seed article).
pub const SEED_ARTICLE: &str = include_str!("../../player/seed-article.txt");

/// First 16 hex digits of the script's sha256: a new build with a changed script gets a new
/// URL, so the versioned URL can be cached forever (`immutable`).
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| hex::encode(Sha256::digest(PLAYER_JS.as_bytes()))[..16].to_string())
}

/// The versioned, forever-cacheable path of the script.
pub fn versioned_path() -> String {
    format!("/player/{}/player.js", version())
}

/// The `ETag` of the script (strong: the bytes are fixed for a given version).
pub fn etag() -> String {
    format!("\"{}\"", version())
}

/// Minimal HTML escaping for text and attribute values in the page templates.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_stable_hex() {
        assert_eq!(version().len(), 16);
        assert!(version().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(versioned_path(), format!("/player/{}/player.js", version()));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
