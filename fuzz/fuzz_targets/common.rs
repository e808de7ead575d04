//! What both targets share.

use std::sync::Once;

/// Lets a panic inside the shell parser unwind to the classifier, which catches it and refuses the
/// command ("the parser failed on this input"), and keeps every other panic fatal.
///
/// libFuzzer's hook aborts on any panic, caught or not, so without this a parser panic the
/// classifier already handles would stop the run; a panic in toolkit-policy itself still aborts,
/// and so does any panic that reaches the fuzz target.
pub fn parser_panics_are_caught() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fatal = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info.location().is_some_and(|l| l.file().contains("brush-parser"));
            if !in_parser {
                fatal(info);
            }
        }));
    });
}
