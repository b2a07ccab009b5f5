//! Fact gathering in ONE round trip per host: a small POSIX shell script
//! prints sections, parsed here into Ansible-named facts.

use serde_json::{Map, Value, json};

/// The script sent to the host. It needs only a POSIX shell and coreutils;
/// every probe tolerates a missing tool.
pub const SCRIPT: &str = r#"
echo '@@hostname'; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
echo '@@fqdn'; hostname -f 2>/dev/null || hostname 2>/dev/null
echo '@@os'; cat /etc/os-release 2>/dev/null
echo '@@arch'; uname -m
echo '@@kernel'; uname -r
echo '@@route'; ip -4 route show default 2>/dev/null | head -n 1
echo '@@addrs'; ip -4 -o addr show 2>/dev/null
echo '@@mem'; grep -E '^(MemTotal|MemFree|SwapTotal):' /proc/meminfo 2>/dev/null
echo '@@cpus'; grep -c '^processor' /proc/cpuinfo 2>/dev/null
echo '@@virt'; grep -Eo '\b(vmx|svm)\b' /proc/cpuinfo 2>/dev/null | wc -l
echo '@@pid1'; cat /proc/1/comm 2>/dev/null
echo '@@systemd'; [ -d /run/systemd/system ] && echo yes || echo no
echo '@@tools'; for t in apt-get dnf yum zypper apk rc-service systemctl update-rc.d chkconfig; do command -v $t >/dev/null 2>&1 && echo $t; done
echo '@@user'; id -un; id -u
echo '@@end'
"#;

/// Splits the script's output into its `@@section` parts.
fn sections(out: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let mut current: Option<String> = None;
    let mut buf = String::new();
    for line in out.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            if let Some(c) = current.take() {
                map.insert(c, Value::String(std::mem::take(&mut buf)));
            }
            current = Some(name.to_string());
        } else if current.is_some() {
            buf.push_str(line);
            buf.push('\n');
        }
    }
    map
}

fn os_release(text: &str) -> Map<String, Value> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::String(v.trim_matches('"').to_string()),
            )
        })
        .collect()
}

fn os_family(id: &str, like: &str) -> &'static str {
    let all = format!("{id} {like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
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

fn distribution(id: &str) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        "fedora" => "Fedora".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

/// Parses the script's output into facts keyed without the `ansible_` prefix.
pub fn parse(out: &str) -> Map<String, Value> {
    let s = sections(out);
    let get = |k: &str| {
        s.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let os = os_release(&get("os"));
    let osv = |k: &str| os.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (id, like) = (osv("ID"), osv("ID_LIKE"));
    let version = osv("VERSION_ID");
    let mut f = Map::new();
    f.insert(
        "hostname".into(),
        json!(get("hostname").split('.').next().unwrap_or("")),
    );
    f.insert("nodename".into(), json!(get("hostname")));
    f.insert("fqdn".into(), json!(get("fqdn")));
    f.insert("system".into(), json!("Linux"));
    f.insert("os_family".into(), json!(os_family(&id, &like)));
    f.insert("distribution".into(), json!(distribution(&id)));
    f.insert("distribution_version".into(), json!(version));
    f.insert(
        "distribution_major_version".into(),
        json!(version.split('.').next().unwrap_or("")),
    );
    f.insert(
        "distribution_release".into(),
        json!(osv("VERSION_CODENAME")),
    );
    f.insert("architecture".into(), json!(get("arch")));
    f.insert("kernel".into(), json!(get("kernel")));
    network(&get("route"), &get("addrs"), &mut f);
    memory(&get("mem"), &mut f);
    let cpus: u64 = get("cpus").parse().unwrap_or(1);
    f.insert("processor_vcpus".into(), json!(cpus));
    f.insert("processor_count".into(), json!(cpus));
    f.insert(
        "virt_flags_count".into(),
        json!(get("virt").parse::<u64>().unwrap_or(0)),
    );
    let tools: Vec<String> = get("tools").lines().map(String::from).collect();
    let has = |t: &str| tools.iter().any(|x| x == t);
    let systemd_pid1 = get("pid1") == "systemd" && get("systemd") == "yes";
    f.insert("is_systemd_pid1".into(), json!(systemd_pid1));
    let service_mgr = if systemd_pid1 {
        "systemd"
    } else if has("rc-service") {
        "openrc"
    } else {
        "sysvinit"
    };
    f.insert("service_mgr".into(), json!(service_mgr));
    let pkg = ["apt-get", "dnf", "yum", "zypper", "apk"]
        .into_iter()
        .find(|t| has(t))
        .map(|t| if t == "apt-get" { "apt" } else { t });
    f.insert("pkg_mgr".into(), json!(pkg.unwrap_or("unknown")));
    let user: Vec<String> = get("user").lines().map(String::from).collect();
    f.insert(
        "user_id".into(),
        json!(user.first().cloned().unwrap_or_default()),
    );
    f.insert(
        "user_uid".into(),
        json!(user.get(1).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)),
    );
    f
}

fn network(route: &str, addrs: &str, f: &mut Map<String, Value>) {
    // "default via 10.0.0.1 dev eth0 ..."
    let words: Vec<&str> = route.split_whitespace().collect();
    let after = |w: &str| {
        words
            .iter()
            .position(|x| *x == w)
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_string())
    };
    let (gw, dev) = (after("via"), after("dev"));
    let mut all = Vec::new();
    let mut default = Map::new();
    // "2: eth0    inet 10.0.0.11/24 brd ... scope global eth0"
    for line in addrs.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let (Some(iface), Some(pos)) = (w.get(1), w.iter().position(|x| *x == "inet")) else {
            continue;
        };
        let Some((ip, prefix)) = w.get(pos + 1).and_then(|c| c.split_once('/')) else {
            continue;
        };
        if ip.starts_with("127.") {
            continue;
        }
        all.push(json!(ip));
        if default.is_empty() && dev.as_deref() == Some(*iface) {
            default.insert("address".into(), json!(ip));
            default.insert("interface".into(), json!(iface));
            default.insert("prefix".into(), json!(prefix));
            default.insert("gateway".into(), json!(gw.clone().unwrap_or_default()));
        }
    }
    f.insert("all_ipv4_addresses".into(), Value::Array(all));
    f.insert("default_ipv4".into(), Value::Object(default));
}

fn memory(text: &str, f: &mut Map<String, Value>) {
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(key), Some(kb)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok()))
        else {
            continue;
        };
        let name = match key {
            "MemTotal:" => "memtotal_mb",
            "MemFree:" => "memfree_mb",
            "SwapTotal:" => "swaptotal_mb",
            _ => continue,
        };
        f.insert(name.into(), json!(kb / 1024));
    }
}

/// The facts as variables: `ansible_facts` plus the `ansible_*` names.
pub fn as_vars(facts: &Map<String, Value>) -> Map<String, Value> {
    let mut vars = Map::with_capacity(facts.len() + 1);
    for (k, v) in facts {
        vars.insert(format!("ansible_{k}"), v.clone());
    }
    vars.insert("ansible_facts".into(), Value::Object(facts.clone()));
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gathers_on_this_machine() {
        use crate::connection::{Connection, ExecRequest, local::LocalConnection};
        let out = LocalConnection::new()
            .exec(&ExecRequest::shell(SCRIPT))
            .await
            .unwrap();
        let f = parse(&out.stdout);
        assert_eq!(f["system"], json!("Linux"));
        assert!(f["processor_vcpus"].as_u64().unwrap() >= 1);
        assert!(f["memtotal_mb"].as_u64().unwrap() > 0);
        assert!(!f["hostname"].as_str().unwrap().is_empty());
    }

    #[test]
    fn parses_debian_container() {
        let out = "@@hostname\ncontroller\n@@fqdn\ncontroller.lab\n@@os\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n@@arch\nx86_64\n@@kernel\n6.1.0\n@@route\ndefault via 10.87.0.1 dev eth0\n@@addrs\n1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.87.0.11/24 brd 10.87.0.255 scope global eth0\n@@mem\nMemTotal:       2048000 kB\n@@cpus\n2\n@@virt\n0\n@@pid1\nsh\n@@systemd\nno\n@@tools\napt-get\nupdate-rc.d\n@@user\nroot\n0\n@@end\n";
        let f = parse(out);
        assert_eq!(f["os_family"], json!("Debian"));
        assert_eq!(f["distribution_major_version"], json!("12"));
        assert_eq!(f["default_ipv4"]["address"], json!("10.87.0.11"));
        assert_eq!(f["all_ipv4_addresses"], json!(["10.87.0.11"]));
        assert_eq!(f["service_mgr"], json!("sysvinit"));
        assert_eq!(f["pkg_mgr"], json!("apt"));
        assert_eq!(f["virt_flags_count"], json!(0));
        assert_eq!(f["is_systemd_pid1"], json!(false));
    }
}
