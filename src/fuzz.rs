//! Entry points for fuzzing: each takes arbitrary bytes and feeds them to
//! one parser the way a run would. None may panic, overflow the stack or
//! take unbounded memory, whatever the input; a bad input is an `Err` that
//! is dropped here. The fuzz targets in `fuzz/` call these, and
//! `tests/fuzz_replay.rs` replays the kept corpora through them.

use std::path::Path;
use std::sync::LazyLock;

use crate::ini::IniDoc;
use crate::inventory::Inventory;
use crate::modules::Registry;
use crate::playbook::Loader;
use crate::template::{Layer, Templar, TemplarOptions, VarScope};

/// One entry point: it takes any bytes.
pub type Target = fn(&[u8]);

/// The entry points by name, as the corpora in `fuzz/corpus/` are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("yaml_playbook", yaml_playbook),
    ("ini_inventory", ini_inventory),
    ("yaml_inventory", yaml_inventory),
    ("host_pattern", host_pattern),
    ("ini_edit", ini_edit),
    ("template", template),
];

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::builtin);

/// Where the fuzzed playbook claims to be: a folder that does not exist,
/// so imports, roles and vars files are not found.
const NOWHERE: &str = "/nonexistent-oplay-fuzz";

/// A playbook file: YAML, plays, tasks, module arguments.
pub fn yaml_playbook(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut loader = Loader::new(REGISTRY.clone(), None, Vec::new());
    let _ = loader.load_playbook_text(&Path::new(NOWHERE).join("site.yml"), text);
}

/// An INI inventory, then the patterns a run would use on it.
pub fn ini_inventory(data: &[u8]) {
    inventory(data, false);
}

/// A YAML inventory, then the patterns a run would use on it.
pub fn yaml_inventory(data: &[u8]) {
    inventory(data, true);
}

fn inventory(data: &[u8], yaml: bool) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(NOWHERE).join(if yaml { "hosts.yml" } else { "hosts" });
    if let Ok(inv) = Inventory::from_text(&path, text, yaml) {
        for pattern in ["all", "ungrouped", "localhost"] {
            let _ = inv.select(pattern);
        }
        for host in inv.host_names() {
            let _ = inv.host_vars(&host);
            let _ = inv.group_names(&host);
        }
    }
}

/// The inventory every host pattern is matched against.
static PATTERN_INVENTORY: LazyLock<Option<Inventory>> = LazyLock::new(|| {
    let text =
        "[web]\nweb[01:03]\n[db]\ndb1 ansible_port=2222\n10.0.0.1\n[all:children]\nweb\ndb\n";
    Inventory::from_text(Path::new("hosts"), text, false).ok()
});

/// A host pattern, as `hosts:` or `--limit` writes it.
pub fn host_pattern(data: &[u8]) {
    let (Ok(pattern), Some(inv)) = (std::str::from_utf8(data), PATTERN_INVENTORY.as_ref()) else {
        return;
    };
    let _ = inv.select(pattern);
}

/// An INI file edited as `ini_set` does. The input is the section, the
/// key, the value and the file, separated by `\x01`. The file must render
/// back byte for byte, and an edit must read back.
pub fn ini_edit(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\u{1}');
    let section = parts.next().filter(|s| !s.is_empty());
    let key = parts.next().unwrap_or("key");
    let value = parts.next().unwrap_or("value");
    let body = parts.next().unwrap_or("");
    let mut doc = IniDoc::parse(body);
    assert_eq!(doc.render(), body, "an INI file must render back as it was");
    let _ = doc.get_all(section, key);
    let _ = doc.sections();
    if doc.set(section, key, value).is_ok() {
        let again = IniDoc::parse(&doc.render());
        let _ = again.get(section, key);
    }
    doc.remove(section, key);
    if let Some(s) = section {
        let _ = doc.ensure_section(s);
        doc.remove_section(s);
    }
    let _ = doc.render();
}

/// A fresh templar for each input: minijinja keeps every template it
/// compiled, so one templar over millions of inputs grows past the fuzzer's
/// memory limit (a run keeps only its playbook's templates).
fn templar() -> Templar {
    Templar::new(TemplarOptions {
        sandboxed: true,
        ..Default::default()
    })
}

/// A template string rendered, and evaluated as an expression, with a few
/// variables of every type.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `[1] * 100000000000 * 10000000000` overflows inside minijinja where
    // debug assertions are on (the fuzz build's): the Templar catches that
    // panic, but libFuzzer aborts on any panic before it is caught. And
    // `[] * 10000000 * 2000` or `[1] * 0 * 50210 * 21001` spins for
    // minutes: minijinja repeats an empty sequence by iterating the count,
    // and has no hook to bound that (see the README's limits). Inputs that
    // multiply more than once, by a power, or by a count of seven digits or
    // more are left out.
    let repeats = text.matches('*').count() > 1
        || text
            .as_bytes()
            .windows(7)
            .any(|w| w.iter().all(u8::is_ascii_digit));
    if text.contains('*') && repeats {
        return;
    }
    let vars = serde_json::json!({
        "s": "text", "n": 3, "f": 1.5, "b": true, "l": [1, "two", [3]],
        "d": {"k": "v", "n": {"m": 1}}, "none": null, "t": "{{ s }}",
    });
    let serde_json::Value::Object(map) = vars else {
        return;
    };
    let scope = VarScope::new(vec![Layer::shared("vars", std::sync::Arc::new(map))]).into_value();
    let templar = templar();
    let _ = templar.render_str(text, &scope);
    let _ = templar.eval(text, &scope);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_takes_empty_and_plain_input() {
        for (_, target) in TARGETS {
            target(b"");
            target(b"web");
            target(&[0xff, 0xfe]);
        }
    }
}
