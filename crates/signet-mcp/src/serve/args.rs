//! Tool arguments, checked by hand so that every mistake is a tool result with a clear
//! message (`missing field `target``, ``agent_id` must be a string, got a number``) instead
//! of a JSON-RPC invalid-params error the model never sees.

use serde_json::{Map, Value};

use super::ToolError;

/// The arguments object of one call, with its field names checked.
#[derive(Debug)]
pub struct Args<'a> {
    map: &'a Map<String, Value>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// The JSON type of a value, for messages.
#[must_use]
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Args<'a> {
    /// Take the call's arguments (absent means `{}`), refusing names not in `allowed`.
    ///
    /// # Errors
    /// An unknown argument, named with the ones this tool takes.
    pub fn new(map: Option<&'a Map<String, Value>>, allowed: &[&str]) -> Result<Self, ToolError> {
        let map = map.unwrap_or(&EMPTY);
        let mut unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        unknown.sort_unstable();
        if let Some(first) = unknown.first() {
            let expected = if allowed.is_empty() {
                "this tool takes no arguments".to_owned()
            } else {
                format!(
                    "expected {}",
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(ToolError::BadInput(format!(
                "unknown field `{first}`; {expected}"
            )));
        }
        Ok(Self { map })
    }

    /// A value that is present and not `null`.
    #[must_use]
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    ///
    /// # Errors
    /// Missing, not a string, or empty.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ToolError> {
        match self.opt_str(key)? {
            Some(s) => Ok(s),
            None => Err(ToolError::BadInput(format!("missing field `{key}`"))),
        }
    }

    /// An optional string (`null` counts as absent); when present it must not be empty.
    ///
    /// # Errors
    /// Not a string, or empty.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ToolError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => {
                Err(ToolError::BadInput(format!("`{key}` must not be empty")))
            }
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(ToolError::BadInput(format!(
                "`{key}` must be a string, got {}",
                type_name(other)
            ))),
        }
    }

    /// An optional non-negative integer.
    ///
    /// # Errors
    /// Not a non-negative integer.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, ToolError> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                ToolError::BadInput(format!(
                    "`{key}` must be a non-negative integer, got {}",
                    match v {
                        Value::Number(n) => format!("`{n}`"),
                        other => type_name(other).to_owned(),
                    }
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn messages_name_the_field() {
        let m = obj(json!({"agent_id": 5, "target": ""}));
        let a = Args::new(Some(&m), &["agent_id", "target", "payload"]).unwrap();
        assert_eq!(
            a.req_str("agent_id").unwrap_err().to_string(),
            "`agent_id` must be a string, got a number"
        );
        assert_eq!(
            a.req_str("target").unwrap_err().to_string(),
            "`target` must not be empty"
        );
        assert_eq!(
            a.req_str("action_type").unwrap_err().to_string(),
            "missing field `action_type`"
        );
        let bad = obj(json!({"agentId": "x"}));
        assert_eq!(
            Args::new(Some(&bad), &["agent_id"])
                .unwrap_err()
                .to_string(),
            "unknown field `agentId`; expected `agent_id`"
        );
        let n = obj(json!({"limit": -1}));
        let a = Args::new(Some(&n), &["limit"]).unwrap();
        assert_eq!(
            a.opt_u64("limit").unwrap_err().to_string(),
            "`limit` must be a non-negative integer, got `-1`"
        );
        assert!(Args::new(None, &[]).is_ok());
    }
}
