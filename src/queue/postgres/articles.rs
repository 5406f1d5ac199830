//! Articles and renditions in PostgreSQL.
use async_trait::async_trait;
use sqlx::Row;

use super::{encode, PgRepo};
use crate::article::{ArticleId, ArticleRecord};
use crate::audio::AudioFormat;
use crate::queue::{ArticleRepo, QueueError, Rendition};

fn article_from_row(r: &sqlx::postgres::PgRow) -> Result<ArticleRecord, QueueError> {
    Ok(ArticleRecord {
        id: ArticleId::parse(r.get::<&str, _>("id"))
            .map_err(|_| QueueError::Corrupt("article id".into()))?,
        title: r.get("title"),
        byline: r.get("byline"),
        url: r.get("url"),
        body: r.get("body"),
        body_is_html: r.get("body_is_html"),
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
impl ArticleRepo for PgRepo {
    async fn upsert_article(&self, a: &ArticleRecord) -> Result<bool, QueueError> {
        // One statement: `old` reads the statement's snapshot, from before the upsert. (No
        // FOR UPDATE there: a row this statement updates would be skipped.) Two concurrent
        // pushes of the same new version may both report "changed", never lose data.
        let old: Option<String> = sqlx::query_scalar(
            "WITH old AS (SELECT content_hash FROM articles WHERE id = $1),
                  up AS (
               INSERT INTO articles (id, title, byline, url, body, body_is_html, blocks, content_hash, voice, updated_at, meta)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (id) DO UPDATE SET title = excluded.title, byline = excluded.byline, url = excluded.url,
                 body = excluded.body, body_is_html = excluded.body_is_html, blocks = excluded.blocks,
                 content_hash = excluded.content_hash, voice = excluded.voice, updated_at = excluded.updated_at,
               meta = excluded.meta
               RETURNING 1)
             SELECT (SELECT content_hash FROM old) FROM up",
        )
        .bind(a.id.as_str())
        .bind(&a.title)
        .bind(&a.byline)
        .bind(&a.url)
        .bind(&a.body)
        .bind(a.body_is_html)
        .bind(encode(&a.blocks)?)
        .bind(&a.content_hash)
        .bind(&a.voice)
        .bind(a.updated_at)
        .bind(encode(&a.meta)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(old.as_deref() != Some(a.content_hash.as_str()))
    }

    async fn article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, QueueError> {
        let row = sqlx::query("SELECT * FROM articles WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn articles_since(&self, since_ms: i64) -> Result<Vec<ArticleId>, QueueError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM articles WHERE updated_at >= $1 ORDER BY updated_at, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
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
            "SELECT content_hash, voice, duration, files, manifest, captions, created_at,
               segments::text AS segments, assembly
             FROM renditions WHERE article_id = $1 AND content_hash = $2 AND voice = $3",
        )
        .bind(id.as_str())
        .bind(content_hash)
        .bind(voice)
        .fetch_optional(&self.pool)
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
                segments: serde_json::from_str(r.get::<&str, _>("segments"))
                    .map_err(|_| QueueError::Corrupt("rendition segments".into()))?,
                assembly: r.get("assembly"),
            })
        })
        .transpose()
    }

    async fn publish_rendition(&self, rendition: &Rendition) -> Result<(), QueueError> {
        super::jobs::insert_rendition(&self.pool, rendition, self.now()).await
    }

    async fn live_objects(&self) -> Result<Vec<String>, QueueError> {
        let rows = sqlx::query(
            "SELECT r.files, r.manifest, r.captions FROM renditions r JOIN articles a
             ON a.id = r.article_id AND a.content_hash = r.content_hash",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let files: Vec<(AudioFormat, String)> = serde_json::from_str(r.get::<&str, _>("files"))
                .map_err(|_| QueueError::Corrupt("rendition files".into()))?;
            out.extend(files.into_iter().map(|(_, f)| f));
            out.push(r.get("manifest"));
            out.push(r.get("captions"));
        }
        Ok(out)
    }
}
