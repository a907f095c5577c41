//! Where a results directory may be written, and how it is replaced: the safety rules of `--out`.
//!
//! Architecture invariant: this module deletes only what kubesim wrote. A target is written
//! only if it does not exist, is an empty directory, or is a previous kubesim result: a
//! directory holding the marker file [`MARKER`] (`kubesim-result <format version>`), or an
//! old-style result of a kubesim version before the marker (recognised by content, see
//! [`is_legacy_result`]). Anything else (a directory of other files, a regular file, a symlink
//! to a non-result, a device, a path under `/dev`, `/proc` or `/sys`, the current directory or
//! one of its parents) is refused before anything on disk changes.
//!
//! Why a reader sees the previous result or the new one, complete, and nothing in between:
//! 1. All files are written into a staging directory `.NAME.kubesim-stage-PID` beside the target
//!    (same parent, so same file system), the marker first, then every file and the staging
//!    directory itself are fsynced.
//! 2. The staging directory is put in place with one rename(2)-family call: `renameat2` with
//!    `RENAME_NOREPLACE` if the target does not exist, plain `rename` over an empty directory
//!    (the kernel refuses if it became non-empty), and `renameat2(RENAME_EXCHANGE)` over a
//!    previous result: the kernel swaps the two names in one step, so the target name always
//!    refers to a complete directory, old or new. The parent directory is fsynced.
//! 3. The old result, now under the staging name, is checked once more (if the target was
//!    swapped for something that is not a result during the run, it is swapped back and the
//!    write fails) and deleted.
//!
//! A process killed at any point leaves the target holding the old or the new result, plus at
//! most one `.NAME.kubesim-stage-PID` directory. The next write to the same target deletes such
//! leftovers of dead processes, and the `.NAME.tmp-PID` / `.NAME.old-PID` leftovers of earlier
//! kubesim versions, but only directories that are empty, carry the marker, or hold nothing
//! but old-style result files. Where the file system cannot exchange (`EINVAL`, e.g. some
//! network file systems) or the OS has no `renameat2`, the old result is renamed aside and the
//! new one renamed in: the target is briefly absent, never partial.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::OutputError;

/// The marker file of a kubesim results directory.
pub const MARKER: &str = ".kubesim-result";
/// The result directory format written by this version (in the marker).
pub const FORMAT_VERSION: u32 = 1;
/// The files an old-style (pre-marker) kubesim result may hold.
const LEGACY_FILES: [&str; 6] = [
    "events.jsonl",
    "timeseries.csv",
    "summary.json",
    "perf.json",
    "timeline.png",
    "timeline.svg",
];
/// Of which an old-style result always holds these.
const LEGACY_REQUIRED: [&str; 3] = ["events.jsonl", "timeseries.csv", "summary.json"];
/// Trees the results never go under.
const SYSTEM_TREES: [&str; 3] = ["/dev", "/proc", "/sys"];

/// The points of a write at which the fault-injection hook is called, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The staging directory exists, empty.
    StagingCreated,
    /// The staging directory holds the marker.
    MarkerWritten,
    /// … and `events.jsonl`.
    EventsWritten,
    /// … and every result file, not yet fsynced.
    FilesWritten,
    /// Files and staging directory fsynced; the target is untouched.
    Synced,
    /// The new result is in place; the old one is under the staging name.
    Swapped,
    /// The old result is deleted.
    Done,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::StagingCreated,
        Stage::MarkerWritten,
        Stage::EventsWritten,
        Stage::FilesWritten,
        Stage::Synced,
        Stage::Swapped,
        Stage::Done,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::StagingCreated => "staging-created",
            Stage::MarkerWritten => "marker-written",
            Stage::EventsWritten => "events-written",
            Stage::FilesWritten => "files-written",
            Stage::Synced => "synced",
            Stage::Swapped => "swapped",
            Stage::Done => "done",
        }
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What is at the target path now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occupant {
    Nothing,
    EmptyDir,
    /// A directory with the marker, or an old-style result.
    Result,
}

/// A checked target: its resolved absolute path (symlinks to results followed) and occupant.
#[derive(Clone, Debug)]
pub struct Target {
    pub dir: PathBuf,
    pub parent: PathBuf,
    pub name: OsString,
    pub occupant: Occupant,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    super::io(path)
}

fn refuse(path: &Path, reason: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

const HOW: &str = "choose a new or empty directory, or remove it yourself";

/// Decides whether results may be written to `path`; changes nothing on disk.
pub fn check_target(path: &Path) -> Result<Target, OutputError> {
    if path.as_os_str().is_empty() {
        return Err(refuse(path, "the path is empty"));
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return check_new(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(refuse(
                path,
                format!("a part of the path is not a directory; {HOW}"),
            ))
        }
        Err(e) => return Err(io(path)(e)),
    };
    let ft = meta.file_type();
    let dir = if ft.is_symlink() {
        let Ok(real) = std::fs::canonicalize(path) else {
            return Err(refuse(
                path,
                format!("it is a symbolic link to nothing; {HOW}"),
            ));
        };
        if !real.is_dir() || !is_result(&real) {
            return Err(refuse(
                path,
                format!(
                    "it is a symbolic link to {}, which is not a kubesim results directory; {HOW}",
                    real.display()
                ),
            ));
        }
        real
    } else if ft.is_dir() {
        std::fs::canonicalize(path).map_err(io(path))?
    } else if ft.is_file() {
        return Err(refuse(path, format!("it is a regular file; {HOW}")));
    } else {
        return Err(refuse(
            path,
            format!("it is not a directory (a device, socket or FIFO); {HOW}"),
        ));
    };
    system_tree(path, &dir)?;
    let occupant = if is_empty_dir(&dir) {
        Occupant::EmptyDir
    } else if is_result(&dir) {
        Occupant::Result
    } else {
        let example = first_entry(&dir).unwrap_or_default();
        return Err(refuse(
            path,
            format!(
                "it is a directory that is not a kubesim results directory (it holds `{example}` \
                 and has no {MARKER} marker), and kubesim replaces only its own results; {HOW}"
            ),
        ));
    };
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if cwd.starts_with(&dir) {
            return Err(refuse(
                path,
                format!("it is the current directory or one of its parents; {HOW}"),
            ));
        }
    }
    split(path, dir, occupant)
}

/// A target that does not exist: its nearest existing ancestor must be a directory and the
/// rest of the path plain names (no `..` to resolve).
fn check_new(path: &Path) -> Result<Target, OutputError> {
    let mut base = path;
    let mut rest = Vec::new();
    loop {
        let Some(name) = base.file_name() else {
            return Err(refuse(
                path,
                if rest.is_empty() {
                    "it does not end in a directory name"
                } else {
                    "write the path without `.` or `..`"
                },
            ));
        };
        rest.push(name.to_os_string());
        base = base.parent().unwrap_or(Path::new(""));
        let probe = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        };
        match std::fs::metadata(probe) {
            Ok(m) if m.is_dir() => {
                let mut dir = std::fs::canonicalize(probe).map_err(io(probe))?;
                let tail = path.strip_prefix(base).unwrap_or(path);
                if tail
                    .components()
                    .any(|c| !matches!(c, Component::Normal(_)))
                {
                    return Err(refuse(path, "write the path without `.` or `..`"));
                }
                for n in rest.iter().rev() {
                    dir.push(n);
                }
                system_tree(path, &dir)?;
                return split(path, dir, Occupant::Nothing);
            }
            Ok(_) => {
                return Err(refuse(
                    path,
                    format!("{} is not a directory; {HOW}", probe.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(probe)(e)),
        }
    }
}

fn system_tree(path: &Path, dir: &Path) -> Result<(), OutputError> {
    if dir.parent().is_none() || SYSTEM_TREES.iter().any(|t| dir.starts_with(t)) {
        return Err(refuse(
            path,
            format!(
                "{} is a system location, not a place for results; {HOW}",
                dir.display()
            ),
        ));
    }
    Ok(())
}

fn split(path: &Path, dir: PathBuf, occupant: Occupant) -> Result<Target, OutputError> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(refuse(path, "it does not end in a directory name"));
    };
    Ok(Target {
        parent: parent.to_path_buf(),
        name: name.to_os_string(),
        dir: dir.clone(),
        occupant,
    })
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// The first entry of `dir` that kubesim would not have written (else the first entry).
fn first_entry(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let ours = |n: &String| LEGACY_FILES.contains(&n.as_str()) || n == MARKER;
    names.iter().find(|n| !ours(n)).or(names.first()).cloned()
}

/// A real directory (not a symlink) with kubesim's marker, or an old-style result.
pub fn is_result(dir: &Path) -> bool {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return false;
    }
    has_marker(dir) || is_legacy_result(dir)
}

/// The marker is a regular file whose first line is `kubesim-result <version>`.
fn has_marker(dir: &Path) -> bool {
    let p = dir.join(MARKER);
    if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() < 4096) {
        return false;
    }
    std::fs::read_to_string(&p).is_ok_and(|t| {
        t.lines()
            .next()
            .and_then(|l| l.strip_prefix("kubesim-result "))
            .is_some_and(|v| v.trim().parse::<u32>().is_ok())
    })
}

/// The names in `dir` if every entry is a regular file named as an old-style result file.
fn only_legacy_files(dir: &Path) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).ok()? {
        let e = e.ok()?;
        let name = e.file_name().into_string().ok()?;
        if !LEGACY_FILES.contains(&name.as_str()) || !e.file_type().ok()?.is_file() {
            return None;
        }
        names.push(name);
    }
    Some(names)
}

/// A result of a kubesim version before the marker: nothing but result files, with
/// `events.jsonl`, `timeseries.csv` and a `summary.json` that kubesim wrote (a JSON object
/// with the scenario, the seed and an `fnv1a64:` digest).
pub fn is_legacy_result(dir: &Path) -> bool {
    let Some(names) = only_legacy_files(dir) else {
        return false;
    };
    if !LEGACY_REQUIRED.iter().all(|r| names.iter().any(|n| n == r)) {
        return false;
    }
    let summary = dir.join("summary.json");
    if !std::fs::metadata(&summary).is_ok_and(|m| m.len() < (16 << 20)) {
        return false;
    }
    let Ok(bytes) = std::fs::read(&summary) else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    v["scenario"].is_string()
        && v["seed"].is_u64()
        && v["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("fnv1a64:"))
}

/// The name of this process's staging directory for `name`.
pub fn staging_name(name: &OsString) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".kubesim-stage-{}", std::process::id()));
    s
}

/// Deletes the leftovers of killed writes to `parent/name` (see the module header); returns
/// how many were deleted.
pub fn clean_leftovers(parent: &Path, name: &OsString) -> Result<usize, OutputError> {
    let Some(name) = name.to_str() else {
        return Ok(0);
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in entries.filter_map(|e| e.ok()) {
        let Ok(entry) = e.file_name().into_string() else {
            continue;
        };
        let Some(kind) = leftover_kind(&entry, name) else {
            continue;
        };
        let p = e.path();
        if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let ours = match kind {
            Leftover::Current => is_empty_dir(&p) || is_result(&p),
            Leftover::Legacy => only_legacy_files(&p).is_some(),
        };
        if ours {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
            removed += 1;
        }
    }
    Ok(removed)
}

enum Leftover {
    /// `.NAME.kubesim-stage-PID` (and `.NAME.kubesim-old-PID` of the non-exchanging fallback).
    Current,
    /// `.NAME.tmp-PID` and `.NAME.old-PID` of kubesim before the marker.
    Legacy,
}

/// Whether `entry` is a leftover name for `name` of a process that is no longer running.
fn leftover_kind(entry: &str, name: &str) -> Option<Leftover> {
    let rest = entry.strip_prefix('.')?.strip_prefix(name)?;
    let (kind, pid) = [
        (".kubesim-stage-", Leftover::Current),
        (".kubesim-old-", Leftover::Current),
        (".tmp-", Leftover::Legacy),
        (".old-", Leftover::Legacy),
    ]
    .into_iter()
    .find_map(|(p, k)| rest.strip_prefix(p).map(|pid| (k, pid)))?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pid: u64 = pid.parse().ok()?;
    (!sys::process_alive(pid)).then_some(kind)
}

/// Writes `bytes` to `dir/file` (a new file).
pub fn write_new(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), OutputError> {
    write_new_with(dir, file, |w| w.write_all(bytes))
}

/// `write_new` of what `fill` writes, through a buffer (for a file too large to hold).
pub fn write_new_with(
    dir: &Path,
    file: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let p = dir.join(file);
    let f = File::options()
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(io(&p))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
    fill(&mut w).and_then(|()| w.flush()).map_err(io(&p))
}

/// The marker's content.
pub fn marker_text() -> String {
    format!(
        "kubesim-result {FORMAT_VERSION}\nwritten by kubesim {}; this directory is replaced by the next run with the same --out\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// fsyncs every file in `dir`, then `dir` itself.
pub fn sync_tree(dir: &Path) -> Result<(), OutputError> {
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let p = e.map_err(io(dir))?.path();
        File::open(&p).and_then(|f| f.sync_all()).map_err(io(&p))?;
    }
    sync_dir(dir)
}

pub fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

/// Puts the complete `staging` directory at `t.dir` (step 2 and 3 of the module header);
/// `hook` is called at [`Stage::Swapped`].
pub fn install(staging: &Path, t: &Target, hook: &mut dyn FnMut(Stage)) -> Result<(), OutputError> {
    match t.occupant {
        Occupant::Nothing => sys::rename_noreplace(staging, &t.dir).map_err(io(&t.dir))?,
        Occupant::EmptyDir => std::fs::rename(staging, &t.dir).map_err(io(&t.dir))?,
        Occupant::Result => return replace(staging, t, hook),
    }
    sync_dir(&t.parent)?;
    hook(Stage::Swapped);
    Ok(())
}

fn replace(staging: &Path, t: &Target, hook: &mut dyn FnMut(Stage)) -> Result<(), OutputError> {
    let changed = || {
        refuse(
            &t.dir,
            format!(
                "it changed during the run and is no longer a kubesim results directory; {HOW}"
            ),
        )
    };
    match sys::exchange(staging, &t.dir) {
        Ok(()) => {
            // `staging` now names what was at the target.
            if !(is_result(staging) || is_empty_dir(staging)) {
                sys::exchange(staging, &t.dir).map_err(io(&t.dir))?;
                return Err(changed());
            }
            sync_dir(&t.parent)?;
            hook(Stage::Swapped);
            std::fs::remove_dir_all(staging).map_err(io(staging))
        }
        Err(e) if sys::exchange_unsupported(&e) => {
            let mut old = OsString::from(".");
            old.push(&t.name);
            old.push(format!(".kubesim-old-{}", std::process::id()));
            let old = t.parent.join(old);
            std::fs::rename(&t.dir, &old).map_err(io(&t.dir))?;
            if !(is_result(&old) || is_empty_dir(&old)) {
                std::fs::rename(&old, &t.dir).map_err(io(&t.dir))?;
                return Err(changed());
            }
            if let Err(e) = std::fs::rename(staging, &t.dir) {
                let _ = std::fs::rename(&old, &t.dir);
                return Err(io(&t.dir)(e));
            }
            sync_dir(&t.parent)?;
            hook(Stage::Swapped);
            std::fs::remove_dir_all(&old).map_err(io(&old))
        }
        Err(e) => Err(io(&t.dir)(e)),
    }
}

/// The operating-system calls std does not offer.
mod sys {
    use std::io;
    use std::path::Path;

    #[cfg(target_os = "linux")]
    fn renameat2(from: &Path, to: &Path, flags: rustix::fs::RenameFlags) -> io::Result<()> {
        rustix::fs::renameat_with(rustix::fs::CWD, from, rustix::fs::CWD, to, flags)
            .map_err(io::Error::from)
    }

    /// Atomically swaps two existing paths.
    #[cfg(target_os = "linux")]
    pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
        renameat2(a, b, rustix::fs::RenameFlags::EXCHANGE)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub fn exchange_unsupported(e: &io::Error) -> bool {
        #[cfg(target_os = "linux")]
        if matches!(e.raw_os_error(), Some(code) if code == rustix::io::Errno::INVAL.raw_os_error()
                || code == rustix::io::Errno::NOSYS.raw_os_error())
        {
            return true;
        }
        e.kind() == io::ErrorKind::Unsupported
    }

    /// Renames `from` to `to`, failing if `to` exists.
    pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        match renameat2(from, to, rustix::fs::RenameFlags::NOREPLACE) {
            Err(e) if exchange_unsupported(&e) => {}
            r => return r,
        }
        if std::fs::symlink_metadata(to).is_ok() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        std::fs::rename(from, to)
    }

    /// Whether a process `pid` exists (then its leftovers may still be in use). Our own pid
    /// counts as gone: this process writes one result at a time, after cleaning.
    pub fn process_alive(pid: u64) -> bool {
        if pid == u64::from(std::process::id()) {
            return false;
        }
        #[cfg(unix)]
        {
            let Some(p) = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            else {
                return false;
            };
            // Signal 0 only checks that the process exists (EPERM: it does, not ours).
            match rustix::process::test_kill_process(p) {
                Ok(()) => true,
                Err(e) => e == rustix::io::Errno::PERM,
            }
        }
        #[cfg(not(unix))]
        {
            true
        }
    }
}
