//! The sieve's three-valued logic: a rule's condition over the leaves one event's scan
//! decides, how it is simplified, and which of its literals trigger it.

/// Kleene's three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Truth {
    False,
    Unknown,
    True,
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }
}

/// How a literal must sit in the lower-cased field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Anywhere,
    Start,
    End,
    Whole,
}

/// A rule's condition over what one event's scan decides.
#[derive(Debug)]
pub(super) enum Formula {
    Const(Truth),
    /// One literal of the enclosing item's field (only inside [`Formula::Item`]).
    Leaf(u32),
    /// Any (`all: false`) or every (`all: true`) literal of `start..end` (a value list).
    Leaves {
        start: u32,
        end: u32,
        all: bool,
    },
    /// A regular expression that can only match where one of the literals `start..end`
    /// occurs (its possible prefixes or suffixes): false if none does, else unknown.
    Maybe(Box<[u32]>),
    /// A literal with non-ASCII characters: false on ASCII text, unknown on other text.
    Wide,
    /// A detection item on `field`: false when the field is absent, unknown when its value
    /// is not decidable, else `body` over the field's literals.
    Item {
        field: u32,
        body: Box<Formula>,
    },
    /// `field|exists: expect`.
    Exists {
        field: u32,
        expect: bool,
    },
    And(Vec<Formula>),
    Or(Vec<Formula>),
    Not(Box<Formula>),
    /// At least `n` of the parts hold (`N of selection_*`).
    AtLeast(u64, Vec<Formula>),
}

/// What the scan found a field to be in one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Absent,
    /// Present, but not an ASCII string: the sieve does not decide items on it.
    Undecided,
    /// An ASCII string, scanned.
    Text,
    /// A string with non-ASCII characters, scanned: its ASCII literals are decided, its
    /// non-ASCII ones are not.
    Wide,
}

impl Formula {
    /// The formula's value on an event, given what the scan found of each field (`states`)
    /// and which leaves hold (`hits`).
    pub(super) fn eval(&self, states: &[State], hits: &[u64]) -> Truth {
        self.judge(states, hits, Truth::False)
    }

    /// [`Formula::eval`], with `wide` the value of a non-ASCII literal: false on ASCII
    /// text, unknown on other text (set by the enclosing item's field).
    fn judge(&self, states: &[State], hits: &[u64], wide: Truth) -> Truth {
        match self {
            Formula::Const(t) => *t,
            Formula::Leaf(l) => {
                let l = *l as usize;
                if hits[l / 64] & (1 << (l % 64)) != 0 {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            Formula::Leaves { start, end, all } => truth(leaves_hold(hits, *start, *end, *all)),
            Formula::Maybe(leaves) => {
                if leaves.iter().any(|&l| hits[l as usize / 64] & (1 << (l % 64)) != 0) {
                    Truth::Unknown
                } else {
                    Truth::False
                }
            }
            Formula::Wide => wide,
            Formula::Item { field, body } => match states[*field as usize] {
                State::Absent => Truth::False,
                State::Undecided => Truth::Unknown,
                State::Text => body.judge(states, hits, Truth::False),
                State::Wide => body.judge(states, hits, Truth::Unknown),
            },
            Formula::Exists { field, expect } => match states[*field as usize] {
                State::Absent => truth(!expect),
                State::Undecided => Truth::Unknown,
                State::Text | State::Wide => truth(*expect),
            },
            Formula::And(parts) => all(parts.iter().map(|p| p.judge(states, hits, wide))),
            Formula::Or(parts) => any(parts.iter().map(|p| p.judge(states, hits, wide))),
            Formula::Not(inner) => inner.judge(states, hits, wide).not(),
            Formula::AtLeast(n, parts) => at_least(*n, parts.iter().map(|p| p.judge(states, hits, wide))),
        }
    }

    /// Triggers: leaves of which at least one must hold for the formula to be anything but
    /// false on an event whose fields are all absent or scanned text, chosen to hold rarely
    /// ([`rarity`]); `None` when there is no such set (the rule is then looked at on every
    /// event). An `and` needs only one of its parts' sets: the rarest is taken. Field `f`'s
    /// *wide leaf* (`wide_base + f`) holds when its text is not ASCII: non-ASCII literals
    /// are unknown only then.
    pub(super) fn triggers(&self, leaves: &[Shape], wide_base: u32) -> Option<Vec<u32>> {
        self.triggers_in(leaves, wide_base, None)
    }

    /// [`Formula::triggers`] with `wide` the enclosing item's wide leaf.
    fn triggers_in(&self, leaves: &[Shape], wide_base: u32, wide: Option<u32>) -> Option<Vec<u32>> {
        match self {
            Formula::Const(Truth::False) => Some(Vec::new()),
            Formula::Const(_) | Formula::Exists { .. } | Formula::Not(_) => None,
            Formula::Wide => wide.map(|l| vec![l]),
            Formula::Leaf(l) => Some(vec![*l]),
            Formula::Leaves { start, end, all: false } => Some((*start..*end).collect()),
            Formula::Maybe(leaves) => Some(leaves.to_vec()),
            // Every literal must match: the rarest is enough.
            Formula::Leaves { start, end, all: true } => {
                (*start..*end).map(|l| vec![l]).min_by(|a, b| rarity(a, leaves).total_cmp(&rarity(b, leaves)))
            }
            Formula::Item { field, body } => body.triggers_in(leaves, wide_base, Some(wide_base + field)),
            Formula::And(parts) => parts
                .iter()
                .filter_map(|p| p.triggers_in(leaves, wide_base, wide))
                .min_by(|a, b| rarity(a, leaves).total_cmp(&rarity(b, leaves))),
            Formula::Or(parts) | Formula::AtLeast(_, parts) => {
                if matches!(self, Formula::AtLeast(0, _)) {
                    return None;
                }
                let mut out = Vec::new();
                for p in parts {
                    out.extend(p.triggers_in(leaves, wide_base, wide)?);
                }
                Some(out)
            }
        }
    }
}

/// What the choice of triggers knows of a leaf.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub(super) anchor: Anchor,
    pub(super) len: usize,
    /// How many times rules use it.
    pub(super) users: u32,
}

/// How often a set of literals is expected to match (lower is rarer): anchored literals
/// rarely hold, short unanchored ones often do. Only the choice of triggers depends on it.
fn rarity(set: &[u32], leaves: &[Shape]) -> f64 {
    set.iter()
        .map(|&l| {
            let Shape { anchor, len, users } = leaves[l as usize];
            let base = literal_rarity(len);
            // A literal many rules share is one common in logs (`\\cmd.exe`), and as a
            // trigger it makes every one of them a candidate.
            f64::from(users)
                * match anchor {
                    Anchor::Anywhere => base,
                    Anchor::Start | Anchor::End => base / 10.0,
                    Anchor::Whole => base / 100.0,
                }
        })
        .sum()
}

/// How often an unanchored literal of `len` bytes is expected to occur in a value.
pub(super) fn literal_rarity(len: usize) -> f64 {
    match len {
        0..=2 => 0.5,
        3..=4 => 0.2,
        5..=8 => 0.05,
        _ => 0.01,
    }
}

/// Whether any (or every) bit of `start..end` is set.
fn leaves_hold(hits: &[u64], start: u32, end: u32, all: bool) -> bool {
    let (start, end) = (start as usize, end as usize);
    let mut l = start;
    while l < end {
        let word = l / 64;
        let lo = l % 64;
        let hi = (end - word * 64).min(64);
        let width = hi - lo;
        let mask = if width == 64 { u64::MAX } else { ((1u64 << width) - 1) << lo };
        let bits = hits[word] & mask;
        if all && bits != mask {
            return false;
        }
        if !all && bits != 0 {
            return true;
        }
        l = word * 64 + hi;
    }
    all
}

/// `And` (`all`) or `Or` of `parts`, simplified so that evaluating it is cheap: nested
/// parts of the same kind flattened, constants folded, non-ASCII literals merged (they are
/// all false or all unknown together), and runs of consecutive literals (a value list)
/// made one [`Formula::Leaves`].
pub(super) fn combine(parts: Vec<Formula>, all: bool) -> Formula {
    let (unit, zero) = if all { (Truth::True, Truth::False) } else { (Truth::False, Truth::True) };
    let mut flat = Vec::new();
    let mut leaves = Vec::new();
    let mut wide = false;
    // Items on one field are one item: an `and`/`or` of items on field `f` is false when `f`
    // is absent, unknown when it is undecided, and the `and`/`or` of their bodies when it is
    // text, as the item of the combined bodies is (SigmaHQ's filters test `Image` dozens
    // of times in one rule).
    let mut items: Vec<(u32, Vec<Formula>)> = Vec::new();
    let mut pending = parts;
    while let Some(p) = pending.pop() {
        match p {
            Formula::And(inner) if all => pending.extend(inner),
            Formula::Or(inner) if !all => pending.extend(inner),
            Formula::Const(t) if t == unit => {}
            Formula::Const(t) if t == zero => return Formula::Const(zero),
            Formula::Wide => wide = true,
            Formula::Leaf(l) => leaves.push(l),
            Formula::Leaves { start, end, all: a } if a == all => leaves.extend(start..end),
            Formula::Item { field, body } => match items.iter_mut().find(|(f, _)| *f == field) {
                Some((_, bodies)) => bodies.push(*body),
                None => items.push((field, vec![*body])),
            },
            other => flat.push(other),
        }
    }
    for (field, mut bodies) in items {
        let body = if bodies.len() == 1 { bodies.pop().unwrap_or(Formula::Const(unit)) } else { combine(bodies, all) };
        flat.push(Formula::Item { field, body: Box::new(body) });
    }
    leaves.sort_unstable();
    leaves.dedup();
    let mut i = 0;
    while i < leaves.len() {
        let mut j = i + 1;
        while j < leaves.len() && leaves[j] == leaves[j - 1] + 1 {
            j += 1;
        }
        flat.push(if j == i + 1 {
            Formula::Leaf(leaves[i])
        } else {
            Formula::Leaves { start: leaves[i], end: leaves[j - 1] + 1, all }
        });
        i = j;
    }
    if wide {
        flat.push(Formula::Wide);
    }
    match flat.len() {
        0 => Formula::Const(unit),
        1 => flat.pop().unwrap_or(Formula::Const(unit)),
        _ if all => Formula::And(flat),
        _ => Formula::Or(flat),
    }
}

fn truth(b: bool) -> Truth {
    if b {
        Truth::True
    } else {
        Truth::False
    }
}

fn all(parts: impl Iterator<Item = Truth>) -> Truth {
    let mut out = Truth::True;
    for t in parts {
        match t {
            Truth::False => return Truth::False,
            Truth::Unknown => out = Truth::Unknown,
            Truth::True => {}
        }
    }
    out
}

fn any(parts: impl Iterator<Item = Truth>) -> Truth {
    let mut out = Truth::False;
    for t in parts {
        match t {
            Truth::True => return Truth::True,
            Truth::Unknown => out = Truth::Unknown,
            Truth::False => {}
        }
    }
    out
}

fn at_least(n: u64, parts: impl Iterator<Item = Truth>) -> Truth {
    if n == 0 {
        return Truth::True;
    }
    let (mut yes, mut maybe) = (0u64, 0u64);
    for t in parts {
        match t {
            Truth::True => yes += 1,
            Truth::Unknown => maybe += 1,
            Truth::False => {}
        }
    }
    if yes >= n {
        Truth::True
    } else if yes + maybe >= n {
        Truth::Unknown
    } else {
        Truth::False
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Truth = Truth::False;
    const U: Truth = Truth::Unknown;
    const T: Truth = Truth::True;

    #[test]
    fn items_on_one_field_are_merged_without_changing_a_value() {
        let item = |field, body| Formula::Item { field, body: Box::new(body) };
        let parts = || {
            vec![
                item(0, Formula::Leaf(0)),
                item(1, Formula::Leaf(1)),
                item(0, Formula::Not(Box::new(Formula::Leaf(2)))),
                item(0, Formula::Wide),
            ]
        };
        let all_states = [State::Absent, State::Undecided, State::Text, State::Wide];
        for all in [false, true] {
            let merged = combine(parts(), all);
            let items = match &merged {
                Formula::And(p) | Formula::Or(p) => p.len(),
                _ => 1,
            };
            assert_eq!(items, 2, "one item per field: {merged:?}");
            for s0 in all_states {
                for s1 in all_states {
                    for bits in 0..8u64 {
                        let (states, hits) = ([s0, s1], [bits]);
                        let each = parts().iter().map(|p| p.eval(&states, &hits)).collect::<Vec<_>>();
                        let expected = if all { super::all(each.into_iter()) } else { any(each.into_iter()) };
                        assert_eq!(merged.eval(&states, &hits), expected, "{all} {states:?} {bits:b}");
                    }
                }
            }
        }
    }

    #[test]
    fn kleene_connectives() {
        assert_eq!(all([T, U].into_iter()), U);
        assert_eq!(all([U, F].into_iter()), F);
        assert_eq!(all(std::iter::empty()), T);
        assert_eq!(any([F, U].into_iter()), U);
        assert_eq!(any([U, T].into_iter()), T);
        assert_eq!(any(std::iter::empty()), F);
        assert_eq!(U.not(), U);
        assert_eq!(at_least(2, [T, U, F].into_iter()), U);
        assert_eq!(at_least(2, [T, T, F].into_iter()), T);
        assert_eq!(at_least(2, [T, F, F].into_iter()), F);
        assert_eq!(at_least(0, std::iter::empty()), T);
    }

    #[test]
    fn leaf_ranges_across_words() {
        let mut hits = vec![0u64; 3];
        hits[1] |= 1 << 3; // leaf 67
        assert!(leaves_hold(&hits, 60, 70, false));
        assert!(!leaves_hold(&hits, 0, 64, false));
        assert!(!leaves_hold(&hits, 60, 70, true));
        hits[0] = u64::MAX;
        hits[1] = 0b1111;
        assert!(leaves_hold(&hits, 10, 68, true));
        assert!(!leaves_hold(&hits, 10, 69, true));
        assert!(leaves_hold(&hits, 5, 5, true), "an empty `all` holds");
    }

    #[test]
    fn combine_folds_constants_runs_and_nesting() {
        let leaves = |ls: &[u32]| ls.iter().map(|&l| Formula::Leaf(l)).collect::<Vec<_>>();
        assert!(matches!(combine(leaves(&[3, 1, 2]), false), Formula::Leaves { start: 1, end: 4, all: false }));
        let mut parts = leaves(&[1]);
        parts.push(Formula::Or(leaves(&[2, 7])));
        parts.push(Formula::Const(F));
        match combine(parts, false) {
            Formula::Or(p) => {
                assert!(matches!(p[..], [Formula::Leaves { start: 1, end: 3, all: false }, Formula::Leaf(7)]))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(combine(vec![Formula::Leaf(1), Formula::Const(T)], false), Formula::Const(T)));
        assert!(matches!(combine(vec![Formula::Leaf(1), Formula::Const(F)], true), Formula::Const(F)));
        assert!(matches!(combine(vec![Formula::Wide, Formula::Wide], false), Formula::Wide));
        assert!(matches!(combine(Vec::new(), true), Formula::Const(T)));
    }

    #[test]
    fn a_wide_literal_is_false_on_ascii_text_and_unknown_on_other_text() {
        let item = |body| Formula::Item { field: 0, body: Box::new(body) };
        assert_eq!(item(Formula::Wide).eval(&[State::Text], &[0]), F);
        assert_eq!(item(Formula::Wide).eval(&[State::Wide], &[0]), U);
        assert_eq!(item(Formula::Not(Box::new(Formula::Wide))).eval(&[State::Text], &[0]), T);
        assert_eq!(item(Formula::Leaf(0)).eval(&[State::Wide], &[1]), T);
        assert_eq!(item(Formula::Leaf(0)).eval(&[State::Absent], &[1]), F);
        assert_eq!(item(Formula::Leaf(0)).eval(&[State::Undecided], &[0]), U);
    }

    #[test]
    fn triggers_take_the_rarest_part_of_an_and_and_every_part_of_an_or() {
        let shape = |anchor, len, users| Shape { anchor, len, users };
        // 0: `\cmd.exe` at the end, shared by 300 rules; 1: a long unanchored literal of
        // this rule alone; 2, 3: two short ones.
        let shapes = [
            shape(Anchor::End, 8, 300),
            shape(Anchor::Anywhere, 12, 1),
            shape(Anchor::Anywhere, 2, 1),
            shape(Anchor::Anywhere, 3, 1),
        ];
        let rule = Formula::And(vec![Formula::Leaf(0), Formula::Leaf(1)]);
        assert_eq!(rule.triggers(&shapes, 4), Some(vec![1]));
        let rule = Formula::Or(vec![Formula::Leaf(0), Formula::Leaves { start: 2, end: 4, all: false }]);
        assert_eq!(rule.triggers(&shapes, 4), Some(vec![0, 2, 3]));
        assert_eq!(Formula::Leaves { start: 1, end: 4, all: true }.triggers(&shapes, 4), Some(vec![1]));
        assert_eq!(Formula::Not(Box::new(Formula::Leaf(1))).triggers(&shapes, 4), None);
        assert_eq!(
            Formula::And(vec![Formula::Const(U), Formula::Not(Box::new(Formula::Leaf(1)))]).triggers(&shapes, 4),
            None
        );
        assert_eq!(Formula::AtLeast(0, vec![Formula::Leaf(1)]).triggers(&shapes, 4), None);
        assert_eq!(Formula::Maybe(vec![2, 3].into_boxed_slice()).triggers(&shapes, 4), Some(vec![2, 3]));
        // A non-ASCII literal of field 1 is triggered by that field's wide leaf (4 + 1).
        let wide = Formula::Item { field: 1, body: Box::new(Formula::Or(vec![Formula::Leaf(1), Formula::Wide])) };
        assert_eq!(wide.triggers(&shapes, 4), Some(vec![1, 5]));
        assert_eq!(Formula::Wide.triggers(&shapes, 4), None);
    }
}
