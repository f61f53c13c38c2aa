//! The backup's archive as the server compresses it: one zstd stream of the tar. While the stream
//! arrives (backup) or is downloaded (restore), a blocking thread decodes it, walks the tar with a
//! visitor (the backup's [`FileIndex`], the restore's extractor), and sums the decoded bytes, so
//! the async side only moves compressed bytes.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender};

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::PgError;
use crate::manifest::FileEntry;
use crate::tar::{EntryHeader, EntryKind, TarVisitor, TarWalker};

/// Decoded bytes handed to the walker at once.
const DECODE_BUFFER: usize = 1 << 20;
/// Decoded buffers waiting for the walker.
const DECODED_QUEUE: usize = 4;

/// The size and CRC32C of the decoded archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveDigest {
    pub bytes: u64,
    pub crc32c: u32,
}

impl ArchiveDigest {
    fn add(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        self.crc32c = crc32c::crc32c_append(self.crc32c, bytes);
    }
}

/// Decodes and walks a compressed archive fed chunk by chunk.
pub struct ArchiveDecoder<V> {
    sender: Option<mpsc::Sender<Bytes>>,
    thread: Option<JoinHandle<Result<(V, ArchiveDigest), PgError>>>,
}

impl<V: TarVisitor + Send + 'static> ArchiveDecoder<V> {
    /// Starts the decoding thread; at most `queued_chunks` chunks wait for it.
    pub fn start(visitor: V, queued_chunks: usize) -> Self {
        let (sender, receiver) = mpsc::channel(queued_chunks);
        let thread =
            tokio::task::spawn_blocking(move || decode(ChunkReader { receiver, current: Bytes::new() }, visitor));
        Self { sender: Some(sender), thread: Some(thread) }
    }

    /// Queues the next compressed bytes. When decoding has stopped, says why.
    pub async fn push(&mut self, chunk: Bytes) -> Result<(), PgError> {
        let sender = self.sender.as_ref().ok_or_else(stopped)?;
        if sender.send(chunk).await.is_err() {
            self.sender = None;
            return Err(self.join().await.err().unwrap_or_else(stopped));
        }
        Ok(())
    }

    /// Ends the stream and waits for the thread: the visitor and digest once the whole archive
    /// was walked.
    pub async fn finish(mut self) -> Result<(V, ArchiveDigest), PgError> {
        self.sender = None;
        self.join().await
    }

    async fn join(&mut self) -> Result<(V, ArchiveDigest), PgError> {
        let thread = self.thread.take().ok_or_else(stopped)?;
        thread.await.map_err(|e| PgError::Local(format!("the archive decoder stopped: {e}")))?
    }
}

fn stopped() -> PgError {
    PgError::Local("the archive decoder stopped".into())
}

/// The archive's regular files with their CRC32C, in archive order.
#[derive(Default)]
pub struct FileIndex {
    pub files: Vec<FileEntry>,
}

impl TarVisitor for FileIndex {
    fn entry(&mut self, _: &EntryHeader) -> Result<(), PgError> {
        Ok(())
    }

    fn data(&mut self, _: &[u8]) -> Result<(), PgError> {
        Ok(())
    }

    fn end_entry(&mut self, header: &EntryHeader, crc32c: u32) -> Result<(), PgError> {
        if header.kind == EntryKind::File {
            self.files.push(FileEntry { path: header.path.clone(), bytes: header.size, crc32c });
        }
        Ok(())
    }
}

/// Decompresses on this thread while another walks what it decoded, as `zstd -d | tar -x`
/// would: decoding and writing the files overlap.
fn decode<V: TarVisitor + Send>(compressed: impl Read, visitor: V) -> Result<(V, ArchiveDigest), PgError> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(DECODED_QUEUE);
    std::thread::scope(|scope| {
        let walking = scope.spawn(move || walk(receiver, visitor));
        let decompressed = decompress(compressed, sender);
        let walked = walking.join().map_err(|_| PgError::Local("the archive walker stopped".into()))?;
        // A decompression that failed is why the walker found the archive cut short; one that
        // stopped because the walker did ends without error, and the walker's error says why.
        decompressed?;
        walked
    })
}

/// Sends the decoded archive to `sender` in buffers of up to `DECODE_BUFFER`; stops early,
/// without error, when the walker stopped taking them.
fn decompress(compressed: impl Read, sender: SyncSender<Vec<u8>>) -> Result<(), PgError> {
    let not_zstd = |e: std::io::Error| PgError::Integrity(format!("the archive does not decompress: {e}"));
    let mut decoder = zstd::stream::read::Decoder::new(compressed).map_err(not_zstd)?;
    loop {
        // Filled to `DECODE_BUFFER` (a read of the decoder gives one block, often far less).
        let mut buffer = Vec::with_capacity(DECODE_BUFFER);
        let read = (&mut decoder).take(DECODE_BUFFER as u64).read_to_end(&mut buffer).map_err(not_zstd)?;
        if read == 0 || sender.send(buffer).is_err() {
            return Ok(());
        }
    }
}

/// Walks the decoded archive with `visitor`, summing it; the archive must end with its marker.
fn walk<V: TarVisitor>(decoded: Receiver<Vec<u8>>, mut visitor: V) -> Result<(V, ArchiveDigest), PgError> {
    let mut walker = TarWalker::default();
    let mut digest = ArchiveDigest::default();
    for buffer in decoded {
        digest.add(&buffer);
        walker.feed(&buffer, &mut visitor)?;
    }
    if !walker.finished() {
        return Err(PgError::Integrity("the archive ends before its end marker".into()));
    }
    Ok((visitor, digest))
}

/// The queued chunks as one byte stream.
struct ChunkReader {
    receiver: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let read = out.len().min(self.current.len());
        out[..read].copy_from_slice(&self.current[..read]);
        self.current.advance(read);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar::header_block;

    fn archive() -> Vec<u8> {
        let mut tar = header_block("PG_VERSION", EntryKind::File, 3);
        tar.extend(b"15\n");
        tar.extend(vec![0u8; 509 + 1024]);
        tar
    }

    async fn decode_in_chunks(compressed: &[u8], chunk: usize) -> Result<(FileIndex, ArchiveDigest), PgError> {
        let mut decoder = ArchiveDecoder::start(FileIndex::default(), 4);
        for piece in compressed.chunks(chunk) {
            decoder.push(Bytes::copy_from_slice(piece)).await?;
        }
        decoder.finish().await
    }

    #[tokio::test]
    async fn a_stream_cut_anywhere_decodes_to_the_same_entries_and_digest() {
        let tar = archive();
        let compressed = zstd::bulk::compress(&tar, 1).unwrap();
        for chunk in [1, 7, compressed.len()] {
            let (index, digest) = decode_in_chunks(&compressed, chunk).await.unwrap();
            let expected = FileEntry { path: "PG_VERSION".into(), bytes: 3, crc32c: crc32c::crc32c(b"15\n") };
            assert_eq!(index.files, vec![expected]);
            assert_eq!(digest, ArchiveDigest { bytes: tar.len() as u64, crc32c: crc32c::crc32c(&tar) });
        }
    }

    #[tokio::test]
    async fn a_truncated_or_damaged_stream_is_refused() {
        let compressed = zstd::bulk::compress(&archive(), 1).unwrap();
        let truncated = &compressed[..compressed.len() - 4];
        assert!(matches!(decode_in_chunks(truncated, 5).await, Err(PgError::Integrity(_))));
        let mut damaged = compressed.clone();
        damaged[4] ^= 0xff;
        assert!(matches!(decode_in_chunks(&damaged, 5).await, Err(PgError::Integrity(_))));
        let plain = archive();
        assert!(matches!(decode_in_chunks(&plain, 100).await, Err(PgError::Integrity(_))));
    }
}
