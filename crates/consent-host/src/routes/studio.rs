//! `POST /api/v1/studio/check`: the prompt studio's one question to the
//! host, "what is wrong with this config?". The answer is the
//! `check-config` command's (every problem at once, each at its path,
//! the theme's contrast among them) with the contrast audit itself beside
//! it, pair by pair, so the studio shows every pair the prompt draws.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use consent_core::config::Config;
use consent_core::plan;
use consent_core::theme::{self, PairCheck, Side, Verdict};
use consent_core::wire::ConsentRecordV1;
use consent_store::rules::{preference_of, Answers, Export, ExportRow};
use serde::Serialize;

use crate::api::{is_json_content_type, no_store};
use crate::auth::Caller;
use crate::check;
use crate::error::ApiError;
use crate::extract::read_body;
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
    /// Per partner question, what its wording does to the answers patrons
    /// hold on this host; `null` while the config does not validate.
    pub wording: Option<Vec<WordingV1>>,
}

/// What one partner's question, as configured, does to the current
/// answers stored on this host, and what a change of its wording would do.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WordingV1 {
    pub partner_id: String,
    pub partner_name: String,
    /// The notice the partner's answers are held to (in general mode, the
    /// venue's statement, unless the partner is asked on its own).
    pub notice_id: String,
    pub version: u32,
    /// Patrons with a current answer to this partner.
    pub answers: u64,
    /// Those answers by the notice and version they were given to.
    pub by_version: Vec<VersionCountV1>,
    /// Under this config as it stands.
    pub as_configured: ReasksV1,
    /// The version a change of wording needs: one above any the config or
    /// a stored answer names.
    pub next_version: u32,
    /// What that version would do.
    pub if_changed: ReasksV1,
    /// Languages whose text here differs from what patrons were shown
    /// under this same version: the wording changed, the version did not.
    pub changed_without_new_version: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionCountV1 {
    pub notice_id: String,
    pub version: u32,
    pub answers: u64,
}

/// The planner's verdict on the current answers (`plan::reasks`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasksV1 {
    /// Asked again because they were given to other wording.
    pub asked_again: u64,
    /// Asked again whatever the wording (deferred, lapsed, imported).
    pub asked_anyway: u64,
    pub kept: u64,
}

impl From<plan::Reasks> for ReasksV1 {
    fn from(r: plan::Reasks) -> Self {
        ReasksV1 {
            asked_again: r.wording,
            asked_anyway: r.anyway,
            kept: r.kept,
        }
    }
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
            ratio: ratio.map(theme::ratio_shown),
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
            state.limits.check_request(&parts)?;
        }
        if !is_json_content_type(&parts.headers) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body must be a config sent as Content-Type: application/json",
            ));
        }
        let bytes = read_body(body, "send a smaller config").await?;
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
/// checks it (once: its contrast audit and the config the widget would
/// take come from the same check), its theme's contrast pair by pair, and
/// what its wording does to the stored answers. A config with problems is
/// still a 200: the problems are the answer.
pub async fn post_check(
    State(state): State<AppState>,
    StudioRequest { config }: StudioRequest,
) -> Result<Response, ApiError> {
    let checked = check::check_text(&config);
    let wording = match &checked.config {
        Some(valid) => Some(wording(&state, valid).await?),
        None => None,
    };
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
            contrast: checked.contrast.iter().map(ContrastV1::from).collect(),
            wording,
        },
    ))
}

/// Every partner question's [`WordingV1`]: each partner's current answers
/// streamed from storage (the ledger's rule for "current", any state) and
/// counted as they arrive by the planner's rule, under the notice as
/// configured and under a version no answer names (which is what the
/// next version is: `decide` only asks whether the versions are equal).
/// Memory stays constant however many patrons answered. Read within the
/// export timeout, as a partner export is.
async fn wording(state: &AppState, config: &Config) -> Result<Vec<WordingV1>, ApiError> {
    let now = (state.clock)();
    let limit = std::time::Duration::from_secs(state.config.export_timeout_secs.max(1));
    let mut out = Vec::with_capacity(config.partners.len());
    for partner in &config.partners {
        let notice = plan::notice_for(partner, &config.policy);
        let mut unnamed = notice.clone();
        unnamed.version = u32::MAX;
        let mut w = WordingV1 {
            partner_id: partner.id.0.clone(),
            partner_name: partner.name.clone(),
            notice_id: notice.id.clone(),
            version: notice.version,
            answers: 0,
            by_version: Vec::new(),
            as_configured: plan::Reasks::default().into(),
            next_version: 0,
            if_changed: plan::Reasks::default().into(),
            changed_without_new_version: Vec::new(),
        };
        let (mut now_counts, mut changed_counts) =
            (plan::Reasks::default(), plan::Reasks::default());
        let count = |r: ConsentRecordV1| {
            let pref = consent_core::config::preference_of(
                &preference_of(r.clone()),
                &config.default_locale,
            );
            now_counts += plan::reasks([&pref], notice, &config.policy, now);
            changed_counts += plan::reasks([&pref], &unnamed, &config.policy, now);
            w.answers += 1;
            match w
                .by_version
                .iter_mut()
                .find(|v| v.notice_id == r.notice.id && v.version == r.notice.version)
            {
                Some(v) => v.answers += 1,
                None => w.by_version.push(VersionCountV1 {
                    notice_id: r.notice.id.clone(),
                    version: r.notice.version,
                    answers: 1,
                }),
            }
            // Only the partner's own notice is shown verbatim (the
            // statement names the partners in it), so only it is compared.
            let same_version = notice.id == partner.notice.id
                && r.notice.id == notice.id
                && r.notice.version == notice.version;
            let differs = notice
                .text
                .get(r.notice.language.as_str())
                .is_some_and(|text| *text != r.notice.text);
            if same_version
                && differs
                && !w.changed_without_new_version.contains(&r.notice.language)
            {
                w.changed_without_new_version
                    .push(r.notice.language.clone());
            }
        };
        tokio::time::timeout(limit, current_answers(state, &partner.id.0, now, count))
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "counting the stored answers took too long; try again",
                )
            })??;
        w.by_version
            .sort_by(|a, b| (&b.notice_id, b.version).cmp(&(&a.notice_id, a.version)));
        w.next_version = w
            .by_version
            .iter()
            .filter(|v| v.notice_id == notice.id)
            .map(|v| v.version)
            .chain([notice.version])
            .max()
            .unwrap_or(notice.version)
            .saturating_add(1);
        w.as_configured = now_counts.into();
        w.if_changed = changed_counts.into();
        out.push(w);
    }
    Ok(out)
}

/// Hands every patron's current record for a partner, whatever its state,
/// to `visit`, one at a time.
async fn current_answers(
    state: &AppState,
    partner_id: &str,
    now: consent_core::Timestamp,
    mut visit: impl FnMut(ConsentRecordV1),
) -> Result<(), ApiError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ExportRow>(256);
    let visiting = async {
        while let Some(row) = rx.recv().await {
            visit(row.record);
        }
    };
    let (read, ()) = tokio::join!(
        state.db.partner_contacts(
            Export {
                partner_id: partner_id.to_owned(),
                now,
                answers: Answers::Current,
            },
            tx,
        ),
        visiting
    );
    read.map_err(crate::api::storage("reading a partner's current answers"))
}
