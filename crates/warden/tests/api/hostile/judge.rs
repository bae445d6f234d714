//! Judging an answer against its row.

use super::*;

/// Everything wrong with `reply` as the answer to `row`.
pub(crate) fn judge(row: &Row, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if reply.status >= 500 {
        problems.push(format!("a server error {}", reply.status));
    }
    if reply.status != row.status {
        problems.push(format!("status {} instead of {}", reply.status, row.status));
    }
    let request_id = reply.header("x-request-id").unwrap_or_default();
    let well_formed = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b));
    if !well_formed {
        problems.push(format!(
            "x-request-id {:?}",
            String::from_utf8_lossy(request_id)
        ));
    }
    let content_type = reply.header("content-type").unwrap_or_default();
    if !content_type.starts_with(b"application/json") {
        problems.push(format!(
            "content-type {:?}",
            String::from_utf8_lossy(content_type)
        ));
    }
    let body: Value = match serde_json::from_slice(&reply.body) {
        Ok(body) => body,
        Err(_) => {
            problems.push(format!(
                "a body that is not JSON: {:?}",
                String::from_utf8_lossy(&reply.body)
            ));
            return problems;
        }
    };
    let keys: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if keys.len() != 4
        || !["status", "status_code", "message", "data"]
            .iter()
            .all(|k| keys.contains(k))
    {
        problems.push(format!("not the envelope: {body}"));
    }
    let outcome = if reply.status < 400 {
        "success"
    } else {
        "error"
    };
    if body["status"] != outcome || body["status_code"] != reply.status {
        problems.push(format!(
            "envelope status fields disagree with {}: {body}",
            reply.status
        ));
    }
    if body["message"] != row.message {
        problems.push(format!(
            "message {} instead of {:?}",
            body["message"], row.message
        ));
    }
    if row.status == 422 {
        let fields: Vec<&str> = body["data"]["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        if fields != row.fields {
            problems.push(format!(
                "fields {fields:?} instead of {:?}: {body}",
                row.fields
            ));
        }
    } else if row.status >= 400 && body["data"] != json!({}) {
        problems.push(format!("data {} instead of {{}}", body["data"]));
    }
    problems
}
