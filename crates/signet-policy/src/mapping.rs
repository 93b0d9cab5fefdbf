//! JSON → Cedar: how a call's arguments, its tool's annotations and the time become Cedar
//! values (the only place that builds Cedar values from call data).
//!
//! Cedar has no floats, no null, and its sets are unordered; the mapping is:
//!
//! | JSON | Cedar |
//! | --- | --- |
//! | `true` / `false` | `Bool` |
//! | integer in i64 range | `Long` |
//! | float with an integral value in i64 range (`3.0`) | `Long` (`3`) |
//! | any other number (`2.5`, `1e300`, `18446744073709551615`) | `String` of its JSON text; `context.lossy` is set |
//! | string | `String` |
//! | `null` | the attribute is **omitted** (so `has` is false); in an array, the element is dropped |
//! | array | `Set` — order and duplicates are lost |
//! | object | record |
//! | nesting deeper than [`MAX_DEPTH`] | `String` of the canonical JSON text; `context.lossy` is set |
//!
//! A non-object `arguments` (MCP requires an object) becomes an empty record with
//! `context.lossy` set.

use cedar_policy::RestrictedExpression;
use serde_json::Value;

/// Deepest JSON nesting mapped to Cedar structure; deeper values become their JSON text.
pub const MAX_DEPTH: usize = 32;

/// The tool annotations signet reads, with their MCP defaults.
pub(crate) const ANNOTATIONS: [&str; 4] = [
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
];

/// Map a JSON value; `None` for `null` (omitted). Sets `lossy` when information is lost
/// beyond the documented set semantics.
pub(crate) fn to_cedar(v: &Value, depth: usize, lossy: &mut bool) -> Option<RestrictedExpression> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Value::String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Value::Number(n) => Some(number(n, lossy)),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            *lossy = true;
            Some(RestrictedExpression::new_string(
                serde_json::to_string(v).unwrap_or_default(),
            ))
        }
        Value::Array(items) => {
            let next = depth.saturating_add(1);
            Some(RestrictedExpression::new_set(
                items
                    .iter()
                    .filter_map(|i| to_cedar(i, next, lossy))
                    .collect::<Vec<_>>(),
            ))
        }
        Value::Object(members) => Some(record(members, depth, lossy)),
    }
}

/// Map a JSON object to a record (members that are `null` omitted).
pub(crate) fn record(
    members: &serde_json::Map<String, Value>,
    depth: usize,
    lossy: &mut bool,
) -> RestrictedExpression {
    let next = depth.saturating_add(1);
    let pairs: Vec<(String, RestrictedExpression)> = members
        .iter()
        .filter_map(|(k, v)| to_cedar(v, next, lossy).map(|e| (k.clone(), e)))
        .collect();
    // Keys of a JSON object are unique, so this cannot fail; fall back to an empty record.
    RestrictedExpression::new_record(pairs).unwrap_or_else(|_| {
        *lossy = true;
        empty_record()
    })
}

pub(crate) fn empty_record() -> RestrictedExpression {
    RestrictedExpression::new_record(Vec::<(String, RestrictedExpression)>::new())
        .unwrap_or_else(|_| RestrictedExpression::new_bool(false))
}

/// Largest float that converts to i64 exactly in range (2^63).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn number(n: &serde_json::Number, lossy: &mut bool) -> RestrictedExpression {
    match long_of(n) {
        Some(i) => RestrictedExpression::new_long(i),
        None => {
            *lossy = true;
            RestrictedExpression::new_string(n.to_string())
        }
    }
}

/// The number as a Cedar `Long`, if it is one without loss.
fn long_of(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if let Some(f) = n.as_f64()
        && f.is_finite()
        && f.fract() == 0.0
        && (-TWO_POW_63..TWO_POW_63).contains(&f)
        && !n.is_u64()
    {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "integral and within the i64 range, checked above"
        )]
        return Some(f as i64);
    }
    None
}

/// Whether mapping `v` at nesting `depth` would set `lossy` (the rules of [`to_cedar`]),
/// without building anything.
pub(crate) fn is_lossy(v: &Value, depth: usize) -> bool {
    let next = depth.saturating_add(1);
    match v {
        Value::Number(n) => long_of(n).is_none(),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => true,
        Value::Array(items) => items.iter().any(|i| is_lossy(i, next)),
        Value::Object(members) => members.values().any(|i| is_lossy(i, next)),
        _ => false,
    }
}

/// The call's `arguments` as the `context.arguments` record. With `declared` (the
/// attributes the schema gives `arguments`), only those are mapped: validated rules cannot
/// read any other, and mapping them is most of the cost of a call with large arguments.
/// `lossy` still covers every argument.
pub(crate) fn arguments(
    args: &Value,
    declared: Option<&std::collections::HashSet<String>>,
    lossy: &mut bool,
) -> RestrictedExpression {
    match args {
        Value::Object(m) => match declared {
            None => record(m, 0, lossy),
            Some(keys) => {
                if m.iter().any(|(k, v)| !keys.contains(k) && is_lossy(v, 1)) {
                    *lossy = true;
                }
                let pairs: Vec<(String, RestrictedExpression)> = m
                    .iter()
                    .filter(|(k, _)| keys.contains(*k))
                    .filter_map(|(k, v)| to_cedar(v, 1, lossy).map(|e| (k.clone(), e)))
                    .collect();
                RestrictedExpression::new_record(pairs).unwrap_or_else(|_| {
                    *lossy = true;
                    empty_record()
                })
            }
        },
        Value::Null => empty_record(),
        _ => {
            *lossy = true;
            empty_record()
        }
    }
}

/// The tool annotations with MCP defaults applied: `readOnlyHint` false, `destructiveHint`
/// true unless the tool is read-only, `idempotentHint` false, `openWorldHint` true.
/// Values that are not booleans count as absent. Returns the four values in
/// [`ANNOTATIONS`] order and whether the server gave any annotations object at all.
pub(crate) fn annotation_values(annotations: Option<&Value>) -> ([bool; 4], bool) {
    let obj = annotations.and_then(Value::as_object);
    let get = |k: &str| obj.and_then(|o| o.get(k)).and_then(Value::as_bool);
    let read_only = get("readOnlyHint").unwrap_or(false);
    (
        [
            read_only,
            get("destructiveHint").unwrap_or(!read_only),
            get("idempotentHint").unwrap_or(false),
            get("openWorldHint").unwrap_or(true),
        ],
        obj.is_some(),
    )
}

/// `context.annotations`.
pub(crate) fn annotations_record(values: [bool; 4]) -> RestrictedExpression {
    let pairs = ANNOTATIONS
        .iter()
        .zip(values)
        .map(|(k, v)| ((*k).to_owned(), RestrictedExpression::new_bool(v)));
    RestrictedExpression::new_record(pairs).unwrap_or_else(|_| empty_record())
}

/// UTC calendar parts of a Unix time: `(hour 0-23, minute 0-59, ISO weekday 1 = Monday …
/// 7 = Sunday)`.
#[must_use]
pub fn time_parts(unix: i64) -> (i64, i64, i64) {
    let secs_of_day = unix.checked_rem_euclid(86_400).unwrap_or(0);
    let days = unix.checked_div_euclid(86_400).unwrap_or(0);
    let hour = secs_of_day.checked_div(3600).unwrap_or(0);
    let minute = secs_of_day
        .checked_rem(3600)
        .and_then(|s| s.checked_div(60))
        .unwrap_or(0);
    // 1970-01-01 was a Thursday (ISO 4).
    let weekday = days
        .checked_add(3)
        .and_then(|d| d.checked_rem_euclid(7))
        .and_then(|d| d.checked_add(1))
        .unwrap_or(1);
    (hour, minute, weekday)
}

/// `context.time`.
pub(crate) fn time_record(unix: i64) -> RestrictedExpression {
    let (hour, minute, weekday) = time_parts(unix);
    let pairs = [
        ("unix", unix),
        ("hour", hour),
        ("minute", minute),
        ("weekday", weekday),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), RestrictedExpression::new_long(v)));
    RestrictedExpression::new_record(pairs).unwrap_or_else(|_| empty_record())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn text(v: &Value) -> (String, bool) {
        let mut lossy = false;
        let e = to_cedar(v, 0, &mut lossy).unwrap();
        (format!("{e:?}"), lossy)
    }

    #[test]
    fn documented_cases() {
        assert!(!text(&json!(5)).1);
        assert!(!text(&json!(3.0)).1);
        let (t, lossy) = text(&json!(2.5));
        assert!(lossy && t.contains("2.5"), "{t}");
        let (t, lossy) = text(&json!(18_446_744_073_709_551_615_u64));
        assert!(lossy && t.contains("18446744073709551615"), "{t}");
        let mut lossy = false;
        assert!(to_cedar(&json!(null), 0, &mut lossy).is_none());
        let (t, lossy) = text(&json!({"aaaa": null, "bbbb": [1, 1, null, 2]}));
        assert!(!lossy);
        assert!(!t.contains("aaaa"), "{t}");
        assert!(t.contains("bbbb"), "{t}");
        let mut deep = json!("x");
        for _ in 0..40 {
            deep = json!([deep]);
        }
        assert!(text(&deep).1);
        let mut lossy = false;
        let _ = arguments(&json!([1]), None, &mut lossy);
        assert!(lossy);
    }

    #[test]
    fn annotation_defaults() {
        assert_eq!(annotation_values(None), ([false, true, false, true], false));
        assert_eq!(
            annotation_values(Some(&json!({"readOnlyHint": true}))),
            ([true, false, false, true], true)
        );
        assert_eq!(
            annotation_values(Some(&json!({"destructiveHint": "yes"}))),
            ([false, true, false, true], true)
        );
    }

    #[test]
    fn time_parts_known_dates() {
        // 2024-01-01T00:00:00Z was a Monday.
        assert_eq!(time_parts(1_704_067_200), (0, 0, 1));
        // 2024-01-07T13:45:00Z, Sunday.
        assert_eq!(time_parts(1_704_635_100), (13, 45, 7));
        // 1969-12-31T23:59:59Z, Wednesday.
        assert_eq!(time_parts(-1), (23, 59, 3));
        let _ = time_parts(i64::MIN);
        let _ = time_parts(i64::MAX);
    }

    #[test]
    fn only_declared_arguments_are_mapped() {
        let args = json!({"path": "/a", "n": 2, "skip": {"deep": [1.5]}, "gone": null});
        let declared = std::collections::HashSet::from(["path".to_owned(), "n".to_owned()]);
        let ctx = |e| {
            format!(
                "{:?}",
                cedar_policy::Context::from_pairs([("arguments".to_owned(), e)])
            )
        };
        let mut lossy = false;
        let part = ctx(arguments(&args, Some(&declared), &mut lossy));
        assert!(lossy, "1.5 in an undeclared argument still counts");
        let mut lossy = false;
        let expected = ctx(arguments(&json!({"path": "/a", "n": 2}), None, &mut lossy));
        assert!(!lossy);
        assert_eq!(part, expected);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(".*", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn has_lossy_number(v: &Value) -> bool {
        match v {
            Value::Number(n) => {
                n.as_i64().is_none()
                    && !n.as_f64().is_some_and(|f| {
                        f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) && !n.is_u64()
                    })
            }
            Value::Array(a) => a.iter().any(has_lossy_number),
            Value::Object(o) => o.values().any(has_lossy_number),
            _ => false,
        }
    }

    proptest! {
        /// Any JSON maps without panicking, into a Cedar context that builds; `lossy` is set
        /// exactly when a number could not be kept as a Long (nesting here stays < MAX_DEPTH).
        #[test]
        fn any_json_maps(v in arb_json()) {
            let mut lossy = false;
            let args = json!({ "x": v });
            let e = arguments(&args, None, &mut lossy);
            let ctx = cedar_policy::Context::from_pairs([("arguments".to_owned(), e)]);
            prop_assert!(ctx.is_ok());
            prop_assert_eq!(lossy, has_lossy_number(&v));
            prop_assert_eq!(is_lossy(&args, 0), lossy);
        }

        /// Mapping only the declared arguments keeps `lossy` about all of them, and the
        /// declared ones map exactly as they would in the full record.
        #[test]
        fn declared_arguments_only(v in arb_json(), w in arb_json()) {
            let args = json!({ "x": v, "y": w });
            let declared = std::collections::HashSet::from(["x".to_owned()]);
            let (mut all, mut some) = (false, false);
            let full = arguments(&args, None, &mut all);
            let part = arguments(&args, Some(&declared), &mut some);
            prop_assert_eq!(all, some);
            let ok = |e| cedar_policy::Context::from_pairs([("arguments".to_owned(), e)]).is_ok();
            prop_assert!(ok(full));
            prop_assert!(ok(part));
        }
    }
}
