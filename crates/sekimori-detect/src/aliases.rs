//! Built-in Windows events given the field names of the Sysmon category they record
//! (`windows.aliases` in `data/logsources.yml`): Security 4688 as `process_creation` with
//! `Image` from `NewProcessName`, 5156 as `network_connection` with `Initiated` from the
//! direction it records, and so on. A field already present is kept.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The aliases of one provider's events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowsAliases {
    provider: String,
    events: Vec<i64>,
    /// Alias -> the fields it is taken from (the first present wins).
    fields: BTreeMap<String, Vec<String>>,
    /// Alias -> a field whose recorded codes stand for the alias's values (5156's
    /// `Direction` `%%14593`, outbound, is Sysmon's `Initiated: 'true'`); a code not
    /// listed gives no alias.
    #[serde(default)]
    values: BTreeMap<String, CodedValue>,
    /// Values that mean the event did not record the field (4688's `TargetLogonId` is
    /// `0x0` when the new process runs as its creator): a source holding one is passed
    /// over for the next.
    #[serde(default)]
    not_recorded: Vec<String>,
    /// Aliases whose source records a device path (`\device\harddiskvolume2\windows\…`, as
    /// 5156's `Application` does) and which rules name as a drive path: given on `C:`
    /// (`C:\windows\…`). Which volume is `C:` is not recorded; the one Windows runs from
    /// is the one nearly every rule means (Hayabusa's converter assumes the same).
    #[serde(default)]
    device_paths: Vec<String>,
}

/// A field holding codes, and what each code stands for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodedValue {
    from: String,
    codes: BTreeMap<String, String>,
}

impl WindowsAliases {
    /// Whether these are the aliases of an event from `provider` with `id`.
    pub(crate) fn applies(&self, provider: &str, id: i64) -> bool {
        self.provider == provider && self.events.contains(&id)
    }

    /// Adds the aliases `event` lacks, from its own fields.
    pub(crate) fn add_to(&self, event: &mut Map<String, Value>) {
        let recorded = |v: &&Value| !v.as_str().is_some_and(|s| self.not_recorded.iter().any(|n| n == s));
        let mut added: Vec<(String, Value)> = self
            .fields
            .iter()
            .filter(|(alias, _)| !event.contains_key(alias.as_str()))
            .filter_map(|(alias, sources)| {
                sources
                    .iter()
                    .find_map(|s| event.get(s.as_str()).filter(recorded))
                    .map(|v| (alias.clone(), self.drive_path(alias, v)))
            })
            .collect();
        for (alias, coded) in &self.values {
            if event.contains_key(alias.as_str()) {
                continue;
            }
            let code = event.get(coded.from.as_str()).and_then(Value::as_str);
            if let Some(value) = code.and_then(|c| coded.codes.get(c)) {
                added.push((alias.clone(), Value::String(value.clone())));
            }
        }
        event.extend(added);
    }

    /// `value` as a drive path if `alias` is one of [`WindowsAliases::device_paths`] and it
    /// is a device path; as it is otherwise.
    fn drive_path(&self, alias: &str, value: &Value) -> Value {
        const DEVICE: &str = "\\device\\harddiskvolume";
        let rewritten = value.as_str().filter(|_| self.device_paths.iter().any(|a| a == alias)).and_then(|text| {
            let head = text.get(..DEVICE.len())?;
            let rest = text[DEVICE.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
            (head.eq_ignore_ascii_case(DEVICE) && rest.len() < text.len() - DEVICE.len() && rest.starts_with('\\'))
                .then(|| format!("C:{rest}"))
        });
        rewritten.map_or_else(|| value.clone(), Value::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_values_not_recorded() {
        let a: WindowsAliases = yaml_serde::from_str(
            "provider: P\nevents: [1]\nnot_recorded: ['0x0']\nfields: {LogonId: [TargetLogonId, SubjectLogonId]}\n\
             values: {Initiated: {from: Direction, codes: {'%%14593': 'true', '%%14592': 'false'}}}\n",
        )
        .expect("parses");
        let mut e = json!({"TargetLogonId": "0x0", "SubjectLogonId": "0x3e7", "Direction": "%%14593"});
        let e = e.as_object_mut().expect("object");
        a.add_to(e);
        assert_eq!((e["LogonId"].as_str(), e["Initiated"].as_str()), (Some("0x3e7"), Some("true")));
        let mut other = json!({"TargetLogonId": "0x82215a", "SubjectLogonId": "0x3e4", "Direction": "%%9999"});
        let other = other.as_object_mut().expect("object");
        a.add_to(other);
        assert_eq!(other["LogonId"], "0x82215a");
        assert!(other.get("Initiated").is_none(), "an unknown code gives no alias");
        assert!(a.applies("P", 1) && !a.applies("P", 2) && !a.applies("Q", 1));
    }

    #[test]
    fn device_paths_become_drive_paths() {
        let a: WindowsAliases = yaml_serde::from_str(
            "provider: P\nevents: [1]\nfields: {Image: [Application], Other: [Application]}\ndevice_paths: [Image]\n",
        )
        .expect("parses");
        let image = |app: &str| {
            let mut e = json!({"Application": app});
            let e = e.as_object_mut().expect("object");
            a.add_to(e);
            (e["Image"].as_str().map(str::to_owned), e["Other"].as_str().map(str::to_owned))
        };
        let lsass = "\\device\\harddiskvolume2\\windows\\system32\\lsass.exe";
        assert_eq!(image(lsass), (Some("C:\\windows\\system32\\lsass.exe".into()), Some(lsass.into())));
        assert_eq!(image("\\Device\\HarddiskVolume11\\x.exe").0.as_deref(), Some("C:\\x.exe"));
        for kept in ["System", "\\device\\harddiskvolume\\x.exe", "\\device\\harddiskvolume1x", "\\device\\mup\\x.exe"]
        {
            assert_eq!(image(kept).0.as_deref(), Some(kept), "{kept}");
        }
    }
}
