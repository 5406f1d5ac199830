//! API-key authentication: writes and direct synthesis carry `Authorization: Bearer <key>`,
//! checked against `http.api_keys` (configured, or generated on first start by
//! [`crate::startup`]). Handlers opt in by taking [`RequireApiKey`] as an argument, so a
//! route's signature says whether it is public.
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

/// Proof that the request carried a valid API key.
#[derive(Debug, Clone, Copy)]
pub struct RequireApiKey;

impl FromRequestParts<AppState> for RequireApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(|| {
                ApiError::unauthorized("this endpoint needs `Authorization: Bearer <api key>`")
            })?;
        if key_matches(presented, &state.settings.http.api_keys) {
            Ok(RequireApiKey)
        } else {
            Err(ApiError::unauthorized("the API key is not valid"))
        }
    }
}

/// The token of a `Bearer` credential. Auth schemes are case-insensitive (RFC 9110 §11.1),
/// so `BEARER x` and `bearer x` are the same credential.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compare digests, not the keys, so neither a key's content nor its length leaks through
/// timing; every configured key is checked so the position of a match does not leak either.
pub fn key_matches(presented: &str, keys: &[String]) -> bool {
    let p = Sha256::digest(presented.as_bytes());
    let mut ok = subtle::Choice::from(0);
    for k in keys.iter().filter(|k| !k.is_empty()) {
        ok |= Sha256::digest(k.as_bytes()).ct_eq(&p);
    }
    ok.into()
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, key_matches};

    #[test]
    fn the_scheme_is_case_insensitive() {
        for v in ["Bearer k1", "bearer k1", "BEARER k1", "BeArEr   k1 "] {
            assert_eq!(bearer_token(v), Some("k1"), "{v}");
        }
        for v in ["Basic k1", "Bearer", "Bearer ", "Bearerk1", "k1"] {
            assert_eq!(bearer_token(v), None, "{v}");
        }
    }

    #[test]
    fn only_exact_keys_match() {
        let keys = vec!["alpha-key".to_string(), "beta-key".to_string()];
        assert!(key_matches("alpha-key", &keys));
        assert!(key_matches("beta-key", &keys));
        assert!(!key_matches("alpha-ke", &keys));
        assert!(!key_matches("alpha-keyx", &keys));
        assert!(!key_matches("", &keys));
        assert!(
            !key_matches("", &[String::new()]),
            "an empty configured key never matches"
        );
        assert!(!key_matches("anything", &[]));
    }
}
