//! `devices` and `device_links`: block devices from /sys/block and the
//! /dev/disk/by-* links, in ansible-core's shape (sizes as its
//! `bytes_to_human` prints them). Not for mounts or LVM (`hardware.rs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// ansible's `bytes_to_human`: "256.00 GB", "0.00 Bytes".
fn bytes_to_human(size: f64) -> String {
    let units = ["Y", "Z", "E", "P", "T", "G", "M", "K"];
    for (i, u) in units.iter().enumerate() {
        let limit = 2f64.powi(10 * (8 - i as i32));
        if size >= limit {
            return format!("{:.2} {u}B", size / limit);
        }
    }
    format!("{size:.2} Bytes")
}

/// The link kinds ansible reports, each a map device -> link names.
type Links = BTreeMap<&'static str, BTreeMap<String, Vec<String>>>;

fn links_of(links: &Links, dev: &str) -> Value {
    let m: Map<String, Value> = links
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(v.get(dev).cloned().unwrap_or_default()),
            )
        })
        .collect();
    Value::Object(m)
}

/// One device as the script printed it.
#[derive(Default)]
struct Dev {
    name: String,
    virtual_: u64,
    files: BTreeMap<String, String>,
    holders: Vec<String>,
    parts: Vec<(String, String, u64, Vec<String>)>,
    sysdir: String,
}

fn parse_devs(lines: &[&str], links: &mut Links, pci: &mut Vec<String>) -> Vec<Dev> {
    let mut devs: Vec<Dev> = Vec::new();
    for line in lines {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let w: Vec<&str> = rest.split_whitespace().collect();
        match (kind, &w[..]) {
            ("link", [t, name, target]) => {
                let key = match *t {
                    "ids" => "ids",
                    "uuids" => "uuids",
                    _ => "labels",
                };
                let e = links.entry(key).or_default();
                e.entry(target.to_string())
                    .or_default()
                    .push(name.to_string());
            }
            ("master", [dev, holder]) => {
                let e = links.entry("masters").or_default();
                e.entry(dev.to_string())
                    .or_default()
                    .push(holder.to_string());
            }
            ("dev", [name, v]) => devs.push(Dev {
                name: name.to_string(),
                virtual_: v.parse().unwrap_or(1),
                ..Dev::default()
            }),
            ("lspci", _) => pci.push(rest.to_string()),
            (_, _) => {
                let Some(d) = devs.last_mut() else { continue };
                dev_line(d, kind, rest, &w);
            }
        }
    }
    devs
}

fn dev_line(d: &mut Dev, kind: &str, rest: &str, w: &[&str]) {
    match (kind, w) {
        ("f", _) => {
            if let Some((k, v)) = rest.split_once('=') {
                d.files.insert(k.to_string(), v.trim().to_string());
            }
        }
        ("h", [h]) => d.holders.push(h.to_string()),
        ("p", [name, start, size]) => {
            d.parts.push((
                name.to_string(),
                start.to_string(),
                size.parse().unwrap_or(0),
                vec![],
            ));
        }
        ("ph", [part, h]) => {
            if let Some(p) = d.parts.iter_mut().find(|p| p.0 == *part) {
                p.3.push(h.to_string());
            }
        }
        ("pci", [path]) => d.sysdir = path.to_string(),
        _ => {}
    }
}

/// The PCI address in the device's sysfs path, described by `lspci -D`.
fn host(sysdir: &str, pci: &[String]) -> String {
    let is_addr = |s: &str| {
        let b = s.as_bytes();
        b.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.'
    };
    let Some(addr) = sysdir.split('/').rfind(|s| is_addr(s)) else {
        return String::new();
    };
    pci.iter()
        .find_map(|l| l.strip_prefix(addr).map(|r| r.trim().to_string()))
        .unwrap_or_default()
}

/// A partition's dict (sysfs gives partitions no queue: 512-byte sectors).
fn partitions(d: &Dev, links: &Links) -> Map<String, Value> {
    d.parts
        .iter()
        .map(|(name, start, size, holders)| {
            let v = json!({
                "links": links_of(links, name),
                "start": start,
                "sectorsize": 512,
                "sectors": size,
                "size": bytes_to_human(*size as f64 * 512.0),
                "uuid": links["uuids"].get(name).and_then(|l| l.first().cloned()),
                "holders": holders,
            });
            (name.clone(), v)
        })
        .collect()
}

/// One device's dict, as ansible's get_device_facts builds it.
fn device(d: &Dev, links: &Links, pci: &[String]) -> Value {
    let file = |k: &str| d.files.get(k).cloned();
    let sectorsize = file("queue/logical_block_size")
        .filter(|s| !s.is_empty())
        .or_else(|| file("queue/hw_sector_size"))
        .unwrap_or_else(|| "512".into());
    let ss: u64 = sectorsize.parse().unwrap_or(512).max(1);
    let size: u64 = file("size").and_then(|s| s.parse().ok()).unwrap_or(0);
    let sectors = size * 512 / ss;
    let scheduler = file("queue/scheduler")
        .and_then(|s| Some(s.split_once('[')?.1.split_once(']')?.0.to_string()))
        .unwrap_or_default();
    let discard = if file("queue/discard_max_hw_bytes").as_deref() == Some("0") {
        Some("0".to_string())
    } else {
        file("queue/discard_granularity")
    };
    let mut e = json!({
        "virtual": d.virtual_,
        "links": links_of(links, &d.name),
        "vendor": file("device/vendor"),
        "model": file("device/model"),
        "sas_address": file("device/sas_address"),
        "sas_device_handle": file("device/sas_device_handle"),
        "removable": file("removable"),
        "support_discard": discard,
        "partitions": partitions(d, links),
        "rotational": file("queue/rotational"),
        "scheduler_mode": scheduler,
        "sectorsize": sectorsize,
        "sectors": sectors,
        "size": bytes_to_human(sectors as f64 * ss as f64),
        "host": host(&d.sysdir, pci),
        "holders": d.holders,
    });
    if let (Some(serial), Value::Object(m)) = (file("device/serial"), &mut e) {
        m.insert("serial".into(), json!(serial));
    }
    e
}

/// Fills `devices` and `device_links`.
pub fn collect(lines: &[&str], f: &mut Map<String, Value>) {
    let mut links: Links = ["ids", "uuids", "labels", "masters"]
        .into_iter()
        .map(|k| (k, BTreeMap::new()))
        .collect();
    let mut pci = Vec::new();
    let devs = parse_devs(lines, &mut links, &mut pci);
    let out: Map<String, Value> = devs
        .iter()
        .map(|d| (d.name.clone(), device(d, &links, &pci)))
        .collect();
    let device_links: Map<String, Value> = links
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    f.insert("device_links".into(), Value::Object(device_links));
    f.insert("devices".into(), Value::Object(out));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_ansible() {
        assert_eq!(bytes_to_human(0.0), "0.00 Bytes");
        assert_eq!(bytes_to_human(274877906944.0), "256.00 GB");
        assert_eq!(bytes_to_human(1536.0), "1.50 KB");
    }
}
