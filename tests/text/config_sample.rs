//! The annotated sample `audioby.toml` loads, equals the compiled defaults, and mentions
//! every key of `Settings`, so it cannot silently fall behind the code.
use crate::common;

use audioby::config::Settings;
use serde_json::Value;

/// Keys whose sample value differs from the default on purpose (none today).
const DOCUMENTED_DIFFERENCES: &[&str] = &[];

fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                leaves(
                    v,
                    &if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    },
                    out,
                );
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

#[test]
fn sample_config_loads_equals_defaults_and_documents_every_key() {
    let path = common::repo().join("audioby.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let loaded = Settings::load(Some(&path)).expect("the sample loads");
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    let loaded = serde_json::to_value(loaded).unwrap();
    let toml: toml::Value = toml::from_str(&text).unwrap();
    let toml = serde_json::to_value(toml).unwrap();

    let mut want = Vec::new();
    leaves(&defaults, "", &mut want);
    let mut got = Vec::new();
    leaves(&loaded, "", &mut got);
    for ((key, d), (_, l)) in want.iter().zip(&got) {
        // AUDIOBY_* variables override the file; only compare when none is set.
        let env_overrides = std::env::vars().any(|(k, _)| k.starts_with("AUDIOBY_"));
        if !DOCUMENTED_DIFFERENCES.contains(&key.as_str()) && !env_overrides {
            assert_eq!(d, l, "{key}: the sample differs from the default");
        }
        let in_file = key.split('.').try_fold(&toml, |v, k| v.get(k)).is_some();
        let last = key.rsplit('.').next().unwrap();
        let commented = text.lines().any(|l| {
            l.trim_start()
                .strip_prefix('#')
                .is_some_and(|r| r.trim_start().starts_with(&format!("{last} =")))
        });
        // An empty table of named entries (`[feeds.define.<name>]`) is documented by a
        // commented example of one entry.
        let example =
            d.as_object().is_some_and(|o| o.is_empty()) && text.contains(&format!("# [{key}."));
        assert!(
            in_file || (d.is_null() && commented) || example,
            "{key} is not documented in audioby.toml"
        );
    }
}
