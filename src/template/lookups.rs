//! Ansible's lookups, run on the controller: `lookup(name, terms...)`,
//! `query(...)`/`q(...)` (always a list) and `lookup(..., wantlist=True)`.
//! Provided: `env`, `file`, `password`, `vars`, `pipe`, `fileglob`,
//! `items`/`list`. Relative files are searched in the task's search paths
//! (the scope variable [`SEARCH_PATHS_VAR`]) and then in the playbook
//! directory ([`TemplarOptions::base_dir`]). In a probe
//! ([`Templar::eval_probe`](super::Templar::eval_probe)) `password` reads
//! only what is stored and, with [`Probe::NoSideEffects`], `pipe` runs
//! nothing.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Rest, Value, ValueKind, from_args};
use minijinja::{Environment, Error, State};
use rand::seq::IndexedRandom as _;

use super::filters::fail;
use super::{Probe, SEARCH_PATHS_VAR, TemplarOptions, active};
use crate::secret::Redactor;

/// What lookups need from the run.
struct Lookups {
    base_dir: PathBuf,
    redactor: Redactor,
    sandboxed: bool,
}

pub(crate) fn register(env: &mut Environment<'static>, opts: &TemplarOptions) {
    let lookups = Arc::new(Lookups {
        base_dir: opts.base_dir.clone(),
        redactor: opts.redactor.clone(),
        sandboxed: opts.sandboxed,
    });
    let l = lookups.clone();
    env.add_function("lookup", move |state: &State, args: Rest<Value>| {
        l.call(state, &args, false)
    });
    for name in ["query", "q"] {
        let l = lookups.clone();
        env.add_function(name, move |state: &State, args: Rest<Value>| {
            l.call(state, &args, true)
        });
    }
}

impl Lookups {
    fn call(&self, state: &State, args: &[Value], wantlist: bool) -> Result<Value, Error> {
        let (pos, kwargs): (&[Value], Kwargs) = from_args(args)?;
        let Some(name) = pos.first().and_then(|n| n.as_str()) else {
            return Err(fail("lookup: the first argument must be the lookup's name"));
        };
        let wantlist = wantlist || kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
        let errors = kwargs
            .get::<Option<String>>("errors")?
            .unwrap_or_else(|| "strict".into());
        let terms = flatten_terms(&pos[1..])?;
        let result = self.run(state, name, &terms, &kwargs);
        let items = match result {
            Ok(items) => items,
            Err(_) if errors == "ignore" || errors == "warn" => Vec::new(),
            Err(e) => return Err(e),
        };
        if wantlist {
            return Ok(Value::from(items));
        }
        Ok(match items.len() {
            0 => Value::from(()),
            1 => items.into_iter().next().unwrap_or_default(),
            // Ansible joins several results with commas.
            _ => Value::from(
                items
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        })
    }

    fn run(
        &self,
        state: &State,
        name: &str,
        terms: &[Value],
        kwargs: &Kwargs,
    ) -> Result<Vec<Value>, Error> {
        if self.sandboxed && ["env", "file", "fileglob", "password", "pipe"].contains(&name) {
            return Err(fail(format!(
                "lookup plugin '{name}' is not available here"
            )));
        }
        match name {
            "env" => {
                let default = kwargs.get::<Option<Value>>("default")?;
                Ok(terms
                    .iter()
                    .map(|t| match std::env::var(t.to_string()) {
                        Ok(v) => Value::from(v),
                        Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
                    })
                    .collect())
            }
            "file" => {
                let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
                let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
                terms
                    .iter()
                    .map(|t| self.read_file(state, &t.to_string(), lstrip, rstrip))
                    .collect()
            }
            "password" => terms
                .iter()
                .map(|t| self.password(&t.to_string(), kwargs))
                .collect(),
            "vars" => {
                let default = kwargs.get::<Option<Value>>("default")?;
                terms
                    .iter()
                    .map(|t| {
                        let name = t.to_string();
                        match state.lookup(&name).filter(|v| !v.is_undefined()) {
                            Some(v) => Ok(v),
                            None => default.clone().ok_or_else(|| {
                                fail(format!("No variable found with this name: {name}"))
                            }),
                        }
                    })
                    .collect()
            }
            "pipe" if active::probing() == Some(Probe::NoSideEffects) => {
                Err(fail("pipe lookup: not run before the play"))
            }
            "pipe" => terms.iter().map(|t| pipe(&t.to_string())).collect(),
            "fileglob" => {
                let mut out = Vec::new();
                for t in terms {
                    out.extend(self.fileglob(state, &t.to_string())?);
                }
                Ok(out)
            }
            "items" | "list" => Ok(terms.to_vec()),
            other => Err(fail(format!(
                "lookup plugin '{other}' not found (available: env, file, password, vars, pipe, fileglob, items, list)"
            ))),
        }
    }

    /// Directories a relative name is searched in, in order.
    fn search_dirs(&self, state: &State) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(paths) = state
            .lookup(SEARCH_PATHS_VAR)
            .filter(|v| v.kind() == ValueKind::Seq)
        {
            if let Ok(iter) = paths.try_iter() {
                dirs.extend(iter.map(|p| PathBuf::from(p.to_string())));
            }
        }
        dirs.push(self.base_dir.clone());
        dirs
    }

    fn find_file(&self, state: &State, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        self.search_dirs(state)
            .iter()
            .flat_map(|d| [d.join("files").join(name), d.join(name)])
            .find(|c| c.is_file())
    }

    fn read_file(
        &self,
        state: &State,
        name: &str,
        lstrip: bool,
        rstrip: bool,
    ) -> Result<Value, Error> {
        let path = self
            .find_file(state, name)
            .ok_or_else(|| fail(format!("could not locate file in lookup: {name}")))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| fail(format!("could not read {}: {e}", path.display())))?;
        let text = if rstrip {
            text.trim_end()
        } else {
            text.as_str()
        };
        let text = if lstrip { text.trim_start() } else { text };
        Ok(Value::from(text))
    }

    fn fileglob(&self, state: &State, pattern: &str) -> Result<Vec<Value>, Error> {
        let dirs = if Path::new(pattern).is_absolute() {
            vec![PathBuf::new()]
        } else {
            self.search_dirs(state)
                .into_iter()
                .map(|d| d.join("files"))
                .collect()
        };
        for dir in dirs {
            let full = dir.join(pattern);
            let found: Vec<Value> = glob::glob(&full.to_string_lossy())
                .map_err(|e| fail(format!("fileglob: {e}")))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .map(|p| Value::from(p.to_string_lossy().into_owned()))
                .collect();
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    /// `password` lookup: the stored password, or a new one that is
    /// stored (mode 0600) so every later run and host gets the same.
    fn password(&self, term: &str, kwargs: &Kwargs) -> Result<Value, Error> {
        let spec = PasswordSpec::parse(term, kwargs)?;
        let path = if Path::new(&spec.path).is_absolute() {
            PathBuf::from(&spec.path)
        } else {
            self.base_dir.join(&spec.path)
        };
        // Hosts render in parallel: without the lock two could each
        // generate a password and one would silently lose.
        static LOCK: Mutex<()> = Mutex::new(());
        let _held = LOCK
            .lock()
            .map_err(|_| fail("password lookup lock poisoned"))?;
        let password = if path == Path::new("/dev/null") {
            spec.generate()
        } else if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                fail(format!(
                    "password lookup: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            let first = text.lines().next().unwrap_or_default();
            // Ansible may store ` salt=...` after the password.
            first.split(" salt=").next().unwrap_or_default().to_string()
        } else if active::probing().is_some() {
            return Err(fail(format!(
                "password lookup: {} is not stored yet",
                path.display()
            )));
        } else {
            let password = spec.generate();
            write_private(&path, &format!("{password}\n")).map_err(|e| {
                fail(format!(
                    "password lookup: cannot write {}: {e}",
                    path.display()
                ))
            })?;
            password
        };
        self.redactor.add(&password);
        Ok(Value::from(password))
    }
}

/// Terms as Ansible passes them: a list term counts as its items.
fn flatten_terms(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(t.try_iter()?);
        } else if t.is_undefined() {
            return Err(Error::from(minijinja::ErrorKind::UndefinedError));
        } else {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn pipe(cmd: &str) -> Result<Value, Error> {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| fail(format!("pipe lookup: cannot run '{cmd}': {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "lookup_plugin.pipe({cmd}) returned {}",
            out.status
        )));
    }
    Ok(Value::from(
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
    ))
}

/// Writes a file readable by its owner only, atomically, creating its
/// directory (mode 0700) if needed.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// `path length=20 chars=ascii_letters,digits` (options may also be
/// keyword arguments).
struct PasswordSpec {
    path: String,
    length: usize,
    chars: Vec<char>,
}

impl PasswordSpec {
    fn parse(term: &str, kwargs: &Kwargs) -> Result<Self, Error> {
        let mut words = term.split_whitespace();
        let path = words
            .next()
            .ok_or_else(|| fail("password lookup: no path given"))?
            .to_string();
        let mut length = kwargs.get::<Option<usize>>("length")?.unwrap_or(20);
        let mut chars = kwargs.get::<Option<String>>("chars")?;
        for word in words {
            let (k, v) = word
                .split_once('=')
                .ok_or_else(|| fail(format!("password lookup: '{word}' is not key=value")))?;
            match k {
                "length" => {
                    length = v
                        .parse()
                        .map_err(|_| fail(format!("password lookup: invalid length '{v}'")))?
                }
                "chars" => chars = Some(v.to_string()),
                // Hashing and seeding are not supported: the clear
                // password is what the OpenStack services need.
                "encrypt" | "ident" | "seed" => {
                    return Err(fail(format!("password lookup: '{k}' is not supported")));
                }
                other => return Err(fail(format!("password lookup: unknown option '{other}'"))),
            }
        }
        let chars = char_set(chars.as_deref().unwrap_or("ascii_letters,digits,.,:-_"));
        if chars.is_empty() || length == 0 {
            return Err(fail("password lookup: empty character set or zero length"));
        }
        Ok(PasswordSpec {
            path,
            length,
            chars,
        })
    }

    fn generate(&self) -> String {
        let mut rng = rand::rng();
        (0..self.length)
            .filter_map(|_| self.chars.choose(&mut rng).copied())
            .collect()
    }
}

/// Ansible's `chars`: comma-separated names of Python's `string` sets or
/// literal characters; `,,` is a literal comma.
fn char_set(spec: &str) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    let mut out: Vec<char> = Vec::new();
    let spec = spec.replace(",,", "\u{0}");
    for part in spec.split(',') {
        let set: String = match part {
            "ascii_letters" | "letters" => format!("{LOWER}{UPPER}"),
            "ascii_lowercase" | "lowercase" => LOWER.into(),
            "ascii_uppercase" | "uppercase" => UPPER.into(),
            "digits" => DIGITS.into(),
            "hexdigits" => "0123456789abcdefABCDEF".into(),
            "octdigits" => "01234567".into(),
            "punctuation" => PUNCT.into(),
            "printable" => format!("{DIGITS}{LOWER}{UPPER}{PUNCT}"),
            literal => literal.replace('\u{0}', ","),
        };
        for c in set.chars() {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Layer, Templar, VarScope};
    use serde_json::json;

    fn scope(v: serde_json::Value) -> minijinja::Value {
        let serde_json::Value::Object(m) = v else {
            panic!("vars must be an object")
        };
        VarScope::new(vec![Layer::new("vars", m)]).into_value()
    }

    #[test]
    fn char_sets() {
        assert_eq!(char_set("digits").len(), 10);
        assert_eq!(char_set("ascii_letters,digits").len(), 62);
        assert_eq!(char_set("ab,,"), vec!['a', 'b', ',']);
    }

    #[test]
    fn a_probe_reads_stored_passwords_and_has_no_side_effects() {
        const NO_EFFECTS: Probe = Probe::NoSideEffects;
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("stored"), "kept-pw salt=abc\n").unwrap();
        let t = Templar::new(TemplarOptions {
            base_dir: root.path().to_path_buf(),
            ..Default::default()
        });
        let ctx = scope(json!({"pw": "{{ lookup('password', 'new length=8') }}"}));
        assert_eq!(
            t.eval_probe("lookup('password', 'stored')", &ctx, NO_EFFECTS)
                .unwrap(),
            json!("kept-pw")
        );
        for expr in ["lookup('password', 'new length=8')", "pw"] {
            let e = t.eval_probe(expr, &ctx, NO_EFFECTS).unwrap_err();
            assert!(e.to_string().contains("is not stored yet"), "{e}");
        }
        assert!(!root.path().join("new").exists());
        let marker = root.path().join("ran");
        let cmd = format!("lookup('pipe', 'touch {}')", marker.display());
        let e = t.eval_probe(&cmd, &ctx, NO_EFFECTS).unwrap_err();
        assert!(e.to_string().contains("pipe lookup: not run"), "{e}");
        assert!(!marker.exists());
        // The milder probe runs commands but generates no password.
        let stored = Probe::StoredPasswords;
        assert!(t.eval_probe(&cmd, &ctx, stored).is_ok());
        assert!(marker.exists());
        assert!(t.eval_probe("pw", &ctx, stored).is_err());
        assert!(!root.path().join("new").exists());
        // Outside a probe, the same templar generates and runs.
        assert_eq!(t.eval("pw | length", &ctx).unwrap(), json!(8));
        assert!(root.path().join("new").exists());
    }
}
