//! Classes, reasons and verdicts (defined in `toolkit_core::verdict`), and the findings the
//! classifiers here turn into reasons.

pub use toolkit_core::verdict::{Class, Reason, Verdict};

/// A reason before it is tied to its part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub class: Class,
    pub rule: &'static str,
    pub message: String,
}

impl Finding {
    pub fn new(class: Class, rule: &'static str, message: impl Into<String>) -> Self {
        Finding { class, rule, message: message.into() }
    }

    pub fn read(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Read, rule, message)
    }

    pub fn sensitive(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Sensitive, rule, message)
    }

    pub fn write(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Write, rule, message)
    }

    pub fn unknown(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Unknown, rule, message)
    }

    pub fn interactive(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Interactive, rule, message)
    }

    pub fn dangerous(rule: &'static str, message: impl Into<String>) -> Self {
        Finding::new(Class::Dangerous, rule, message)
    }

    pub fn at(self, part: &str) -> Reason {
        Reason { class: self.class, part: part.to_owned(), rule: self.rule, message: self.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_severity() {
        assert!(Class::Read < Class::Sensitive);
        assert!(Class::Sensitive < Class::Write);
        assert!(Class::Write < Class::Unknown);
        assert!(Class::Unknown < Class::Interactive);
        assert!(Class::Interactive < Class::Dangerous);
    }

    #[test]
    fn the_most_severe_part_wins() {
        let v = Verdict::from_reasons(vec![
            Finding::read("a", "x").at("ls"),
            Finding::dangerous("b", "y").at("rm -rf /"),
            Finding::write("c", "z").at("touch f"),
        ]);
        assert_eq!(v.class, Class::Dangerous);
        assert_eq!(v.decisive().count(), 1);
        assert_eq!(Verdict::from_reasons(Vec::new()).class, Class::Read);
    }
}
