//! Ansible's filters on mappings and lists: `combine` (with `recursive`
//! and `list_merge`), `dict2items`/`items2dict`, `flatten`, `dict`,
//! `extract`, and the set operations (`union`, `intersect`, `difference`,
//! `symmetric_difference`). They work on plain data: a value is converted
//! once, merged with serde_json, and handed back. minijinja's own `first`,
//! `last`, `length`, `unique`, `sort`, `min`, `max`, `map`, `select`...
//! already behave as Ansible's and stay.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};
use serde_json::{Map, Value as Data};

use super::filters::fail;
use super::{data_of, value_of};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("dict", to_dict);
    env.add_function("dict", dict_function);
    env.add_filter("zip", zip);
    env.add_filter("extract", extract);
    env.add_filter("union", |a: &Value, b: &Value| set_op(a, b, SetOp::Union));
    env.add_filter("intersect", |a: &Value, b: &Value| {
        set_op(a, b, SetOp::Intersect)
    });
    env.add_filter("difference", |a: &Value, b: &Value| {
        set_op(a, b, SetOp::Difference)
    });
    env.add_filter("symmetric_difference", |a: &Value, b: &Value| {
        set_op(a, b, SetOp::Symmetric)
    });
}

/// How `combine` merges two lists under the same key.
#[derive(Clone, Copy, PartialEq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            other => {
                return Err(fail(format!(
                    "combine: list_merge '{other}' is not one of replace, keep, append, prepend, append_rp, prepend_rp"
                )));
            }
        })
    }

    fn merge(self, old: &[Data], new: &[Data]) -> Vec<Data> {
        let without_new = || old.iter().filter(|v| !new.contains(v)).cloned();
        match self {
            ListMerge::Replace => new.to_vec(),
            ListMerge::Keep => old.to_vec(),
            ListMerge::Append => old.iter().chain(new).cloned().collect(),
            ListMerge::Prepend => new.iter().chain(old).cloned().collect(),
            ListMerge::AppendRp => without_new().chain(new.iter().cloned()).collect(),
            ListMerge::PrependRp => new.iter().cloned().chain(without_new()).collect(),
        }
    }
}

/// Ansible's `merge_hash`: later mappings win; nested mappings merge when
/// `recursive`; lists under the same key follow `list_merge` either way.
fn merge_into(
    base: &mut Map<String, Data>,
    over: &Map<String, Data>,
    recursive: bool,
    lists: ListMerge,
) {
    for (k, new) in over {
        match (base.get_mut(k), new) {
            (Some(Data::Object(old)), Data::Object(new)) if recursive => {
                merge_into(old, new, recursive, lists)
            }
            (Some(Data::Array(old)), Data::Array(new)) => *old = lists.merge(old, new),
            _ => {
                base.insert(k.clone(), new.clone());
            }
        }
    }
}

/// `a | combine(b, c, recursive=true, list_merge='append')`; a list of
/// mappings, as input or argument, counts as its mappings in order.
fn combine(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let lists = match kwargs.get::<Option<&str>>("list_merge")? {
        Some(s) => ListMerge::parse(s)?,
        None => ListMerge::Replace,
    };
    kwargs.assert_all_used()?;
    let mut dicts = Vec::new();
    for v in std::iter::once(value).chain(args.iter()) {
        match data_of(v)? {
            Data::Object(m) => dicts.push(m),
            Data::Array(items) => {
                for item in items {
                    match item {
                        Data::Object(m) => dicts.push(m),
                        other => return Err(not_a_mapping("combine", &other)),
                    }
                }
            }
            other => return Err(not_a_mapping("combine", &other)),
        }
    }
    let mut out = Map::new();
    for d in &dicts {
        merge_into(&mut out, d, recursive, lists);
    }
    Ok(value_of(&Data::Object(out)))
}

fn not_a_mapping(filter: &str, v: &Data) -> Error {
    fail(format!(
        "{filter} expects mappings, got {}",
        crate::value::type_name(v)
    ))
}

fn key_names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key, value))
}

/// `{a: 1} | dict2items` gives `[{key: a, value: 1}]`.
fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = key_names(&kwargs)?;
    let Data::Object(m) = data_of(value)? else {
        return Err(fail("dict2items requires a dictionary"));
    };
    let items: Vec<Data> = m
        .into_iter()
        .map(|(k, v)| {
            let mut item = Map::new();
            item.insert(key_name.clone(), Data::String(k));
            item.insert(value_name.clone(), v);
            Data::Object(item)
        })
        .collect();
    Ok(value_of(&Data::Array(items)))
}

/// The inverse of `dict2items`.
fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = key_names(&kwargs)?;
    let Data::Array(items) = data_of(value)? else {
        return Err(fail("items2dict requires a list"));
    };
    let mut out = Map::new();
    for item in items {
        let (Some(k), Some(v)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(fail(format!(
                "items2dict: every item needs '{key_name}' and '{value_name}' keys"
            )));
        };
        out.insert(key_string(k), v.clone());
    }
    Ok(value_of(&Data::Object(out)))
}

fn key_string(k: &Data) -> String {
    match k {
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `[[k, v], ...] | dict`.
fn to_dict(value: &Value) -> Result<Value, Error> {
    match data_of(value)? {
        Data::Object(m) => Ok(value_of(&Data::Object(m))),
        Data::Array(pairs) => {
            let mut out = Map::new();
            for pair in pairs {
                match pair {
                    Data::Array(kv) if kv.len() == 2 => {
                        out.insert(key_string(&kv[0]), kv[1].clone());
                    }
                    _ => return Err(fail("dict: expected a list of [key, value] pairs")),
                }
            }
            Ok(value_of(&Data::Object(out)))
        }
        other => Err(not_a_mapping("dict", &other)),
    }
}

/// Python's `dict(...)`: `dict(pairs)`, `dict(mapping)`, `dict(k=v, ...)`
/// or both, as Ansible's templates use it (`dict(keys | zip(values))`).
fn dict_function(args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out = match args.as_slice() {
        [] => Map::new(),
        [one] => match data_of(&to_dict(one)?)? {
            Data::Object(m) => m,
            _ => Map::new(),
        },
        _ => return Err(fail("dict: expected at most one positional argument")),
    };
    for key in kwargs.args() {
        let v: Value = kwargs.get(key)?;
        out.insert(key.to_string(), data_of(&v)?);
    }
    Ok(value_of(&Data::Object(out)))
}

/// `a | zip(b, ...)`: lists of items taken side by side, as long as the
/// shortest list.
fn zip(value: &Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![data_of(value)?];
    for o in others.iter() {
        lists.push(data_of(o)?);
    }
    let lists: Vec<Vec<Data>> = lists
        .into_iter()
        .map(|l| match l {
            Data::Array(items) => Ok(items),
            other => Err(fail(format!(
                "zip: expected lists, found {}",
                crate::value::type_name(&other)
            ))),
        })
        .collect::<Result<_, _>>()?;
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    let rows: Vec<Data> = (0..len)
        .map(|i| Data::Array(lists.iter().map(|l| l[i].clone()).collect()))
        .collect();
    Ok(value_of(&Data::Array(rows)))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<usize>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let Data::Array(items) = data_of(value)? else {
        return Err(fail("flatten requires a list"));
    };
    let mut out = Vec::new();
    flatten_into(items, levels, skip_nulls, &mut out);
    Ok(value_of(&Data::Array(out)))
}

fn flatten_into(items: Vec<Data>, levels: Option<usize>, skip_nulls: bool, out: &mut Vec<Data>) {
    for item in items {
        match item {
            Data::Array(inner) if levels != Some(0) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out)
            }
            Data::Null if skip_nulls => {}
            Data::String(s) if skip_nulls && (s == "None" || s == "null") => {}
            other => out.push(other),
        }
    }
}

/// `key | extract(container, morekeys)`: `container[key]`, then deeper.
fn extract(key: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut v = container.get_item(key)?;
    if let Some(more) = morekeys {
        let keys: Vec<Value> = if more.kind() == minijinja::value::ValueKind::Seq {
            more.try_iter()?.collect()
        } else {
            vec![more]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

#[derive(Clone, Copy)]
enum SetOp {
    Union,
    Intersect,
    Difference,
    Symmetric,
}

/// Set operations keeping the first list's order, without duplicates.
fn set_op(a: &Value, b: &Value, op: SetOp) -> Result<Value, Error> {
    let (Data::Array(a), Data::Array(b)) = (data_of(a)?, data_of(b)?) else {
        return Err(fail("set operations require two lists"));
    };
    let candidates: Vec<&Data> = match op {
        SetOp::Union => a.iter().chain(&b).collect(),
        SetOp::Intersect => a.iter().filter(|x| b.contains(x)).collect(),
        SetOp::Difference => a.iter().filter(|x| !b.contains(x)).collect(),
        SetOp::Symmetric => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .collect(),
    };
    let mut out: Vec<Data> = Vec::new();
    for c in candidates {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(value_of(&Data::Array(out)))
}
