//! Raw JSON-RPC messages: classify a line and edit one member without touching the rest.
//!
//! A transparent proxy must not parse a message into typed structs and print it again: that
//! drops unknown members, reorders keys and changes numbers. Here a message is read as an
//! ordered list of `(key, raw JSON text)` members. Only the members signet edits are
//! re-written; every other member keeps its exact text, in its original order.
//!
//! Duplicate keys are refused at every level this module reads (the message, `params`,
//! `result`, `_meta`): two readers of one message must never see different methods, ids or
//! arguments.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One JSON object as an ordered list of members with their raw value text.
#[derive(Debug, Clone)]
pub struct RawObject<'a> {
    members: Vec<(String, &'a RawValue)>,
}

/// Why a line is not a usable JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not JSON, or not UTF-8.
    #[error("not a JSON message: {0}")]
    Parse(String),
    /// Valid JSON, but not a JSON-RPC 2.0 message of a shape signet understands.
    #[error("invalid JSON-RPC message: {0}")]
    Invalid(String),
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = RawObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, &'de RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(RawObject { members })
    }
}

impl<'a> RawObject<'a> {
    /// Parse `text` as one JSON object (surrounding whitespace allowed).
    ///
    /// # Errors
    /// [`MessageError::Parse`] when the text is not a JSON object, has duplicate keys or
    /// trailing data.
    pub fn parse(text: &'a str) -> Result<Self, MessageError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let obj = (&mut de)
            .deserialize_map(ObjectVisitor)
            .map_err(|e| MessageError::Parse(e.to_string()))?;
        de.end().map_err(|e| MessageError::Parse(e.to_string()))?;
        Ok(obj)
    }

    /// Parse the raw value `raw` as an object.
    ///
    /// # Errors
    /// As [`RawObject::parse`].
    pub fn from_raw(raw: &'a RawValue) -> Result<Self, MessageError> {
        Self::parse(raw.get())
    }

    /// The raw text of member `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .find_map(|(k, v)| (k == key).then_some(*v))
    }

    /// The members in order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.members.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Whether there are no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The object as JSON text: every member's exact text, in order.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_key(&mut out, k);
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
        out
    }

    /// Write the object with member `key` set to `value` (raw JSON text) — replaced in
    /// place when present, appended last otherwise — or removed when `value` is `None`.
    /// Other members keep their exact text and order.
    #[must_use]
    pub fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut out = String::with_capacity(
            self.members
                .iter()
                .map(|(k, v)| k.len().saturating_add(v.get().len()).saturating_add(4))
                .sum::<usize>()
                .saturating_add(
                    value
                        .map_or(0, str::len)
                        .saturating_add(key.len().saturating_add(8)),
                ),
        );
        out.push('{');
        let mut first = true;
        let mut done = false;
        let mut push = |out: &mut String, k: &str, v: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            write_key(out, k);
            out.push(':');
            out.push_str(v);
        };
        for (k, v) in &self.members {
            if k == key {
                done = true;
                if let Some(value) = value {
                    push(&mut out, k, value);
                }
            } else {
                push(&mut out, k, v.get());
            }
        }
        if !done && let Some(value) = value {
            push(&mut out, key, value);
        }
        out.push('}');
        out
    }
}

fn write_key(out: &mut String, key: &str) {
    // serde_json escapes exactly what JSON requires; a String cannot fail to serialize.
    match serde_json::to_string(key) {
        Ok(s) => out.push_str(&s),
        Err(_) => out.push_str("\"\""),
    }
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A request: has `method` and `id`.
    Request {
        /// The method name.
        method: String,
        /// The id's exact JSON text.
        id: String,
    },
    /// A notification: `method`, no `id`.
    Notification {
        /// The method name.
        method: String,
    },
    /// A response: `id` and `result` or `error`.
    Response {
        /// The id's exact JSON text (`null` possible for errors).
        id: String,
        /// Whether it carries `error` (else `result`).
        is_error: bool,
    },
}

/// A parsed message: its kind and its members.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Request, notification or response.
    pub kind: Kind,
    /// The top-level members.
    pub object: RawObject<'a>,
}

impl<'a> Message<'a> {
    /// Parse and classify one line.
    ///
    /// # Errors
    /// [`MessageError`] when the line is not a JSON-RPC 2.0 message object.
    pub fn parse(line: &'a str) -> Result<Self, MessageError> {
        let object = RawObject::parse(line)?;
        let invalid = |why: &str| Err(MessageError::Invalid(why.to_owned()));
        match object.get("jsonrpc").map(RawValue::get) {
            Some("\"2.0\"") => {}
            _ => return invalid("`jsonrpc` must be \"2.0\""),
        }
        let id = object.get("id").map(|v| v.get().to_owned());
        if let Some(id) = &id
            && !(is_id(id) || id == "null")
        {
            return invalid("`id` must be a string or a number");
        }
        let kind = if let Some(method) = object.get("method") {
            let method: String = serde_json::from_str(method.get())
                .map_err(|_| MessageError::Invalid("`method` must be a string".into()))?;
            if object.get("result").is_some() || object.get("error").is_some() {
                return invalid("a request cannot carry `result` or `error`");
            }
            match id {
                Some(id) if id != "null" => Kind::Request { method, id },
                Some(_) => return invalid("a request id cannot be null"),
                None => Kind::Notification { method },
            }
        } else {
            let is_error = match (object.get("result"), object.get("error")) {
                (Some(_), None) => false,
                (None, Some(_)) => true,
                _ => return invalid("a response needs exactly one of `result` and `error`"),
            };
            match id {
                Some(id) => Kind::Response { id, is_error },
                None => return invalid("a response needs an `id`"),
            }
        };
        Ok(Self { kind, object })
    }

    /// The `params` object, if present.
    ///
    /// # Errors
    /// `params` is present but not an object without duplicate keys.
    pub fn params(&self) -> Result<Option<RawObject<'a>>, MessageError> {
        self.member_object("params")
    }

    /// The `result` object, if present.
    ///
    /// # Errors
    /// `result` is present but not an object without duplicate keys.
    pub fn result(&self) -> Result<Option<RawObject<'a>>, MessageError> {
        self.member_object("result")
    }

    fn member_object(&self, key: &str) -> Result<Option<RawObject<'a>>, MessageError> {
        self.object
            .get(key)
            .map(|raw| {
                RawObject::from_raw(raw)
                    .map_err(|e| MessageError::Invalid(format!("`{key}` must be an object: {e}")))
            })
            .transpose()
    }
}

/// Set `_meta[key] = value` inside the object `obj` (raw text of `params` or `result`),
/// keeping every other member and `_meta` entry exactly.
///
/// # Errors
/// `_meta` exists but is not an object without duplicate keys.
pub fn set_meta(obj: &RawObject<'_>, key: &str, value: &str) -> Result<String, MessageError> {
    let meta = match obj.get("_meta") {
        Some(raw) => RawObject::from_raw(raw)
            .map_err(|e| MessageError::Invalid(format!("`_meta` must be an object: {e}")))?
            .with(key, Some(value)),
        None => {
            let mut m = String::from("{");
            write_key(&mut m, key);
            m.push(':');
            m.push_str(value);
            m.push('}');
            m
        }
    };
    Ok(obj.with("_meta", Some(&meta)))
}

/// `obj` without `_meta[key]`, and without `_meta` when that leaves it empty. Returns
/// `None` when `obj` has no such entry (nothing to remove).
///
/// # Errors
/// `_meta` exists but is not an object without duplicate keys.
pub fn without_meta(obj: &RawObject<'_>, key: &str) -> Result<Option<String>, MessageError> {
    let Some(raw) = obj.get("_meta") else {
        return Ok(None);
    };
    let meta = RawObject::from_raw(raw)
        .map_err(|e| MessageError::Invalid(format!("`_meta` must be an object: {e}")))?;
    if meta.get(key).is_none() {
        return Ok(None);
    }
    let rest = RawObject {
        members: meta
            .members
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect(),
    };
    if rest.is_empty() {
        Ok(Some(obj.with("_meta", None)))
    } else {
        Ok(Some(obj.with("_meta", Some(&rest.to_text()))))
    }
}

/// Whether the raw JSON text `id` is a usable JSON-RPC id: a string or a number.
#[must_use]
pub fn is_id(id: &str) -> bool {
    matches!(id.as_bytes().first(), Some(b'"' | b'-' | b'0'..=b'9'))
}

/// A JSON string literal for `s`.
#[must_use]
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    write_key(&mut out, s);
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        let m = Message::parse(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#).unwrap();
        assert_eq!(
            m.kind,
            Kind::Request {
                method: "tools/call".into(),
                id: "7".into()
            }
        );
        let m = Message::parse(r#"{"jsonrpc":"2.0","method":"notifications/x"}"#).unwrap();
        assert!(matches!(m.kind, Kind::Notification { .. }));
        let m = Message::parse(r#" {"result":{},"jsonrpc":"2.0","id":"a"} "#).unwrap();
        assert_eq!(
            m.kind,
            Kind::Response {
                id: "\"a\"".into(),
                is_error: false
            }
        );
        let m = Message::parse(r#"{"jsonrpc":"2.0","id":null,"error":{"code":1}}"#).unwrap();
        assert!(matches!(m.kind, Kind::Response { is_error: true, .. }));
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","method":7}"#,
            r#"[{"jsonrpc":"2.0","method":"a"}]"#,
            r#"{"jsonrpc":"2.0","method":"a"} x"#,
            "not json",
        ] {
            assert!(Message::parse(bad).is_err(), "{bad}");
        }
        let m = Message::parse(r#"{"jsonrpc":"2.0","id":1,"method":"a","params":{"x":1,"x":2}}"#)
            .unwrap();
        assert!(m.params().is_err());
    }

    #[test]
    fn edits_keep_every_other_byte() {
        let line = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w","arguments":{"n":1.50e3,"big":123456789012345678901234567890},"z":[ 1 , 2 ]}}"#;
        let m = Message::parse(line).unwrap();
        let params = m.params().unwrap().unwrap();
        let p2 = set_meta(&params, "dev.signet/intent", "\"JWS\"").unwrap();
        let out = m.object.with("params", Some(&p2));
        assert_eq!(
            out,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"w","arguments":{"n":1.50e3,"big":123456789012345678901234567890},"z":[ 1 , 2 ],"_meta":{"dev.signet/intent":"JWS"}}}"#
        );
        // Into an existing _meta, replacing a value of the same key in place.
        let obj =
            RawObject::parse(r#"{"_meta":{"a":1,"dev.signet/receipt":"forged","b":2},"c":3}"#)
                .unwrap();
        assert_eq!(
            set_meta(&obj, "dev.signet/receipt", "\"R\"").unwrap(),
            r#"{"_meta":{"a":1,"dev.signet/receipt":"R","b":2},"c":3}"#
        );
        assert_eq!(
            without_meta(&obj, "dev.signet/receipt").unwrap().unwrap(),
            r#"{"_meta":{"a":1,"b":2},"c":3}"#
        );
        let only = RawObject::parse(r#"{"c":3,"_meta":{"dev.signet/receipt":"R"}}"#).unwrap();
        assert_eq!(
            without_meta(&only, "dev.signet/receipt").unwrap().unwrap(),
            r#"{"c":3}"#
        );
        assert!(without_meta(&only, "other").unwrap().is_none());
    }
}
