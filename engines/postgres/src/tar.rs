//! A streaming reader of the ustar archives `BASE_BACKUP` sends: fed bytes in chunks of any size,
//! it reports each entry, its data and its CRC32C, without holding more than one header.

use crate::error::PgError;

const BLOCK: usize = 512;

/// What an archive entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// An entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub link: String,
}

/// What a walk does with the entries it finds.
pub trait TarVisitor {
    fn entry(&mut self, header: &EntryHeader) -> Result<(), PgError>;
    fn data(&mut self, bytes: &[u8]) -> Result<(), PgError>;
    /// The entry's data ended; `crc32c` covers all of it.
    fn end_entry(&mut self, header: &EntryHeader, crc32c: u32) -> Result<(), PgError>;
}

enum State {
    Header,
    Data { header: EntryHeader, remaining: u64, crc: u32 },
    Padding(usize),
    End,
}

/// Walks one archive.
pub struct TarWalker {
    state: State,
    header: Vec<u8>,
}

impl Default for TarWalker {
    fn default() -> Self {
        Self { state: State::Header, header: Vec::with_capacity(BLOCK) }
    }
}

impl TarWalker {
    /// Feeds the next bytes of the archive.
    pub fn feed(&mut self, mut bytes: &[u8], visitor: &mut impl TarVisitor) -> Result<(), PgError> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::End => return Ok(()),
                State::Header => {
                    let take = (BLOCK - self.header.len()).min(bytes.len());
                    self.header.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if self.header.len() == BLOCK {
                        self.read_header(visitor)?;
                    }
                }
                State::Data { header, remaining, crc } => {
                    let take = (*remaining).min(bytes.len() as u64) as usize;
                    visitor.data(&bytes[..take])?;
                    *crc = crc32c::crc32c_append(*crc, &bytes[..take]);
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        let (header, crc) = (header.clone(), *crc);
                        self.end_data(header, crc, visitor)?;
                    }
                }
                State::Padding(left) => {
                    let take = (*left).min(bytes.len());
                    *left -= take;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.state = State::Header;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the archive's end marker was read.
    pub fn finished(&self) -> bool {
        matches!(self.state, State::End)
    }

    fn read_header(&mut self, visitor: &mut impl TarVisitor) -> Result<(), PgError> {
        let block = std::mem::take(&mut self.header);
        self.header = Vec::with_capacity(BLOCK);
        if block.iter().all(|b| *b == 0) {
            self.state = State::End;
            return Ok(());
        }
        let header = parse_header(&block)?;
        visitor.entry(&header)?;
        if header.size == 0 {
            self.end_data(header, 0, visitor)
        } else {
            self.state = State::Data { remaining: header.size, header, crc: 0 };
            Ok(())
        }
    }

    fn end_data(&mut self, header: EntryHeader, crc: u32, visitor: &mut impl TarVisitor) -> Result<(), PgError> {
        visitor.end_entry(&header, crc)?;
        let padding = (BLOCK - (header.size % BLOCK as u64) as usize) % BLOCK;
        self.state = if padding == 0 { State::Header } else { State::Padding(padding) };
        Ok(())
    }
}

fn parse_header(block: &[u8]) -> Result<EntryHeader, PgError> {
    let stored = number(&block[148..156])?;
    let sum: u64 =
        block.iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u64::from(*b) }).sum();
    if stored != sum {
        return Err(PgError::Integrity(format!("a tar header checksum is {stored}, computed {sum}")));
    }
    let name = text(&block[0..100]);
    let prefix = if &block[257..262] == b"ustar" { text(&block[345..500]) } else { String::new() };
    let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
    if path.split('/').any(|part| part == "..") || path.starts_with('/') {
        return Err(PgError::Integrity(format!("the archive names a path outside the data directory: {path}")));
    }
    let kind = match block[156] {
        b'0' | 0 => EntryKind::File,
        b'5' => EntryKind::Directory,
        b'2' => EntryKind::Symlink,
        other => return Err(PgError::Unsupported(format!("tar entry type {:?} for {path}", other as char))),
    };
    let size = if kind == EntryKind::File { number(&block[124..136])? } else { 0 };
    Ok(EntryHeader {
        path: path.trim_end_matches('/').to_owned(),
        kind,
        size,
        mode: number(&block[100..108])? as u32,
        link: text(&block[157..257]),
    })
}

/// An octal field, or a base-256 one (high bit set) for sizes past 8 GiB.
fn number(field: &[u8]) -> Result<u64, PgError> {
    if field[0] & 0x80 != 0 {
        return Ok(field[1..].iter().fold(u64::from(field[0] & 0x7f), |n, b| (n << 8) | u64::from(*b)));
    }
    let digits = text(field);
    let digits = digits.trim();
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8).map_err(|_| PgError::Integrity(format!("a tar number field reads {digits:?}")))
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Writes a ustar header (tests build archives with it).
#[cfg(test)]
pub(crate) fn header_block(path: &str, kind: EntryKind, size: u64) -> Vec<u8> {
    let mut block = vec![0u8; BLOCK];
    block[..path.len()].copy_from_slice(path.as_bytes());
    block[100..107].copy_from_slice(b"0000600");
    block[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    block[156] = match kind {
        EntryKind::File => b'0',
        EntryKind::Directory => b'5',
        EntryKind::Symlink => b'2',
    };
    block[257..263].copy_from_slice(b"ustar\0");
    block[148..156].copy_from_slice(b"        ");
    let sum: u64 = block.iter().map(|b| u64::from(*b)).sum();
    block[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen(Vec<(String, EntryKind, u64, u32)>, Vec<u8>);

    impl TarVisitor for Seen {
        fn entry(&mut self, _: &EntryHeader) -> Result<(), PgError> {
            Ok(())
        }
        fn data(&mut self, bytes: &[u8]) -> Result<(), PgError> {
            self.1.extend_from_slice(bytes);
            Ok(())
        }
        fn end_entry(&mut self, h: &EntryHeader, crc: u32) -> Result<(), PgError> {
            self.0.push((h.path.clone(), h.kind, h.size, crc));
            Ok(())
        }
    }

    fn archive() -> Vec<u8> {
        let mut tar = header_block("base/", EntryKind::Directory, 0);
        tar.extend(header_block("base/1", EntryKind::File, 700));
        tar.extend(vec![7u8; 700]);
        tar.extend(vec![0u8; 1024 - 700]);
        tar.extend(header_block("PG_VERSION", EntryKind::File, 3));
        tar.extend(b"15\n");
        tar.extend(vec![0u8; 509]);
        tar.extend(vec![0u8; 1024]);
        tar
    }

    #[test]
    fn entries_and_checksums_are_the_same_for_any_chunking() {
        for chunk in [1, 7, 512, 513, 100_000] {
            let mut walker = TarWalker::default();
            let mut seen = Seen::default();
            for piece in archive().chunks(chunk) {
                walker.feed(piece, &mut seen).unwrap();
            }
            assert!(walker.finished());
            assert_eq!(seen.0.len(), 3, "chunk {chunk}");
            assert_eq!(seen.0[1], ("base/1".into(), EntryKind::File, 700, crc32c::crc32c(&[7u8; 700])));
            assert_eq!(seen.0[2].3, crc32c::crc32c(b"15\n"));
            assert_eq!(seen.1.len(), 703);
        }
    }

    #[test]
    fn a_damaged_header_or_escaping_path_is_refused() {
        let mut tar = archive();
        tar[600] ^= 1;
        assert!(matches!(TarWalker::default().feed(&tar, &mut Seen::default()), Err(PgError::Integrity(_))));
        let escaping = header_block("../etc/passwd", EntryKind::File, 0);
        assert!(TarWalker::default().feed(&escaping, &mut Seen::default()).is_err());
    }
}
