//! `date_time`: the host's clock as ansible-core's DateTimeFactCollector
//! reports it (every value a string), from two `date` calls made by the
//! script. Not for other facts.

use serde_json::{Value, json};

/// `+0130` -> minutes east of UTC.
fn offset_minutes(z: &str) -> i64 {
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let digits = z.trim_start_matches(['+', '-']);
    let n: i64 = digits.parse().unwrap_or(0);
    sign * ((n / 100) * 60 + n % 100)
}

/// Python's `time.tzname[1]`: the zone's daylight-saving name, or its
/// only name when it has none. The script prints the names and offsets
/// on January 1 and July 1; the one with the larger offset is DST.
fn tz_dst(jan: &str, jul: &str, tz: &str) -> String {
    let split = |l: &str| {
        let mut w = l.split_whitespace();
        (
            w.next().unwrap_or("").to_string(),
            offset_minutes(w.next().unwrap_or("")),
        )
    };
    let ((n1, o1), (n2, o2)) = (split(jan), split(jul));
    if n1.is_empty() || n2.is_empty() {
        return tz.to_string();
    }
    if o2 >= o1 { n2 } else { n1 }
}

/// Parses the `date` section (see `script.rs` for its format).
pub fn date_time(lines: &[&str]) -> Value {
    let w: Vec<&str> = lines
        .first()
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let [
        epoch,
        nanos,
        y,
        mo,
        d,
        h,
        mi,
        sec,
        weekday,
        wnum,
        week,
        tz,
        off,
    ] = w[..]
    else {
        return json!({});
    };
    let micro: String = format!("{nanos:0<6}").chars().take(6).collect();
    let utc = lines.get(1).map(|l| l.trim()).unwrap_or("");
    let dst = tz_dst(
        lines.get(2).copied().unwrap_or(""),
        lines.get(3).copied().unwrap_or(""),
        tz,
    );
    json!({
        "date": format!("{y}-{mo}-{d}"),
        "day": d,
        "epoch": epoch,
        "epoch_int": epoch,
        "hour": h,
        "iso8601": format!("{utc}Z"),
        "iso8601_basic": format!("{y}{mo}{d}T{h}{mi}{sec}{micro}"),
        "iso8601_basic_short": format!("{y}{mo}{d}T{h}{mi}{sec}"),
        "iso8601_micro": format!("{utc}.{micro}Z"),
        "minute": mi,
        "month": mo,
        "second": sec,
        "time": format!("{h}:{mi}:{sec}"),
        "tz": tz,
        "tz_dst": dst,
        "tz_offset": off,
        "weekday": weekday,
        "weekday_number": wnum,
        "weeknumber": week,
        "year": y,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_output_like_ansible() {
        let v = date_time(&[
            "1796531443 445435123 2026 12 06 05 30 43 Sunday 0 48 CET +0100",
            "2026-12-06T04:30:43",
            "CET +0100",
            "CEST +0200",
        ]);
        assert_eq!(v["iso8601"], json!("2026-12-06T04:30:43Z"));
        assert_eq!(v["iso8601_micro"], json!("2026-12-06T04:30:43.445435Z"));
        assert_eq!(v["iso8601_basic"], json!("20261206T053043445435"));
        assert_eq!(v["tz_dst"], json!("CEST"));
        assert_eq!(v["epoch_int"], json!("1796531443"));
        assert_eq!(v["weeknumber"], json!("48"));
    }
}
