//! Articles and renditions in SQLite.
use async_trait::async_trait;
use sqlx::Row;

use super::{encode, SqliteRepo};
use crate::article::{ArticleId, ArticleRecord};
use crate::audio::AudioFormat;
use crate::queue::{ArticleRepo, QueueError, Rendition};

fn article_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ArticleRecord, QueueError> {
    Ok(ArticleRecord {
        id: ArticleId::parse(r.get::<&str, _>("id"))
            .map_err(|_| QueueError::Corrupt("article id".into()))?,
        title: r.get("title"),
        byline: r.get("byline"),
        url: r.get("url"),
        body: r.get("body"),
        body_is_html: r.get::<i64, _>("body_is_html") != 0,
        blocks: serde_json::from_str(r.get::<&str, _>("blocks"))
            .map_err(|_| QueueError::Corrupt("article blocks".into()))?,
        content_hash: r.get("content_hash"),
        voice: r.get("voice"),
        updated_at: r.get("updated_at"),
        // Metadata is optional: a row whose JSON does not parse still serves its audio.
        meta: serde_json::from_str(r.get::<&str, _>("meta")).unwrap_or_default(),
    })
}

#[async_trait]
impl ArticleRepo for SqliteRepo {
    async fn upsert_article(&self, a: &ArticleRecord) -> Result<bool, QueueError> {
        self.check_file()?;
        // Read, then one atomic upsert, outside a transaction: a deferred transaction that
        // reads and then writes fails with SQLITE_BUSY (no busy wait) when a worker writes
        // in between. A concurrent push of the same ID only blurs `changed`, never the data.
        let old: Option<String> =
            sqlx::query_scalar("SELECT content_hash FROM articles WHERE id = ?")
                .bind(a.id.as_str())
                .fetch_optional(&self.pool())
                .await?;
        let blocks = encode(&a.blocks)?;
        sqlx::query(
            "INSERT INTO articles (id, title, byline, url, body, body_is_html, blocks, content_hash, voice, updated_at, meta)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET title = excluded.title, byline = excluded.byline, url = excluded.url,
               body = excluded.body, body_is_html = excluded.body_is_html, blocks = excluded.blocks,
               content_hash = excluded.content_hash, voice = excluded.voice, updated_at = excluded.updated_at,
               meta = excluded.meta",
        )
        .bind(a.id.as_str())
        .bind(&a.title)
        .bind(&a.byline)
        .bind(&a.url)
        .bind(&a.body)
        .bind(a.body_is_html as i64)
        .bind(blocks)
        .bind(&a.content_hash)
        .bind(&a.voice)
        .bind(a.updated_at)
        .bind(encode(&a.meta)?)
        .execute(&self.pool())
        .await?;
        Ok(old.as_deref() != Some(a.content_hash.as_str()))
    }

    async fn article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, QueueError> {
        let row = sqlx::query("SELECT * FROM articles WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool())
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn articles_since(&self, since_ms: i64) -> Result<Vec<ArticleId>, QueueError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT id FROM articles WHERE updated_at >= ? ORDER BY updated_at")
                .bind(since_ms)
                .fetch_all(&self.pool())
                .await?;
        Ok(rows
            .iter()
            .filter_map(|s| ArticleId::parse(s).ok())
            .collect())
    }

    async fn rendition(
        &self,
        id: &ArticleId,
        content_hash: &str,
        voice: &str,
    ) -> Result<Option<Rendition>, QueueError> {
        let row = sqlx::query(
            "SELECT * FROM renditions WHERE article_id = ? AND content_hash = ? AND voice = ?",
        )
        .bind(id.as_str())
        .bind(content_hash)
        .bind(voice)
        .fetch_optional(&self.pool())
        .await?;
        row.map(|r| {
            Ok(Rendition {
                article: id.clone(),
                content_hash: r.get("content_hash"),
                voice: r.get("voice"),
                duration: r.get("duration"),
                files: serde_json::from_str(r.get::<&str, _>("files"))
                    .map_err(|_| QueueError::Corrupt("rendition files".into()))?,
                manifest: r.get("manifest"),
                captions: r.get("captions"),
                created_at: r.get("created_at"),
                segments: serde_json::from_str(r.get::<&str, _>("segments")).unwrap_or_default(),
                assembly: r.get("assembly"),
            })
        })
        .transpose()
    }

    async fn publish_rendition(&self, rendition: &Rendition) -> Result<(), QueueError> {
        super::jobs::insert_rendition(&self.pool(), rendition, self.now()).await
    }

    async fn live_objects(&self) -> Result<Vec<String>, QueueError> {
        let rows = sqlx::query(
            "SELECT r.files, r.manifest, r.captions FROM renditions r JOIN articles a
             ON a.id = r.article_id AND a.content_hash = r.content_hash",
        )
        .fetch_all(&self.pool())
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let files: Vec<(AudioFormat, String)> =
                serde_json::from_str(r.get::<&str, _>("files")).unwrap_or_default();
            out.extend(files.into_iter().map(|(_, f)| f));
            out.push(r.get("manifest"));
            out.push(r.get("captions"));
        }
        Ok(out)
    }
}
