//! `virtualization_type`, `virtualization_role` and
//! `virtualization_tech_guest`/`_host`, decided in the order of
//! ansible-core's LinuxVirtual collector (containers first, then DMI,
//! CPU, kernel modules, /dev/kvm). The `dmidecode` fallback (hosts
//! without DMI in sysfs) and the s390 `lscpu` probe are not done: see
//! docs/facts.md. Not for other facts.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::Sections;

/// The decision being built: the first finding sets type and role.
#[derive(Default)]
struct Virt {
    kind: Option<String>,
    role: Option<String>,
    found: bool,
    guest: BTreeSet<String>,
    host: BTreeSet<String>,
}

impl Virt {
    fn guest(&mut self, tech: &str, kind: &str) {
        self.guest.insert(tech.to_string());
        self.first(kind, "guest");
    }

    fn host(&mut self, tech: &str, kind: &str) {
        self.host.insert(tech.to_string());
        self.first(kind, "host");
    }

    fn first(&mut self, kind: &str, role: &str) {
        if !self.found {
            self.kind = Some(kind.to_string());
            self.role = Some(role.to_string());
            self.found = true;
        }
    }
}

fn containers(lines: &[&str], v: &mut Virt) {
    let has = |p: &str| lines.contains(&p);
    for l in lines.iter().filter_map(|l| l.strip_prefix("cgroup ")) {
        if l.contains("/docker/") || l.contains("/docker-") {
            v.guest("docker", "docker");
        }
        if l.contains("/lxc/") || l.contains("/machine.slice/machine-lxc") {
            v.guest("lxc", "lxc");
        }
        if l.contains("/system.slice/containerd.service") {
            v.guest("containerd", "containerd");
        }
    }
    for l in lines.iter().filter_map(|l| l.strip_prefix("environ ")) {
        match l.trim() {
            "container=lxc" => v.guest("lxc", "lxc"),
            "container=podman" => v.guest("podman", "podman"),
            c if c.len() > "container=".len() => v.guest("container", "container"),
            _ => {}
        }
    }
    if has("path /proc/vz") && !has("path /proc/lve") {
        let role = if has("path /proc/bc") {
            "host"
        } else {
            "guest"
        };
        if role == "host" {
            v.host.insert("openvz".into());
        } else {
            v.guest.insert("openvz".into());
        }
        if !v.found {
            v.kind = Some("openvz".into());
            v.role = Some(role.into());
        }
        v.found = true;
    }
    let sc = lines
        .iter()
        .find_map(|l| l.strip_prefix("systemd_container"))
        .map(str::trim)
        .unwrap_or("");
    if !sc.is_empty() {
        v.guest(sc, sc);
    }
    if has("path /.dockerenv") || has("path /.dockerinit") {
        v.guest("docker", "docker");
    }
    let c = ["docker", "lxc", "podman", "openvz", "containerd"];
    if c.iter().any(|t| v.guest.contains(*t)) || !sc.is_empty() {
        v.guest.insert("container".into());
    }
}

/// A DMI field that tells a guest: (field, test, technology), checked in
/// ansible-core's order.
type DmiCheck = (&'static str, fn(&str) -> bool, &'static str);

const DMI_CHECKS: &[DmiCheck] = &[
    (
        "product_name",
        |p| {
            [
                "KVM",
                "KVM Server",
                "Bochs",
                "AHV",
                "CloudStack KVM Hypervisor",
            ]
            .contains(&p)
        },
        "kvm",
    ),
    ("sys_vendor", |v| v == "oVirt", "oVirt"),
    ("rhv", |x| x == "RHV", "RHV"),
    ("rhv", |x| x == "RHEV", "RHEV"),
    ("product_name", |p| p.starts_with("VMware"), "VMware"),
    (
        "product_name",
        |p| ["OpenStack Compute", "OpenStack Nova"].contains(&p),
        "openstack",
    ),
    ("bios_vendor", |b| b == "Xen", "xen"),
    ("bios_vendor", |b| b == "innotek GmbH", "virtualbox"),
    (
        "bios_vendor",
        |b| ["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"].contains(&b),
        "kvm",
    ),
    (
        "sys_vendor",
        |v| {
            [
                "QEMU",
                "Amazon EC2",
                "DigitalOcean",
                "Google",
                "Scaleway",
                "Nutanix",
            ]
            .contains(&v)
        },
        "kvm",
    ),
    ("sys_vendor", |v| v == "KubeVirt", "KubeVirt"),
    ("hyperv", |x| x == "yes", "VirtualPC"),
    (
        "sys_vendor",
        |v| v == "Parallels Software International Inc.",
        "parallels",
    ),
    ("sys_vendor", |v| v == "OpenStack Foundation", "openstack"),
];

fn dmi(lines: &[&str], v: &mut Virt) {
    let get = |k: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("dmi ")?.strip_prefix(k)?.strip_prefix('='))
            .map(str::trim)
            .unwrap_or("")
    };
    let (product, vendor) = (get("product_name"), get("sys_vendor"));
    // Red Hat's two products, and Hyper-V, need two fields each.
    let rhv = match (vendor, get("product_family"), product) {
        ("Red Hat", "RHV", _) => "RHV",
        ("Red Hat", _, "RHEV Hypervisor") => "RHEV",
        _ => "",
    };
    let hyperv = vendor == "Microsoft Corporation" && product == "Virtual Machine";
    for (field, test, tech) in DMI_CHECKS {
        let value = match *field {
            "rhv" => rhv,
            "hyperv" if hyperv => "yes",
            "hyperv" => "",
            f => get(f),
        };
        if test(value) {
            v.guest.insert(tech.to_string());
            v.first(tech, "guest");
        }
    }
}

fn late(lines: &[&str], v: &mut Virt) {
    let has = |p: &str| lines.contains(&p);
    if let Some(vx) = lines.iter().find_map(|l| l.strip_prefix("vx VxID:")) {
        if vx.trim() == "0" {
            v.host("linux_vserver", "linux_vserver");
        } else {
            v.guest("linux_vserver", "linux_vserver");
        }
    }
    if let Some(cpu) = lines.iter().find_map(|l| l.strip_prefix("cpu ")) {
        if cpu.contains("QEMU Virtual CPU") {
            v.guest("kvm", "kvm");
        } else if cpu.contains("UML") || cpu.contains("User Mode Linux") {
            v.guest("uml", "uml");
        }
    }
    if has("module kvm") {
        v.host("kvm", "kvm");
    }
    if has("module vboxdrv") {
        v.host("virtualbox", "virtualbox");
    }
    if has("module virtio") {
        v.guest("kvm", "kvm");
    }
    if has("path /dev/kvm") {
        v.host("kvm", "kvm");
    }
}

/// Fills the virtualization facts when the `virtual` subset ran.
pub fn collect(s: &Sections, f: &mut Map<String, Value>) {
    if !s.has("virt") {
        return;
    }
    let lines = s.lines("virt");
    let mut v = Virt::default();
    containers(lines, &mut v);
    if lines.contains(&"path /proc/xen") {
        if lines.contains(&"xenhost") {
            v.host("xen", "xen");
        } else {
            v.guest("xen", "xen");
        }
    }
    dmi(lines, &mut v);
    late(lines, &mut v);
    let kind = v.kind.unwrap_or_else(|| "NA".into());
    let role = v.role.unwrap_or_else(|| "NA".into());
    f.insert("virtualization_type".into(), json!(kind));
    f.insert("virtualization_role".into(), json!(role));
    f.insert("virtualization_tech_guest".into(), json!(v.guest));
    f.insert("virtualization_tech_host".into(), json!(v.host));
}
