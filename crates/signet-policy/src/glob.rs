//! Glob patterns for tool, server, agent and argument matching: `*` matches any run of
//! characters (including none), `?` exactly one character, anything else itself.
//! Case-sensitive; linear memory, O(pattern × text) time at worst, never panics.

/// Whether `text` matches `pattern` as a whole.
#[must_use]
pub fn matches(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index it matched to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        match (p.get(pi), t.get(ti)) {
            (Some(b'*'), _) => {
                pi = pi.saturating_add(1);
                star = Some((pi, ti));
            }
            (Some(b'?'), Some(&c)) => {
                pi = pi.saturating_add(1);
                ti = ti.saturating_add(utf8_len(c));
            }
            (Some(&pc), Some(&tc)) if pc == tc => {
                pi = pi.saturating_add(1);
                ti = ti.saturating_add(1);
            }
            (None, None) => return true,
            _ => {
                // Mismatch: let the last `*` swallow one more character, if there was one.
                let Some((sp, st)) = star else {
                    return false;
                };
                let Some(&c) = t.get(st) else {
                    return false;
                };
                let next = st.saturating_add(utf8_len(c));
                star = Some((sp, next));
                pi = sp;
                ti = next;
            }
        }
        if ti > t.len() {
            return false;
        }
    }
}

/// Whether any of `patterns` matches `text`.
#[must_use]
pub fn any(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| matches(p, text))
}

/// Length of the UTF-8 sequence starting with `lead` (1 for a stray continuation byte).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_star_and_question_mark() {
        assert!(matches("delete_*", "delete_records"));
        assert!(matches("delete_*", "delete_"));
        assert!(!matches("delete_*", "undelete_x"));
        assert!(matches("*rm -rf*", "cd / && rm -rf ."));
        assert!(!matches("*rm -rf*", "rm -r f"));
        assert!(matches("a?c", "abc"));
        assert!(matches("a?c", "aéc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*", ""));
        assert!(!matches("", "x"));
        assert!(matches("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!matches("*a*b*c*", "xxaxxcxxbxx"));
        assert!(matches("/srv/*", "/srv/a/b"));
    }
}
