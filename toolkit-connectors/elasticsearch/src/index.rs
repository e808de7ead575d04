//! Index names and the `index` restriction of a tool.
//!
//! `spec.config.index` is a comma-separated list of names and `*` patterns. An index expression
//! in a call (`logs-2024.05`, `logs-*`, `a,b`) is allowed when every comma-separated part matches
//! one of the patterns with its own `*` taken literally: a pattern's `*` may stand for the call's
//! `*`, so `logs-*` is allowed by `logs-*`, but `*` or `logs*` are not. Exclusions (`-name`),
//! `_all` and other names starting with `_` are never allowed under a restriction.

/// The indices a tool may reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexPatterns(Vec<String>);

/// Whether `s` can be an index name or pattern in a URL path: no characters that would leave
/// the path segment or that Elasticsearch forbids in names.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 255
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '"' | '<' | '>' | '|' | ',')
        })
}

impl IndexPatterns {
    /// Reads `a,b-*`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<String> = text.split(',').map(|p| p.trim().to_owned()).collect();
        for p in &parts {
            if !is_name(p) || p.starts_with(['-', '_', '+']) {
                return Err(format!("`{p}` is not an index name or pattern"));
            }
        }
        Ok(Self(parts))
    }

    /// The patterns as written.
    pub fn as_str(&self) -> String {
        self.0.join(",")
    }

    /// Whether the call's index expression stays inside the patterns.
    pub fn allows(&self, expression: &str) -> bool {
        expression.split(',').all(|part| {
            !part.starts_with(['-', '_', '+']) && self.0.iter().any(|p| glob(p.as_bytes(), part.as_bytes()))
        })
    }
}

/// `*`-only glob: `pattern` against `text`, where `text`'s own `*` is an ordinary character.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Checks a call's index expression: well formed (`Err` is `InvalidInput`), and when
/// `concrete`, one index without `*` or `,`.
pub(crate) fn check_expression(expression: &str, concrete: bool) -> Result<(), String> {
    for part in expression.split(',') {
        if !is_name(part) {
            return Err(format!("`{part}` is not an index name or pattern"));
        }
    }
    if concrete && expression.contains(['*', ',']) {
        return Err(format!("`{expression}` is a pattern; this operation takes one index"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_allow_only_what_they_cover() {
        let p = IndexPatterns::parse("logs-*, metrics").unwrap();
        for ok in ["logs-2024", "logs-*", "logs-a*", "metrics", "logs-x,metrics"] {
            assert!(p.allows(ok), "{ok}");
        }
        for no in ["*", "logs*", "metrics2", "secret", "logs-x,secret", "_all", "-logs-x", "metric*"] {
            assert!(!p.allows(no), "{no}");
        }
        assert!(IndexPatterns::parse("a/b").is_err());
        assert!(IndexPatterns::parse("_all").is_err());
        assert!(check_expression("a,b", true).is_err());
        assert!(check_expression("a/../b", false).is_err());
        assert!(check_expression("a", true).is_ok());
        assert!(check_expression("..", false).is_err());
    }
}
