//! `/ui/audit`: the audit log, filtered by tool, caller, decision, outcome and time, a page at
//! a time (newest first); a page per record; and the filtered records as CSV or JSON.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::html;
use serde::{Deserialize, Serialize};
use toolkit_core::ToolRef;
use toolkit_state::{AuditFilter, AuditRecord, Decision, Outcome};

use super::layout::{self, Failure, Section};
use super::{Console, Viewer};

/// Records on one page.
const PAGE: u32 = 50;

/// Records in one download at most.
const DOWNLOAD_MAX: u32 = 10_000;

/// The filters, as the form sends them (empty fields are no filter).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    tool: String,
    #[serde(default)]
    caller: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: Option<i64>,
}

impl AuditQuery {
    /// The state's filter, or what is wrong with a field.
    fn filter(&self, limit: u32) -> Result<AuditFilter, String> {
        let text = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
        let tool = text(&self.tool)
            .map(|t| t.parse::<ToolRef>().map_err(|_| format!("tool: `{t}` is not NAME or NAMESPACE/NAME")))
            .transpose()?;
        let decision = text(&self.decision);
        if let Some(d) = &decision
            && !Decision::KINDS.contains(&d.as_str())
        {
            return Err(format!("decision: `{d}` is none of {}", Decision::KINDS.join(", ")));
        }
        let outcome = match self.outcome.trim() {
            "" => None,
            "ok" => Some(Outcome::Ok),
            "error" => Some(Outcome::Error),
            other => return Err(format!("outcome: `{other}` is neither ok nor error")),
        };
        Ok(AuditFilter {
            tool,
            limit: Some(limit),
            caller: text(&self.caller),
            decision,
            outcome,
            since: time_field("since", &self.since)?,
            until: time_field("until", &self.until)?,
            before: self.before,
        })
    }

    /// This query as a URL query string, with `before` replaced.
    fn link(&self, before: Option<i64>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("tool", &self.tool),
            ("caller", &self.caller),
            ("decision", &self.decision),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(name, value.trim());
            }
        }
        if let Some(id) = before {
            query.append_pair("before", &id.to_string());
        }
        query.finish()
    }
}

/// A time field: the browser's `YYYY-MM-DDTHH:MM[:SS]` (read as UTC) or RFC 3339.
fn time_field(name: &str, value: &str) -> Result<Option<DateTime<Utc>>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| format!("{name}: `{value}` is not a time such as 2026-12-05T10:30 (UTC)"))
}

/// The records of `filter` the viewer may see.
async fn read(console: &Console, viewer: &Viewer, filter: &AuditFilter) -> Result<Vec<AuditRecord>, Failure> {
    let snapshot = console.snapshot()?;
    let records = snapshot
        .runtime
        .state()
        .audit(filter)
        .await
        .map_err(|e| Failure::new(StatusCode::SERVICE_UNAVAILABLE, format!("read the audit log: {e}")))?;
    Ok(records.into_iter().filter(|r| viewer.session.caller.may_call(&r.tool)).collect())
}

pub(super) async fn page(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let (filter, problem) = match query.filter(PAGE) {
        Ok(f) => (Some(f), None),
        Err(why) => (None, Some(why)),
    };
    let records = match &filter {
        Some(f) => match read(&console, &viewer, f).await {
            Ok(r) => r,
            Err(failure) => return failure.into_response(),
        },
        None => Vec::new(),
    };
    let older = records.last().map(|r| r.id).filter(|_| records.len() == PAGE as usize);
    let body = html! {
        form.filters method="get" action="/ui/audit" {
            label { "Tool" input type="text" name="tool" value=(query.tool) placeholder="ns/name"; }
            label { "Caller" input type="text" name="caller" value=(query.caller) placeholder="token:ci"; }
            label { "Decision"
                select name="decision" {
                    option value="" { "any" }
                    @for kind in Decision::KINDS {
                        option value=(kind) selected[query.decision == *kind] { (kind) }
                    }
                }
            }
            label { "Outcome"
                select name="outcome" {
                    option value="" { "any" }
                    option value="ok" selected[query.outcome == "ok"] { "ok" }
                    option value="error" selected[query.outcome == "error"] { "error" }
                }
            }
            label { "From (UTC)" input type="datetime-local" name="since" value=(query.since); }
            label { "Until (UTC)" input type="datetime-local" name="until" value=(query.until); }
            button type="submit" { "Filter" }
            a href="/ui/audit" { "Clear" }
        }
        @if let Some(why) = &problem { p.error { (why) } }
        p {
            "Download these records (up to " (DOWNLOAD_MAX) "): "
            a href={ "/ui/audit.csv?" (query.link(None)) } { "CSV" } " · "
            a href={ "/ui/audit.json?" (query.link(None)) } { "JSON" }
        }
        @if records.is_empty() && problem.is_none() { p.muted { "No record matches." } }
        @else if !records.is_empty() {
            table {
                thead { tr { th { "#" } th { "Time" } th { "Tool" } th { "Caller" } th { "Operation" } th { "Decision" } th { "Outcome" } th { "ms" } } }
                tbody {
                    @for r in &records {
                        tr {
                            td { a href={ "/ui/audit/" (r.id) } { (r.id) } }
                            td { (layout::time(r.time)) }
                            td { (r.tool) }
                            td { (r.caller) }
                            td { (r.operation) }
                            td { (r.decision) }
                            td { (r.outcome.as_str()) }
                            td { (format!("{:.1}", r.duration_ms)) }
                        }
                    }
                }
            }
        }
        div.pager {
            @if query.before.is_some() { a href={ "/ui/audit?" (query.link(None)) } { "Newest" } }
            @if let Some(id) = older { a href={ "/ui/audit?" (query.link(Some(id))) } { "Older" } }
        }
    };
    let mut response = layout::page(&viewer, Section::Audit, "Audit log", body);
    if problem.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

pub(super) async fn detail(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
) -> Response {
    let filter = AuditFilter { before: id.checked_add(1), limit: Some(1), ..AuditFilter::default() };
    let record = match read(&console, &viewer, &filter).await {
        Ok(records) => records.into_iter().find(|r| r.id == id),
        Err(failure) => return failure.into_response(),
    };
    let Some(r) = record else {
        return layout::refusal(StatusCode::NOT_FOUND, &format!("there is no audit record {id}"));
    };
    let body = html! {
        dl.fields {
            dt { "Time" } dd { (layout::time(r.time)) }
            dt { "Tool" } dd { (r.tool) }
            dt { "Caller" } dd { (r.caller) }
            dt { "Operation" } dd { (r.operation) }
            dt { "Decision" } dd { (r.decision) " (" (r.decision.kind()) ")" }
            dt { "Outcome" } dd { (r.outcome.as_str()) }
            dt { "Duration" } dd { (format!("{:.1} ms", r.duration_ms)) }
            @if let Some(kind) = &r.error_kind { dt { "Error kind" } dd { (kind) } }
            @if let Some(error) = &r.error { dt { "Error" } dd { pre { (error) } } }
        }
        h2 { "Arguments (redacted)" }
        @match &r.arguments {
            Some(args) => pre.block { (layout::pretty(args)) },
            None => p.muted { "none recorded" },
        }
        p { a href="/ui/audit" { "Back to the audit log" } }
    };
    layout::page(&viewer, Section::Audit, &format!("Audit record {id}"), body)
}

/// The records of a download, or the refusal.
async fn download(console: &Console, viewer: &Viewer, query: &AuditQuery) -> Result<Vec<AuditRecord>, Failure> {
    let filter = query.filter(DOWNLOAD_MAX).map_err(|why| Failure::new(StatusCode::BAD_REQUEST, why))?;
    read(console, viewer, &filter).await
}

fn attachment(body: Vec<u8>, content_type: &'static str, name: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    response
}

pub(super) async fn json(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Query(query): Query<AuditQuery>,
) -> Response {
    match download(&console, &viewer, &query).await {
        Ok(records) => match serde_json::to_vec_pretty(&records) {
            Ok(body) => attachment(body, "application/json", "attachment; filename=\"audit.json\""),
            Err(e) => layout::refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("write JSON: {e}")),
        },
        Err(failure) => failure.into_response(),
    }
}

pub(super) async fn csv(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Query(query): Query<AuditQuery>,
) -> Response {
    match download(&console, &viewer, &query).await {
        Ok(records) => match to_csv(&records) {
            Ok(body) => attachment(body, "text/csv; charset=utf-8", "attachment; filename=\"audit.csv\""),
            Err(e) => layout::refusal(StatusCode::INTERNAL_SERVER_ERROR, &format!("write CSV: {e}")),
        },
        Err(failure) => failure.into_response(),
    }
}

fn to_csv(records: &[AuditRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "id",
        "time",
        "tool",
        "caller",
        "operation",
        "decision",
        "outcome",
        "duration_ms",
        "error_kind",
        "error",
        "arguments",
    ])?;
    for r in records {
        let arguments = r.arguments.as_ref().map(ToString::to_string).unwrap_or_default();
        let row = [
            r.id.to_string(),
            r.time.to_rfc3339(),
            r.tool.to_string(),
            r.caller.clone(),
            r.operation.clone(),
            r.decision.to_string(),
            r.outcome.as_str().to_owned(),
            format!("{:.3}", r.duration_ms),
            r.error_kind.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
            arguments,
        ];
        out.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A cell a spreadsheet will not run as a formula: one that starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'`.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_filters_and_links() {
        let query = AuditQuery {
            tool: "prod/db".into(),
            decision: "approved".into(),
            outcome: "error".into(),
            since: "2026-12-05T10:30".into(),
            ..AuditQuery::default()
        };
        let filter = query.filter(10).unwrap();
        assert_eq!(filter.tool, Some(ToolRef::new("prod", "db")));
        assert_eq!(filter.outcome, Some(Outcome::Error));
        assert_eq!(filter.since.unwrap().to_rfc3339(), "2026-12-05T10:30:00+00:00");
        assert_eq!(
            query.link(Some(7)),
            "tool=prod%2Fdb&decision=approved&outcome=error&since=2026-12-05T10%3A30&before=7"
        );
        for bad in [
            AuditQuery { decision: "maybe".into(), ..AuditQuery::default() },
            AuditQuery { outcome: "meh".into(), ..AuditQuery::default() },
            AuditQuery { until: "yesterday".into(), ..AuditQuery::default() },
        ] {
            assert!(bad.filter(10).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn csv_cells_are_never_formulas() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(spreadsheet_safe("token:ci"), "token:ci");
    }
}
