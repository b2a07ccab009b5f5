//! File operations done with shell commands, for any connection.
//!
//! Used when a task becomes another user: SFTP and direct file access run
//! as the login user, so reading or writing root's files after `sudo` has
//! to go through `sudo sh -c '...'`. Writes stay atomic (temporary file in
//! the same directory, then `mv`).

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{
    Become, Connection, ConnectionError, ExecRequest, FileAttrs, FileKind, FileStat, shell_quote,
};

fn run_as(cmd: String, become_: Option<&Become>, stdin: Option<Vec<u8>>) -> ExecRequest {
    ExecRequest {
        cmd,
        stdin,
        become_: become_.cloned(),
        ..Default::default()
    }
}

fn remote_err(op: &'static str, path: &str, stderr: &str) -> ConnectionError {
    ConnectionError::Remote {
        op,
        path: path.to_string(),
        message: stderr.trim().to_string(),
    }
}

/// [`Connection::stat`] through a shell command, as `become_`'s user.
pub async fn stat(
    conn: &dyn Connection,
    path: &str,
    become_: Option<&Become>,
) -> Result<Option<FileStat>, ConnectionError> {
    let q = shell_quote(path);
    let cmd = format!(
        "if [ -e {q} ] || [ -L {q} ]; then stat -c '%F|%a|%u|%g|%s|%Y' {q} && readlink {q} || true; else echo MISSING; fi"
    );
    let out = conn.exec(&run_as(cmd, become_, None)).await?;
    if out.rc != 0 {
        return Err(remote_err("stat", path, &out.stderr));
    }
    let mut lines = out.stdout.lines();
    let first = lines.next().unwrap_or("MISSING");
    if first == "MISSING" {
        return Ok(None);
    }
    let f: Vec<&str> = first.split('|').collect();
    if f.len() != 6 {
        return Err(remote_err(
            "stat",
            path,
            &format!("unexpected output: {first}"),
        ));
    }
    let kind = match f[0] {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(Some(FileStat {
        kind,
        mode: u32::from_str_radix(f[1], 8).unwrap_or(0),
        uid: f[2].parse().unwrap_or(0),
        gid: f[3].parse().unwrap_or(0),
        size: f[4].parse().unwrap_or(0),
        mtime: f[5].parse().unwrap_or(0),
        link_target: lines
            .next()
            .map(String::from)
            .filter(|_| kind == FileKind::Symlink),
    }))
}

/// [`Connection::read_file`] through a shell command, as `become_`'s user.
pub async fn read_file(
    conn: &dyn Connection,
    path: &str,
    become_: Option<&Become>,
) -> Result<Option<Vec<u8>>, ConnectionError> {
    let q = shell_quote(path);
    // base64 keeps binary content intact through the text channel.
    let cmd = format!("if [ -e {q} ]; then base64 < {q}; else echo MISSING >&2; exit 44; fi");
    let out = conn.exec(&run_as(cmd, become_, None)).await?;
    if out.rc == 44 && out.stderr.trim() == "MISSING" {
        return Ok(None);
    }
    if out.rc != 0 {
        return Err(remote_err("read", path, &out.stderr));
    }
    use base64::Engine;
    let clean: String = out.stdout.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map(Some)
        .map_err(|e| remote_err("read", path, &e.to_string()))
}

/// [`Connection::write_stream`] through a shell command, as `become_`'s
/// user: the data is the command's input, written to a temporary file
/// beside `path`, then renamed over it.
pub async fn write_stream(
    conn: &dyn Connection,
    path: &str,
    reader: &mut (dyn AsyncRead + Send + Unpin),
    attrs: &FileAttrs,
    become_: Option<&Become>,
) -> Result<u64, ConnectionError> {
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .await
        .map_err(|source| ConnectionError::Io {
            op: "write",
            path: path.to_string(),
            source,
        })?;
    let len = data.len() as u64;
    let wrapped = write_script(path, &super::temp_path(path), attrs);
    let out = conn.exec(&run_as(wrapped, become_, Some(data))).await?;
    if out.rc != 0 {
        return Err(remote_err("write", path, &out.stderr));
    }
    Ok(len)
}

/// The script that writes its input to `path` through the temporary file
/// `tmp`: created 0600 and exclusively (`umask 077`, `set -C`), ownership
/// then mode applied, then renamed over `path`. Every failure and every
/// signal removes the temporary file. Without an explicit mode an existing
/// file keeps its own, and a new one gets the login's umask default.
fn write_script(path: &str, tmp: &str, attrs: &FileAttrs) -> String {
    let q = shell_quote(path);
    let tmp = shell_quote(tmp);
    let mut steps = vec![
        format!("cat > {tmp}"),
        format!("{{ [ ! -e {q} ] || chown --reference={q} {tmp}; }}"),
    ];
    match (&attrs.owner, &attrs.group) {
        (Some(o), Some(g)) => {
            steps.push(format!("chown {}:{} {tmp}", shell_quote(o), shell_quote(g)))
        }
        (Some(o), None) => steps.push(format!("chown {} {tmp}", shell_quote(o))),
        (None, Some(g)) => steps.push(format!("chgrp {} {tmp}", shell_quote(g))),
        (None, None) => {}
    }
    match attrs.mode {
        Some(mode) => steps.push(format!("chmod {mode:o} {tmp}")),
        None => steps.push(format!(
            "{{ if [ -e {q} ]; then chmod --reference={q} {tmp}; \
             else chmod \"$(printf %o $((0666 & ~0$u)))\" {tmp}; fi; }}"
        )),
    }
    steps.push(format!("mv -f {tmp} {q}"));
    format!(
        "u=$(umask); umask 077; set -C; trap 'rm -f {tmp}; exit 130' HUP INT TERM PIPE; \
         {{ {}; }} || {{ rc=$?; rm -f {tmp}; exit $rc; }}",
        steps.join(" && ")
    )
}
