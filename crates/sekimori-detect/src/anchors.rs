//! A fix for rsigma-eval 0.23's `|startswith` and `|endswith` on values with wildcards
//! (ADR 0004, third defect).
//!
//! rsigma compiles a value with `*` or `?` to a regular expression and puts the anchors on
//! the wrong sides for these two modifiers: `X|startswith: 'a*b'` became `a.*b$` and
//! `X|endswith: '1?'` became `^1.`. By the Sigma specification, `startswith: V` is the
//! wildcard pattern `V*` and `endswith: V` is `*V`, so before a rule is compiled each such
//! item is rewritten to exactly that: the modifier goes and every string value gets the
//! wildcard on the open side. Items where no value has a wildcard keep their modifier (and
//! rsigma's fast plain-string matchers); items with encoding or pattern modifiers
//! (`base64`, `wide`, `re`, `cidr`, …), whose values are not matched as written, are left
//! alone.

use rsigma_parser::{Detection, DetectionItem, Detections, Modifier, SigmaString, SigmaValue, SpecialChar, StringPart};

/// Rewrites every affected item in `detections`; returns how many were rewritten.
pub(crate) fn fix(detections: &mut Detections) -> usize {
    detections.named.values_mut().map(fix_detection).sum()
}

fn fix_detection(d: &mut Detection) -> usize {
    match d {
        Detection::AllOf(items) => items.iter_mut().map(fix_item).sum(),
        Detection::AnyOf(subs) => subs.iter_mut().map(fix_detection).sum(),
        Detection::ArrayMatch { body, .. } => fix_detection(body),
        _ => 0,
    }
}

/// Modifiers that leave a value matched as written, so a wildcard can stand in for the
/// anchor.
fn as_written(m: &Modifier) -> bool {
    matches!(m, Modifier::StartsWith | Modifier::EndsWith | Modifier::All | Modifier::Cased | Modifier::WindAsh)
}

fn has_wildcard(v: &SigmaValue) -> bool {
    matches!(v, SigmaValue::String(s) if s.contains_wildcards())
}

fn fix_item(item: &mut DetectionItem) -> usize {
    let mods = &item.field.modifiers;
    let start = mods.contains(&Modifier::StartsWith);
    let end = mods.contains(&Modifier::EndsWith);
    if start == end
        || !mods.iter().all(as_written)
        || !item.values.iter().any(has_wildcard)
        || !item.values.iter().all(|v| matches!(v, SigmaValue::String(_)))
    {
        return 0;
    }
    item.field.modifiers.retain(|m| !matches!(m, Modifier::StartsWith | Modifier::EndsWith));
    for v in &mut item.values {
        if let SigmaValue::String(s) = v {
            *s = if start { open_end(s) } else { open_start(s) };
        }
    }
    1
}

/// `V*`
fn open_end(s: &SigmaString) -> SigmaString {
    let mut parts = s.parts.clone();
    if !matches!(parts.last(), Some(StringPart::Special(SpecialChar::WildcardMulti))) {
        parts.push(StringPart::Special(SpecialChar::WildcardMulti));
    }
    SigmaString { parts, original: format!("{}*", s.original) }
}

/// `*V`
fn open_start(s: &SigmaString) -> SigmaString {
    let mut parts = s.parts.clone();
    if !matches!(parts.first(), Some(StringPart::Special(SpecialChar::WildcardMulti))) {
        parts.insert(0, StringPart::Special(SpecialChar::WildcardMulti));
    }
    SigmaString { parts, original: format!("*{}", s.original) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(modifiers: Vec<Modifier>, values: &[&str]) -> DetectionItem {
        DetectionItem {
            field: rsigma_parser::FieldSpec::new(Some("F".into()), modifiers),
            values: values.iter().map(|v| SigmaValue::String(SigmaString::new(v))).collect(),
        }
    }

    #[test]
    fn only_anchored_items_with_wildcards_as_written_are_rewritten() {
        let mut i = item(vec![Modifier::EndsWith], &["1?", "ab"]);
        assert_eq!(fix_item(&mut i), 1);
        assert!(i.field.modifiers.is_empty());
        let originals: Vec<_> = i
            .values
            .iter()
            .map(|v| if let SigmaValue::String(s) = v { s.original.clone() } else { String::new() })
            .collect();
        assert_eq!(originals, ["*1?", "*ab"]);
        for unchanged in [
            item(vec![Modifier::EndsWith], &["ab"]),
            item(vec![Modifier::Contains], &["a*b"]),
            item(vec![Modifier::Base64, Modifier::StartsWith], &["a*b"]),
            item(vec![], &["a*b"]),
        ] {
            let mut copy = unchanged.clone();
            assert_eq!(fix_item(&mut copy), 0);
            assert_eq!(copy, unchanged);
        }
    }
}
