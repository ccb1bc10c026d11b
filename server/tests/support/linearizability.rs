//! A linearizability checker for histories of reads and writes on a
//! key-value store. The keys are independent registers, so a history is
//! linearizable exactly when each key's sub-history is (linearizability is
//! compositional), and each key is checked on its own: Wing & Gong's search
//! for an order of the operations that respects real time and the register's
//! semantics, with Lowe's memoization of (operations linearized, register
//! value) as Porcupine does.
//!
//! An operation has a call time and, if its outcome is known, a return time.
//! A write whose outcome is unknown (a timeout, a dropped connection) may
//! have taken effect at any moment after its call, or never: it is given a
//! return time after everything, so the search may place it anywhere after
//! its call, including after every read (the same as never). Writes that
//! certainly failed, and reads that got no answer, are left out of the
//! history by the caller.

use std::collections::{BTreeMap, HashSet};

/// A register's value: the id of the write that stored it, or absent.
pub type Value = Option<u64>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A put (`Some`) or a delete (`None`).
    Write(Value),
    /// A read that returned this value.
    Read(Value),
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub key: String,
    pub action: Action,
    /// Nanoseconds since the history's start.
    pub call: u64,
    /// `None`: the outcome is unknown (writes only).
    pub ret: Option<u64>,
}

/// Search steps allowed per key before giving up (bounds the test's time;
/// a history that needs more is reported, not passed).
const STEPS_MAX: u64 = 50_000_000;

/// Checks every key; on failure, names the first key whose history is not
/// linearizable. Returns the number of keys checked.
pub fn check(history: &[Operation]) -> Result<usize, String> {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in history {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, ops) in &by_key {
        if !check_register(ops)? {
            let mut shown: Vec<_> = ops.iter().map(|o| format!("{:?} [{}, {:?}]", o.action, o.call, o.ret)).collect();
            shown.sort();
            return Err(format!("key {key}: no linearization of its {} operations:\n{}", ops.len(), shown.join("\n")));
        }
    }
    Ok(by_key.len())
}

const NIL: usize = usize::MAX;

/// One call or return in the doubly linked list the search walks.
struct Event {
    op: usize,
    is_call: bool,
    prev: usize,
    next: usize,
}

/// Whether one register's operations are linearizable (starting absent).
pub fn check_register(ops: &[&Operation]) -> Result<bool, String> {
    // Events in time order; at equal times calls first (the operations are
    // then concurrent, which allows more orders, never fewer).
    let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, op) in ops.iter().enumerate() {
        order.push((op.call, false, i));
        order.push((op.ret.unwrap_or(u64::MAX), true, i));
    }
    order.sort();
    // Node 0 is the head; event k is node k + 1.
    let mut events = vec![Event { op: NIL, is_call: false, prev: NIL, next: NIL }];
    let (mut call_node, mut return_node) = (vec![0; ops.len()], vec![0; ops.len()]);
    for (k, &(_, is_return, op)) in order.iter().enumerate() {
        let node = k + 1;
        events.push(Event { op, is_call: !is_return, prev: k, next: NIL });
        events[k].next = node;
        if is_return {
            return_node[op] = node;
        } else {
            call_node[op] = node;
        }
    }

    let mut state: Value = None;
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, Value)> = HashSet::new();
    // (operation, the register's value before it)
    let mut stack: Vec<(usize, Value)> = Vec::new();
    let mut entry = events[0].next;
    let mut steps = 0u64;
    while events[0].next != NIL {
        steps += 1;
        if steps > STEPS_MAX {
            return Err(format!("gave up after {STEPS_MAX} search steps on {} operations", ops.len()));
        }
        let event = &events[entry];
        let op = event.op;
        if event.is_call {
            let (legal, next_state) = match ops[op].action {
                Action::Write(v) => (true, v),
                Action::Read(v) => (v == state, state),
            };
            if legal {
                linearized[op / 64] |= 1 << (op % 64);
                if seen.insert((linearized.clone(), next_state)) {
                    stack.push((op, state));
                    state = next_state;
                    unlink(&mut events, call_node[op]);
                    unlink(&mut events, return_node[op]);
                    entry = events[0].next;
                    continue;
                }
                linearized[op / 64] &= !(1 << (op % 64));
            }
            entry = events[entry].next;
        } else {
            // An operation returned before any order could place it: undo
            // the last choice and try the next call after it.
            let Some((op, before)) = stack.pop() else { return Ok(false) };
            state = before;
            linearized[op / 64] &= !(1 << (op % 64));
            relink(&mut events, return_node[op]);
            relink(&mut events, call_node[op]);
            entry = events[call_node[op]].next;
        }
    }
    Ok(true)
}

fn unlink(events: &mut [Event], node: usize) {
    let (prev, next) = (events[node].prev, events[node].next);
    events[prev].next = next;
    if next != NIL {
        events[next].prev = prev;
    }
}

/// Puts back a node unlinked last-in-first-out (its neighbours' links still
/// point where they did).
fn relink(events: &mut [Event], node: usize) {
    let (prev, next) = (events[node].prev, events[node].next);
    events[prev].next = node;
    if next != NIL {
        events[next].prev = node;
    }
}
