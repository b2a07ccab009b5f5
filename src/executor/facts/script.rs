//! The shell side of fact gathering: one POSIX `sh` script, built from
//! the sections the play's `gather_subset` selects, sent to the host in one
//! round trip. Each section prints `@@name` and then raw text (files from
//! procfs/sysfs, the output of `ip`, `date`, `id` ...); `parse.rs` and its
//! siblings turn that text into facts. Not for parsing anything.
//!
//! Rules for a probe: no interpreter beyond `sh` and coreutils, and a
//! missing tool or file prints nothing instead of failing the script.

use super::subset::{GatherOptions, Group};

/// One section of the script: its name, the subset that selects it and
/// the shell code that prints its text.
struct Section {
    name: &'static str,
    group: Group,
    code: &'static str,
}

const fn s(name: &'static str, group: Group, code: &'static str) -> Section {
    Section { name, group, code }
}

/// Every section, in the order they run. `$T` is the per-probe time limit
/// (`gather_timeout`), `$FP` the local facts folder (`fact_path`).
const SECTIONS: &[Section] = &[
    s(
        "hostname",
        Group::Platform,
        "hostname 2>/dev/null || cat /proc/sys/kernel/hostname",
    ),
    s(
        "fqdn",
        Group::Platform,
        "h=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname); \
         a=$(getent hosts \"$h\" 2>/dev/null | awk '{print $1; exit}'); \
         if [ -n \"$a\" ]; then getent hosts \"$a\" 2>/dev/null | head -n 1; fi",
    ),
    s(
        "uname",
        Group::Platform,
        "uname -s; uname -r; uname -v; uname -m",
    ),
    s("bits", Group::Platform, "getconf LONG_BIT 2>/dev/null"),
    s(
        "machine_id",
        Group::Platform,
        "cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null",
    ),
    s(
        "os_release",
        Group::Distribution,
        "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null",
    ),
    s(
        "debian_version",
        Group::Distribution,
        "cat /etc/debian_version 2>/dev/null",
    ),
    s(
        "redhat_release",
        Group::Distribution,
        "cat /etc/redhat-release 2>/dev/null",
    ),
    s(
        "lsb",
        Group::Lsb,
        "if command -v lsb_release >/dev/null 2>&1; then echo via=bin; lsb_release -a 2>/dev/null; \
         elif [ -r /etc/lsb-release ]; then echo via=file; cat /etc/lsb-release; fi",
    ),
    s(
        "env",
        Group::Env,
        "if env -0 >/dev/null 2>&1; then env -0 | tr '\\000' '\\036'; else env; fi; echo",
    ),
    s(
        "date",
        Group::DateTime,
        "date '+%s %N %Y %m %d %H %M %S %A %w %W %Z %z'; date -u '+%Y-%m-%dT%H:%M:%S'; \
         y=$(date +%Y); date -d \"$y-01-01\" '+%Z %z' 2>/dev/null; date -d \"$y-07-01\" '+%Z %z' 2>/dev/null",
    ),
    s("dns", Group::Dns, "cat /etc/resolv.conf 2>/dev/null"),
    s(
        "fips",
        Group::Fips,
        "cat /proc/sys/crypto/fips_enabled 2>/dev/null",
    ),
    s(
        "selinux",
        Group::Selinux,
        "if [ -r /sys/fs/selinux/enforce ]; then echo enforce=$(cat /sys/fs/selinux/enforce); \
         echo policyvers=$(cat /sys/fs/selinux/policyvers 2>/dev/null); \
         grep -E '^SELINUX(TYPE)?=' /etc/selinux/config 2>/dev/null; fi",
    ),
    s(
        "apparmor",
        Group::Apparmor,
        "[ -e /sys/kernel/security/apparmor ] && echo enabled || echo disabled",
    ),
    s(
        "caps",
        Group::Caps,
        "if command -v capsh >/dev/null 2>&1; then capsh --print 2>/dev/null && echo rc=0; fi",
    ),
    s("cmdline", Group::Cmdline, "cat /proc/cmdline 2>/dev/null"),
    s(
        "user",
        Group::User,
        "u=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-$(id -un)}}}}; echo \"$u\"; \
         id -u; id -ru; id -g; id -rg; getent passwd \"$u\" 2>/dev/null",
    ),
    s(
        "ssh_keys",
        Group::SshPubKeys,
        "for d in /etc/ssh /etc/openssh /etc; do f=''; \
         for a in dsa rsa ecdsa ed25519; do k=$d/ssh_host_${a}_key.pub; \
         if [ -r \"$k\" ]; then f=1; echo \"$a $(cat \"$k\")\"; fi; done; [ -n \"$f\" ] && break; done",
    ),
    s(
        "pkg_tools",
        Group::PkgMgr,
        "for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/dnf \
         /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /sbin/apk \
         /usr/bin/emerge /usr/bin/xbps-install /usr/bin/swupd; do [ -e \"$p\" ] && echo \"$p\"; done",
    ),
    s(
        "init",
        Group::ServiceMgr,
        "echo comm=$(cat /proc/1/comm 2>/dev/null); echo init=$(readlink /sbin/init 2>/dev/null); \
         for p in /run/systemd/system /dev/.run/systemd /dev/.systemd /etc/init /sbin/openrc \
         /etc/init.d /etc/dinit.d; do [ -e \"$p\" ] && echo \"path=$p\"; done; \
         command -v initctl >/dev/null 2>&1 && echo tool=initctl; \
         command -v systemctl >/dev/null 2>&1 && echo tool=systemctl; \
         [ -L /sbin/init ] && case $(readlink -f /sbin/init) in */systemd) echo offline=systemd;; esac; true",
    ),
    s(
        "chroot",
        Group::Chroot,
        "echo \"debian_chroot=${debian_chroot:-}\"; stat -c '%d %i' / /proc/1/root/. 2>/dev/null; \
         echo fstype=$(stat -f -c %T / 2>/dev/null)",
    ),
    s("loadavg", Group::Loadavg, "cat /proc/loadavg 2>/dev/null"),
    s(
        "iscsi",
        Group::Iscsi,
        "grep '^InitiatorName=' /etc/iscsi/initiatorname.iscsi 2>/dev/null",
    ),
    s("nvme", Group::Nvme, "cat /etc/nvme/hostnqn 2>/dev/null"),
    s(
        "fc_wwn",
        Group::FcWwn,
        "cat /sys/class/fc_host/*/port_name 2>/dev/null",
    ),
    s("meminfo", Group::Hardware, "cat /proc/meminfo 2>/dev/null"),
    s(
        "cpuinfo",
        Group::Hardware,
        "grep -E '^(processor|vendor_id|model name|physical id|core id|cpu cores|siblings|Processor|cpu|CPU implementer)[[:space:]]*:' /proc/cpuinfo 2>/dev/null; \
         grep -m 1 -E '^(flags|Features)[[:space:]]*:' /proc/cpuinfo 2>/dev/null; echo nproc=$(nproc 2>/dev/null); \
         echo virt=$(grep -Ec '^flags.*\\b(vmx|svm)\\b' /proc/cpuinfo 2>/dev/null)",
    ),
    s("uptime", Group::Hardware, "cat /proc/uptime 2>/dev/null"),
    s(
        "dmi",
        Group::Hardware,
        "d=/sys/devices/virtual/dmi/id; for f in bios_date bios_vendor bios_version board_asset_tag \
         board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial \
         chassis_vendor chassis_version chassis_type product_name product_serial product_uuid \
         product_version product_family sys_vendor; do \
         if [ -r \"$d/$f\" ] && v=$(cat \"$d/$f\" 2>/dev/null); then echo \"$f=$v\"; fi; done",
    ),
    s(
        "mounts",
        Group::Hardware,
        "{ cat /etc/mtab 2>/dev/null || cat /proc/mounts; } | while read -r dev mp fs opts dump pass; do \
         case $dev in /*|*:/*|\\\\*) ;; *) continue;; esac; [ \"$fs\" = none ] && continue; \
         echo \"m $dev $mp $fs $opts $dump $pass\"; \
         echo \"s $($TO stat -f -c '%s %S %b %f %a %c %d' \"$(printf '%b' \"$mp\")\" 2>/dev/null)\"; \
         done; command -v lsblk >/dev/null 2>&1 && \
         $TO lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null | sed 's/^/u /'; \
         command -v findmnt >/dev/null 2>&1 && \
         $TO findmnt --list --noheadings --notruncate 2>/dev/null | while read -r t src rest; do \
         case $src in *\\]*) echo \"b $t\";; esac; done; true",
    ),
    s(
        "devices",
        Group::Hardware,
        "for t in ids uuids labels; do case $t in ids) d=by-id;; uuids) d=by-uuid;; labels) d=by-label;; esac; \
         for l in /dev/disk/$d/*; do [ -L \"$l\" ] && echo \"link $t ${l##*/} $(basename \"$(readlink \"$l\")\")\"; done; done; \
         for b in /sys/class/block/*; do [ -d \"$b/holders\" ] || continue; \
         for h in \"$b\"/holders/*; do [ -e \"$h\" ] && echo \"master ${b##*/} ${h##*/}\"; done; done; \
         for b in /sys/block/*; do [ -e \"$b\" ] || continue; n=${b##*/}; \
         if [ -L \"$b\" ]; then echo \"dev $n 1\"; else echo \"dev $n 0\"; fi; \
         for f in device/vendor device/model device/sas_address device/sas_device_handle device/serial \
         removable size queue/rotational queue/logical_block_size queue/hw_sector_size queue/scheduler \
         queue/discard_granularity queue/discard_max_hw_bytes; do \
         [ -r \"$b/$f\" ] && echo \"f $f=$(cat \"$b/$f\" 2>/dev/null)\"; done; \
         for h in \"$b\"/holders/*; do [ -e \"$h\" ] && echo \"h $(cat \"$h/dm/name\" 2>/dev/null || echo \"${h##*/}\")\"; done; \
         for p in \"$b\"/\"$n\"*; do [ -r \"$p/start\" ] || continue; \
         echo \"p ${p##*/} $(cat \"$p/start\") $(cat \"$p/size\" 2>/dev/null)\"; \
         for h in \"$p\"/holders/*; do [ -e \"$h\" ] && echo \"ph ${p##*/} $(cat \"$h/dm/name\" 2>/dev/null || echo \"${h##*/}\")\"; done; done; \
         echo \"pci $(readlink \"$b\" 2>/dev/null)\"; done; \
         command -v lspci >/dev/null 2>&1 && lspci -D 2>/dev/null | sed 's/^/lspci /'; true",
    ),
    s(
        "lvm",
        Group::Hardware,
        "if [ \"$(id -u)\" = 0 ] && command -v vgs >/dev/null 2>&1; then echo present; \
         vgs --noheadings --nosuffix --units g --separator , 2>/dev/null | sed 's/^ */vg /'; \
         lvs --noheadings --nosuffix --units g --separator , 2>/dev/null | sed 's/^ */lv /'; \
         pvs --noheadings --nosuffix --units g --separator , 2>/dev/null | sed 's/^ */pv /'; fi",
    ),
    s(
        "links",
        Group::Network,
        "E=''; command -v ethtool >/dev/null 2>&1 && E=1; \
         for i in /sys/class/net/*; do [ -d \"$i\" ] || continue; n=${i##*/}; echo \"if=$n\"; \
         for f in address mtu flags type operstate speed bridge/bridge_id bridge/stp_state \
         bonding/slaves bonding/mode bonding/miimon bonding/lacp_rate bonding/primary \
         bonding/all_slaves_active bonding_slave/perm_hwaddr; do \
         [ -e \"$i/$f\" ] && echo \"$f=$(cat \"$i/$f\" 2>/dev/null)\"; done; \
         [ -e \"$i/device/driver/module\" ] && echo \"module=$(basename \"$(readlink -f \"$i/device/driver/module\")\")\"; \
         [ -e \"$i/device\" ] && echo \"pciid=$(basename \"$(readlink \"$i/device\")\")\"; \
         [ -d \"$i/bridge\" ] && echo \"brif=$(ls \"$i/brif\" 2>/dev/null | tr '\\n' ' ')\"; \
         [ -d \"$i/bonding\" ] && echo bonding=1; \
         if [ -n \"$E\" ]; then ethtool -k \"$n\" 2>/dev/null | sed 's/^/feat /'; \
         ethtool -T \"$n\" 2>/dev/null | sed 's/^/ts /'; fi; done; true",
    ),
    s("addrs", Group::Network, "ip -o addr show 2>/dev/null"),
    s(
        "routes",
        Group::Network,
        "echo \"v4 $(ip -4 route get 8.8.8.8 2>/dev/null | head -n 1)\"; \
         echo \"v6 $(ip -6 route get 2404:6800:4001:c01::67 2>/dev/null | head -n 1)\"; \
         ip -4 route show table local 2>/dev/null | sed 's/^/l4 /'; \
         ip -6 route show table local 2>/dev/null | sed 's/^/l6 /'",
    ),
    s(
        "virt",
        Group::Virtual,
        "grep -E '/docker(/|-[0-9a-f]+\\.scope)|/lxc/|machine-lxc|/containerd' /proc/1/cgroup 2>/dev/null | sed 's/^/cgroup /'; \
         tr '\\000' '\\n' < /proc/1/environ 2>/dev/null | grep '^container=' | sed 's/^/environ /'; \
         echo \"systemd_container $(cat /run/systemd/container 2>/dev/null)\"; \
         for p in /.dockerenv /.dockerinit /proc/xen /proc/vz /proc/lve /proc/bc /dev/kvm /rhev; do \
         [ -e \"$p\" ] && echo \"path $p\"; done; \
         grep -q control_d /proc/xen/capabilities 2>/dev/null && echo xenhost; \
         grep '^VxID:' /proc/self/status 2>/dev/null | sed 's/^/vx /'; \
         grep -E '^(model name|vendor_id).*(QEMU Virtual CPU|User Mode Linux|UML)' /proc/cpuinfo 2>/dev/null | head -n 1 | sed 's/^/cpu /'; \
         for f in product_name sys_vendor bios_vendor product_family; do \
         echo \"dmi $f=$(cat /sys/devices/virtual/dmi/id/$f 2>/dev/null)\"; done; \
         cut -d' ' -f1 /proc/modules 2>/dev/null | grep -E '^(kvm|vboxdrv|virtio)$' | sed 's/^/module /'; true",
    ),
    s(
        "local",
        Group::Local,
        "for f in \"$FP\"/*.fact; do [ -f \"$f\" ] || continue; printf '\\035fact %s\\n' \"$f\"; \
         if [ -x \"$f\" ]; then $TO \"$f\" 2>/dev/null || printf '\\035failed %s\\n' \"$?\"; \
         else cat \"$f\" 2>/dev/null; fi; done",
    ),
];

/// Builds the script for these options: only the sections their subsets
/// select, so `gather_subset: min` does not stat mounts.
pub fn script(opts: &GatherOptions) -> String {
    let mut out = format!(
        "T={}\nFP={}\nTO=''\ncommand -v timeout >/dev/null 2>&1 && TO=\"timeout $T\"\n",
        opts.timeout,
        shell_quote(&opts.fact_path)
    );
    for sec in SECTIONS.iter().filter(|s| opts.wants(s.group)) {
        out.push_str(&format!(
            "echo '@@{}'\n{{ {}\n}} 2>/dev/null\n",
            sec.name, sec.code
        ));
    }
    out.push_str("echo '@@end'\n");
    out
}

/// Single-quotes a word for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
