//! Hardware facts, as ansible-core's LinuxHardware collector names them:
//! memory, CPU, uptime, DMI, mounts and LVM. Block devices are in
//! `devices.rs`. Not for network or virtualization facts.

use serde_json::{Map, Value, json};

use super::Sections;

/// Everything in the `hardware` subset.
pub fn collect(s: &Sections, f: &mut Map<String, Value>) {
    if s.has("meminfo") {
        memory(s.lines("meminfo"), f);
    }
    if s.has("cpuinfo") {
        let arch = f
            .get("architecture")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        cpu(s.lines("cpuinfo"), &arch, f);
    }
    if let Some(up) = s.text("uptime").split_whitespace().next() {
        if let Ok(v) = up.parse::<f64>() {
            f.insert("uptime_seconds".into(), json!(v as u64));
        }
    }
    if s.has("dmi") {
        dmi(&s.pairs("dmi"), f);
    }
    if s.has("mounts") {
        f.insert("mounts".into(), mounts(s.lines("mounts")));
    }
    if s.has("devices") {
        super::devices::collect(s.lines("devices"), f);
    }
    if s.has("lvm") {
        f.insert("lvm".into(), lvm(s.lines("lvm")));
    }
}

fn memory(lines: &[&str], f: &mut Map<String, Value>) {
    let get = |key: &str| {
        lines.iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k == key).then(|| v.split_whitespace().next()?.parse::<u64>().ok())?
        })
    };
    let mb = |key: &str| get(key).map(|kb| kb / 1024);
    for (key, name) in [
        ("MemTotal", "memtotal_mb"),
        ("MemFree", "memfree_mb"),
        ("SwapTotal", "swaptotal_mb"),
        ("SwapFree", "swapfree_mb"),
    ] {
        if let Some(v) = mb(key) {
            f.insert(name.into(), json!(v));
        }
    }
    let (total, free) = (mb("MemTotal"), mb("MemFree"));
    let nocache_free = match (mb("Cached"), free, mb("Buffers")) {
        (Some(c), Some(fr), Some(b)) => Some(c + fr + b),
        _ => None,
    };
    let sub = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a as i64 - b as i64);
    let (swap_total, swap_free) = (mb("SwapTotal"), mb("SwapFree"));
    f.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": total, "used": sub(total, free), "free": free},
            "nocache": {"free": nocache_free, "used": sub(total, nocache_free)},
            "swap": {
                "total": swap_total,
                "free": swap_free,
                "used": sub(swap_total, swap_free),
                "cached": mb("SwapCached"),
            },
        }),
    );
}

/// What /proc/cpuinfo says, counted the way ansible-core counts it.
#[derive(Default)]
struct CpuInfo {
    processor: Vec<Value>,
    vendor_n: u64,
    model_n: u64,
    proc_n: u64,
    /// `physical id` -> `cpu cores`, in the order seen.
    sockets: Vec<(String, u64)>,
    /// `core id` -> `siblings`, in the order seen.
    cores: Vec<(String, u64)>,
    physid: String,
    coreid: String,
    nproc: Option<u64>,
}

/// Sets `id`'s value, or adds it (only adds when `only_new`).
fn set(list: &mut Vec<(String, u64)>, id: &str, val: u64, only_new: bool) {
    match list.iter_mut().find(|(i, _)| i == id) {
        Some(e) if !only_new => e.1 = val,
        Some(_) => {}
        None => list.push((id.to_string(), val)),
    }
}

impl CpuInfo {
    fn line(&mut self, k: &str, v: &str, f: &mut Map<String, Value>) {
        match k {
            "flags" => {
                f.insert(
                    "flags".into(),
                    json!(v.split_whitespace().collect::<Vec<_>>()),
                );
            }
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                self.processor.push(json!(v));
                self.vendor_n += u64::from(k == "vendor_id");
                self.model_n += u64::from(k == "model name");
                self.proc_n += u64::from(k == "processor");
            }
            "physical id" => {
                self.physid = v.to_string();
                set(&mut self.sockets, v, 1, true);
            }
            "core id" => {
                self.coreid = v.to_string();
                // sic: ansible tests `sockets` here
                if !self.sockets.iter().any(|(i, _)| i == v) {
                    set(&mut self.cores, v, 1, false);
                }
            }
            "cpu cores" => set(
                &mut self.sockets,
                &self.physid,
                v.parse().unwrap_or(1),
                false,
            ),
            "siblings" => set(&mut self.cores, &self.coreid, v.parse().unwrap_or(1), false),
            _ => {}
        }
    }
}

/// ansible-core's get_cpu_facts: `processor_count` counts sockets
/// (`physical id`), `processor_cores` is the first socket's `cpu cores`.
fn cpu(lines: &[&str], arch: &str, f: &mut Map<String, Value>) {
    let mut c = CpuInfo {
        physid: "0".into(),
        coreid: "0".into(),
        ..CpuInfo::default()
    };
    for line in lines {
        if let Some(n) = line.strip_prefix("nproc=") {
            c.nproc = n.trim().parse::<u64>().ok();
        } else if let Some(n) = line.strip_prefix("virt=") {
            // oplay's own fact (not ansible's): CPUs with vmx/svm, which
            // playbooks/nova.yml reads to choose kvm or qemu.
            let n = n.trim().parse::<u64>().unwrap_or(0);
            f.insert("virt_flags_count".into(), json!(n));
        } else {
            let (k, v) = line.split_once(':').unwrap_or((line, ""));
            c.line(k.trim(), v.trim(), f);
        }
    }
    let mut i = c.processor.len() as u64;
    if c.vendor_n > 0 && c.vendor_n == c.model_n {
        i = c.vendor_n;
    }
    if ["armv", "aarch", "ppc"].iter().any(|p| arch.starts_with(p)) {
        i = c.proc_n;
    }
    let count = if c.sockets.is_empty() {
        i
    } else {
        c.sockets.len() as u64
    };
    let per_socket = c
        .sockets
        .first()
        .map(|s| s.1)
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let siblings = c.cores.first().map_or(1, |(_, n)| *n);
    let threads = (siblings as f64 / per_socket as f64).round() as u64;
    f.insert("processor".into(), Value::Array(c.processor));
    f.insert("processor_count".into(), json!(count));
    f.insert("processor_cores".into(), json!(per_socket));
    f.insert("processor_threads_per_core".into(), json!(threads));
    f.insert(
        "processor_vcpus".into(),
        json!(threads * count * per_socket),
    );
    f.insert("processor_nproc".into(), json!(c.nproc.unwrap_or(c.proc_n)));
}

const FORM_FACTOR: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// DMI from sysfs; 'NA' for what cannot be read (as ansible-core).
fn dmi(p: &std::collections::HashMap<&str, &str>, f: &mut Map<String, Value>) {
    let keys = [
        "bios_date",
        "bios_vendor",
        "bios_version",
        "board_asset_tag",
        "board_name",
        "board_serial",
        "board_vendor",
        "board_version",
        "chassis_asset_tag",
        "chassis_serial",
        "chassis_vendor",
        "chassis_version",
        "product_name",
        "product_serial",
        "product_uuid",
        "product_version",
    ];
    for k in keys {
        f.insert(k.into(), json!(p.get(k).map_or("NA", |v| v.trim())));
    }
    f.insert(
        "system_vendor".into(),
        json!(p.get("sys_vendor").map_or("NA", |v| v.trim())),
    );
    let form = match p.get("chassis_type") {
        None => "NA".to_string(),
        Some(t) => match t
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| FORM_FACTOR.get(i))
        {
            Some(name) => name.to_string(),
            None => format!("unknown ({})", t.trim()),
        },
    };
    f.insert("form_factor".into(), json!(form));
}

/// Undoes the octal escapes of /proc/mounts (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mounts`: mtab entries of real devices, with statvfs sizes and the
/// lsblk UUID ('N/A' when unknown); a bind mount (findmnt shows its source
/// as `dev[/dir]`) gets `,bind` added to its options, as ansible-core does.
fn mounts(lines: &[&str]) -> Value {
    let binds: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("b "))
        .map(str::trim)
        .collect();
    let uuids: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("u "))
        .filter_map(|l| l.trim().rsplit_once(char::is_whitespace))
        .map(|(n, u)| (n.trim(), u.trim()))
        .collect();
    let mut out = Vec::new();
    let mut it = lines.iter().peekable();
    while let Some(line) = it.next() {
        let Some(m) = line.strip_prefix("m ") else {
            continue;
        };
        let w: Vec<String> = m.split_whitespace().map(unescape).collect();
        let [dev, mp, fs, opts, dump, pass] = &w[..] else {
            continue;
        };
        let mut e = Map::new();
        e.insert("mount".into(), json!(mp));
        e.insert("device".into(), json!(dev));
        e.insert("fstype".into(), json!(fs));
        let bind = if binds.contains(&mp.as_str()) {
            ",bind"
        } else {
            ""
        };
        e.insert("options".into(), json!(format!("{opts}{bind}")));
        e.insert("dump".into(), json!(dump.parse::<i64>().unwrap_or(0)));
        e.insert("passno".into(), json!(pass.parse::<i64>().unwrap_or(0)));
        if let Some(st) = it.next_if(|l| l.starts_with("s ")) {
            statvfs(&st[2..], &mut e);
        }
        let uuid = uuids.iter().find(|(n, _)| n == dev).map_or("N/A", |u| u.1);
        e.insert("uuid".into(), json!(uuid));
        out.push(Value::Object(e));
    }
    Value::Array(out)
}

/// `stat -f -c '%s %S %b %f %a %c %d'`: bsize frsize blocks bfree bavail
/// files ffree.
fn statvfs(text: &str, e: &mut Map<String, Value>) {
    let n: Vec<u64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [bsize, frsize, blocks, _bfree, bavail, files, ffree] = n[..] else {
        return;
    };
    e.insert("size_total".into(), json!(frsize * blocks));
    e.insert("size_available".into(), json!(frsize * bavail));
    e.insert("block_size".into(), json!(bsize));
    e.insert("block_total".into(), json!(blocks));
    e.insert("block_available".into(), json!(bavail));
    e.insert("block_used".into(), json!(blocks.saturating_sub(bavail)));
    e.insert("inode_total".into(), json!(files));
    e.insert("inode_available".into(), json!(ffree));
    e.insert("inode_used".into(), json!(files.saturating_sub(ffree)));
}

/// `lvm`: 'N/A' unless root with the LVM tools; then vgs/lvs/pvs in
/// ansible-core's shape (sizes in GiB as strings, as `--units g` prints).
fn lvm(lines: &[&str]) -> Value {
    if lines.first().map(|l| l.trim()) != Some("present") {
        return json!("N/A");
    }
    let (mut vgs, mut lvs, mut pvs) = (Map::new(), Map::new(), Map::new());
    for line in &lines[1..] {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let c: Vec<&str> = rest.split(',').map(str::trim).collect();
        match (kind, &c[..]) {
            ("vg", [name, pv, lv, _, _, size, free, ..]) => {
                vgs.insert(
                    name.to_string(),
                    json!({"size_g": size, "free_g": free, "num_lvs": lv, "num_pvs": pv}),
                );
            }
            ("lv", [name, vg, _, size, ..]) => {
                lvs.insert(name.to_string(), json!({"size_g": size, "vg": vg}));
            }
            ("pv", [name, vg, _, _, size, free, ..]) => {
                pvs.insert(
                    name.to_string(),
                    json!({"size_g": size, "free_g": free, "vg": vg}),
                );
            }
            _ => {}
        }
    }
    json!({"vgs": vgs, "lvs": lvs, "pvs": pvs})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_counts_sockets_like_ansible() {
        let lines = [
            "processor\t: 0",
            "vendor_id\t: GenuineIntel",
            "model name\t: Xeon",
            "physical id\t: 0",
            "siblings\t: 4",
            "core id\t: 0",
            "cpu cores\t: 2",
            "processor\t: 1",
            "vendor_id\t: GenuineIntel",
            "model name\t: Xeon",
            "physical id\t: 0",
            "siblings\t: 4",
            "core id\t: 1",
            "cpu cores\t: 2",
            "flags\t\t: fpu vme",
            "nproc=4",
        ];
        let mut f = Map::new();
        cpu(&lines, "x86_64", &mut f);
        assert_eq!(f["processor_count"], json!(1));
        assert_eq!(f["processor_cores"], json!(2));
        assert_eq!(f["processor_threads_per_core"], json!(2));
        assert_eq!(f["processor_vcpus"], json!(4));
        assert_eq!(f["processor_nproc"], json!(4));
        assert_eq!(f["flags"], json!(["fpu", "vme"]));
        assert_eq!(f["processor"][1], json!("GenuineIntel"));
    }

    #[test]
    fn mounts_unescape_and_size() {
        let v = mounts(&[
            "m /dev/vda /mnt\\040x ext4 rw 0 0",
            "s 4096 4096 100 50 40 10 4",
            "u /dev/vda abcd",
        ]);
        assert_eq!(v[0]["mount"], json!("/mnt x"));
        assert_eq!(v[0]["block_used"], json!(60));
        assert_eq!(v[0]["size_available"], json!(163840));
        assert_eq!(v[0]["uuid"], json!("abcd"));
    }
}
