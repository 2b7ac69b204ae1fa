//! The data plane's own HTTP/1.1 code, for the common exchanges where hyper's general
//! machinery costs more than the exchange itself.
//!
//! - [`server`]: the client connections' loop, for simple requests without a body;
//!   everything else is handed to hyper with the bytes already read.
//! - [`upstream`]: the client towards `HTTP1` targets for requests without a body.

pub(crate) mod server;
pub(crate) mod upstream;

/// Whether a comma-separated header value (`Connection`, ...) holds `token`, in any case.
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// The header lines of the head at the start of `data` (not the request or status
/// line), and whether the head ends within `data`. Lines end with LF or CRLF, and the
/// head with an empty line, as `httparse` reads them; empty lines before the first line
/// are skipped, as `httparse` skips them.
pub(super) fn header_lines(data: &[u8]) -> (usize, bool) {
    let mut lines = 0;
    let mut first_line = false;
    let mut at = 0;
    while let Some(n) = data[at..].iter().position(|&b| b == b'\n') {
        let line = &data[at..at + n];
        at += n + 1;
        let empty = line.is_empty() || line == b"\r";
        match (empty, first_line) {
            (true, true) => return (lines, true),
            (true, false) => {}
            (false, false) => first_line = true,
            (false, true) => lines += 1,
        }
    }
    (lines, false)
}
