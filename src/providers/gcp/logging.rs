//! Cloud Logging (v2 `entries:list`): the log of one Cloud Run service for the log viewer, and
//! a tail of every Cloud Run service of the project.

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Api, GcpClient};
use crate::model::{LogLine, Severity, Timestamp};
use crate::providers::ProviderError;

/// Entries read for one service's log.
pub const SERVICE_LOG_ENTRIES: usize = 500;
/// Entries read per tail poll (pages of 1 000 followed up to this many).
pub const TAIL_ENTRIES: usize = 5_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resource {
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpRequest {
    pub request_method: String,
    pub request_url: String,
    pub status: Option<i64>,
    pub latency: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Entry {
    pub timestamp: Option<Timestamp>,
    pub receive_timestamp: Option<Timestamp>,
    pub severity: Value,
    pub text_payload: Option<String>,
    pub json_payload: Option<Value>,
    pub proto_payload: Option<Value>,
    pub http_request: Option<HttpRequest>,
    pub resource: Resource,
}

/// `LogSeverity` by name or by number (DEFAULT 0 … EMERGENCY 800).
pub fn severity(v: &Value) -> Severity {
    let n = match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.as_str() {
            "DEBUG" => 100,
            "INFO" => 200,
            "NOTICE" => 300,
            "WARNING" => 400,
            "ERROR" => 500,
            "CRITICAL" => 600,
            "ALERT" => 700,
            "EMERGENCY" => 800,
            _ => 0,
        },
        _ => 0,
    };
    match n {
        100..=199 => Severity::Debug,
        400..=499 => Severity::Warn,
        500.. => Severity::Error,
        _ => Severity::Info,
    }
}

/// The line's text: `textPayload`, else `jsonPayload.message` (or the whole JSON), else the
/// request line of `httpRequest`, else the audit method of `protoPayload`.
pub fn text(e: &Entry) -> String {
    if let Some(t) = &e.text_payload {
        return t.trim_end().to_string();
    }
    if let Some(j) = &e.json_payload {
        for key in ["message", "msg", "textPayload"] {
            if let Some(m) = j.get(key).and_then(Value::as_str) {
                return m.trim_end().to_string();
            }
        }
        return j.to_string();
    }
    if let Some(h) = &e.http_request {
        let mut out = format!("{} {}", h.request_method, h.request_url);
        if let Some(s) = h.status {
            out.push_str(&format!(" {s}"));
        }
        if let Some(l) = &h.latency {
            out.push_str(&format!(" {l}"));
        }
        return out;
    }
    if let Some(p) = &e.proto_payload {
        let method = p.get("methodName").and_then(Value::as_str).unwrap_or("");
        let who = p.pointer("/authenticationInfo/principalEmail").and_then(Value::as_str).unwrap_or("");
        return format!("{method} {who}").trim().to_string();
    }
    String::new()
}

pub fn to_line(e: &Entry, source: &str) -> Option<LogLine> {
    Some(LogLine {
        at: e.timestamp.or(e.receive_timestamp)?,
        source: source.to_string(),
        severity: severity(&e.severity),
        text: text(e),
    })
}

fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The filter for one service's log.
pub fn service_filter(service: &str, location: &str, extra: Option<&str>) -> String {
    let mut f = format!(
        "resource.type=\"cloud_run_revision\" AND resource.labels.service_name={} AND resource.labels.location={}",
        quoted(service),
        quoted(location)
    );
    if let Some(x) = extra.filter(|x| !x.trim().is_empty()) {
        f.push_str(&format!(" AND ({x})"));
    }
    f
}

/// The request body of `entries:list`.
pub fn request(project: &str, filter: &str, order: &str, page_size: usize, token: Option<&str>) -> Value {
    let mut body = json!({
        "resourceNames": [format!("projects/{project}")],
        "filter": filter,
        "orderBy": format!("timestamp {order}"),
        "pageSize": page_size,
    });
    if let Some(t) = token {
        body["pageToken"] = json!(t);
    }
    body
}

/// POST `entries:list`, following `nextPageToken` (it sits in the request body) up to `max`.
pub async fn list(
    client: &GcpClient,
    project: &str,
    filter: &str,
    order: &str,
    max: usize,
) -> Result<Vec<Entry>, ProviderError> {
    let url = client.url(Api::Logging, "/v2/entries:list");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let body = request(project, filter, order, max.min(1000), token.as_deref());
        let mut page = client.call(Api::Logging, reqwest::Method::POST, &url, Some(&body)).await?;
        if let Some(entries) = page.get_mut("entries").map(Value::take) {
            let entries: Vec<Entry> = serde_json::from_value(entries)
                .map_err(|e| ProviderError::Payload(format!("Cloud Logging entries: {e}")))?;
            out.extend(entries);
        }
        token = page.get("nextPageToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() || out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_by_name_or_number() {
        assert_eq!(severity(&json!("ERROR")), Severity::Error);
        assert_eq!(severity(&json!(500)), Severity::Error);
        assert_eq!(severity(&json!(800)), Severity::Error);
        assert_eq!(severity(&json!("WARNING")), Severity::Warn);
        assert_eq!(severity(&json!(400)), Severity::Warn);
        assert_eq!(severity(&json!("DEBUG")), Severity::Debug);
        assert_eq!(severity(&json!("DEFAULT")), Severity::Info);
        assert_eq!(severity(&json!("NOTICE")), Severity::Info);
        assert_eq!(severity(&Value::Null), Severity::Info);
    }

    #[test]
    fn filters_quote_their_values() {
        assert_eq!(
            service_filter("web", "europe-west1", Some("severity>=WARNING")),
            "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"web\" AND resource.labels.location=\"europe-west1\" AND (severity>=WARNING)"
        );
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }
}
