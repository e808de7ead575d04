//! Tool calls running now, per caller and per tool, against [`CallCaps`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::CallCaps;

#[derive(Debug, Default)]
struct Counts {
    callers: HashMap<String, usize>,
    tools: HashMap<String, usize>,
}

/// The counts of calls running, shared by every session.
pub(crate) struct Running {
    caps: CallCaps,
    counts: Arc<Mutex<Counts>>,
}

impl Running {
    pub(crate) fn new(caps: CallCaps) -> Self {
        Self { caps, counts: Arc::default() }
    }

    /// Claims a slot for a call of `tool` by `caller`; the slot is freed when the returned
    /// value is dropped. When a cap is full, says which.
    pub(crate) fn start(&self, caller: &str, tool: &str) -> Result<RunningCall, String> {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let by_caller = counts.callers.get(caller).copied().unwrap_or(0);
        if by_caller >= self.caps.per_identity {
            return Err(format!(
                "{caller} already has {by_caller} calls running, the most one caller may (--max-calls-per-identity); \
                 retry when one has finished"
            ));
        }
        let by_tool = counts.tools.get(tool).copied().unwrap_or(0);
        if by_tool >= self.caps.per_tool {
            return Err(format!(
                "tool {tool} already has {by_tool} calls running, the most one tool may (--max-calls-per-tool); \
                 retry when one has finished"
            ));
        }
        *counts.callers.entry(caller.to_owned()).or_default() += 1;
        *counts.tools.entry(tool.to_owned()).or_default() += 1;
        Ok(RunningCall { counts: self.counts.clone(), caller: caller.to_owned(), tool: tool.to_owned() })
    }
}

/// One call's slot.
#[derive(Debug)]
pub(crate) struct RunningCall {
    counts: Arc<Mutex<Counts>>,
    caller: String,
    tool: String,
}

impl Drop for RunningCall {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Counts { callers, tools } = &mut *counts;
        for (map, key) in [(callers, &self.caller), (tools, &self.tool)] {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_caller_and_per_tool() {
        let running = Running::new(CallCaps { per_identity: 2, per_tool: 3 });
        let a1 = running.start("a", "t").unwrap();
        let _a2 = running.start("a", "t").unwrap();
        assert!(running.start("a", "u").unwrap_err().contains("--max-calls-per-identity"));
        let _b1 = running.start("b", "t").unwrap();
        assert!(running.start("c", "t").unwrap_err().contains("--max-calls-per-tool"));
        drop(a1);
        let _c = running.start("c", "t").unwrap();
        assert!(running.counts.lock().unwrap().callers.get("a") == Some(&1));
    }
}
