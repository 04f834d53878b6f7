//! The rules file the bridge was started with (`--rules`), written back when a page asks
//! (`save_rules`): the rules in force, in the syntax `--rules` reads. The file is replaced whole
//! at once (a new file beside it, flushed to disk, renamed over it), so that a crash or a full
//! disk never leaves it half written. Its path is fixed at start and no command names one: a page
//! can write this file and no other.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use crate::rules_file::{to_toml, RulesFile};

/// The `--rules` file, to save to.
pub struct RulesPath {
    /// Absolute, so that it means the same file whatever happens to the working directory.
    path: PathBuf,
    /// Its name, as pages show it (not the path: that would tell a page where the bridge runs).
    name: String,
    /// One save at a time, so that the last to ask writes the rules as they were last.
    writing: Mutex<()>,
}

impl RulesPath {
    pub fn new(path: &Path) -> RulesPath {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        RulesPath {
            path,
            name,
            writing: Mutex::new(()),
        }
    }

    /// The file's name, without its directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes what `in_force` says, read once this save's turn has come; returns how many rules
    /// the file holds now, or why it could not be written, in words that say what to do.
    pub async fn save(&self, in_force: impl FnOnce() -> RulesFile) -> Result<usize, String> {
        let _turn = self.writing.lock().await;
        let file = in_force();
        let text = to_toml(&file);
        let path = self.path.clone();
        // Writing and syncing block: not on the async workers.
        let written = tokio::task::spawn_blocking(move || replace(&path, text.as_bytes()))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)));
        written.map_err(|e| self.why(&e))?;
        Ok(file.rules.len())
    }

    /// Why the file could not be written, and what to do about it.
    fn why(&self, e: &io::Error) -> String {
        let name = &self.name;
        let reason = match e.kind() {
            ErrorKind::PermissionDenied if e.get_ref().is_some() => e.to_string(),
            ErrorKind::PermissionDenied => format!(
                "the bridge may not write to the folder of {name} (permission denied): \
                 start it with a --rules file in a folder it may write to"
            ),
            ErrorKind::ReadOnlyFilesystem => format!(
                "{name} is on a read-only file system: start the bridge with a --rules file \
                 elsewhere"
            ),
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
                "the disk is full: free some space and save again".to_owned()
            }
            _ => e.to_string(),
        };
        format!(
            "cannot save the rules to {name}: {reason}. The rules in force are unchanged; \
             Download rules.toml keeps a copy"
        )
    }
}

/// Replaces the file at `path` with `bytes`: written beside it under another name, flushed to
/// disk, then renamed over it, and the rename itself flushed. A link is followed: the file it
/// names is replaced, the link stays. A read-only file is refused, although the rename could
/// replace it: someone made it so.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = match fs::canonicalize(path) {
        Ok(target) => target,
        // Gone since the bridge started: it is written anew where it was.
        Err(e) if e.kind() == ErrorKind::NotFound => path.to_owned(),
        Err(e) => return Err(e),
    };
    let permissions = match fs::metadata(&target) {
        Ok(meta) if meta.permissions().readonly() => {
            let name = target.file_name().unwrap_or_default().to_string_lossy();
            return Err(io::Error::new(
                ErrorKind::PermissionDenied,
                format!("{name} is read-only: make it writable (chmod u+w) and save again"),
            ));
        }
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(target.file_name().unwrap_or_default());
    temp_name.push(format!(".saving-{}", std::process::id()));
    let temp = dir.join(temp_name);
    // A leftover of a save that crashed: not ours to keep (a link there is removed, not followed).
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, &target)?;
        // The rename is in the folder: flushed with it. Not every system can open a folder so.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules_file::parse_rules_file;
    use protocol::rules::{ReplyBody, Rule, Trigger};

    fn rules() -> RulesFile {
        RulesFile {
            framing: None,
            rules: vec![Rule::new(
                "idn",
                Trigger::Exact {
                    text: "*IDN?".into(),
                },
                ReplyBody::Text("ACME\\n".into()),
            )],
        }
    }

    #[tokio::test]
    async fn the_file_is_replaced_whole_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        fs::write(&path, "# old\n").unwrap();
        let saver = RulesPath::new(&path);
        assert_eq!(saver.name(), "device.toml");
        assert_eq!(saver.save(rules).await, Ok(1));
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(parse_rules_file(&text).unwrap(), rules());
        // Nothing else is left in the folder.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["device.toml"]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_stays_a_link_and_its_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        fs::write(&real, "").unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        RulesPath::new(&link).save(rules).await.unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        let text = fs::read_to_string(&real).unwrap();
        assert_eq!(parse_rules_file(&text).unwrap(), rules());
    }

    #[tokio::test]
    async fn a_read_only_file_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.toml");
        fs::write(&path, "# mine\n").unwrap();
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        fs::set_permissions(&path, permissions).unwrap();
        let why = RulesPath::new(&path).save(rules).await.unwrap_err();
        assert_eq!(
            why,
            "cannot save the rules to device.toml: device.toml is read-only: make it writable \
             (chmod u+w) and save again. The rules in force are unchanged; Download rules.toml \
             keeps a copy"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "# mine\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
