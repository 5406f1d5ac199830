//! `/audio/{file}` against the real server: ranges, ETag/304, HEAD, headers, traversal.
use crate::common;

use audioby::store::{ObjectKey, ObjectKind};
use bytes::Bytes;
use common::app::*;
use common::*;
use serde_json::json;

/// A real Ogg Opus file from the engine, stored the way the server stores audio.
async fn stored_opus(app: &TestApp) -> (ObjectKey, Vec<u8>) {
    let r = app.synthesize(json!({"text": "The council approved the plan on Monday. Work starts in May.", "format": "opus"})).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    assert!(bytes.len() > 2000, "a few seconds of Opus");
    let store = audioby::store::open(&Default::default(), &app.data_dir)
        .await
        .unwrap();
    let key = store
        .put(Bytes::from(bytes.clone()), ObjectKind::Opus)
        .await
        .unwrap();
    (key, bytes)
}

fn path(key: &ObjectKey) -> String {
    format!("/audio/{}", key.file_name())
}

/// `method url` with the given headers.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app.client.request(method, url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

/// `GET url` with the given headers.
async fn get_with(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    send(app, reqwest::Method::GET, url, headers).await
}

/// `HEAD url` with the given headers.
async fn head_with(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    send(app, reqwest::Method::HEAD, url, headers).await
}

async fn json_code(r: reqwest::Response) -> String {
    let v: serde_json::Value = r.json().await.expect("a JSON error body");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    v["error"]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn whole_file_has_exact_headers_and_decodes() {
    let app = spawn_app().await;
    let (key, bytes) = stored_opus(&app).await;
    let r = app.client.get(app.url(&path(&key))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "audio/ogg; codecs=opus");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["etag"], format!("\"{}\"", key.hash_hex()));
    assert_eq!(h["content-length"], bytes.len().to_string().as_str());
    let body = r.bytes().await.unwrap();
    assert_eq!(&body[..], &bytes[..]);
    let d = decode_opus(&body);
    assert!(d.duration() > 2.0 && d.rms() > 0.02, "{} s", d.duration());
    // No auth needed: audio files are public.
    assert!(h.get("www-authenticate").is_none());
}

#[tokio::test]
async fn ranges_first_byte_middle_suffix_open_ended_and_unsatisfiable() {
    let app = spawn_app().await;
    let (key, bytes) = stored_opus(&app).await;
    let len = bytes.len();
    let url = app.url(&path(&key));
    let cases: Vec<(String, std::ops::Range<usize>)> = vec![
        ("bytes=0-0".into(), 0..1),
        ("bytes=100-1099".into(), 100..1100),
        ("bytes=-500".into(), len - 500..len),
        ("bytes=100-".into(), 100..len),
        (format!("bytes={}-{}", len - 10, len + 1000), len - 10..len),
    ];
    for (range, want) in cases {
        let r = get_with(&app, &url, &[("range", &range)]).await;
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {}-{}/{len}", want.start, want.end - 1).as_str(),
            "{range}"
        );
        assert_eq!(
            r.headers()["content-length"],
            (want.end - want.start).to_string().as_str()
        );
        assert_eq!(r.headers()["content-type"], "audio/ogg; codecs=opus");
        assert_eq!(&r.bytes().await.unwrap()[..], &bytes[want], "{range}");
    }
    for range in [
        format!("bytes={len}-"),
        format!("bytes={}-{}", len + 5, len + 10),
        "bytes=-0".to_string(),
    ] {
        let r = get_with(&app, &url, &[("range", &range)]).await;
        assert_eq!(r.status(), 416, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes */{len}").as_str()
        );
        assert_eq!(json_code(r).await, "range-not-satisfiable");
    }
    // If-Range with a stale validator: the whole file.
    let r = get_with(
        &app,
        &url,
        &[("range", "bytes=0-0"), ("if-range", "\"stale\"")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), len);
}

#[tokio::test]
async fn etag_gives_304_and_head_sends_no_body() {
    let app = spawn_app().await;
    let (key, bytes) = stored_opus(&app).await;
    let url = app.url(&path(&key));
    let etag = format!("\"{}\"", key.hash_hex());
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".into(),
    ] {
        let r = get_with(&app, &url, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status(), 304, "{inm}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = get_with(&app, &url, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(r.status(), 200);
    let r = head_with(&app, &url, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert!(r.bytes().await.unwrap().is_empty());
    let r = head_with(&app, &url, &[("range", "bytes=-500")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-length"], "500");
}

#[tokio::test]
async fn every_kind_has_its_content_type() {
    let app = spawn_app().await;
    let store = audioby::store::open(&Default::default(), &app.data_dir)
        .await
        .unwrap();
    let cases = [
        (ObjectKind::Mp3, "audio/mpeg"),
        (ObjectKind::Wav, "audio/wav"),
        (ObjectKind::Json, "application/json"),
        (ObjectKind::Vtt, "text/vtt; charset=utf-8"),
    ];
    for (kind, ct) in cases {
        let content = format!("content of kind {kind:?}");
        let key = store.put(Bytes::from(content.clone()), kind).await.unwrap();
        let r = app.client.get(app.url(&path(&key))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], ct);
        assert_eq!(r.text().await.unwrap(), content);
    }
    // A missing object with a valid name is a JSON 404; so is a 304 for something we don't hold.
    let missing = format!("/audio/{}.opus", "ab".repeat(32));
    let r = app.client.get(app.url(&missing)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(json_code(r).await, "not-found");
    let inm = format!("\"{}\"", "ab".repeat(32));
    let r = get_with(&app, &app.url(&missing), &[("if-none-match", &inm)]).await;
    assert_eq!(r.status(), 404);
}

/// Send a raw request line (no client-side path normalization) and return status + body.
async fn raw_get(port: u16, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let out = String::from_utf8_lossy(&raw).to_string();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn traversal_and_bad_names_are_json_400_or_404_and_read_nothing_outside() {
    let app = spawn_app().await;
    let (key, _) = stored_opus(&app).await;
    // A file right beside the store that a traversal would reach.
    std::fs::write(app.data_dir.join("secret.opus"), b"TOP-SECRET").unwrap();
    let h = key.hash_hex();
    let targets = [
        "/audio/../etc/passwd".to_string(),
        "/audio/..%2fetc%2fpasswd".to_string(),
        "/audio/%2e%2e%2fetc%2fpasswd".to_string(),
        "/audio/%2e%2e%2f%2e%2e%2fsecret.opus".to_string(),
        "/audio/..%2f..%2fsecret.opus".to_string(),
        "/audio/..%5c..%5csecret.opus".to_string(),
        format!("/audio/{}%2f..%2f..%2fsecret.opus", &h[..2]),
        format!("/audio/{}%2f{h}.opus", &h[..2]),
        format!("/audio/{}.opus", h.to_uppercase()),
        format!("/audio/{h}.pcm"),
        format!("/audio/{h}.opus.part"),
        format!("/audio/{h}"),
        format!("/audio/{}.opus", &h[..63]),
        "/audio/%ff%fe.opus".to_string(),
        "/audio/secret.opus".to_string(),
        "/audio/".to_string(),
        "/audio/%00.opus".to_string(),
    ];
    for t in &targets {
        let (status, body) = raw_get(app.port, t).await;
        assert!(status == 400 || status == 404, "{t}: {status}");
        assert!(
            !body.contains("TOP-SECRET") && !body.contains("root:"),
            "{t} leaked"
        );
        let v: serde_json::Value = serde_json::from_str(body.trim())
            .unwrap_or_else(|_| panic!("{t}: JSON body, got {body:?}"));
        assert!(v["error"]["code"].is_string(), "{t}");
    }
    // The real name still works through the raw path.
    assert_eq!(raw_get(app.port, &path(&key)).await.0, 200);
}

/// Lengths and ETags are kept in memory after the first answer (objects never change under
/// their hash); answers from memory are the same, and an object gone from the store is a
/// 404 again, not a 304 from memory.
#[tokio::test]
async fn answers_from_known_metadata_match_and_a_removed_object_is_forgotten() {
    let app = spawn_app().await;
    let (key, bytes) = stored_opus(&app).await;
    let url = app.url(&path(&key));
    let etag = format!("\"{}\"", key.hash_hex());
    for round in 0..2 {
        let r = app.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "round {round}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert_eq!(r.bytes().await.unwrap(), bytes);
        let r = head_with(&app, &url, &[]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert_eq!(r.headers()["content-type"], "audio/ogg; codecs=opus");
        let r = get_with(&app, &url, &[("range", "bytes=10-19")]).await;
        assert_eq!(r.status(), 206);
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes 10-19/{}", bytes.len()).as_str()
        );
        assert_eq!(r.bytes().await.unwrap(), bytes[10..20]);
        let past_end = format!("bytes={}-", bytes.len());
        let r = get_with(&app, &url, &[("range", &past_end)]).await;
        assert_eq!(r.status(), 416);
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes */{}", bytes.len()).as_str()
        );
        let r = get_with(&app, &url, &[("if-none-match", &etag)]).await;
        assert_eq!(r.status(), 304);
    }
    audioby::store::open(&Default::default(), &app.data_dir)
        .await
        .unwrap()
        .remove(&key)
        .await
        .unwrap();
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(json_code(r).await, "not-found");
    let r = get_with(&app, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 404, "forgotten once found missing");
}

/// `?download=NAME` (the player's download link): the same bytes as an attachment named NAME,
/// for whole and ranged requests; a name that would need quoting is a JSON 400.
#[tokio::test]
async fn a_download_name_makes_the_file_an_attachment() {
    let app = spawn_app().await;
    let (key, bytes) = stored_opus(&app).await;
    let url = app.url(&format!("{}?download=budget-vote_2.opus", path(&key)));
    let r = get_with(&app, &url, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"budget-vote_2.opus\""
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    let r = get_with(&app, &url, &[("range", "bytes=0-9")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"budget-vote_2.opus\""
    );
    // Without the parameter: no attachment.
    let r = get_with(&app, &app.url(&path(&key)), &[]).await;
    assert!(r.headers().get("content-disposition").is_none());
    for bad in [
        "",
        "a%22b.mp3",
        "..%2Fx.mp3",
        ".hidden",
        "x%0d%0aSet-Cookie:a.mp3",
    ] {
        let r = get_with(
            &app,
            &app.url(&format!("{}?download={bad}", path(&key))),
            &[],
        )
        .await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(json_code(r).await, "invalid-download-name", "{bad}");
    }
}
