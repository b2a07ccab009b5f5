//! System facts from the script's output, as ansible-core's `platform`,
//! `distribution`, `lsb`, `env`, `date_time`, `dns`, `fips`, `selinux`,
//! `apparmor`, `caps`, `cmdline`, `user`, `ssh_pub_keys`, `pkg_mgr`,
//! `service_mgr`, `chroot`, `loadavg` and the storage-id collectors name
//! them. Not for hardware or network facts (see their own files).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::Sections;

/// `system`, `kernel`, `machine`, `hostname`, `fqdn`, `domain` ...
pub fn platform(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("uname") {
        return;
    }
    let uname = s.lines("uname");
    let at = |i: usize| uname.get(i).map(|l| l.trim()).unwrap_or("").to_string();
    let machine = at(3);
    f.insert("system".into(), json!(at(0)));
    f.insert("kernel".into(), json!(at(1)));
    f.insert("kernel_version".into(), json!(at(2)));
    f.insert("machine".into(), json!(machine));
    let node = s.text("hostname");
    f.insert(
        "hostname".into(),
        json!(node.split('.').next().unwrap_or("")),
    );
    f.insert("nodename".into(), json!(node));
    let fqdn = fqdn(&s.text("fqdn"), &node);
    let domain = fqdn.split_once('.').map(|x| x.1).unwrap_or("").to_string();
    f.insert("fqdn".into(), json!(fqdn));
    f.insert("domain".into(), json!(domain));
    let bits = s.text("bits");
    let i386 = machine.len() == 4 && machine.starts_with('i') && machine.ends_with("86");
    let arch = if i386 {
        "i386".to_string()
    } else {
        machine.clone()
    };
    f.insert("architecture".into(), json!(arch));
    if !bits.is_empty() {
        let user_arch = match (machine.as_str(), bits.as_str()) {
            ("x86_64", "32") => "i386".to_string(),
            _ if i386 => "i386".to_string(),
            _ => machine.clone(),
        };
        f.insert("userspace_bits".into(), json!(bits));
        f.insert("userspace_architecture".into(), json!(user_arch));
    }
    let id = s.text("machine_id");
    if !id.is_empty() {
        f.insert("machine_id".into(), json!(id));
    }
}

/// Python's `socket.getfqdn()`: the reverse lookup of the host name's
/// address, the first of its names with a dot, else its first name.
fn fqdn(reverse: &str, node: &str) -> String {
    let names: Vec<&str> = reverse.split_whitespace().skip(1).collect();
    names
        .iter()
        .find(|n| n.contains('.'))
        .or(names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| node.to_string())
}

fn os_release(lines: &[&str]) -> HashMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

fn os_family(name: &str, id: &str, like: &str) -> &'static str {
    let debian = [
        "Debian",
        "Ubuntu",
        "Kali",
        "Devuan",
        "Raspbian",
        "Linux Mint",
        "Pop!_OS",
    ];
    let redhat = [
        "RedHat",
        "CentOS",
        "Fedora",
        "Rocky",
        "AlmaLinux",
        "OracleLinux",
        "Amazon",
        "Scientific",
    ];
    let all = format!("{id} {like}");
    if debian.contains(&name) || all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if redhat.contains(&name) || ["rhel", "fedora", "centos"].iter().any(|x| all.contains(x))
    {
        "RedHat"
    } else if all.contains("suse") {
        "Suse"
    } else if all.contains("alpine") {
        "Alpine"
    } else if all.contains("arch") {
        "Archlinux"
    } else {
        "Unknown"
    }
}

/// The `distribution` ansible-core reports for an os-release `ID`.
fn distribution_name(id: &str, name: &str) -> String {
    let known = [
        ("debian", "Debian"),
        ("ubuntu", "Ubuntu"),
        ("centos", "CentOS"),
        ("rhel", "RedHat"),
        ("rocky", "Rocky"),
        ("almalinux", "AlmaLinux"),
        ("ol", "OracleLinux"),
        ("fedora", "Fedora"),
        ("amzn", "Amazon"),
        ("sles", "SLES"),
        ("opensuse-leap", "openSUSE Leap"),
        ("opensuse-tumbleweed", "openSUSE Tumbleweed"),
        ("alpine", "Alpine"),
        ("arch", "Archlinux"),
        ("kali", "Kali"),
        ("devuan", "Devuan"),
        ("linuxmint", "Linux Mint"),
    ];
    if let Some((_, n)) = known.iter().find(|(i, _)| *i == id) {
        return n.to_string();
    }
    let base = if name.is_empty() { id } else { name };
    let mut c = base.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_else(|| "NA".into())
}

/// `distribution*` and `os_family`: os-release, refined as ansible-core
/// does by /etc/debian_version (Debian's point release) and
/// /etc/redhat-release (the release name).
pub fn distribution(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("os_release") {
        return;
    }
    let os = os_release(s.lines("os_release"));
    let osv = |k: &str| os.get(k).cloned().unwrap_or_default();
    let (id, like) = (osv("ID"), osv("ID_LIKE"));
    let name = distribution_name(&id, &osv("NAME"));
    let family = os_family(&name, &id, &like);
    let mut version = osv("VERSION_ID");
    let mut release = osv("VERSION_CODENAME");
    let (mut path, mut variety) = ("/etc/os-release", name.clone());
    let debian_version = s.text("debian_version");
    let redhat = s.text("redhat_release");
    if name == "Debian" {
        variety = "Debian".into();
        if debian_version.starts_with(|c: char| c.is_ascii_digit()) {
            version = debian_version;
        }
    } else if family == "Debian" {
        variety = "Debian".into();
        if release.is_empty() {
            release = osv("UBUNTU_CODENAME");
        }
    } else if family == "RedHat" && !redhat.is_empty() {
        path = "/etc/redhat-release";
        variety = "RedHat".into();
        if let Some(r) = redhat.split_once('(').and_then(|(_, r)| r.split_once(')')) {
            release = r.0.to_string();
        }
    }
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_string();
    f.insert("os_family".into(), json!(family));
    f.insert("distribution".into(), json!(name));
    f.insert("distribution_version".into(), json!(version));
    f.insert("distribution_major_version".into(), json!(major));
    if let Some(minor) = parts.next() {
        f.insert("distribution_minor_version".into(), json!(minor));
    }
    f.insert(
        "distribution_release".into(),
        json!(if release.is_empty() { "NA" } else { &release }),
    );
    f.insert("distribution_file_path".into(), json!(path));
    f.insert("distribution_file_variety".into(), json!(variety));
    f.insert("distribution_file_parsed".into(), json!(true));
}

/// `lsb`: `lsb_release -a`, else /etc/lsb-release.
fn lsb(lines: &[&str]) -> Value {
    let mut m = Map::new();
    for line in lines {
        let (k, v) = match line.split_once(':').or_else(|| line.split_once('=')) {
            Some((k, v)) => (k.trim(), v.trim().trim_matches(|c| c == '"' || c == '\'')),
            None => continue,
        };
        let key = match k {
            "Distributor ID" | "DISTRIB_ID" => "id",
            "Description" | "DISTRIB_DESCRIPTION" => "description",
            "Release" | "DISTRIB_RELEASE" => "release",
            "Codename" | "DISTRIB_CODENAME" => "codename",
            _ => continue,
        };
        m.insert(key.into(), json!(v));
    }
    if let Some(r) = m.get("release").and_then(Value::as_str) {
        let major = r.split('.').next().unwrap_or("").to_string();
        m.insert("major_release".into(), json!(major));
    }
    Value::Object(m)
}

/// `env`: NUL-separated (`env -0`, turned into RS by the script) so that
/// values may hold newlines; plain `env` lines otherwise.
fn env(text: &str) -> Value {
    let items: Vec<&str> = if text.contains('\u{1e}') {
        text.split('\u{1e}').collect()
    } else {
        text.lines().collect()
    };
    let m: Map<String, Value> = items
        .iter()
        .filter_map(|i| i.split_once('='))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.trim_start_matches('\n').to_string(), json!(v)))
        .collect();
    Value::Object(m)
}

/// `dns` from resolv.conf, as ansible-core's DnsFactCollector reads it.
fn dns(text: &str) -> Value {
    let mut m = Map::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = tokens.first() else {
            continue;
        };
        let rest: Vec<Value> = tokens[1..].iter().map(|t| json!(t)).collect();
        match *first {
            t if t.starts_with('#') || t.starts_with(';') => {}
            "nameserver" => {
                let e = m.entry("nameservers").or_insert_with(|| json!([]));
                if let Value::Array(a) = e {
                    a.extend(rest);
                }
            }
            "domain" if tokens.len() > 1 => {
                m.insert("domain".into(), json!(tokens[1]));
            }
            "search" => {
                m.insert("search".into(), Value::Array(rest));
            }
            "sortlist" => {
                m.insert("sortlist".into(), Value::Array(rest));
            }
            "options" => {
                let o: Map<String, Value> = tokens[1..]
                    .iter()
                    .map(|t| match t.split_once(':') {
                        Some((k, v)) => (k.to_string(), json!(v)),
                        None => (t.to_string(), json!(true)),
                    })
                    .collect();
                m.insert("options".into(), Value::Object(o));
            }
            _ => {}
        }
    }
    Value::Object(m)
}

/// `cmdline` (the last value of a repeated key wins) and `proc_cmdline`
/// (repeated keys become lists), split like Python's non-POSIX shlex.
fn cmdline(text: &str) -> (Value, Value) {
    let (mut plain, mut multi) = (Map::new(), Map::new());
    for piece in text.split_whitespace() {
        let (k, v) = match piece.split_once('=') {
            Some((k, v)) => (k, json!(v)),
            None => (piece, json!(true)),
        };
        plain.insert(k.to_string(), v.clone());
        if v.is_boolean() {
            multi.insert(k.to_string(), v);
            continue;
        }
        match multi.get_mut(k) {
            Some(Value::Array(a)) => a.push(v),
            Some(old) if old.is_string() => *old = json!([old.clone(), v]),
            _ => {
                multi.insert(k.to_string(), v);
            }
        }
    }
    (Value::Object(plain), Value::Object(multi))
}

/// `selinux`: from selinuxfs (the state libselinux reads).
fn selinux(pairs: &HashMap<&str, &str>) -> Value {
    let Some(enforce) = pairs.get("enforce") else {
        return json!({"status": "disabled"});
    };
    let mode = |m: &str| match m.trim().to_ascii_lowercase().as_str() {
        "1" | "enforcing" => "enforcing",
        "0" | "permissive" => "permissive",
        "disabled" | "-1" => "disabled",
        _ => "unknown",
    };
    let policyvers = pairs
        .get("policyvers")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(json!("unknown"), |v| json!(v));
    json!({
        "status": "enabled",
        "policyvers": policyvers,
        "config_mode": pairs.get("SELINUX").map_or("unknown", |m| mode(m)),
        "mode": mode(enforce),
        "type": pairs.get("SELINUXTYPE").map_or("unknown", |t| t.trim()),
    })
}

/// `system_capabilities*` from `capsh --print` ('N/A' without capsh).
fn caps(lines: &[&str], f: &mut Map<String, Value>) {
    if !lines.contains(&"rc=0") {
        f.insert("system_capabilities_enforced".into(), json!("N/A"));
        f.insert("system_capabilities".into(), json!("N/A"));
        return;
    }
    let (mut enforced, mut list) = ("NA", Vec::<String>::new());
    for line in lines.iter().filter(|l| l.starts_with("Current:")) {
        if line.split(':').nth(1).map(str::trim) == Some("=ep") {
            enforced = "False";
        } else {
            enforced = "True";
            list = line
                .split('=')
                .nth(1)
                .unwrap_or("")
                .split(',')
                .map(|c| c.trim().to_string())
                .collect();
        }
    }
    f.insert("system_capabilities_enforced".into(), json!(enforced));
    f.insert("system_capabilities".into(), json!(list));
}

/// The small collectors: one value each.
pub fn misc(s: &Sections, f: &mut Map<String, Value>) {
    if s.has("lsb") {
        f.insert("lsb".into(), lsb(s.lines("lsb")));
    }
    if s.has("env") {
        f.insert("env".into(), env(&s.lines("env").join("\n")));
    }
    if s.has("date") {
        f.insert("date_time".into(), super::clock::date_time(s.lines("date")));
    }
    if s.has("dns") {
        f.insert("dns".into(), dns(&s.text("dns")));
    }
    if s.has("fips") {
        f.insert("fips".into(), json!(s.text("fips") == "1"));
    }
    if s.has("selinux") {
        f.insert("selinux".into(), selinux(&s.pairs("selinux")));
        f.insert("selinux_python_present".into(), json!(true));
    }
    if s.has("apparmor") {
        f.insert("apparmor".into(), json!({"status": s.text("apparmor")}));
    }
    if s.has("caps") {
        caps(s.lines("caps"), f);
    }
    if s.has("cmdline") {
        let (plain, multi) = cmdline(&s.text("cmdline"));
        f.insert("cmdline".into(), plain);
        f.insert("proc_cmdline".into(), multi);
    }
    ssh_keys(s.lines("ssh_keys"), f);
    storage_ids(s, f);
    if s.has("chroot") {
        f.insert("is_chroot".into(), json!(is_chroot(s.lines("chroot"))));
    }
    if s.has("loadavg") {
        let v: Vec<f64> = s
            .text("loadavg")
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [a, b, c] = v[..] {
            f.insert("loadavg".into(), json!({"1m": a, "5m": b, "15m": c}));
        }
    }
    if s.has("pkg_tools") {
        f.insert("pkg_mgr".into(), json!(pkg_mgr(s.lines("pkg_tools"))));
    }
}

fn ssh_keys(lines: &[&str], f: &mut Map<String, Value>) {
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let [alg, keytype, key, ..] = w[..] {
            f.insert(format!("ssh_host_key_{alg}_public"), json!(key));
            f.insert(format!("ssh_host_key_{alg}_public_keytype"), json!(keytype));
        }
    }
}

/// `iscsi_iqn`, `hostnqn`, `fibre_channel_wwn`.
fn storage_ids(s: &Sections, f: &mut Map<String, Value>) {
    if s.has("iscsi") {
        let iqn = s.text("iscsi");
        let iqn = iqn.strip_prefix("InitiatorName=").unwrap_or(&iqn).trim();
        f.insert("iscsi_iqn".into(), json!(iqn));
    }
    if s.has("nvme") {
        f.insert("hostnqn".into(), json!(s.text("nvme")));
    }
    if s.has("fc_wwn") {
        let w: Vec<Value> = s
            .lines("fc_wwn")
            .iter()
            .map(|l| json!(l.trim().trim_start_matches("0x")))
            .collect();
        f.insert("fibre_channel_wwn".into(), Value::Array(w));
    }
}

/// `/` is not PID 1's root (or `debian_chroot` is set).
fn is_chroot(lines: &[&str]) -> bool {
    if lines
        .iter()
        .any(|l| l.starts_with("debian_chroot=") && l.len() > "debian_chroot=".len())
    {
        return true;
    }
    let stats: Vec<&&str> = lines.iter().filter(|l| !l.contains('=')).collect();
    match stats[..] {
        [a, b] => a != b,
        _ => false,
    }
}

/// `pkg_mgr`: ansible-core's PKG_MGRS order, the last existing wins;
/// yum/dnf follow the links as ansible does.
fn pkg_mgr(found: &[&str]) -> &'static str {
    let name = |p: &str| match p {
        "/usr/bin/rpm-ostree" => "atomic_container",
        "/usr/bin/yum" | "/usr/bin/dnf-3" | "/usr/bin/dnf" => "dnf",
        "/usr/bin/dnf5" => "dnf5",
        "/usr/bin/apt-get" => "apt",
        "/usr/bin/zypper" => "zypper",
        "/usr/sbin/urpmi" => "urpmi",
        "/usr/bin/pacman" => "pacman",
        "/bin/opkg" => "opkg",
        "/sbin/apk" => "apk",
        "/usr/bin/emerge" => "portage",
        "/usr/bin/xbps-install" => "xbps",
        "/usr/bin/swupd" => "swupd",
        _ => "unknown",
    };
    let has = |p: &str| found.iter().any(|x| x.trim() == p);
    if has("/usr/bin/apt-get") {
        return "apt";
    }
    if has("/usr/bin/dnf5") {
        return "dnf5";
    }
    found
        .iter()
        .map(|p| name(p.trim()))
        .next_back()
        .unwrap_or("unknown")
}

/// `user_*` and the process's real and effective ids.
pub fn user(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("user") {
        return;
    }
    let l = s.lines("user");
    let num = |i: usize| l.get(i).and_then(|v| v.trim().parse::<u64>().ok());
    let name = l.first().map(|v| v.trim()).unwrap_or("");
    f.insert("user_id".into(), json!(name));
    for (key, i) in [
        ("effective_user_id", 1),
        ("real_user_id", 2),
        ("effective_group_id", 3),
        ("real_group_id", 4),
    ] {
        if let Some(v) = num(i) {
            f.insert(key.into(), json!(v));
        }
    }
    // getent passwd: name:x:uid:gid:gecos:dir:shell
    let pw: Vec<&str> = l.get(5).map(|p| p.split(':').collect()).unwrap_or_default();
    if let [_, _, uid, gid, gecos, dir, shell] = pw[..] {
        f.insert("user_uid".into(), json!(uid.parse::<u64>().unwrap_or(0)));
        f.insert("user_gid".into(), json!(gid.parse::<u64>().unwrap_or(0)));
        f.insert("user_gecos".into(), json!(gecos));
        f.insert("user_dir".into(), json!(dir));
        f.insert("user_shell".into(), json!(shell));
    }
}

/// `service_mgr` as ansible-core decides it: PID 1's name unless it is
/// `init` or a shell, then systemd/upstart/openrc/sysvinit by what exists.
pub fn service_mgr(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("init") {
        return;
    }
    let p = s.pairs("init");
    let lines = s.lines("init");
    let has = |x: &str| lines.contains(&x);
    let mut proc1 = p.get("comm").map(|c| c.trim()).filter(|c| !c.is_empty());
    if proc1.is_none() {
        proc1 = p
            .get("init")
            .map(|i| i.rsplit('/').next().unwrap_or(i).trim());
    }
    let proc1 = proc1.filter(|c| !c.is_empty() && *c != "init" && !c.ends_with("sh"));
    let systemd = has("tool=systemctl")
        && ["/run/systemd/system", "/dev/.run/systemd", "/dev/.systemd"]
            .iter()
            .any(|d| has(&format!("path={d}")));
    let name = match proc1 {
        Some("procd") => "openwrt_init".to_string(),
        Some("runit-init") => "runit".to_string(),
        Some("svscan") => "svc".to_string(),
        Some("openrc-init") => "openrc".to_string(),
        Some(other) => other.to_string(),
        None if systemd => "systemd".into(),
        None if has("tool=initctl") && has("path=/etc/init") => "upstart".into(),
        None if has("path=/sbin/openrc") => "openrc".into(),
        None if has("offline=systemd") => "systemd".into(),
        None if has("path=/etc/init.d") => "sysvinit".into(),
        None if has("path=/etc/dinit.d") => "dinit".into(),
        None => "service".into(),
    };
    f.insert("service_mgr".into(), json!(name));
}
