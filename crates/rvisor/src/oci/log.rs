//! The runtime's log: `--log FILE` in runc's text or JSON line format
//! (container engines read a failed command's error from it), debug lines
//! only with `--debug`. Errors also go to stderr, one line each.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

struct Log {
    file: Option<Mutex<std::fs::File>>,
    path: Option<std::path::PathBuf>,
    json: bool,
    debug: bool,
}

static LOG: OnceLock<Log> = OnceLock::new();

/// Sets up the log from the global flags; an unusable file is an error.
pub fn init(path: Option<&std::path::Path>, format: &str, debug: bool) -> Result<(), String> {
    let json = match format {
        "text" => false,
        "json" => true,
        f => return Err(format!("invalid log format {f:?} (text or json)")),
    };
    let file = match path {
        Some(p) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("cannot open log {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let _ = LOG.set(Log {
        file,
        path: path.map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())),
        json,
        debug,
    });
    Ok(())
}

/// RFC 3339 UTC time with nanoseconds, as runc writes it.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Go's RFC3339Nano: no trailing zeros in the fraction.
    let frac = format!(".{:09}", d.subsec_nanos());
    let frac = frac.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{frac}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
    )
}

/// The time of day (UTC) of a Unix time, as `ps`'s STIME: `HH:MM`.
pub fn clock(unix_secs: i64) -> String {
    let sod = unix_secs.rem_euclid(86400);
    format!("{:02}:{:02}", sod / 3600, sod % 3600 / 60)
}

fn write(level: &str, msg: &str) {
    let Some(log) = LOG.get() else { return };
    let Some(file) = &log.file else {
        // Without a log file, only with --debug: a sandbox's stderr is
        // its program's.
        if log.debug {
            eprintln!("rvisor: {level}: {msg}");
        }
        return;
    };
    let time = rfc3339(SystemTime::now());
    let line = if log.json {
        serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
    } else {
        format!("time={time:?} level={level} msg={msg:?}")
    };
    if let Ok(mut f) = file.lock() {
        let _ = writeln!(f, "{line}");
    }
}

/// Opens the log file again after the sandbox closed every inherited
/// descriptor (`confine::close_inherited`), which took the old one.
pub fn reopen() {
    let Some(log) = LOG.get() else { return };
    let (Some(file), Some(path)) = (&log.file, &log.path) else {
        return;
    };
    let Ok(new) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    if let Ok(mut f) = file.lock() {
        // The old descriptor is closed already and its number may be
        // reused: never close it again.
        std::mem::forget(std::mem::replace(&mut *f, new));
    }
}

/// The flags that make a sandbox process log as this one does.
pub fn boot_args() -> Vec<std::ffi::OsString> {
    let mut v = Vec::new();
    let Some(log) = LOG.get() else { return v };
    if let Some(p) = &log.path {
        v.push("--log".into());
        v.push(p.clone().into_os_string());
    }
    v.push("--log-format".into());
    v.push(if log.json { "json" } else { "text" }.into());
    if log.debug {
        v.push("--debug".into());
    }
    v
}

/// A failed command: stderr and the log.
pub fn error(msg: &str) {
    eprintln!("rvisor: {msg}");
    write("error", msg);
}

/// Something of the request the runtime does not do (an unsupported
/// field): always logged.
pub fn warn(msg: &str) {
    write("warning", msg);
}

pub fn debug(msg: &str) {
    if LOG.get().is_some_and(|l| l.debug) {
        write("debug", msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400 + 3661, 5); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T01:01:01.000000005Z");
        let t = UNIX_EPOCH + Duration::new(1_735_689_599, 460_000_000); // end of 2024
        assert_eq!(rfc3339(t), "2024-12-31T23:59:59.46Z");
    }
}
