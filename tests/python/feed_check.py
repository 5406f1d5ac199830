"""Parse a podcast feed with Python's feedparser (an independent parser) and print what the
Rust test checks, as JSON: bozo (malformed) flag, channel and items with their enclosures."""
import json
import sys

import feedparser

d = feedparser.parse(open(sys.argv[1], "rb").read())
print(json.dumps({
    "bozo": int(d.bozo),
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "title": d.feed.get("title"),
    "author": d.feed.get("author"),
    "image": (d.feed.get("image") or {}).get("href"),
    "explicit": d.feed.get("itunes_explicit"),
    "items": [
        {
            "id": e.get("id"),
            "title": e.get("title"),
            "duration": e.get("itunes_duration"),
            "enclosures": [
                {"href": x.get("href"), "length": int(x.get("length", -1)), "type": x.get("type")}
                for x in e.get("enclosures", [])
            ],
        }
        for e in d.entries
    ],
}))
