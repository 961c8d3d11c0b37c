//! The input's sha256: the key of the import journal and part of every report. A CSV is hashed
//! by the thread that reads it, from the bytes it reads anyway; a workbook (small, and read by
//! calamine) is hashed from the file afterwards.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::InputError;

/// The sha256 of `path` as lower-case hex: the one `reading` computed, else read from the file.
pub fn of_input(path: &Path, reading: Option<&str>) -> Result<String, InputError> {
    match reading {
        Some(hash) => Ok(hash.to_string()),
        None => sha256_file(path).map_err(|source| InputError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(
        &mut HashingReader::new(File::open(path)?, &mut hasher),
        &mut std::io::sink(),
    )?;
    Ok(hex(hasher))
}

pub fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes everything read through it.
pub struct HashingReader<'h, R> {
    inner: R,
    hasher: &'h mut Sha256,
}

impl<'h, R> HashingReader<'h, R> {
    pub fn new(inner: R, hasher: &'h mut Sha256) -> Self {
        HashingReader { inner, hasher }
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.csv");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
