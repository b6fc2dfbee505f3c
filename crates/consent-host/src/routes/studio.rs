//! `POST /api/v1/studio/check`: the prompt studio's one question to the
//! host, "what is wrong with this config?". The answer is the
//! `check-config` command's (every problem at once, each at its path,
//! the theme's contrast among them) with the contrast audit itself beside
//! it, pair by pair, so the studio shows every pair the prompt draws.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use consent_core::theme::{self, PairCheck, Side, Verdict};
use serde::Serialize;

use crate::api::{is_json_content_type, no_store, MAX_BODY_BYTES};
use crate::auth::Caller;
use crate::check;
use crate::error::ApiError;
use crate::limits::{Access, ClientAddr};
use crate::AppState;

/// `{ok, errors, warnings, contrast}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StudioCheckV1 {
    /// No errors: the widget takes this config and its theme reaches
    /// WCAG 2.2 AA contrast in every pair.
    pub ok: bool,
    pub errors: Vec<IssueV1>,
    pub warnings: Vec<IssueV1>,
    /// Every pair of colours the prompt draws, in every scheme the
    /// theme's preset shows.
    pub contrast: Vec<ContrastV1>,
}

#[derive(Serialize)]
pub struct IssueV1 {
    pub path: String,
    pub message: String,
}

/// One pair in one scheme.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContrastV1 {
    /// `light` or `dark`.
    pub scheme: &'static str,
    pub foreground: SideV1,
    pub background: SideV1,
    /// Where the patron meets the pair.
    pub drawn: &'static str,
    /// 4.5 (text) or 3 (borders, the focus ring).
    pub minimum: f64,
    /// The ratio, when both colours could be read.
    pub ratio: Option<f64>,
    /// `pass`, `fail` or `unchecked`.
    pub verdict: &'static str,
    /// Why it could not be checked, or what fails, in words.
    pub message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideV1 {
    pub token: &'static str,
    pub value: String,
    pub path: String,
    pub venue_set: bool,
}

impl From<&Side> for SideV1 {
    fn from(s: &Side) -> Self {
        SideV1 {
            token: s.token,
            value: s.value.clone(),
            path: s.path.clone(),
            venue_set: s.venue_set,
        }
    }
}

impl From<&PairCheck> for ContrastV1 {
    fn from(c: &PairCheck) -> Self {
        let (ratio, verdict, message) = match &c.verdict {
            Verdict::Passes(r) => (Some(*r), "pass", None),
            Verdict::Fails(r) => (Some(*r), "fail", c.failure()),
            Verdict::Unchecked { side, why } => (None, "unchecked", Some(why.message(&side.value))),
        };
        ContrastV1 {
            scheme: c.scheme.as_str(),
            foreground: (&c.foreground).into(),
            background: (&c.background).into(),
            drawn: c.pair.drawn,
            minimum: c.pair.minimum,
            ratio: ratio.map(|r| (r * 100.0).floor() / 100.0),
            verdict,
            message,
        }
    }
}

/// Who may use the studio: an admin API key, or anyone on a demo host.
/// In this order, before a byte of the body is read: the address's limit,
/// then the credential (if one is sent, it must be an admin key, demo or
/// not), then the content type.
pub struct StudioRequest {
    pub config: String,
}

impl FromRequest<AppState> for StudioRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let sent = parts.headers.contains_key(header::AUTHORIZATION);
        if sent || !state.config.demo {
            Caller::from_request_parts(&mut parts, state)
                .await?
                .require_admin()?;
        } else {
            let ClientAddr(addr) = ClientAddr::from_request_parts(&mut parts, state)
                .await
                .unwrap_or(ClientAddr(None));
            state
                .limits
                .check_address_for(Access::of(&parts.method), addr)?;
        }
        if !is_json_content_type(&parts.headers) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body must be a config sent as Content-Type: application/json",
            ));
        }
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!(
                        "the config is larger than {MAX_BODY_BYTES} bytes or could not be read"
                    ),
                )
            })?;
        let config = String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body is not UTF-8 text",
            )
        })?;
        Ok(StudioRequest { config })
    }
}

/// `POST /api/v1/studio/check`: the config checked as `check-config`
/// checks it, and its theme's contrast pair by pair. A config with
/// problems is still a 200: the problems are the answer.
pub async fn post_check(
    State(_state): State<AppState>,
    StudioRequest { config }: StudioRequest,
) -> Result<Response, ApiError> {
    let checked = check::check_text(&config);
    let contrast = theme_given(&config)
        .map(|t| theme::audit(&consent_core::config::theme_of(t.as_ref())))
        .unwrap_or_default();
    let issue = |i: &consent_core::config::Issue| IssueV1 {
        path: i.path.clone(),
        message: i.message.clone(),
    };
    Ok(no_store(
        StatusCode::OK,
        StudioCheckV1 {
            ok: checked.ok(),
            errors: checked.errors.iter().map(issue).collect(),
            warnings: checked.warnings.iter().map(issue).collect(),
            contrast: contrast.iter().map(ContrastV1::from).collect(),
        },
    ))
}

/// The `theme` a config gives, read on its own (so a designer sees the
/// contrast while another part of the config is still wrong); `None` when
/// the text is not a JSON object, `Some(None)` when it has no theme (the
/// presets are audited) or one that cannot be read.
fn theme_given(config: &str) -> Option<Option<consent_core::wire::ThemeV1>> {
    let value: serde_json::Value = serde_json::from_str(config).ok()?;
    let object = value.as_object()?;
    Some(
        object
            .get("theme")
            .and_then(|t| serde_json::from_value(t.clone()).ok()),
    )
}
