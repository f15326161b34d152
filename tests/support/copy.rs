//! `COPY … TO STDOUT` and `COPY … FROM STDIN` through tokio-postgres, the
//! way the COPY tests drive them.

use futures::{SinkExt, StreamExt, pin_mut};
use std::io::Cursor;
use tokio_postgres::Client;

/// Everything `COPY … TO STDOUT` sends, concatenated.
pub async fn copy_out(c: &Client, sql: &str) -> Vec<u8> {
    let stream = c.copy_out(sql).await.expect("copy out");
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    out
}

/// Sends `data` to `COPY … FROM STDIN`; the number of rows copied.
pub async fn copy_in(c: &Client, sql: &str, data: &[u8]) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in(sql).await?;
    pin_mut!(sink);
    // Uneven pieces: rows must survive any chunking.
    for piece in data.chunks(7) {
        sink.send(Cursor::new(piece.to_vec())).await?;
    }
    sink.finish().await
}
