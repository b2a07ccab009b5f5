//! Unit tests of the fact parsers: a canned script output (a Debian 12
//! container) and one real run on this machine.

use serde_json::json;

use super::*;

const DEBIAN: &str = "@@hostname\ncontroller\n@@fqdn\n10.87.0.11 controller.lab controller\n\
@@uname\nLinux\n6.1.0\n#1 SMP Debian 6.1.0\nx86_64\n@@bits\n64\n\
@@os_release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n\
@@debian_version\n12.11\n@@redhat_release\n\
@@routes\nv4 8.8.8.8 via 10.87.0.1 dev eth0 src 10.87.0.11 uid 0\nv6 \n\
@@links\nif=lo\naddress=00:00:00:00:00:00\nmtu=65536\ntype=772\noperstate=unknown\nflags=0x9\n\
if=eth0\naddress=02:42:0a:57:00:0b\nmtu=1500\ntype=1\noperstate=up\nflags=0x1003\n\
@@addrs\n1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
2: eth0    inet 10.87.0.11/24 brd 10.87.0.255 scope global eth0\\       valid_lft forever\n\
@@meminfo\nMemTotal:       2048000 kB\nMemFree:         1024000 kB\nBuffers: 0 kB\nCached: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n\
@@cpuinfo\nprocessor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nnproc=2\n\
@@virt\npath /.dockerenv\n\
@@init\ncomm=sh\ninit=\npath=/etc/init.d\n\
@@pkg_tools\n/usr/bin/apt-get\n\
@@user\nroot\n0\n0\n0\n0\nroot:x:0:0:root:/root:/bin/bash\n@@end\n";

#[tokio::test]
async fn gathers_on_this_machine() {
    use crate::connection::{Connection, ExecRequest, local::LocalConnection};
    let opts = GatherOptions::default();
    let out = LocalConnection::new()
        .exec(&ExecRequest::shell(script(&opts)))
        .await
        .unwrap();
    assert_eq!(out.rc, 0, "{}", out.stderr);
    let f = parse(&out.stdout, &opts);
    assert_eq!(f["system"], json!("Linux"));
    assert!(f["processor_vcpus"].as_u64().unwrap() >= 1);
    assert!(f["memtotal_mb"].as_u64().unwrap() > 0);
    assert!(!f["hostname"].as_str().unwrap().is_empty());
    assert!(f["env"]["PATH"].is_string());
    assert!(f["date_time"]["epoch"].is_string());
    assert!(f["interfaces"].as_array().unwrap().contains(&json!("lo")));
    assert_eq!(f["lo"]["type"], json!("loopback"));
    assert_eq!(f["gather_subset"], json!(["all"]));
}

#[tokio::test]
async fn min_subset_skips_hardware_and_network() {
    use crate::connection::{Connection, ExecRequest, local::LocalConnection};
    let opts = GatherOptions::new(&["!all".into()], 10, "/nonexistent").unwrap();
    let out = LocalConnection::new()
        .exec(&ExecRequest::shell(script(&opts)))
        .await
        .unwrap();
    let f = parse(&out.stdout, &opts);
    assert!(f.contains_key("env") && f.contains_key("distribution"));
    assert!(!f.contains_key("memtotal_mb") && !f.contains_key("interfaces"));
    assert_eq!(f["local"], json!({}));
}

#[test]
fn parses_debian_container() {
    let f = parse(DEBIAN, &GatherOptions::default());
    assert_eq!(f["os_family"], json!("Debian"));
    assert_eq!(f["distribution_version"], json!("12.11"));
    assert_eq!(f["distribution_major_version"], json!("12"));
    assert_eq!(f["distribution_minor_version"], json!("11"));
    assert_eq!(f["distribution_release"], json!("bookworm"));
    assert_eq!(f["fqdn"], json!("controller.lab"));
    assert_eq!(f["domain"], json!("lab"));
    assert_eq!(f["hostname"], json!("controller"));
    assert_eq!(f["default_ipv4"]["address"], json!("10.87.0.11"));
    assert_eq!(f["default_ipv4"]["gateway"], json!("10.87.0.1"));
    assert_eq!(f["default_ipv4"]["macaddress"], json!("02:42:0a:57:00:0b"));
    assert_eq!(f["all_ipv4_addresses"], json!(["10.87.0.11"]));
    assert_eq!(f["eth0"]["ipv4"]["netmask"], json!("255.255.255.0"));
    assert!(f["lo"].get("macaddress").is_none());
    assert_eq!(f["service_mgr"], json!("sysvinit"));
    assert_eq!(f["pkg_mgr"], json!("apt"));
    assert_eq!(f["virtualization_type"], json!("docker"));
    assert_eq!(
        f["virtualization_tech_guest"],
        json!(["container", "docker"])
    );
    assert_eq!(f["processor_count"], json!(2));
    assert_eq!(f["memory_mb"]["real"]["used"], json!(1000));
    assert_eq!(f["user_dir"], json!("/root"));
    assert_eq!(f["user_uid"], json!(0));
}

#[test]
fn facts_become_ansible_vars() {
    let mut f = Map::new();
    f.insert("eth0".into(), json!({"mtu": 1500}));
    f.insert("gather_subset".into(), json!(["all"]));
    let v = as_vars(&f);
    assert_eq!(v["ansible_eth0"]["mtu"], json!(1500));
    assert_eq!(v["ansible_facts"]["gather_subset"], json!(["all"]));
}
