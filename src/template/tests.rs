//! Unit tests of the templating layer: every filter, test and lookup we
//! provide or rely on, layer precedence, lazy rendering, recursion,
//! `omit`, and the messages for undefined variables.

use serde_json::{Value, json};

use super::*;

fn templar() -> Templar {
    Templar::new(TemplarOptions::default())
}

fn scope(v: Value) -> minijinja::Value {
    let Value::Object(m) = v else {
        panic!("vars must be an object")
    };
    VarScope::new(vec![Layer::new("vars", m)]).into_value()
}

/// Evaluates one expression against `vars`.
fn ev(expr: &str, vars: Value) -> Value {
    templar()
        .eval(expr, &scope(vars))
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// Renders a template string against `vars`.
fn rs(text: &str, vars: Value) -> String {
    templar()
        .render_str(text, &scope(vars))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(expr: &str, vars: Value) -> String {
    match templar().render_value(&json!(expr), &scope(vars)) {
        Ok(v) => panic!("{expr} rendered to {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn single_expression_keeps_type() {
    let t = templar();
    let ctx = scope(json!({"port": 8080, "list": [1, 2]}));
    assert_eq!(
        t.render_value(&json!("{{ port }}"), &ctx).unwrap(),
        json!(8080)
    );
    assert_eq!(
        t.render_value(&json!("{{ list }}"), &ctx).unwrap(),
        json!([1, 2])
    );
    assert_eq!(
        t.render_value(&json!("p={{ port }}"), &ctx).unwrap(),
        json!("p=8080")
    );
    assert_eq!(
        t.render_value(&json!({"{{ 'k' }}": ["{{ port + 1 }}"]}), &ctx)
            .unwrap(),
        json!({"k": [8081]})
    );
}

#[test]
fn values_print_as_python_does() {
    let vars = json!({"f": false, "n": null, "l": ["a", 1, true], "d": {"k": "v"}});
    assert_eq!(
        rs("{{ f }} {{ n }} {{ l }} {{ d }}", vars),
        "False None ['a', 1, True] {'k': 'v'}"
    );
}

#[test]
fn conditions() {
    let t = templar();
    let ctx = scope(json!({"a": 1, "s": "yes"}));
    assert!(t.eval_bool("a == 1", &ctx).unwrap());
    assert!(!t.eval_bool("{{ a > 1 }}", &ctx).unwrap());
    assert!(t.eval_bool("s", &ctx).unwrap());
}

#[test]
fn default_filter() {
    assert_eq!(ev("nope | default('x')", json!({})), json!("x"));
    assert_eq!(ev("nope | d(3)", json!({})), json!(3));
    assert_eq!(ev("e | default('x')", json!({"e": ""})), json!(""));
    assert_eq!(ev("e | default('x', true)", json!({"e": ""})), json!("x"));
    assert_eq!(
        ev(
            "nope.deeper | default('x') if nope is defined else 'y'",
            json!({})
        ),
        json!("y")
    );
}

#[test]
fn conversion_filters() {
    for (s, b) in [
        ("yes", true),
        ("On", true),
        ("1", true),
        ("true", true),
        ("no", false),
        ("off", false),
        ("x", false),
    ] {
        assert_eq!(ev("v | bool", json!({"v": s})), json!(b), "{s}");
    }
    assert_eq!(ev("1 | bool", json!({})), json!(true));
    assert_eq!(ev("'12' | int", json!({})), json!(12));
    assert_eq!(ev("'12.7' | int", json!({})), json!(12));
    assert_eq!(ev("'abc' | int", json!({})), json!(0));
    assert_eq!(ev("'abc' | int(7)", json!({})), json!(7));
    assert_eq!(ev("'0x1f' | int(base=16)", json!({})), json!(31));
    assert_eq!(ev("5 | string", json!({})), json!("5"));
    assert_eq!(ev("true | ternary('a', 'b')", json!({})), json!("a"));
    assert_eq!(ev("v | type_debug", json!({"v": {}})), json!("dict"));
}

#[test]
fn string_filters() {
    assert_eq!(ev("'AbC' | lower", json!({})), json!("abc"));
    assert_eq!(ev("'AbC' | upper", json!({})), json!("ABC"));
    assert_eq!(ev("['a', 'b'] | join(',')", json!({})), json!("a,b"));
    assert_eq!(ev("'a,b' | split(',')", json!({})), json!(["a", "b"]));
    assert_eq!(ev("'a b' | replace(' ', '-')", json!({})), json!("a-b"));
    assert_eq!(ev("\"it's\" | quote", json!({})), json!(r"'it'\''s'"));
    assert_eq!(
        ev("'/etc/nova/nova.conf' | basename", json!({})),
        json!("nova.conf")
    );
    assert_eq!(
        ev("'/etc/nova/nova.conf' | dirname", json!({})),
        json!("/etc/nova")
    );
    assert_eq!(
        ev("'abc' | hash('md5')", json!({})),
        json!("900150983cd24fb0d6963f7d28e17f72")
    );
}

#[test]
fn python_string_and_dict_methods() {
    assert_eq!(ev("'a,b'.split(',')", json!({})), json!(["a", "b"]));
    assert_eq!(ev("'nova-api'.startswith('nova')", json!({})), json!(true));
    assert_eq!(
        ev("d.items() | list", json!({"d": {"k": 1}})),
        json!([["k", 1]])
    );
    assert_eq!(ev("d.keys() | list", json!({"d": {"k": 1}})), json!(["k"]));
    assert_eq!(ev("d.get('x', 2)", json!({"d": {"k": 1}})), json!(2));
}

#[test]
fn regex_filters() {
    let v = json!({"s": "host-01.example.com"});
    assert_eq!(
        ev(
            r"s | regex_replace('^host-(\\d+)\\..*$', 'node\\1')",
            v.clone()
        ),
        json!("node01")
    );
    assert_eq!(
        ev(r"s | regex_replace('(?P<n>\\d+)', '<\\g<n>>')", v.clone()),
        json!("host-<01>.example.com")
    );
    assert_eq!(
        ev("'a$b' | regex_replace('b', '$x')", json!({})),
        json!("a$$x")
    );
    assert_eq!(
        ev(
            "'AAA' | regex_replace('a', 'b', ignorecase=true, count=2)",
            json!({})
        ),
        json!("bbA")
    );
    assert_eq!(ev(r"s | regex_search('\\d+')", v.clone()), json!("01"));
    assert_eq!(ev("s | regex_search('zzz')", v.clone()), json!(null));
    assert_eq!(
        ev(
            r"s | regex_search('(\\w+)-(\\d+)', '\\2', '\\1')",
            v.clone()
        ),
        json!(["01", "host"])
    );
    assert_eq!(
        ev(r"'a1b22' | regex_findall('\\d+')", json!({})),
        json!(["1", "22"])
    );
    assert_eq!(ev("'a.b' | regex_escape", json!({})), json!(r"a\.b"));
}

#[test]
fn serialization_filters() {
    let v = json!({"d": {"b": 1, "a": [true, null]}});
    assert_eq!(
        ev("d | to_json", v.clone()),
        json!(r#"{"b": 1, "a": [true, null]}"#)
    );
    assert_eq!(
        ev("d | to_nice_json", v.clone()),
        json!("{\n    \"a\": [\n        true,\n        null\n    ],\n    \"b\": 1\n}")
    );
    assert_eq!(
        ev("'{\"x\": [1]}' | from_json", json!({})),
        json!({"x": [1]})
    );
    assert_eq!(
        ev("d | to_yaml", v.clone()),
        json!("b: 1\na:\n- true\n- null\n")
    );
    assert_eq!(
        ev("d | to_nice_yaml", v.clone()),
        json!("b: 1\na:\n- true\n- null\n")
    );
    assert_eq!(
        ev("'x: [1, two]' | from_yaml", json!({})),
        json!({"x": [1, "two"]})
    );
    assert_eq!(ev("'hello' | b64encode", json!({})), json!("aGVsbG8="));
    assert_eq!(ev("'aGVsbG8=' | b64decode", json!({})), json!("hello"));
}

#[test]
fn mapping_filters() {
    let v = json!({"d": {"a": 1, "b": 2}});
    assert_eq!(
        ev("d | dict2items", v.clone()),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        ev(
            "d | dict2items(key_name='k', value_name='v') | items2dict(key_name='k', value_name='v')",
            v.clone()
        ),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        ev("[{'key': 'x', 'value': 1}] | items2dict", json!({})),
        json!({"x": 1})
    );
    assert_eq!(
        ev("[['a', 1], ['b', 2]] | dict", json!({})),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(ev("d.values() | list", v.clone()), json!([1, 2]));
    assert_eq!(
        ev("dict(['a', 'b'] | zip([1, 2]))", json!({})),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(ev("dict(d, c=3)", v), json!({"a": 1, "b": 2, "c": 3}));
    assert_eq!(ev("dict(x=1)", json!({})), json!({"x": 1}));
    assert_eq!(
        ev("[1, 2, 3] | zip('ab' | list)", json!({})),
        json!([[1, "a"], [2, "b"]])
    );
}

#[test]
fn combine_filter() {
    let v = json!({
        "a": {"x": {"p": 1, "l": [1]}, "k": 1},
        "b": {"x": {"q": 2, "l": [2]}},
        "c": {"k": 3},
    });
    assert_eq!(
        ev("a | combine(b, c)", v.clone()),
        json!({"x": {"q": 2, "l": [2]}, "k": 3})
    );
    assert_eq!(
        ev("a | combine(b, recursive=true)", v.clone()),
        json!({"x": {"p": 1, "q": 2, "l": [2]}, "k": 1})
    );
    assert_eq!(
        ev(
            "a | combine(b, recursive=true, list_merge='append')",
            v.clone()
        ),
        json!({"x": {"p": 1, "q": 2, "l": [1, 2]}, "k": 1})
    );
    assert_eq!(
        ev("[a, c] | combine", v.clone()),
        json!({"x": {"p": 1, "l": [1]}, "k": 3})
    );
    assert!(err("{{ a | combine(b, list_merge='bogus') }}", v).contains("list_merge"));
}

#[test]
fn list_filters() {
    let v = json!({"l": [3, 1, 3, 2], "u": [{"n": "a", "on": true}, {"n": "b", "on": false}]});
    assert_eq!(ev("l | first", v.clone()), json!(3));
    assert_eq!(ev("l | last", v.clone()), json!(2));
    assert_eq!(ev("l | length", v.clone()), json!(4));
    assert_eq!(ev("l | unique | list", v.clone()), json!([3, 1, 2]));
    assert_eq!(ev("l | sort", v.clone()), json!([1, 2, 3, 3]));
    assert_eq!(ev("l | min", v.clone()), json!(1));
    assert_eq!(ev("l | max", v.clone()), json!(3));
    assert_eq!(ev("l | select('gt', 2) | list", v.clone()), json!([3, 3]));
    assert_eq!(ev("l | reject('gt', 2) | list", v.clone()), json!([1, 2]));
    assert_eq!(
        ev("u | map(attribute='n') | list", v.clone()),
        json!(["a", "b"])
    );
    assert_eq!(
        ev("['a', 'b'] | map('upper') | list", v.clone()),
        json!(["A", "B"])
    );
    assert_eq!(
        ev(
            "u | selectattr('on') | map(attribute='n') | list",
            v.clone()
        ),
        json!(["a"])
    );
    assert_eq!(
        ev(
            "u | rejectattr('n', 'equalto', 'a') | map(attribute='n') | list",
            v.clone()
        ),
        json!(["b"])
    );
    assert_eq!(ev("'ab' | list", v.clone()), json!(["a", "b"]));
    assert_eq!(
        ev("[1, [2, [3, null]]] | flatten", v.clone()),
        json!([1, 2, 3])
    );
    assert_eq!(
        ev("[1, [2, [3]]] | flatten(1)", v.clone()),
        json!([1, 2, [3]])
    );
    assert_eq!(
        ev("[1, 2, 3] | union([3, 4])", v.clone()),
        json!([1, 2, 3, 4])
    );
    assert_eq!(
        ev("[1, 2, 3] | intersect([3, 2, 9])", v.clone()),
        json!([2, 3])
    );
    assert_eq!(ev("[1, 2, 3] | difference([2])", v.clone()), json!([1, 3]));
    assert_eq!(
        ev("[1, 2] | symmetric_difference([2, 3])", v),
        json!([1, 3])
    );
}

#[test]
fn extract_filter_reads_other_mappings() {
    let v = json!({"hv": {"h1": {"ip": "10.0.0.1"}, "h2": {"ip": "10.0.0.2"}}, "g": ["h1", "h2"]});
    assert_eq!(
        ev("g | map('extract', hv, 'ip') | list", v),
        json!(["10.0.0.1", "10.0.0.2"])
    );
}

#[test]
fn mandatory_names_the_variable() {
    assert_eq!(ev("v | mandatory", json!({"v": 1})), json!(1));
    let e = err("{{ nope | mandatory }}", json!({}));
    assert!(e.contains("Mandatory variable 'nope' not defined."), "{e}");
    assert!(err("{{ nope | mandatory('set nope') }}", json!({})).contains("set nope"));
}

#[test]
fn result_tests() {
    let v = json!({"ok": {"changed": false, "rc": 0}, "bad": {"failed": true, "changed": true}, "sk": {"skipped": true}});
    assert_eq!(
        ev(
            "ok is succeeded and ok is success and ok is not failed",
            v.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ev(
            "bad is failed and bad is failure and bad is not succeeded",
            v.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ev(
            "bad is changed and bad is change and ok is not changed",
            v.clone()
        ),
        json!(true)
    );
    assert_eq!(
        ev(
            "sk is skipped and sk is skip and ok is not skipped",
            v.clone()
        ),
        json!(true)
    );
    assert!(err("{{ 'x' is failed }}", v).contains("registered result"));
}

#[test]
fn type_and_value_tests() {
    let v = json!({"n": null, "s": "x", "i": 3, "d": {}, "l": [1]});
    let cases = [
        "s is defined",
        "nope is undefined",
        "n is none",
        "s is string",
        "i is number",
        "d is mapping",
        "l is iterable",
        "1 in l",
        "1 is in l",
        "s is truthy",
        "'' is falsy",
        "'no' is falsy(convert_bool=true)",
        "l is contains(1)",
        "[1] is subset([1, 2])",
    ];
    for case in cases {
        assert_eq!(ev(case, v.clone()), json!(true), "{case}");
    }
    assert_eq!(
        ev("i is string or s is number or l is mapping", v),
        json!(false)
    );
}

#[test]
fn regex_tests() {
    let v = json!({"s": "nova-api"});
    assert_eq!(ev("s is match('nova')", v.clone()), json!(true));
    assert_eq!(ev("s is match('api')", v.clone()), json!(false));
    assert_eq!(ev("s is search('api')", v.clone()), json!(true));
    assert_eq!(
        ev("s is regex('API', ignorecase=true)", v.clone()),
        json!(true)
    );
    assert_eq!(ev("s is regex('api', match_type='match')", v), json!(false));
}

#[test]
fn version_test() {
    assert_eq!(ev("'1.10' is version('1.9', '>')", json!({})), json!(true));
    assert_eq!(
        ev("'1.10' is version('1.9', 'lt')", json!({})),
        json!(false)
    );
    assert_eq!(ev("'2.0' is version('2.0')", json!({})), json!(true));
    assert_eq!(
        ev(
            "'27.1.0' is version_compare('27.0.0', operator='ge')",
            json!({})
        ),
        json!(true)
    );
}

#[test]
fn layers_first_wins_and_objects_win_over_layers() {
    let high = json!({"a": "high"});
    let low = json!({"a": "low", "b": "low"});
    let (Value::Object(h), Value::Object(l)) = (high, low) else {
        unreachable!()
    };
    let mut s = VarScope::new(vec![Layer::new("task", h)]);
    s.push(Layer::new("defaults", l));
    assert_eq!(s.origin("b"), Some("defaults"));
    let mut top = serde_json::Map::new();
    top.insert("b".into(), json!("extra"));
    s.push_front(Layer::new("extra", top));
    s.set_object("c", minijinja::Value::from(7));
    let ctx = s.into_value();
    assert_eq!(
        templar().eval("[a, b, c]", &ctx).unwrap(),
        json!(["high", "extra", 7])
    );
}

#[test]
fn variables_render_lazily_with_the_same_scope() {
    let v = json!({
        "a": "{{ b }}-x",
        "b": 1,
        "n": "{{ b }}",
        "nested": {"list": ["{{ a }}", {"deep": "{{ b + 1 }}"}]},
        "uses_nested": "{{ nested.list[1].deep * 10 }}",
    });
    assert_eq!(ev("a", v.clone()), json!("1-x"));
    assert_eq!(ev("n", v.clone()), json!(1));
    assert_eq!(
        ev("nested", v.clone()),
        json!({"list": ["1-x", {"deep": 2}]})
    );
    assert_eq!(ev("uses_nested", v.clone()), json!(20));
    assert_eq!(ev("nested.list | length", v.clone()), json!(2));
    assert_eq!(
        rs("{% for x in nested.list %}{{ x }};{% endfor %}", v),
        "1-x;{'deep': 2};"
    );
}

#[test]
fn untemplated_layers_stay_text() {
    let Value::Object(m) = json!({"out": {"stdout": "{{ not_a_var }}"}}) else {
        unreachable!()
    };
    let ctx = VarScope::new(vec![Layer::new("registered", m).untemplated()]).into_value();
    assert_eq!(
        templar().eval("out.stdout", &ctx).unwrap(),
        json!("{{ not_a_var }}")
    );
}

#[test]
fn recursion_is_an_error_not_a_stack_overflow() {
    let e = err("{{ a }}", json!({"a": "{{ a }}"}));
    assert_eq!(e, "recursive loop detected in template for 'a'");
    let e = err("x {{ a }}", json!({"a": "{{ b }}", "b": "{{ a | upper }}"}));
    assert_eq!(e, "recursive loop detected in template for 'a'");
    let e = err("{{ d }}", json!({"d": {"k": ["{{ d.k }}"]}}));
    assert!(
        e.contains("recursive loop detected in template for 'd.k[0]'"),
        "{e}"
    );
}

#[test]
fn undefined_messages_name_the_variable() {
    assert_eq!(err("{{ nope }}", json!({})), "'nope' is undefined");
    assert_eq!(err("x={{ nope }}", json!({})), "'nope' is undefined");
    assert_eq!(
        err("{{ lookup('env', 'HOME') ~ nope }}", json!({})),
        "'nope' is undefined"
    );
    assert_eq!(
        err("{{ foo.bar }}", json!({"foo": {"baz": 1}})),
        "'foo.bar' is undefined ('dict object' has no attribute 'bar')"
    );
    assert_eq!(
        err("{{ a }}", json!({"a": "{{ nope }}"})),
        "'nope' is undefined (needed by 'a')"
    );
    assert_eq!(
        ev("a | default('d')", json!({"a": "{{ nope }}"})),
        json!("d")
    );
    let nested = json!({"d": {"k": ["{{ nope }}"]}});
    assert_eq!(
        err("{{ d }}", nested.clone()),
        "'nope' is undefined (needed by 'd.k[0]')"
    );
    assert_eq!(
        err("x{{ d }}", nested.clone()),
        "'nope' is undefined (needed by 'd.k[0]')"
    );
    assert_eq!(
        err("{{ d | to_json }}", nested),
        "'nope' is undefined (needed by 'd.k[0]')"
    );
    let e = templar()
        .eval_bool("nope == 1", &scope(json!({})))
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    assert_eq!(
        templar().get_var(&scope(json!({"x": 1})), "y").unwrap(),
        None
    );
}

#[test]
fn omit_is_dropped_from_arguments() {
    let t = templar();
    let ctx = scope(json!({"o": "{{ omit }}"}));
    let mut args = t
        .render_value(
            &json!({"name": "x", "mode": "{{ m | default(omit) }}", "l": ["{{ o }}", 1]}),
            &ctx,
        )
        .unwrap();
    assert_eq!(args["mode"], json!(omit_token()));
    strip_omitted(&mut args);
    assert_eq!(args, json!({"name": "x", "l": [1]}));
    assert!(omit_token().starts_with("__omit_place_holder__"));
}

#[test]
fn non_templates_are_returned_as_they_are() {
    let t = templar();
    let ctx = scope(json!({}));
    assert_eq!(
        t.render_str("plain } { text", &ctx).unwrap(),
        "plain } { text"
    );
    assert!(!Templar::is_template("a { b }"));
}

#[test]
fn syntax_errors_and_includes_are_reported() {
    let e = err("x {{ a + }}", json!({"a": 1}));
    assert!(e.contains("syntax error"), "{e}");
    let e = err("x {% include 'other.j2' %}", json!({}));
    assert!(e.contains("not found"), "{e}");
}

#[test]
fn env_lookup_and_query() {
    let home = std::env::var("HOME").unwrap_or_default();
    assert_eq!(ev("lookup('env', 'HOME')", json!({})), json!(home));
    assert_eq!(
        ev("lookup('env', 'OPLAY_SURELY_UNSET_VAR')", json!({})),
        json!("")
    );
    assert_eq!(
        ev(
            "lookup('env', 'OPLAY_SURELY_UNSET_VAR', default='d')",
            json!({})
        ),
        json!("d")
    );
    assert_eq!(ev("query('env', 'HOME')", json!({})), json!([home]));
    assert_eq!(
        ev("lookup('env', 'HOME', wantlist=True)", json!({})),
        json!([home])
    );
    assert_eq!(
        ev("lookup('vars', 'x')", json!({"x": "{{ 1 + 1 }}"})),
        json!(2)
    );
    assert_eq!(ev("lookup('pipe', 'echo hi')", json!({})), json!("hi"));
}

#[test]
fn file_lookup_searches_task_paths_then_playbook_dir() {
    let root = tempfile::tempdir().unwrap();
    let role = root.path().join("role");
    std::fs::create_dir_all(role.join("files")).unwrap();
    std::fs::write(role.join("files/key.pub"), "ssh-ed25519 AAA\n").unwrap();
    std::fs::write(root.path().join("top.txt"), "top\n\n").unwrap();
    let t = Templar::new(TemplarOptions {
        base_dir: root.path().to_path_buf(),
        ..Default::default()
    });
    let ctx = scope(json!({"oplay_search_paths": [role.to_string_lossy()]}));
    assert_eq!(
        t.eval("lookup('file', 'key.pub')", &ctx).unwrap(),
        json!("ssh-ed25519 AAA")
    );
    assert_eq!(
        t.eval("lookup('file', 'top.txt')", &ctx).unwrap(),
        json!("top")
    );
    let e = t.eval("lookup('file', 'missing.txt')", &ctx).unwrap_err();
    assert!(
        e.to_string()
            .contains("could not locate file in lookup: missing.txt"),
        "{e}"
    );
    assert_eq!(
        t.eval("lookup('file', 'missing.txt', errors='ignore')", &ctx)
            .unwrap(),
        json!(null)
    );
    let globbed = t.eval("query('fileglob', '*.pub')", &ctx).unwrap();
    assert_eq!(globbed.as_array().map(Vec::len), Some(1));
}

#[test]
fn password_lookup_generates_once_and_stores_privately() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let t = Templar::new(TemplarOptions {
        base_dir: root.path().to_path_buf(),
        redactor: redactor.clone(),
        sandboxed: false,
    });
    let ctx = scope(json!({}));
    let expr = "lookup('password', 'credentials/nova length=24 chars=ascii_letters,digits')";
    let first = t.eval(expr, &ctx).unwrap();
    let pw = first.as_str().unwrap().to_string();
    assert_eq!(pw.len(), 24);
    assert!(pw.chars().all(|c| c.is_ascii_alphanumeric()), "{pw}");
    let path = root.path().join("credentials/nova");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{pw}\n"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(t.eval(expr, &ctx).unwrap(), first);
    assert_eq!(redactor.scrub(&format!("pw={pw}")), "pw=********");

    std::fs::write(root.path().join("given"), "chosen salt=abc\n").unwrap();
    assert_eq!(
        t.eval("lookup('password', 'given')", &ctx).unwrap(),
        json!("chosen")
    );
    let digits = t
        .eval(
            "lookup('password', '/dev/null', length=8, chars='digits')",
            &ctx,
        )
        .unwrap();
    assert!(digits.as_str().unwrap().chars().all(|c| c.is_ascii_digit()));
}

#[test]
fn unknown_lookup_is_an_error() {
    let e = err("{{ lookup('nope', 'x') }}", json!({}));
    assert!(e.contains("lookup plugin 'nope' not found"), "{e}");
}

/// Micro-benchmark: `cargo test --lib template::unit_tests::bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_render() {
    let t = templar();
    let facts: serde_json::Map<String, Value> = (0..300)
        .map(|i| {
            (
                format!("fact_{i}"),
                json!({"a": [i, i + 1], "s": "x".repeat(40)}),
            )
        })
        .collect();
    let Value::Object(vars) =
        json!({"name": "nova", "port": 8774, "url": "http://{{ name }}:{{ port }}"})
    else {
        unreachable!()
    };
    let scope = VarScope::new(vec![
        Layer::new("vars", vars),
        Layer::new("facts", {
            let mut m = serde_json::Map::new();
            m.insert("ansible_facts".into(), Value::Object(facts));
            m
        })
        .untemplated(),
    ])
    .into_value();
    let cases = [
        ("plain", json!({"name": "nova-api", "state": "present"})),
        ("single", json!({"name": "{{ name }}", "state": "present"})),
        (
            "mixed",
            json!({"dest": "/etc/{{ name }}/{{ name }}.conf", "port": "{{ port }}"}),
        ),
        ("lazy", json!({"url": "{{ url }}"})),
        ("facts", json!({"x": "{{ ansible_facts.fact_7.a[1] }}"})),
        (
            "filter",
            json!({"x": "{{ [name, 'api'] | join('-') | upper }}"}),
        ),
    ];
    for (label, args) in cases {
        let per = min_micros(|| {
            std::hint::black_box(t.render_value(&args, &scope).unwrap());
        });
        println!("{label:>8}: {per:8.2} µs per render_value");
    }
    // The same template string compiled on every render, for comparison
    // with the cached path that render_str takes.
    let text = "/etc/{{ name }}/{{ name }}.conf:{{ port + 1 }}";
    let cached = min_micros(|| {
        std::hint::black_box(t.render_str(text, &scope).unwrap());
    });
    let uncached = min_micros(|| {
        std::hint::black_box(t.env.render_str(text, &scope).unwrap());
    });
    println!("template string: {cached:.2} µs cached, {uncached:.2} µs compiled each time");
}

/// The best of several rounds, in µs per call: the machine is shared.
fn min_micros(mut f: impl FnMut()) -> f64 {
    (0..7)
        .map(|_| {
            let n = 500;
            let start = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn huge_values_and_widths_fail_instead_of_aborting() {
    let t = Templar::new(TemplarOptions::default());
    let ctx = scope(json!({}));
    for (template, want) in [
        (
            "{{ [1] * 100000000000 }}",
            "invalid operation: a value of more than 1000000 items",
        ),
        (
            "x{{ [[1] * 1000, [2] * 1000000] }}",
            "invalid operation: a value of more than 1000000 items",
        ),
        (
            "{{ '%0100000000000d' | format(1) }}",
            "invalid operation: a format width or precision beyond 10000",
        ),
        (
            "{{ '{:>100000000000}'.format(1) }}",
            "invalid operation: a format width or precision beyond 10000",
        ),
        (
            "{{ 'ab' | indent(100000000000) }}",
            "invalid operation: a width beyond 10000",
        ),
    ] {
        let err = t.render_str(template, &ctx).unwrap_err().to_string();
        assert!(err.contains(want), "{template}: {err}");
    }
    assert_eq!(
        t.render_str("{{ '%05d' | format(42) }}", &ctx).unwrap(),
        "00042"
    );
    assert_eq!(
        t.render_str("{{ '{:>4}'.format(7) }}", &ctx).unwrap(),
        "   7"
    );
    assert_eq!(
        t.render_str("{{ 'a\nb' | indent(2) }}", &ctx).unwrap(),
        "a\n  b"
    );
    assert_eq!(t.eval("[1] * 3", &ctx).unwrap(), json!([1, 1, 1]));
}

#[test]
fn a_closing_brace_pair_inside_an_expression_is_an_error_not_a_panic() {
    let t = Templar::new(TemplarOptions::default());
    let ctx = scope(json!({"d": {"k": 1}}));
    for expr in ["1 }} 2", "nice_| to_json }} {{ d | to_nice_y }} {{ 'n }}"] {
        let err = t.eval(expr, &ctx).unwrap_err().to_string();
        assert!(err.contains("unexpected `}}`"), "{expr}: {err}");
        assert!(t.eval_bool(expr, &ctx).is_err());
    }
    assert_eq!(
        t.eval("{'a': {'b': 1}}", &ctx).unwrap(),
        json!({"a": {"b": 1}})
    );
}

#[test]
fn a_panic_inside_minijinja_is_an_error() {
    let t = Templar::new(TemplarOptions::default());
    let ctx = scope(json!({}));
    // Overflows minijinja's length arithmetic (a panic with debug
    // assertions, a wrapped length without).
    let text = "{{ [1] * 100000000000 * 10000000000 }}.";
    assert!(t.render_str(text, &ctx).is_err());
}
