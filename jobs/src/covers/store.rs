//! Cover files under `library.cover_dir`, named by the SHA-256 of their bytes: a name never
//! changes meaning, so it may be cached forever, and an identical upload is stored once.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::reencode::Encoded;

/// A stored cover's file name: 64 lowercase hex digits, then `.jpg` or `.png`. Anything else
/// (`..`, slashes, other types) names no cover.
pub fn is_cover_file(name: &str) -> bool {
    let Some((hash, ext)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 64
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && matches!(ext, "jpg" | "png")
}

/// The `Content-Type` of a stored cover file.
pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Writes the cover (a temporary file renamed into place, so a reader never sees half a file)
/// and returns its file name.
pub async fn save(dir: &Path, cover: &Encoded) -> io::Result<String> {
    let name = format!(
        "{}.{}",
        hex::encode(Sha256::digest(&cover.bytes)),
        cover.ext
    );
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await? {
        return Ok(name);
    }
    tokio::fs::create_dir_all(dir).await?;
    let temp = dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
    let written = async {
        tokio::fs::write(&temp, &cover.bytes).await?;
        tokio::fs::rename(&temp, &path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    written.map(|()| name)
}

/// A stored cover's bytes, or `None` when there is no such file (or the name is not a cover's).
pub async fn read(dir: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    if !is_cover_file(name) {
        return Ok(None);
    }
    let path: PathBuf = dir.join(name);
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hash_names_are_cover_files() {
        let hash = "0123456789abcdef".repeat(4);
        assert!(is_cover_file(&format!("{hash}.jpg")));
        assert!(is_cover_file(&format!("{hash}.png")));
        assert!(!is_cover_file(&format!("{hash}.svg")));
        assert!(!is_cover_file(&format!("{}.jpg", hash.to_uppercase())));
        assert!(!is_cover_file(&format!("{}.jpg", &hash[1..])));
        assert!(!is_cover_file("../../etc/passwd"));
        assert!(!is_cover_file(&format!("{hash}.jpg.png")));
    }
}
