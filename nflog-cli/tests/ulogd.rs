//! `nflog -F json` against the real ulogd2 on the same packets: the lines are ulogd's, byte
//! for byte, once our `nflog.group` key and the times that cannot agree are set aside.
//!
//! ulogd2 (with its JSON plugin, packages ulogd2 and ulogd2-json) is optional here and
//! required under CI. It runs in the foreground from a thread in a private network
//! namespace (see `support`), with its own configuration, and is killed if the test fails;
//! its system service is never used.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use support::{
    in_netns, mixed_rules, mixed_traffic, privileged, skip, time_received_packets, ulogd::ULOGD,
    Proc, Scratch, Signal, DEADLINE, MIXED_PACKETS,
};

const ULOGD_GROUP: u16 = 51;
const NFLOG_GROUP: u16 = 52;

/// `YYYY-MM-DDTHH:MM:SS.uuuuuu` in UTC, as ulogd writes `timestamp` with TZ=UTC.
fn utc(sec: u64, usec: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let days = (sec / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = sec % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{usec:06}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The line with the values of `timestamp`, `oob.time.sec` and `oob.time.usec` replaced
/// by `*`, after checking that `timestamp` shows that time; and the time in microseconds.
fn mask_times(line: &str) -> (String, u64) {
    let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let sec = value["oob.time.sec"].as_u64().expect("oob.time.sec");
    let usec = value["oob.time.usec"].as_u64().expect("oob.time.usec");
    let stamp = format!("\"timestamp\": \"{}\", ", utc(sec, usec));
    let sec_key = format!("\"oob.time.sec\": {sec}, ");
    let usec_key = format!("\"oob.time.usec\": {usec}, ");
    for key in [&stamp, &sec_key, &usec_key] {
        assert_eq!(line.matches(key.as_str()).count(), 1, "{key} in {line}");
    }
    let masked = line
        .replace(&stamp, "\"timestamp\": \"*\", ")
        .replace(&sec_key, "\"oob.time.sec\": *, ")
        .replace(&usec_key, "\"oob.time.usec\": *, ");
    (masked, sec * 1_000_000 + usec)
}

#[test]
fn json_lines_equal_ulogd2s_for_the_same_packets() {
    const TEST: &str = "json_lines_equal_ulogd2s_for_the_same_packets";
    if !privileged(TEST) {
        return;
    }
    let Some(plugins) = support::ulogd::plugins().filter(|_| Path::new(ULOGD).is_file()) else {
        skip(
            TEST,
            "ulogd2 with its JSON plugin is not installed: apt-get install ulogd2 ulogd2-json",
        );
        return;
    };
    in_netns(move || {
        // Kernels before 6.6 stamp only timed packets: time them, or at INPUT each program
        // would show its own receive time.
        let _timed = time_received_packets();
        let action = format!(
            "log group {ULOGD_GROUP} prefix \"{{hook}}\" log group {NFLOG_GROUP} prefix \"{{hook}}\""
        );
        let chains: String = ["input", "output"]
            .iter()
            .map(|hook| mixed_rules(hook, &action.replace("{hook}", hook)))
            .collect();
        support::nft(&format!("table inet t {{\n{chains}}}\n"));
        let expected = 2 * MIXED_PACKETS;

        let scratch = Scratch::new();
        let (conf, log) = (scratch.join("ulogd.conf"), scratch.join("ulogd.log"));
        let (theirs, ours) = (scratch.join("ulogd.json"), scratch.join("nflog.json"));
        fs::write(
            &conf,
            support::ulogd::config(
                &plugins,
                &log,
                &theirs,
                &support::ulogd::Options {
                    group: ULOGD_GROUP,
                    loglevel: Some(3),
                    sync: true,
                },
            ),
        )
        .unwrap();
        let mut command = Command::new(ULOGD);
        command.arg("-c").arg(&conf).env("TZ", "UTC");
        let mut ulogd = Proc::spawn(command, scratch.path(), "ulogd");
        let started = Instant::now();
        while !support::bound_groups().contains(&ULOGD_GROUP) {
            assert!(
                ulogd.exited().is_none() && started.elapsed() < DEADLINE,
                "ulogd did not bind group {ULOGD_GROUP}: {}\n{}",
                ulogd.stderr(),
                fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut command = Command::new(support::NFLOG);
        command
            .args(["-g", "52", "-F", "json", "-U", "-w"])
            .arg(&ours)
            .env("TZ", "UTC");
        let mut nflog = Proc::spawn(command, scratch.path(), "nflog");
        nflog.wait_bound(NFLOG_GROUP);

        mixed_traffic();
        support::wait_until("both wrote every packet", || {
            support::lines(&theirs).len() >= expected && support::lines(&ours).len() >= expected
        });
        ulogd.signal(Signal::TERM);
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        ulogd.wait();
        assert!(
            !support::bound_groups().contains(&ULOGD_GROUP),
            "ulogd is gone"
        );

        let (theirs, ours) = (support::lines(&theirs), support::lines(&ours));
        assert_eq!(theirs.len(), expected);
        assert_eq!(ours.len(), expected);
        let mut hooks = Vec::new();
        for (i, (theirs, ours)) in theirs.iter().zip(&ours).enumerate() {
            let ours = ours
                .strip_suffix(&format!(", \"nflog.group\": {NFLOG_GROUP}}}"))
                .map(|l| format!("{l}}}"))
                .unwrap_or_else(|| panic!("our group is the last key: {ours}"));
            let value: serde_json::Value = serde_json::from_str(&ours).unwrap();
            let hook = value["oob.hook"].as_u64().unwrap();
            hooks.push((hook, value["oob.family"].as_u64().unwrap()));
            let (theirs_masked, theirs_time) = mask_times(theirs);
            let (ours_masked, ours_time) = mask_times(&ours);
            if hook == 1 {
                // INPUT: both show a kernel timestamp, which the kernel takes for each
                // group's copy: the same moment, to within microseconds.
                assert!(
                    theirs_time.abs_diff(ours_time) < 50_000,
                    "packet {i}: kernel timestamps {theirs_time} and {ours_time} µs"
                );
            } else {
                // OUTPUT: no kernel timestamp; each program stamps the packet itself.
                assert_eq!(hook, 3, "{ours}");
            }
            assert_eq!(theirs_masked, ours_masked, "packet {i}");
        }
        for hook in [1, 3] {
            for family in [2, 10] {
                assert!(
                    hooks.contains(&(hook, family)),
                    "hook {hook} family {family}"
                );
            }
        }
    });
}
