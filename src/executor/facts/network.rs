//! Network facts as ansible-core's LinuxNetwork collector reports them:
//! `interfaces`, one `<iface>` dict each, `default_ipv4`/`default_ipv6`
//! (the routes to 8.8.8.8 and a Google IPv6 address, as ansible asks),
//! `all_ipv*_addresses` and `locally_reachable_ips`. The input is
//! /sys/class/net, `ip -o addr show` and `ip route`. Not for DNS
//! (`system.rs`).

use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::Sections;

const IFACE_TYPES: &[(&str, &str)] = &[
    ("1", "ether"),
    ("32", "infiniband"),
    ("512", "ppp"),
    ("772", "loopback"),
    ("65534", "tunnel"),
];

/// Fills the network facts when the `network` subset ran.
pub fn collect(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("links") {
        return;
    }
    let mut ifaces: Vec<(String, Map<String, Value>)> = links(s.lines("links"));
    let routes = s.lines("routes");
    let route = |tag: &str| {
        routes
            .iter()
            .find_map(|l| l.strip_prefix(tag))
            .map(default_route)
            .unwrap_or_default()
    };
    let (mut d4, mut d6) = (route("v4 "), route("v6 "));
    let (all4, all6) = addresses(s.lines("addrs"), &mut ifaces, &mut d4, &mut d6);
    let mut reach = json!({"ipv4": [], "ipv6": []});
    for (tag, fam) in [("l4 ", "ipv4"), ("l6 ", "ipv6")] {
        for l in routes.iter().filter_map(|l| l.strip_prefix(tag)) {
            let w: Vec<&str> = l.split_whitespace().collect();
            if let (Some(&"local"), Some(a), Some(Value::Array(list))) =
                (w.first(), w.get(1), reach.get_mut(fam))
            {
                if !list.contains(&json!(a)) {
                    list.push(json!(a));
                }
            }
        }
    }
    let names: Vec<Value> = ifaces.iter().map(|(n, _)| json!(n)).collect();
    f.insert("interfaces".into(), Value::Array(names));
    for (name, m) in ifaces {
        f.insert(name.replace([':', '-'], "_"), Value::Object(m));
    }
    f.insert("default_ipv4".into(), Value::Object(d4));
    f.insert("default_ipv6".into(), Value::Object(d6));
    f.insert("all_ipv4_addresses".into(), json!(all4));
    f.insert("all_ipv6_addresses".into(), json!(all6));
    f.insert("locally_reachable_ips".into(), reach);
}

/// `8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2` -> gateway, interface,
/// address (ansible's first three keys of `default_ipv4`).
fn default_route(line: &str) -> Map<String, Value> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let after = |k: &str| w.iter().position(|x| *x == k).and_then(|i| w.get(i + 1));
    let mut m = Map::new();
    if let Some(g) = after("via") {
        m.insert("gateway".into(), json!(g));
    }
    if let Some(d) = after("dev") {
        m.insert("interface".into(), json!(d));
    }
    if let Some(a) = after("src") {
        m.insert("address".into(), json!(a));
    }
    if m.contains_key("interface") {
        m
    } else {
        Map::new()
    }
}

/// The per-interface dicts from /sys/class/net.
fn links(lines: &[&str]) -> Vec<(String, Map<String, Value>)> {
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    for line in lines {
        if let Some(name) = line.strip_prefix("if=") {
            let mut m = Map::new();
            m.insert("device".into(), json!(name));
            out.push((name.to_string(), m));
            continue;
        }
        let Some((_, m)) = out.last_mut() else {
            continue;
        };
        if let Some(feat) = line.strip_prefix("feat ") {
            ethtool_feature(feat, m);
        } else if let Some(ts) = line.strip_prefix("ts ") {
            ethtool_ts(ts, m);
        } else if let Some((k, v)) = line.split_once('=') {
            link_attr(k, v.trim(), m);
        }
    }
    out
}

fn first_word(v: &str) -> Value {
    json!(v.split_whitespace().next().unwrap_or(""))
}

fn link_attr(k: &str, v: &str, m: &mut Map<String, Value>) {
    let bridge = m.get("type") == Some(&json!("bridge"));
    let bonding = m.get("type") == Some(&json!("bonding"));
    let (key, val) = match k {
        "address" if !v.is_empty() && v != "00:00:00:00:00:00" => ("macaddress", json!(v)),
        "mtu" => ("mtu", json!(v.parse::<i64>().unwrap_or(0))),
        "operstate" => ("active", json!(v != "down")),
        "module" => ("module", json!(v)),
        "type" if !bridge && !bonding => {
            let t = IFACE_TYPES
                .iter()
                .find(|(n, _)| *n == v)
                .map_or("unknown", |t| t.1);
            ("type", json!(t))
        }
        "pciid" => ("pciid", json!(v)),
        "speed" => match v.parse::<i64>() {
            Ok(n) => ("speed", json!(n)),
            Err(_) => return,
        },
        "flags" => {
            let flags = i64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(0);
            ("promisc", json!(flags & 0x100 > 0))
        }
        "bridge/bridge_id" => {
            m.insert("type".into(), json!("bridge"));
            ("id", json!(v))
        }
        "bridge/stp_state" => ("stp", json!(v == "1")),
        "brif" => {
            m.insert("type".into(), json!("bridge"));
            (
                "interfaces",
                json!(v.split_whitespace().collect::<Vec<_>>()),
            )
        }
        "bonding" => ("type", json!("bonding")),
        "bonding/slaves" => ("slaves", json!(v.split_whitespace().collect::<Vec<_>>())),
        "bonding/mode" => ("mode", first_word(v)),
        "bonding/miimon" => ("miimon", first_word(v)),
        "bonding/lacp_rate" => ("lacp_rate", first_word(v)),
        "bonding/primary" if !v.is_empty() => ("primary", json!(v)),
        "bonding/all_slaves_active" => ("all_slaves_active", json!(v == "1")),
        "bonding_slave/perm_hwaddr" => ("perm_macaddress", json!(v)),
        _ => return,
    };
    m.insert(key.into(), val);
}

/// `ethtool -k` lines -> `features` (`tx-checksumming: on` -> `tx_checksumming`).
fn ethtool_feature(line: &str, m: &mut Map<String, Value>) {
    if line.is_empty() || line.ends_with(':') {
        return;
    }
    let Some((k, v)) = line.split_once(": ") else {
        return;
    };
    if v.is_empty() {
        return;
    }
    let e = m.entry("features").or_insert_with(|| json!({}));
    if let Value::Object(fm) = e {
        fm.insert(k.trim().replace('-', "_"), json!(v.trim()));
    }
}

/// `ethtool -T` lines -> `timestamping`, `hw_timestamp_filters`, `phc_index`.
fn ethtool_ts(line: &str, m: &mut Map<String, Value>) {
    let push = |m: &mut Map<String, Value>, key: &str, v: &str| {
        let e = m.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(a) = e {
            a.push(json!(v.to_lowercase()));
        }
    };
    m.entry("timestamping").or_insert_with(|| json!([]));
    m.entry("hw_timestamp_filters").or_insert_with(|| json!([]));
    for w in line.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if let Some(t) = w.strip_prefix("SOF_TIMESTAMPING_") {
            push(m, "timestamping", t);
        } else if let Some(t) = w.strip_prefix("HWTSTAMP_FILTER_") {
            push(m, "hw_timestamp_filters", t);
        }
    }
    if let Some(n) = line.strip_prefix("PTP Hardware Clock: ") {
        if let Ok(n) = n.trim().parse::<i64>() {
            m.insert("phc_index".into(), json!(n));
        }
    }
}

/// An IPv4 address entry (`ipv4`, `ipv4_secondaries`).
fn v4_entry(addr: &str, prefix: &str, brd: &str) -> Map<String, Value> {
    let ip: Ipv4Addr = addr.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let len: u32 = prefix.parse().unwrap_or(32).min(32);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let mut m = Map::new();
    m.insert("address".into(), json!(addr));
    m.insert("broadcast".into(), json!(brd));
    m.insert("netmask".into(), json!(Ipv4Addr::from(mask).to_string()));
    m.insert(
        "network".into(),
        json!(Ipv4Addr::from(u32::from(ip) & mask).to_string()),
    );
    m.insert("prefix".into(), json!(prefix));
    m
}

type Ifaces = Vec<(String, Map<String, Value>)>;

/// One `ip -o addr` line, split: the words before the `\` that starts
/// the lifetimes, and the interface it belongs to.
struct AddrLine<'a> {
    words: Vec<&'a str>,
    secondary: bool,
}

impl AddrLine<'_> {
    fn after(&self, k: &str) -> Option<&str> {
        let i = self.words.iter().position(|x| *x == k)?;
        self.words.get(i + 1).copied()
    }
}

/// The interface's values that a default route copies.
fn iface_info(iface: &Map<String, Value>) -> [Value; 3] {
    [
        iface.get("macaddress").cloned().unwrap_or(json!("unknown")),
        iface.get("mtu").cloned().unwrap_or(Value::Null),
        iface.get("type").cloned().unwrap_or(json!("unknown")),
    ]
}

fn add_v4(
    l: &AddrLine,
    (addr, prefix): (&str, &str),
    iface: &mut Map<String, Value>,
    d4: &mut Map<String, Value>,
) {
    let entry = v4_entry(addr, prefix, l.after("brd").unwrap_or(""));
    if l.secondary || iface.contains_key("ipv4") {
        let e = iface.entry("ipv4_secondaries").or_insert_with(|| json!([]));
        if let Value::Array(a) = e {
            a.push(Value::Object(entry.clone()));
        }
    } else {
        iface.insert("ipv4".into(), Value::Object(entry.clone()));
    }
    if d4.get("address") == Some(&json!(addr)) {
        for k in ["broadcast", "netmask", "network", "prefix"] {
            d4.insert(k.into(), entry[k].clone());
        }
        let [mac, mtu, ty] = iface_info(iface);
        d4.insert("macaddress".into(), mac);
        d4.insert("mtu".into(), mtu);
        d4.insert("type".into(), ty);
        let alias = l.words.last().copied().unwrap_or("");
        d4.insert("alias".into(), json!(alias));
    }
}

fn add_v6(
    l: &AddrLine,
    (addr, prefix): (&str, &str),
    iface: &mut Map<String, Value>,
    d6: &mut Map<String, Value>,
) {
    let scope = l.after("scope").unwrap_or("");
    let prefix = match l.after("peer") {
        Some(peer) => peer.split_once('/').map_or("128", |p| p.1),
        None => prefix,
    };
    let e = iface.entry("ipv6").or_insert_with(|| json!([]));
    if let Value::Array(a) = e {
        a.push(json!({"address": addr, "prefix": prefix, "scope": scope}));
    }
    if d6.get("address") == Some(&json!(addr)) {
        let [mac, mtu, ty] = iface_info(iface);
        d6.insert("prefix".into(), json!(prefix));
        d6.insert("scope".into(), json!(scope));
        d6.insert("macaddress".into(), mac);
        d6.insert("mtu".into(), mtu);
        d6.insert("type".into(), ty);
    }
}

/// Adds the addresses of `ip -o addr show` to the interfaces and the
/// default routes; returns all IPv4 (no 127.*) and IPv6 (no ::1) ones.
fn addresses(
    lines: &[&str],
    ifaces: &mut Ifaces,
    d4: &mut Map<String, Value>,
    d6: &mut Map<String, Value>,
) -> (Vec<String>, Vec<String>) {
    let (mut all4, mut all6) = (Vec::new(), Vec::new());
    let parsed = lines.iter().map(|line| AddrLine {
        words: line
            .split('\\')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect(),
        secondary: line.contains(" secondary "),
    });
    // primaries first, as ansible asks `ip addr show primary` first
    let (mut sorted, secondaries): (Vec<_>, Vec<_>) = parsed.partition(|l| !l.secondary);
    sorted.extend(secondaries);
    for l in &sorted {
        let (Some(dev), Some(fam), Some(cidr)) = (l.words.get(1), l.words.get(2), l.words.get(3))
        else {
            continue;
        };
        let dev = dev.split('@').next().unwrap_or(dev);
        let Some((_, iface)) = ifaces.iter_mut().find(|(n, _)| n == dev) else {
            continue;
        };
        let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
        if *fam == "inet" {
            add_v4(l, (addr, prefix), iface, d4);
            if !addr.starts_with("127.") {
                all4.push(addr.to_string());
            }
        } else if *fam == "inet6" {
            add_v6(l, (addr, prefix), iface, d6);
            if addr != "::1" {
                all6.push(addr.to_string());
            }
        }
    }
    (all4, all6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ipv4_is_completed_from_the_interface() {
        let mut ifaces = links(&[
            "if=eth0",
            "address=02:fc:00:00:00:01",
            "mtu=1400",
            "type=1",
            "operstate=up",
            "flags=0x1003",
        ]);
        let mut d4 = default_route("8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0");
        let mut d6 = Map::new();
        let lines = [
            "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever",
            "4: eth0    inet 192.0.2.9/24 brd 192.0.2.255 scope global secondary eth0\\ x",
            "4: eth0    inet6 fd00::2/64 scope global \\       valid_lft forever",
        ];
        let (all4, all6) = addresses(&lines, &mut ifaces, &mut d4, &mut d6);
        assert_eq!(all4, vec!["192.0.2.2", "192.0.2.9"]);
        assert_eq!(all6, vec!["fd00::2"]);
        assert_eq!(d4["netmask"], json!("255.255.255.0"));
        assert_eq!(d4["network"], json!("192.0.2.0"));
        assert_eq!(d4["alias"], json!("eth0"));
        assert_eq!(d4["mtu"], json!(1400));
        let eth0 = &ifaces[0].1;
        assert_eq!(eth0["active"], json!(true));
        assert_eq!(eth0["promisc"], json!(false));
        assert_eq!(eth0["ipv4_secondaries"][0]["address"], json!("192.0.2.9"));
        assert_eq!(eth0["ipv6"][0]["scope"], json!("global"));
    }
}
