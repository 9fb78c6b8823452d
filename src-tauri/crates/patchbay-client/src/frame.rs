//! Reading newline-delimited frames with a size cap, so a broken peer can't
//! make the reader buffer without bound. Public because the server reads
//! client frames the same way.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What one [`read_frame`] call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRead {
    /// `buffer` holds one frame, without its newline.
    Frame,
    /// A frame longer than the cap was skipped up to its newline.
    TooLarge,
    /// The peer closed the stream.
    Closed,
}

/// Reads the next `\n`-terminated frame into `buffer` (cleared first). A
/// frame over `max_bytes` is discarded up to its newline, so the stream stays
/// in sync and memory stays bounded.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
    max_bytes: usize,
) -> io::Result<FrameRead> {
    buffer.clear();
    let mut too_large = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            // A final frame without a newline is incomplete: the peer died
            // mid-write, so it is not handed on.
            return Ok(FrameRead::Closed);
        }
        let (chunk, found_newline) = match available.iter().position(|byte| *byte == b'\n') {
            Some(position) => (&available[..position], true),
            None => (available, false),
        };
        if !too_large {
            if buffer.len() + chunk.len() > max_bytes {
                too_large = true;
                buffer.clear();
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        let consumed = chunk.len() + usize::from(found_newline);
        reader.consume(consumed);
        if found_newline {
            return Ok(if too_large {
                FrameRead::TooLarge
            } else {
                FrameRead::Frame
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_split_at_newlines_and_oversized_ones_are_skipped() {
        let input: &[u8] = b"{\"a\":1}\n0123456789abcdef\n{\"b\":2}\npartial";
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut buffer = Vec::new();
        assert_eq!(
            read_frame(&mut reader, &mut buffer, 10)
                .await
                .expect("read"),
            FrameRead::Frame
        );
        assert_eq!(buffer, b"{\"a\":1}");
        assert_eq!(
            read_frame(&mut reader, &mut buffer, 10)
                .await
                .expect("read"),
            FrameRead::TooLarge
        );
        assert_eq!(
            read_frame(&mut reader, &mut buffer, 10)
                .await
                .expect("read"),
            FrameRead::Frame
        );
        assert_eq!(buffer, b"{\"b\":2}");
        assert_eq!(
            read_frame(&mut reader, &mut buffer, 10)
                .await
                .expect("read"),
            FrameRead::Closed
        );
    }
}
