//! Edits of an [`IniDoc`]: set, remove, add and drop sections.
//!
//! Every edit touches only the lines of the option it is about; each
//! returns whether the text changed. A line whose value is already the
//! wanted one is never rewritten, so spacing alone is never a change.

use super::{IniDoc, IniError, Kind, Line, indent_of};

/// How [`IniDoc::set_values`] treats existing lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetOptions {
    /// Other values of the option are replaced or removed, so the option
    /// ends with exactly the given values (duplicates collapse).
    pub exclusive: bool,
    /// Write `key=value` instead of `key = value`.
    pub no_extra_spaces: bool,
    /// A commented `#key = default` line in the section is replaced in
    /// place when the option has no active line.
    pub modify_inactive: bool,
}

impl Default for SetOptions {
    fn default() -> Self {
        SetOptions {
            exclusive: true,
            no_extra_spaces: false,
            modify_inactive: true,
        }
    }
}

impl IniDoc {
    /// Sets a single-valued option (exclusive, replacing a commented
    /// default in place).
    pub fn set(&mut self, section: Option<&str>, key: &str, value: &str) -> Result<bool, IniError> {
        self.set_values(section, key, &[Some(value)], &SetOptions::default())
    }

    /// Makes `key` in `section` carry `values` (one line each; `None` is a
    /// bare `key` line without `=`). Values are trimmed. A missing section
    /// is appended at the end of the file.
    pub fn set_values(
        &mut self,
        section: Option<&str>,
        key: &str,
        values: &[Option<&str>],
        opts: &SetOptions,
    ) -> Result<bool, IniError> {
        check_names(section, key)?;
        let mut remaining: Vec<Option<String>> = Vec::with_capacity(values.len());
        for v in values {
            if v.is_some_and(|v| v.contains(['\n', '\r'])) {
                return Err(IniError::BadValue(key.to_string()));
            }
            remaining.push(v.map(|v| v.trim().to_string()));
        }
        if !self.has_section(section) {
            let name = section.unwrap_or_default();
            let new: Vec<Line> = remaining
                .iter()
                .map(|v| self.option_line("", key, v.as_deref(), opts))
                .collect();
            self.append_section(name, new);
            return Ok(true);
        }
        let (_, unmatched) = self.match_existing(section, key, &mut remaining);
        let mut changed = false;
        if opts.exclusive {
            // Other lines take the remaining values in place; the rest go.
            // Edits are made from the last line up: replacing an option
            // drops its continuation lines, which moves the lines below.
            let mut edits: Vec<(usize, Option<Option<String>>)> = unmatched
                .into_iter()
                .map(|i| (i, (!remaining.is_empty()).then(|| remaining.remove(0))))
                .collect();
            edits.sort_by_key(|e| std::cmp::Reverse(e.0));
            let deleted = edits.iter().any(|(_, e)| e.is_none());
            changed = !edits.is_empty();
            for (i, edit) in edits {
                match edit {
                    Some(v) => {
                        let indent = indent_of(&self.lines[i].text).to_string();
                        self.replace_line(i, self.option_line(&indent, key, v.as_deref(), opts));
                    }
                    None => self.delete_option_line(i),
                }
            }
            if deleted {
                return Ok(true);
            }
        }
        if remaining.is_empty() {
            return Ok(changed);
        }
        let last = self.option_lines(section, key).into_iter().max();
        self.insert_values(section, key, remaining, last, opts);
        Ok(true)
    }

    /// Splits the option's active lines into those already carrying one of
    /// the wanted values (which is then taken from `remaining`: such lines
    /// stay as they are) and the others.
    fn match_existing(
        &self,
        section: Option<&str>,
        key: &str,
        remaining: &mut Vec<Option<String>>,
    ) -> (Vec<usize>, Vec<usize>) {
        let mut kept = Vec::new();
        let mut unmatched = Vec::new();
        for i in self.option_lines(section, key) {
            let Kind::Option { value, .. } = &self.lines[i].kind else {
                continue;
            };
            match remaining.iter().position(|w| w == value) {
                Some(pos) => {
                    remaining.remove(pos);
                    kept.push(i);
                }
                None => unmatched.push(i),
            }
        }
        (kept, unmatched)
    }

    /// Places values that no existing line carries: after the option's last
    /// line, else over its commented default, else after the section's last
    /// option (right after the header when it has none).
    fn insert_values(
        &mut self,
        section: Option<&str>,
        key: &str,
        mut values: Vec<Option<String>>,
        last_of_key: Option<usize>,
        opts: &SetOptions,
    ) {
        let (mut at, indent) = match last_of_key {
            Some(i) => (
                self.end_of_option(i),
                indent_of(&self.lines[i].text).to_string(),
            ),
            None => match self.inactive_line(section, key, opts) {
                Some(i) => {
                    let indent = indent_of(&self.lines[i].text).to_string();
                    let first = values.remove(0);
                    self.replace_line(i, self.option_line(&indent, key, first.as_deref(), opts));
                    (i + 1, indent)
                }
                None => self.section_insert_point(section),
            },
        };
        for v in values {
            let line = self.option_line(&indent, key, v.as_deref(), opts);
            self.lines.insert(at, line);
            at += 1;
        }
    }

    /// Removes every active line of an option (with its continuation lines).
    pub fn remove(&mut self, section: Option<&str>, key: &str) -> bool {
        let lines = self.option_lines(section, key);
        for i in lines.iter().rev() {
            self.delete_option_line(*i);
        }
        !lines.is_empty()
    }

    /// Removes the lines of an option that carry one of `values`.
    pub fn remove_values(&mut self, section: Option<&str>, key: &str, values: &[&str]) -> bool {
        let lines: Vec<usize> = self
            .option_lines(section, key)
            .into_iter()
            .filter(|i| match &self.lines[*i].kind {
                Kind::Option { value, .. } => values.contains(&value.as_deref().unwrap_or("")),
                _ => false,
            })
            .collect();
        for i in lines.iter().rev() {
            self.delete_option_line(*i);
        }
        !lines.is_empty()
    }

    /// Appends an empty section when it does not exist yet.
    pub fn ensure_section(&mut self, section: &str) -> Result<bool, IniError> {
        check_section(section)?;
        if self.has_section(Some(section)) {
            return Ok(false);
        }
        self.append_section(section, Vec::new());
        Ok(true)
    }

    /// Removes a section: every block of it, header and body.
    pub fn remove_section(&mut self, section: &str) -> bool {
        let blocks = self.section_bodies(Some(section));
        for (start, end) in blocks.iter().rev() {
            self.lines.drain(start - 1..*end);
        }
        !blocks.is_empty()
    }

    /// Appends `[name]` and its lines, after a blank line unless the file
    /// is empty or already ends with one.
    fn append_section(&mut self, name: &str, body: Vec<Line>) {
        if self.lines.last().is_some_and(|l| l.kind != Kind::Blank) {
            self.lines.push(self.new_line(String::new(), Kind::Blank));
        }
        if !name.is_empty() {
            self.lines
                .push(self.new_line(format!("[{name}]"), Kind::Section(name.to_string())));
        }
        self.lines.extend(body);
    }

    /// Where a new option goes in a section with no line of it: after the
    /// last option line of the section (so before the comments and blank
    /// lines that lead to the next section), else right after the header.
    fn section_insert_point(&self, section: Option<&str>) -> (usize, String) {
        let bodies = self.section_bodies(section);
        let last_option = bodies
            .iter()
            .flat_map(|(a, b)| *a..*b)
            .rfind(|i| matches!(self.lines[*i].kind, Kind::Option { .. }));
        match last_option {
            Some(i) => (
                self.end_of_option(i),
                indent_of(&self.lines[i].text).to_string(),
            ),
            None => (bodies.first().map_or(0, |b| b.0), String::new()),
        }
    }

    /// A commented `#key = ...` line in the section. OpenStack's own
    /// `#key = default` (no space after `#`) is preferred over example
    /// lines in the help text such as `#     key = example`.
    fn inactive_line(&self, section: Option<&str>, key: &str, opts: &SetOptions) -> Option<usize> {
        if !opts.modify_inactive {
            return None;
        }
        let mut spaced = None;
        for i in self
            .section_bodies(section)
            .into_iter()
            .flat_map(|(a, b)| a..b)
        {
            let line = &self.lines[i];
            if line.kind != Kind::Comment {
                continue;
            }
            match commented_key(&line.text, key) {
                Some(false) => return Some(i),
                Some(true) if spaced.is_none() => spaced = Some(i),
                _ => {}
            }
        }
        spaced
    }

    /// The index just past an option line and its continuation lines.
    fn end_of_option(&self, i: usize) -> usize {
        let mut end = i + 1;
        while self
            .lines
            .get(end)
            .is_some_and(|l| l.kind == Kind::Continuation)
        {
            end += 1;
        }
        end
    }

    fn delete_option_line(&mut self, i: usize) {
        let end = self.end_of_option(i);
        self.lines.drain(i..end);
    }

    /// Replaces a line (and the continuation lines of an option) with one
    /// new line, keeping the old line's ending.
    fn replace_line(&mut self, i: usize, mut line: Line) {
        let end = self.end_of_option(i);
        line.ending = std::mem::take(&mut self.lines[i].ending);
        if end > i + 1 {
            // The last continuation line's ending is the one the file had there.
            line.ending = std::mem::take(&mut self.lines[end - 1].ending);
            self.lines.drain(i + 1..end);
        }
        self.lines[i] = line;
    }

    fn option_line(&self, indent: &str, key: &str, value: Option<&str>, opts: &SetOptions) -> Line {
        let text = match (value, opts.no_extra_spaces) {
            (None, _) => format!("{indent}{key}"),
            (Some(""), true) => format!("{indent}{key}="),
            (Some(""), false) => format!("{indent}{key} ="),
            (Some(v), true) => format!("{indent}{key}={v}"),
            (Some(v), false) => format!("{indent}{key} = {v}"),
        };
        let kind = Kind::Option {
            key: key.to_string(),
            value: value.map(String::from),
        };
        self.new_line(text, kind)
    }

    fn new_line(&self, text: String, kind: Kind) -> Line {
        Line {
            text,
            ending: self.eol.to_string(),
            kind,
        }
    }
}

/// Whether a comment line is `#key = ...` (`Some(false)`) or `#  key = ...`
/// (`Some(true)`, spaced); `None` when it is about something else.
fn commented_key(text: &str, key: &str) -> Option<bool> {
    let body = text.trim_start().strip_prefix(['#', ';'])?;
    let rest = body.trim_start_matches([' ', '\t']);
    let spaced = rest.len() != body.len();
    let after = rest.strip_prefix(key)?;
    after
        .trim_start_matches([' ', '\t'])
        .starts_with('=')
        .then_some(spaced)
}

fn check_names(section: Option<&str>, key: &str) -> Result<(), IniError> {
    if let Some(s) = section {
        check_section(s)?;
    }
    let bad = key.trim() != key
        || key.is_empty()
        || key.contains(['=', '\n', '\r'])
        || key.starts_with(['[', '#', ';']);
    if bad {
        return Err(IniError::BadOption(key.to_string()));
    }
    Ok(())
}

fn check_section(section: &str) -> Result<(), IniError> {
    if section.trim().is_empty() || section.trim() != section || section.contains([']', '\n', '\r'])
    {
        return Err(IniError::BadSection(section.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, section: Option<&str>, key: &str, value: &str) -> (String, bool) {
        let mut doc = IniDoc::parse(text);
        let changed = doc.set(section, key, value).unwrap();
        (doc.render(), changed)
    }

    #[test]
    fn commented_keys() {
        assert_eq!(commented_key("#debug = false", "debug"), Some(false));
        assert_eq!(commented_key(";debug=false", "debug"), Some(false));
        assert_eq!(commented_key("#     debug = x", "debug"), Some(true));
        assert_eq!(commented_key("#debug_x = 1", "debug"), None);
        assert_eq!(commented_key("# debug the thing", "debug"), None);
        assert_eq!(commented_key("## debug = 1", "debug"), None);
    }

    #[test]
    fn prefers_openstack_default_line_over_examples() {
        let text = "[s]\n# Example:\n#     mon = cpu\n#mon =\n";
        assert_eq!(
            set(text, Some("s"), "mon", "x").0,
            "[s]\n# Example:\n#     mon = cpu\nmon = x\n"
        );
    }

    #[test]
    fn replacing_a_continued_value_drops_its_continuation() {
        let text = "[s]\nk = a\n  b\n  c\nz = 1\n";
        assert_eq!(set(text, Some("s"), "k", "d").0, "[s]\nk = d\nz = 1\n");
    }

    #[test]
    fn remove_section_drops_all_blocks() {
        let mut doc = IniDoc::parse("[a]\nx=1\n[b]\ny=2\n[a]\nz=3\n");
        assert!(doc.remove_section("a"));
        assert_eq!(doc.render(), "[b]\ny=2\n");
        assert!(!doc.remove_section("a"));
    }

    #[test]
    fn rejects_bad_names_and_values() {
        let mut doc = IniDoc::default();
        assert!(matches!(
            doc.set(Some("s"), "a=b", "1"),
            Err(IniError::BadOption(_))
        ));
        assert!(matches!(
            doc.set(Some("s]"), "a", "1"),
            Err(IniError::BadSection(_))
        ));
        assert!(matches!(
            doc.set(Some("s"), "a", "1\n[x]"),
            Err(IniError::BadValue(_))
        ));
        assert_eq!(doc.render(), "");
    }

    #[test]
    fn a_repeated_option_with_continuation_lines_is_set_once() {
        // Found by the ini_edit fuzzer: replacing the first line dropped
        // its continuation line, and the second line was deleted by an
        // index that no longer pointed at it.
        let mut doc = IniDoc::parse("[DEFAULT]\ndebug = false\n  more\nother = 1\ndebug = no\n");
        assert!(doc.set(Some("DEFAULT"), "debug", "true").unwrap());
        assert_eq!(doc.render(), "[DEFAULT]\ndebug = true\nother = 1\n");
    }
}
