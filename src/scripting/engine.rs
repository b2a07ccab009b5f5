//! The one Rhai engine of the run: limits against runaway scripts, and the
//! host API registered as `host`, `http`, `openstack`, `ini`, `vars`,
//! `facts` and a few functions (`fail`, `log`, `warn`, `template`,
//! `check_mode`, `diff_mode`, `call_module`, `native`).

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map as RMap, NativeCallContext, Position};
use serde_json::Value;

use super::api::{Api, exec_request, file_attrs};
use crate::connection::ExecRequest;
use crate::ini::{IniDoc, Kind as IniKind};

/// Limits that stop a runaway script with a clear error (time and memory
/// are in `limits`).
pub const MAX_OPERATIONS: u64 = 20_000_000;
pub const MAX_CALL_LEVELS: usize = 64;

/// The marker that `fail(msg)` raises, so it reads as a clean failure.
pub const FAIL_MARK: &str = "__oplay_fail__";

type Res<T> = Result<T, Box<EvalAltResult>>;

fn err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        msg.into().into(),
        Position::NONE,
    )))
}

fn api(ctx: &NativeCallContext) -> Res<Api> {
    match ctx.tag().and_then(|t| t.clone().try_cast::<Api>()) {
        Some(a) => Ok(a),
        None => err(
            "the host API is only available while a task runs (not at the top level of a script)",
        ),
    }
}

/// `vars`: the task's variables, read-only, resolved on access.
#[derive(Clone)]
pub struct Vars(pub Api);

/// `http`, `openstack` and `ini` handles.
#[derive(Clone)]
pub struct Http(pub Api);
#[derive(Clone)]
pub struct OpenStack(pub Api);
#[derive(Clone)]
pub struct Ini;

pub fn build() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(128, 64);
    // No `set_max_string_size`/`array_size`/`map_size`: see `limits`.
    engine.on_progress(super::limits::on_progress);
    // Scripts get no file or network access besides the host API: Rhai's
    // standard packages have no file IO, and `import` would read other
    // files from the control node, so it finds nothing.
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    // `print` and `debug` would write into the run's output unredacted.
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    // `on_var` is marked volatile (not deprecated) by Rhai; it is the one
    // way to make per-call values visible inside every script function.
    #[allow(deprecated)]
    engine.on_var(globals);
    register_host(&mut engine);
    register_functions(&mut engine);
    register_http(&mut engine);
    register_sized(&mut engine);
    engine
}

/// Rhai's functions that make a value of a given size in one operation,
/// with the size checked first (they would otherwise ask the allocator
/// for any amount, and a failed allocation aborts the process).
fn register_sized(engine: &mut Engine) {
    use super::limits::check_size;
    use rhai::{Blob, INT};
    engine.register_fn("pad", |a: &mut Array, len: INT, item: Dynamic| -> Res<()> {
        let more = len.saturating_sub(a.len() as INT);
        check_size(more, size_of::<Dynamic>() * (1 + deep_items(&item)))
            .or_else(|e| err(e.to_string()))?;
        if more > 0 {
            a.resize(len as usize, item);
        }
        Ok(())
    });
    engine.register_fn("pad", |b: &mut Blob, len: INT, value: INT| -> Res<()> {
        check_size(len.saturating_sub(b.len() as INT), 1).or_else(|e| err(e.to_string()))?;
        if len > b.len() as INT {
            b.resize(len as usize, (value & 0xff) as u8);
        }
        Ok(())
    });
    let blob = |len: INT, value: INT| -> Res<Blob> {
        check_size(len, 1).or_else(|e| err(e.to_string()))?;
        Ok(vec![(value & 0xff) as u8; len.max(0) as usize])
    };
    engine.register_fn("blob", move |len: INT| blob(len, 0));
    engine.register_fn("blob", blob);
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString, len: INT, c: char| -> Res<()> {
            let have = s.chars().count() as INT;
            check_size(len.saturating_sub(have), c.len_utf8()).or_else(|e| err(e.to_string()))?;
            if len > have {
                let text: String = std::iter::repeat_n(c, (len - have) as usize).collect();
                *s += text.as_str();
            }
            Ok(())
        },
    );
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString, len: INT, padding: &str| -> Res<()> {
            let have = s.chars().count() as INT;
            let unit = padding.chars().count();
            check_size(len.saturating_sub(have), 4).or_else(|e| err(e.to_string()))?;
            if len > have && unit > 0 {
                let text: String = padding
                    .chars()
                    .cycle()
                    .take((len - have) as usize)
                    .collect();
                *s += text.as_str();
            }
            Ok(())
        },
    );
}

/// How many values a value holds, itself not counted.
fn deep_items(v: &Dynamic) -> usize {
    if let Some(a) = v.read_lock::<Array>() {
        return a.iter().map(|x| 1 + deep_items(x)).sum();
    }
    if let Some(m) = v.read_lock::<RMap>() {
        return m.values().map(|x| 1 + deep_items(x)).sum();
    }
    0
}

/// `host`, `vars`, `facts`, `http`, `openstack` and `ini`, visible in every
/// function of the script (Rhai functions see no outer scope) unless a
/// local variable of that name hides them.
fn globals(name: &str, index: usize, ctx: rhai::EvalContext) -> Res<Option<Dynamic>> {
    const NAMES: &[&str] = &["host", "vars", "facts", "http", "openstack", "ini"];
    if index != 0 {
        return Ok(None);
    }
    let Some(api) = ctx.tag().clone().try_cast::<Api>() else {
        return Ok(None);
    };
    if !NAMES.contains(&name) {
        // The script's top-level constants (`const MODULE`, ...).
        return Ok(api.0.constants.get(name).cloned());
    }
    Ok(Some(match name {
        "host" => Dynamic::from(api),
        "vars" => Dynamic::from(Vars(api)),
        "facts" => api.0.facts(),
        "http" => Dynamic::from(Http(api)),
        "openstack" => Dynamic::from(OpenStack(api)),
        _ => Dynamic::from(Ini),
    }))
}

fn to_dyn(v: &Value) -> Dynamic {
    rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT)
}

fn register_host(engine: &mut Engine) {
    engine.register_type_with_name::<Api>("Host");
    engine.register_fn("exec", |h: &mut Api, cmd: &str| -> Res<RMap> {
        h.0.exec(ExecRequest::shell(cmd)).or_else(err)
    });
    engine.register_fn("exec", |h: &mut Api, cmd: &str, opts: RMap| -> Res<RMap> {
        h.0.exec(exec_request(ExecRequest::shell(cmd), &opts))
            .or_else(err)
    });
    engine.register_fn("exec", |h: &mut Api, argv: Array| -> Res<RMap> {
        let words: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        h.0.exec(ExecRequest::argv(&words)).or_else(err)
    });
    engine.register_fn(
        "exec",
        |h: &mut Api, argv: Array, opts: RMap| -> Res<RMap> {
            let words: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            h.0.exec(exec_request(ExecRequest::argv(&words), &opts))
                .or_else(err)
        },
    );
    engine.register_fn("read_file", |h: &mut Api, path: &str| -> Res<Dynamic> {
        h.0.read_file(path).or_else(err)
    });
    engine.register_fn(
        "write_file",
        |h: &mut Api, path: &str, content: &str| -> Res<()> {
            h.0.write_file(path, content, Default::default())
                .or_else(err)
        },
    );
    engine.register_fn(
        "write_file",
        |h: &mut Api, path: &str, content: &str, opts: RMap| -> Res<()> {
            let attrs = file_attrs(&opts).or_else(err)?;
            h.0.write_file(path, content, attrs).or_else(err)
        },
    );
    engine.register_fn("stat", |h: &mut Api, path: &str| -> Res<Dynamic> {
        h.0.stat(path).or_else(err)
    });
    engine.register_fn("exists", |h: &mut Api, path: &str| -> Res<bool> {
        Ok(!h.0.stat(path).or_else(err)?.is_unit())
    });
    engine.register_get("name", |h: &mut Api| h.0.host.clone());
    engine.register_type_with_name::<Vars>("Vars");
    engine.register_indexer_get(|v: &mut Vars, name: &str| -> Res<Dynamic> {
        v.0.0
            .templar
            .eval(name, &v.0.0.vars)
            .map(|x| to_dyn(&x))
            .or_else(|e| err(e.to_string()))
    });
    engine.register_fn("get", |v: &mut Vars, name: &str| -> Dynamic {
        v.0.0
            .templar
            .eval(name, &v.0.0.vars)
            .map(|x| to_dyn(&x))
            .unwrap_or(Dynamic::UNIT)
    });
    engine.register_fn("contains", |v: &mut Vars, name: &str| {
        v.0.0.templar.eval(name, &v.0.0.vars).is_ok()
    });
}

fn register_functions(engine: &mut Engine) {
    engine.register_fn("check_mode", |ctx: NativeCallContext| -> Res<bool> {
        Ok(api(&ctx)?.0.check)
    });
    engine.register_fn("diff_mode", |ctx: NativeCallContext| -> Res<bool> {
        Ok(api(&ctx)?.0.diff)
    });
    engine.register_fn("fail", |msg: &str| -> Res<()> {
        let mut m = RMap::new();
        m.insert(FAIL_MARK.into(), msg.into());
        Err(Box::new(EvalAltResult::ErrorRuntime(
            m.into(),
            Position::NONE,
        )))
    });
    engine.register_fn("log", |ctx: NativeCallContext, msg: &str| -> Res<()> {
        api(&ctx)?.0.log(msg);
        Ok(())
    });
    engine.register_fn("warn", |ctx: NativeCallContext, msg: &str| -> Res<()> {
        api(&ctx)?.0.warn(msg);
        Ok(())
    });
    engine.register_fn(
        "template",
        |ctx: NativeCallContext, text: &str| -> Res<String> {
            api(&ctx)?.0.template(text).or_else(err)
        },
    );
    // `module` is a Rhai keyword, hence `call_module`.
    for (name, native) in [("call_module", false), ("native", true)] {
        engine.register_fn(name, move |ctx: NativeCallContext, module: &str, params: RMap| -> Res<RMap> {
            let a = api(&ctx)?;
            let params: Value = rhai::serde::from_dynamic(&params.into()).or_else(|e| err(e.to_string()))?;
            let outcome = a.0.call_module(module, params, native).or_else(err)?;
            let mut result = outcome.to_value();
            if let (Value::Object(m), false) = (&mut result, outcome.diffs.is_empty()) {
                let d = &outcome.diffs[0];
                m.insert("diff".into(), serde_json::json!({"before": d.before, "after": d.after, "header": d.header}));
            }
            Ok(to_dyn(&result).try_cast::<RMap>().unwrap_or_default())
        });
    }
}

fn register_http(engine: &mut Engine) {
    engine.register_type_with_name::<Http>("Http");
    for method in ["get", "post", "put", "patch", "delete", "head"] {
        engine.register_fn(method, move |h: &mut Http, url: &str| -> Res<RMap> {
            h.0.0.http(method, url, &RMap::new()).or_else(err)
        });
        engine.register_fn(
            method,
            move |h: &mut Http, url: &str, opts: RMap| -> Res<RMap> {
                h.0.0.http(method, url, &opts).or_else(err)
            },
        );
    }
    engine.register_type_with_name::<OpenStack>("OpenStack");
    engine.register_fn(
        "request",
        |o: &mut OpenStack, service: &str, method: &str, path: &str, body: Dynamic| -> Res<RMap> {
            o.0.0
                .openstack(service, method, path, &body, &RMap::new())
                .or_else(err)
        },
    );
    engine.register_fn(
        "request",
        |o: &mut OpenStack,
         service: &str,
         method: &str,
         path: &str,
         body: Dynamic,
         opts: RMap|
         -> Res<RMap> {
            o.0.0
                .openstack(service, method, path, &body, &opts)
                .or_else(err)
        },
    );
    register_ini(engine);
}

fn register_ini(engine: &mut Engine) {
    engine.register_type_with_name::<Ini>("Ini");
    engine.register_fn("parse", |_: &mut Ini, text: &str| ini_parse(text));
    engine.register_fn(
        "get",
        |_: &mut Ini, text: &str, section: Dynamic, key: &str| -> Res<Dynamic> {
            let doc = IniDoc::parse(text);
            let section = ini_section(&section)?;
            let value = doc.get(section.as_deref(), key).map(str::to_string);
            Ok(value.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
        },
    );
    engine.register_fn(
        "set",
        |_: &mut Ini, text: &str, section: Dynamic, key: &str, value: Dynamic| -> Res<String> {
            let mut doc = IniDoc::parse(text);
            let section = ini_section(&section)?;
            doc.set(section.as_deref(), key, &value.to_string())
                .or_else(|e| err(e.to_string()))?;
            Ok(doc.render())
        },
    );
    engine.register_fn(
        "remove",
        |_: &mut Ini, text: &str, section: Dynamic, key: &str| -> Res<String> {
            let mut doc = IniDoc::parse(text);
            let section = ini_section(&section)?;
            doc.remove(section.as_deref(), key);
            Ok(doc.render())
        },
    );
}

/// `()` or `""` is the part before the first section.
fn ini_section(section: &Dynamic) -> Res<Option<String>> {
    if section.is_unit() {
        return Ok(None);
    }
    match section.clone().into_string() {
        Ok(s) if s.is_empty() => Ok(None),
        Ok(s) => Ok(Some(s)),
        Err(t) => err(format!("an INI section must be a string or (), found {t}")),
    }
}

/// Every option of every section, valued as oslo.config reads them (the
/// last line wins); options before the first section are under `""`.
fn ini_parse(text: &str) -> RMap {
    let doc = IniDoc::parse(text);
    let mut keys: Vec<(Option<String>, String)> = Vec::new();
    let mut section: Option<String> = None;
    for line in &doc.lines {
        match &line.kind {
            IniKind::Section(name) => section = Some(name.clone()),
            IniKind::Option { key, .. } => keys.push((section.clone(), key.clone())),
            _ => {}
        }
    }
    let mut sections: std::collections::BTreeMap<String, RMap> = Default::default();
    for (section, key) in keys {
        let value = doc.get(section.as_deref(), &key).unwrap_or_default();
        sections
            .entry(section.unwrap_or_default())
            .or_default()
            .insert(key.into(), value.into());
    }
    sections
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    //! The limits of `limits`, as the engine built here applies them.

    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::scripting::limits::{Budget, stopped_message};

    fn run(script: &str, time: Duration, cancelled: Arc<AtomicBool>) -> Result<Dynamic, String> {
        let engine = build();
        let _budget = Budget::start(time, cancelled);
        engine.eval::<Dynamic>(script).map_err(|e| match *e {
            rhai::EvalAltResult::ErrorTerminated(token, _) => stopped_message(&token),
            other => other.to_string(),
        })
    }

    fn quick(script: &str) -> Result<Dynamic, String> {
        run(script, Duration::from_secs(60), Arc::default())
    }

    #[test]
    fn many_pushes_are_linear() {
        let started = Instant::now();
        let len = quick("let a = []; for i in 0..200000 { a.push(i); } a.len()").unwrap();
        assert_eq!(len.as_int(), Ok(200_000));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn an_endless_loop_stops_at_the_time_limit() {
        let started = Instant::now();
        let slow = "loop { let s = 0; for i in 0..1000 { s += i; } }";
        let err = run(slow, Duration::from_millis(200), Arc::default()).unwrap_err();
        assert_eq!(
            err,
            "the script ran for more than 1 seconds and was stopped (an endless loop?); the task's `timeout:` sets this limit"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_cancelled_call_stops() {
        let err = run(
            "loop {}",
            Duration::from_secs(60),
            Arc::new(AtomicBool::new(true)),
        );
        assert_eq!(
            err.unwrap_err(),
            "the script was stopped: its task timed out or the run was interrupted"
        );
    }

    #[test]
    fn growing_data_stops_at_the_memory_limit() {
        let err = quick("let s = \"x\"; loop { s += s; }").unwrap_err();
        assert_eq!(
            err,
            "the script's data grew beyond the script limits (more than 256 MiB of memory)"
        );
        let err = quick("let a = [1]; loop { a += a; }").unwrap_err();
        assert!(err.contains("256 MiB"), "{err}");
    }

    #[test]
    fn values_of_a_given_size_are_checked_first() {
        for script in [
            "let a = []; a.pad(1000000000000, 0); a",
            "let b = blob(1000000000000); b",
            "let s = \"\"; s.pad(1000000000000, 'x'); s",
            "let s = \"\"; s.pad(1000000000000, \"ab\"); s",
        ] {
            let err = quick(script).unwrap_err();
            assert!(
                err.contains("would grow beyond the script limits"),
                "{script}: {err}"
            );
        }
        assert_eq!(
            quick("let a = [1]; a.pad(3, 0); a.len()").unwrap().as_int(),
            Ok(3)
        );
        assert_eq!(
            quick("let s = \"a\"; s.pad(4, \"xy\"); s")
                .unwrap()
                .to_string(),
            "axyx"
        );
        assert_eq!(quick("blob(3, 0x41).len()").unwrap().as_int(), Ok(3));
    }
}
