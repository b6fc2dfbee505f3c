//! Delivery of the widget's files: precompressed, cached, verifiable.
//!
//! The build (`scripts/compress.mjs`) writes a brotli and a gzip copy of
//! every asset and `asset-manifest.json` with the version and each file's
//! SHA-256 and Subresource Integrity hash. The host then serves:
//!
//! - `/consent-prompt/<version>/…`: `Cache-Control: public,
//!   max-age=31536000, immutable` — a versioned URL never changes;
//! - `/consent-prompt/…`: `Cache-Control: no-cache` with an `ETag` from
//!   the manifest, answered `304` when it still matches;
//!
//! both precompressed by `Accept-Encoding` (tower-http's `ServeDir`, with
//! `Vary: Accept-Encoding`), and with `Access-Control-Allow-Origin: *` so
//! a page on another origin can load them with `integrity` and
//! `crossorigin`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The manifest's file name in the build directory.
pub const MANIFEST: &str = "asset-manifest.json";

/// What the build wrote about its files.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct AssetManifest {
    pub version: String,
    pub files: HashMap<String, AssetEntry>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AssetEntry {
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the file (its ETag).
    pub sha256: String,
    /// `sha384-…`, for `<script integrity>`.
    pub integrity: String,
    #[serde(default)]
    pub gzip: Option<u64>,
    #[serde(default)]
    pub br: Option<u64>,
}

impl AssetManifest {
    /// Reads `dist/asset-manifest.json`; `None` (with a warning) when it is
    /// missing or unreadable, and then assets are served without versioned
    /// paths or ETags.
    pub fn load(dist: &Path) -> Option<Self> {
        let path = dist.join(MANIFEST);
        let text = std::fs::read_to_string(&path).ok()?;
        match serde_json::from_str::<AssetManifest>(&text) {
            Ok(m) if is_safe_version(&m.version) => Some(m),
            Ok(m) => {
                tracing::warn!(version = %m.version, "the asset manifest's version is not a plain version; ignoring the manifest");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "unreadable asset manifest");
                None
            }
        }
    }

    /// The versioned prefix, `/consent-prompt/<version>`.
    pub fn prefix(&self) -> String {
        format!("/consent-prompt/{}", self.version)
    }
}

/// A version is used in a route: digits, letters, dots, dashes and plus only.
fn is_safe_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// Sets caching, validation and cross-origin headers on the widget's files.
pub async fn asset_headers(
    State(manifest): State<Arc<Option<AssetManifest>>>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/consent-prompt/") else {
        return next.run(req).await;
    };
    let versioned = manifest
        .as_ref()
        .as_ref()
        .and_then(|m| rest.strip_prefix(&format!("{}/", m.version)));
    let file = versioned.unwrap_or(rest);
    let etag = manifest
        .as_ref()
        .as_ref()
        .and_then(|m| m.files.get(file))
        .map(|e| format!("W/\"{}\"", &e.sha256[..e.sha256.len().min(32)]));
    let renders = req.uri().query().is_some_and(|q| q.contains("config="));
    if versioned.is_none() && !renders {
        if let Some(tag) = &etag {
            let matches = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
            if matches {
                let mut res = StatusCode::NOT_MODIFIED.into_response();
                set_common(&mut res, false, etag.as_deref());
                return res;
            }
        }
    }
    let mut res = next.run(req).await;
    // A page rendered for one request (`frame.html?config=`) says
    // `no-store` itself: it is no asset, and has no manifest ETag.
    let rendered = res
        .headers()
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes() == b"no-store");
    if res.status().is_success() && !rendered {
        set_common(&mut res, versioned.is_some(), etag.as_deref());
    }
    res
}

fn set_common(res: &mut Response, immutable: bool, etag: Option<&str>) {
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, tag);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    // ServeDir sets Vary for precompressed files; say it for every
    // variant so caches never mix encodings.
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_versions_make_routes() {
        for good in ["0.1.0", "1.2.3-beta.1", "2.0.0+build.7"] {
            assert!(is_safe_version(good), "{good}");
        }
        for bad in ["", "../x", "1.0/..", "1 0", "{x}", "*"] {
            assert!(!is_safe_version(bad), "{bad}");
        }
    }
}
