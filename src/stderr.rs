//! Messages for people on stderr: warnings, progress, prompts and the final
//! error.
//!
//! `eprintln!` panics when stderr cannot be written, for instance when it is
//! a pipe whose reader has gone away. A panic there would abort a command
//! half done: a mint that has recorded its token and not yet printed it. A
//! message that cannot be shown has nowhere else to be reported, so every
//! message covenant writes to stderr goes through `errln!` or `write`, which
//! drop a failed write and carry on.

use std::io::Write;

/// Writes a line to stderr like `eprintln!`, but a failed write is ignored
/// instead of panicking. See the module documentation.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stderr::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes `text` to stderr in one piece, ignoring a failure to write it.
pub fn write(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}
