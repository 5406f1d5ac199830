//! `audioby prefetch`, the nightly job, run as the real binary against a real SQLite file.
use crate::common;

use audioby::article::{ArticleId, ArticleInput, ArticleRecord};
use audioby::queue::{ArticleRepo, SqliteRepo};
use common::*;
use serde_json::Value;

async fn push(db: &SqliteRepo, id: &str, text: &str) {
    let input = ArticleInput {
        title: None,
        byline: None,
        html: None,
        text: Some(text.into()),
        url: None,
        voice: None,
        ..Default::default()
    };
    let rec = ArticleRecord::build(
        ArticleId::parse(id).unwrap(),
        input,
        &Default::default(),
        audioby::queue::now_ms(),
    )
    .unwrap();
    db.upsert_article(&rec).await.unwrap();
}

fn prefetch(data: &std::path::Path, ids: &std::path::Path) -> (i32, Value, String) {
    let o = run(
        audioby()
            .args(["prefetch", "--json", "--ids"])
            .arg(ids)
            .arg("--data-dir")
            .arg(data),
        None,
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[tokio::test]
async fn prefetch_makes_audio_skips_it_on_rerun_and_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    {
        let db = SqliteRepo::open(&data.join("audioby.db")).await.unwrap();
        push(
            &db,
            "one",
            "The city council approved the budget on Monday. Work starts in spring.",
        )
        .await;
        push(
            &db,
            "two",
            "Rail services resumed after the storm. Passengers were warned of delays.",
        )
        .await;
    }
    let ids = dir.path().join("ids.txt");
    std::fs::write(&ids, "# nightly list\none\ntwo\nmissing-article\n").unwrap();
    let (code, summary, stderr) = prefetch(&data, &ids);
    assert_eq!(code, 1, "an unknown article makes the run fail: {stderr}");
    assert_eq!(summary["total"], 3, "{summary}");
    assert_eq!(summary["ready"], 2);
    assert_eq!(summary["failed"], 1);
    let missing = summary["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "missing-article")
        .unwrap();
    assert!(missing["error"]
        .as_str()
        .unwrap()
        .contains("unknown article"));
    assert!(stderr.contains("1 of 3 articles failed"), "{stderr}");

    std::fs::write(&ids, "one\ntwo\n").unwrap();
    let (code, summary, stderr) = prefetch(&data, &ids);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        summary["cached"], 2,
        "a re-run skips audio that is ready: {summary}"
    );
    assert_eq!(summary["cache_hit_ratio"], 1.0);
}
