//! `spawn_app()`: the real server on port 0 with a fresh data folder and the real voice.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use audioby::config::Settings;
use audioby::startup::Application;
use audioby::tts::Engine;

pub const API_KEY: &str = "test-key-0123456789";

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Settings for a test server: port 0, temp data dir, the repo's voices, a known API key.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        voices_dir: super::repo().join("voices"),
        ..Settings::default()
    };
    s.lexicon = Some(super::repo().join("lexicon.toml"));
    s.http.api_keys = vec![API_KEY.to_string()];
    // Tests push their own articles; the demo article would queue work nobody asked for.
    s.demo = false;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(super::engine(), customize).await
}

/// An app on the given engine (`own_engine()`, whose counters see only this app's requests).
pub async fn spawn_app_on(engine: Arc<Engine>, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    customize(&mut settings);
    let app = Application::build_with_engine(settings, engine)
        .await
        .expect("app builds");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        data_dir: dir.path().to_path_buf(),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    /// The value of one series in `/metrics`: a name, with its labels if it has any
    /// (`audioby_synthesis_total{source="direct"}`).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .bearer_auth(API_KEY)
            .json(body)
    }

    /// `GET path` (no key) and its JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `GET path` with the key, and its JSON body.
    pub async fn get_json_with_key(&self, path: &str) -> serde_json::Value {
        let request = self.client.get(self.url(path)).bearer_auth(API_KEY);
        request.send().await.unwrap().json().await.unwrap()
    }

    /// `PUT /v1/articles/{id}` with the API key, asserting 200; returns the answer.
    pub async fn put_article(&self, id: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .client
            .put(self.url(&format!("/v1/articles/{id}")))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "PUT {id}");
        r.json().await.unwrap()
    }

    /// [`TestApp::put_article`], then wait for its job; returns the final job.
    pub async fn put_article_ready(&self, id: &str, body: serde_json::Value) -> serde_json::Value {
        let put = self.put_article(id, body).await;
        wait_job(&self.client, &self.base, put["job"]["id"].as_str().unwrap()).await
    }

    pub async fn synthesize(&self, body: serde_json::Value) -> reqwest::Response {
        self.post_json("/v1/synthesize", &body)
            .send()
            .await
            .unwrap()
    }
}

/// Wait for a job through the long-poll endpoint (the server answers when the job is final),
/// up to 20 polls of 30 s.
pub async fn wait_job(client: &reqwest::Client, base: &str, job: &str) -> serde_json::Value {
    for _ in 0..20 {
        let v: serde_json::Value = client
            .get(format!("{base}/v1/jobs/{job}?wait=30"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["ready", "failed", "cancelled"].contains(&v["status"].as_str().unwrap_or("")) {
            return v;
        }
    }
    panic!("job {job} never finished");
}
