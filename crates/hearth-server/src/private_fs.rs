//! Files and folders only their owner may read: the history (`hearth.db`
//! and SQLite's `-wal`/`-shm` beside it), the uploads' folders and the data
//! folder. On Unix, folders are created `0700` and files `0600`; those the
//! server alone owns are tightened to that when found looser (a data dir
//! from an older version). Elsewhere these are plain `create_dir_all` and
//! no-ops: Windows gives a user's profile folders to that user already.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents, each owner-only. An existing
/// folder is left as it is (it may be one the operator chose and set up).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `dir` as [`create_dir_all`] does, and tightens it to `0700` if it
/// exists with group or other permissions: for folders only the server uses.
pub fn create_own_dir(dir: &Path) -> io::Result<()> {
    create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes sure the SQLite database at `path` and its `-wal`, `-shm` and
/// `-journal` files are owner-only before SQLite opens it: an absent
/// database is created empty with `0600` (SQLite gives the files it makes
/// beside a database that database's permissions), existing ones are
/// tightened.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?;
    restrict(path, 0o600)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut beside = path.as_os_str().to_owned();
        beside.push(suffix);
        let beside = Path::new(&beside);
        if beside.exists() {
            restrict(beside, 0o600)?;
        }
    }
    Ok(())
}

/// Sets `path`'s mode to `mode` if it grants group or other anything.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode();
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_created_and_tightened_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir_all(&open).unwrap();
        assert_eq!(mode(&open), 0o755, "an operator's folder is left alone");
        create_own_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn a_database_and_its_wal_and_shm_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("hearth.db");
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for file in ["hearth.db", "hearth.db-wal", "hearth.db-shm"] {
            assert_eq!(mode(&root.path().join(file)), 0o600, "{file}");
        }
        drop(conn);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600, "a looser database is tightened");
    }
}
