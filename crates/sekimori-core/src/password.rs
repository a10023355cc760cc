//! Password policy: four levels a tenant chooses from, each explained to the user in
//! English and Japanese when a password is refused.
//!
//! | level | length | composition | also refused |
//! |---|---|---|---|
//! | 1 | ≥ 8 | — | a common password; the username itself |
//! | 2 | ≥ 10 | two kinds of character | as level 1 |
//! | 3 | ≥ 12 | letters, digits and symbols | as level 1; containing the username |
//! | 4 | ≥ 14 | three kinds of character | as level 3; *based on* a common password (`P@ssw0rd2024!!` is `password`) |
//!
//! Kinds of character: lowercase, uppercase, digits, symbols, and letters without case
//! (kana, kanji, …), so a Japanese password is not forced into Latin letters. Lengths
//! count Unicode scalar values. Every level caps a password at [`MAX_PASSWORD_CHARS`].
//!
//! The common-password list is the 30,000 most frequent passwords of the Xato corpus as
//! shipped by zxcvbn (MIT), embedded in the binary (`data/common-passwords.txt`). NIST
//! SP 800-63B §3.1.1.2 asks every verifier to compare new passwords with such a list,
//! so every level does; level 4 also catches the usual disguises.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Serialize;

/// The longest password accepted at any level, in characters.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A usernames shorter than this is not looked for inside passwords (every password
/// "contains" a one-letter name).
const MIN_USERNAME_IN_PASSWORD: usize = 3;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().filter(|l| !l.is_empty()).collect());

/// A tenant's password policy level, 1 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PasswordPolicy(u8);

/// One rule of a policy, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id (`min_length`, `classes`, `letters_digits_symbols`, `not_username`,
    /// `not_common`, `max_length`).
    pub id: &'static str,
    /// The rule in English.
    pub en: String,
    /// The rule in Japanese.
    pub ja: String,
}

/// A rule a password breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule's id.
    pub rule: &'static str,
    /// What is wrong, in English.
    pub en: String,
    /// What is wrong, in Japanese.
    pub ja: String,
}

/// Kinds of character, as a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Kinds {
    lower: bool,
    upper: bool,
    digit: bool,
    symbol: bool,
    uncased: bool,
}

impl Kinds {
    fn of(password: &str) -> Self {
        let mut k = Kinds::default();
        for c in password.chars() {
            if c.is_lowercase() {
                k.lower = true;
            } else if c.is_uppercase() {
                k.upper = true;
            } else if c.is_numeric() {
                k.digit = true;
            } else if c.is_alphabetic() {
                k.uncased = true;
            } else {
                k.symbol = true;
            }
        }
        k
    }

    fn count(self) -> usize {
        [self.lower, self.upper, self.digit, self.symbol, self.uncased].iter().filter(|b| **b).count()
    }

    fn letters(self) -> bool {
        self.lower || self.upper || self.uncased
    }
}

impl Default for PasswordPolicy {
    /// Level 2.
    fn default() -> Self {
        PasswordPolicy(2)
    }
}

impl PasswordPolicy {
    /// The lowest level.
    pub const MIN: u8 = 1;
    /// The highest level.
    pub const MAX: u8 = 4;

    /// Level `level`, if it is 1 to 4.
    pub fn new(level: u8) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&level).then_some(PasswordPolicy(level))
    }

    /// The level, 1 to 4.
    pub fn level(self) -> u8 {
        self.0
    }

    /// The shortest password allowed, in characters.
    pub fn min_chars(self) -> usize {
        match self.0 {
            1 => 8,
            2 => 10,
            3 => 12,
            _ => 14,
        }
    }

    /// The rules of this level, in the order they are checked.
    pub fn rules(self) -> Vec<Rule> {
        let mut rules = vec![Rule {
            id: "min_length",
            en: format!("at least {} characters (at most {MAX_PASSWORD_CHARS})", self.min_chars()),
            ja: format!("{}文字以上（{MAX_PASSWORD_CHARS}文字以内）", self.min_chars()),
        }];
        match self.0 {
            2 => rules.push(Rule {
                id: "classes",
                en: "at least two kinds of character: lowercase, uppercase, digits, symbols".into(),
                ja: "英小文字・英大文字・数字・記号のうち2種類以上".into(),
            }),
            3 => rules.push(Rule {
                id: "letters_digits_symbols",
                en: "letters, digits and symbols, each at least once".into(),
                ja: "文字・数字・記号をそれぞれ1つ以上".into(),
            }),
            4 => rules.push(Rule {
                id: "classes",
                en: "at least three kinds of character: lowercase, uppercase, digits, symbols".into(),
                ja: "英小文字・英大文字・数字・記号のうち3種類以上".into(),
            }),
            _ => {}
        }
        rules.push(if self.0 >= 3 {
            Rule {
                id: "not_username",
                en: "must not contain the username".into(),
                ja: "ユーザー名を含まないこと".into(),
            }
        } else {
            Rule {
                id: "not_username", en: "must not be the username".into(), ja: "ユーザー名と同じでないこと".into()
            }
        });
        rules.push(if self.0 >= 4 {
            Rule {
                id: "not_common",
                en: "must not be, or be made from, a commonly used password".into(),
                ja: "よく使われるパスワードやその変形でないこと".into(),
            }
        } else {
            Rule {
                id: "not_common",
                en: "must not be a commonly used password".into(),
                ja: "よく使われるパスワードでないこと".into(),
            }
        });
        rules
    }

    /// Checks `password` for `username`; every rule it breaks is listed.
    pub fn check(self, password: &str, username: &str) -> Result<(), Vec<Violation>> {
        let mut v = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_chars() {
            v.push(Violation {
                rule: "min_length",
                en: format!("it has {chars} characters; at least {} are needed", self.min_chars()),
                ja: format!("{chars}文字です。{}文字以上必要です", self.min_chars()),
            });
        } else if chars > MAX_PASSWORD_CHARS {
            v.push(Violation {
                rule: "max_length",
                en: format!("it has {chars} characters; at most {MAX_PASSWORD_CHARS} are allowed"),
                ja: format!("{chars}文字です。{MAX_PASSWORD_CHARS}文字以内にしてください"),
            });
        }
        let kinds = Kinds::of(password);
        match self.0 {
            2 if kinds.count() < 2 => v.push(Violation {
                rule: "classes",
                en: "it uses one kind of character; mix at least two (lowercase, uppercase, digits, symbols)".into(),
                ja: "1種類の文字だけです。2種類以上を組み合わせてください".into(),
            }),
            3 if !(kinds.letters() && kinds.digit && kinds.symbol) => {
                let mut missing = Vec::new();
                if !kinds.letters() {
                    missing.push(("letters", "文字"));
                }
                if !kinds.digit {
                    missing.push(("digits", "数字"));
                }
                if !kinds.symbol {
                    missing.push(("symbols", "記号"));
                }
                v.push(Violation {
                    rule: "letters_digits_symbols",
                    en: format!("it has no {}", missing.iter().map(|m| m.0).collect::<Vec<_>>().join(" and no ")),
                    ja: format!("{}が含まれていません", missing.iter().map(|m| m.1).collect::<Vec<_>>().join("・")),
                });
            }
            4 if kinds.count() < 3 => v.push(Violation {
                rule: "classes",
                en: format!(
                    "it uses {} kind(s) of character; mix at least three (lowercase, uppercase, digits, symbols)",
                    kinds.count()
                ),
                ja: format!("{}種類の文字だけです。3種類以上を組み合わせてください", kinds.count()),
            }),
            _ => {}
        }
        let lower = password.to_lowercase();
        let user = username.to_lowercase();
        if lower == user || (self.0 >= 3 && user.chars().count() >= MIN_USERNAME_IN_PASSWORD && lower.contains(&user)) {
            v.push(Violation {
                rule: "not_username",
                en: "it contains the username".into(),
                ja: "ユーザー名が含まれています".into(),
            });
        }
        if is_common(&lower) {
            v.push(Violation {
                rule: "not_common",
                en: "it is one of the most commonly used passwords".into(),
                ja: "よく使われるパスワードの一つです".into(),
            });
        } else if self.0 >= 4 {
            if let Some(base) = common_base(&lower) {
                v.push(Violation {
                    rule: "not_common",
                    en: format!("it is the common password \"{base}\" in disguise"),
                    ja: format!("よく使われるパスワード「{base}」の変形です"),
                });
            }
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(v)
        }
    }
}

/// Whether `lowercase` is on the common-password list.
pub fn is_common(lowercase: &str) -> bool {
    COMMON.contains(lowercase)
}

/// The common password `lowercase` is made from, if any: digits and symbols stripped
/// from both ends and the usual letter substitutions (`@`→a, `0`→o, `3`→e, `$`→s, …)
/// undone, with `1` read as `i` and as `l`.
pub fn common_base(lowercase: &str) -> Option<String> {
    let strip =
        |s: &str| s.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ').to_owned();
    let decode = |s: &str, one: char| -> String {
        s.chars()
            .map(|c| match c {
                '@' | '4' => 'a',
                '0' => 'o',
                '3' => 'e',
                '$' | '5' => 's',
                '7' | '+' => 't',
                '!' => 'i',
                '1' => one,
                c => c,
            })
            .collect()
    };
    let core = strip(lowercase);
    // Stripped first (`dragon!!1` is `dragon`), then decoded whole and stripped
    // (`pa55` is `pass`, where stripping first would leave `pa`).
    let candidates = [
        core.clone(),
        decode(&core, 'i'),
        decode(&core, 'l'),
        strip(&decode(lowercase, 'i')),
        strip(&decode(lowercase, 'l')),
    ];
    candidates.into_iter().find(|c| !c.is_empty() && is_common(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_broken(level: u8, password: &str, username: &str) -> Vec<&'static str> {
        let policy = PasswordPolicy::new(level).expect("level");
        match policy.check(password, username) {
            Ok(()) => Vec::new(),
            Err(v) => v.into_iter().map(|v| v.rule).collect(),
        }
    }

    #[test]
    fn levels_outside_one_to_four_do_not_exist() {
        assert!(PasswordPolicy::new(0).is_none());
        assert!(PasswordPolicy::new(5).is_none());
        assert_eq!(PasswordPolicy::default().level(), 2);
    }

    #[test]
    fn the_list_is_loaded_and_lowercase() {
        assert!(is_common("password"));
        assert!(is_common("123456"));
        assert!(is_common("iloveyou"));
        assert!(!is_common("correct horse battery staple"));
        assert!(COMMON.len() >= 29_000, "{}", COMMON.len());
        assert!(COMMON.iter().all(|w| w.to_lowercase() == *w));
    }

    #[test]
    fn level_1_wants_eight_characters_and_nothing_common() {
        assert_eq!(rules_broken(1, "kumamoto", "alice"), Vec::<&str>::new());
        assert_eq!(rules_broken(1, "short", "alice"), ["min_length"]);
        assert_eq!(rules_broken(1, "password", "alice"), ["not_common"]);
        assert_eq!(rules_broken(1, "alice_in_wonder", "alice_in_wonder"), ["not_username"]);
        // Level 1 does not mind the username inside a longer password.
        assert_eq!(rules_broken(1, "alice-kumamoto", "alice"), Vec::<&str>::new());
    }

    #[test]
    fn level_2_wants_ten_characters_of_two_kinds() {
        assert_eq!(rules_broken(2, "kumamoto42", "alice"), Vec::<&str>::new());
        assert_eq!(rules_broken(2, "kumamotojo", "alice"), ["classes"]);
        assert_eq!(rules_broken(2, "kumamoto4", "alice"), ["min_length"]);
        assert_eq!(rules_broken(2, "熊本城の石垣は美しい", "alice"), ["classes"]);
        assert_eq!(rules_broken(2, "熊本城の石垣は2016年", "alice"), Vec::<&str>::new());
    }

    #[test]
    fn level_3_wants_twelve_with_letters_digits_symbols_and_no_username() {
        assert_eq!(rules_broken(3, "kumamoto-42!", "alice"), Vec::<&str>::new());
        assert_eq!(rules_broken(3, "kumamoto-castle", "alice"), ["letters_digits_symbols"]);
        assert_eq!(rules_broken(3, "alice-42-kumamoto", "alice"), ["not_username"]);
        assert_eq!(rules_broken(3, "ALICE-42-kumamoto", "alice"), ["not_username"]);
        assert_eq!(rules_broken(3, "kuma-42!", "alice"), ["min_length"]);
        // A two-letter username is not looked for.
        assert_eq!(rules_broken(3, "kumamoto-42!al", "al"), Vec::<&str>::new());
    }

    #[test]
    fn level_4_wants_fourteen_of_three_kinds_and_nothing_made_from_a_common_password() {
        assert_eq!(rules_broken(4, "Kumamoto-castle", "alice"), Vec::<&str>::new());
        assert_eq!(rules_broken(4, "kumamoto-castle-42", "alice"), Vec::<&str>::new());
        assert_eq!(rules_broken(4, "kumamotocastle", "alice"), ["classes"]);
        assert_eq!(rules_broken(4, "P@ssw0rd2024!!", "alice"), ["not_common"]);
        assert_eq!(rules_broken(4, "Iloveyou123456!", "alice"), ["not_common"]);
        assert_eq!(rules_broken(4, "Dragon!!!!!!!!1", "alice"), ["not_common"]);
        assert_eq!(rules_broken(4, "Alice-kumamoto-9", "alice"), ["not_username"]);
        assert_eq!(rules_broken(4, "Pa55", "alice"), ["min_length", "not_common"]);
    }

    #[test]
    fn every_broken_rule_is_listed_and_explained_in_both_languages() {
        let err = PasswordPolicy::new(3).expect("level").check("alice", "alice").expect_err("weak");
        let ids: Vec<_> = err.iter().map(|v| v.rule).collect();
        assert_eq!(ids, ["min_length", "letters_digits_symbols", "not_username"]);
        assert!(err.iter().all(|v| !v.en.is_empty() && !v.ja.is_empty()));
        assert_eq!(err[1].en, "it has no digits and no symbols");
        for level in 1..=4 {
            let rules = PasswordPolicy::new(level).expect("level").rules();
            assert!(rules.iter().all(|r| !r.en.is_empty() && !r.ja.is_empty()));
            assert_eq!(rules[0].id, "min_length");
        }
    }

    #[test]
    fn overlong_passwords_are_refused() {
        let long = "Kumamoto-42!".repeat(30);
        assert_eq!(rules_broken(3, &long, "alice"), ["max_length"]);
    }

    #[test]
    fn disguises_are_undone() {
        assert_eq!(common_base("p@55w0rd"), Some("password".into()));
        assert_eq!(common_base("pa55"), Some("pass".into()));
        assert_eq!(common_base("!!!dr@g0n123"), Some("dragon".into()));
        assert_eq!(common_base("k1ll3r"), Some("killer".into()));
        assert_eq!(common_base("correct horse"), None);
        assert_eq!(common_base("!!!"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_gets_an_answer_and_every_refusal_explains_itself(
            password in "\\PC{0,40}", username in "[a-z]{0,12}", level in 1u8..=4
        ) {
            let policy = PasswordPolicy::new(level).expect("level");
            if let Err(violations) = policy.check(&password, &username) {
                proptest::prop_assert!(!violations.is_empty());
                let ids: Vec<_> = policy.rules().iter().map(|r| r.id).collect();
                for v in violations {
                    proptest::prop_assert!(v.rule == "max_length" || ids.contains(&v.rule), "{}", v.rule);
                    proptest::prop_assert!(!v.en.is_empty() && !v.ja.is_empty());
                }
            }
        }
    }
}
