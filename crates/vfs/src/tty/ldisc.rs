//! The line discipline (Linux's `n_tty`): input processing (special
//! characters, canonical line editing, echo) for what the master writes,
//! and output processing (`OPOST`) for what the slave writes.
//!
//! Pure state: it never blocks and never signals. `receive` reports the
//! signals the input generated; the terminal sends them after unlocking.

use std::collections::VecDeque;

use abi::fs::Termios;
use abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use abi::tty::*;

/// Linux's `N_TTY_BUF_SIZE`: the slave's input buffer.
pub const INPUT_CAP: usize = 4096;
/// What the slave may have written that the master has not read yet
/// (Linux: the master's flip buffers plus its read buffer).
pub const OUTPUT_CAP: usize = 65536;

/// A complete canonical line waiting in `ready`: what is left of it
/// (delimiter included; an `EOF` character that ended it is not stored,
/// so an `EOF` alone is an empty line).
#[derive(Clone, Copy)]
struct Line {
    len: usize,
}

pub struct Ldisc {
    pub termios: Termios,
    /// Input the slave can read: every byte in non-canonical mode, the
    /// complete lines (`lines`) in canonical mode.
    ready: VecDeque<u8>,
    lines: VecDeque<Line>,
    /// The canonical line being edited.
    line: Vec<u8>,
    /// Processed output and echoes, for the master to read.
    pub output: VecDeque<u8>,
    /// Where the echoes of the input being received start: Linux holds
    /// them back until the end of the write, so a signal character's
    /// flush discards them.
    echo_mark: usize,
    /// The next input character is taken literally (`VLNEXT`).
    lnext: bool,
    column: usize,
    /// Output stopped by `VSTOP` (`IXON`) or `TCOOFF`.
    pub stopped: bool,
    pub tco_stopped: bool,
}

/// Linux's `iscntrl` for the terminal: C0, DEL and C1.
fn iscntrl(c: u8) -> bool {
    c < 32 || c == 127 || (128..160).contains(&c)
}

impl Ldisc {
    pub fn new() -> Ldisc {
        Ldisc {
            termios: abi::tty::std_termios(),
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
            output: VecDeque::new(),
            echo_mark: 0,
            lnext: false,
            column: 0,
            stopped: false,
            tco_stopped: false,
        }
    }

    fn l(&self, f: u32) -> bool {
        self.termios.lflag & f != 0
    }
    fn i(&self, f: u32) -> bool {
        self.termios.iflag & f != 0
    }
    fn o(&self, f: u32) -> bool {
        self.termios.oflag & f != 0
    }
    fn cc(&self, i: usize) -> u8 {
        self.termios.cc[i]
    }
    pub fn canonical(&self) -> bool {
        self.l(ICANON)
    }

    /// New termios (`TCSETS*`). Switching canonical mode off makes the
    /// line being edited readable; switching it on turns what is readable
    /// into one complete line (as `n_tty_set_termios`).
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.canonical();
        self.termios = t;
        let now = self.canonical();
        if was && !now {
            self.lines.clear();
            let line = std::mem::take(&mut self.line);
            self.ready.extend(line);
        } else if !was && now {
            self.lines.clear();
            if !self.ready.is_empty() {
                self.lines.push_back(Line {
                    len: self.ready.len(),
                });
            }
        }
        if !self.i(IXON) && self.stopped {
            self.stopped = false;
        }
    }

    /// Bytes a read could take now (`FIONREAD`): complete lines in
    /// canonical mode.
    pub fn readable(&self) -> usize {
        self.ready.len()
    }

    /// Whether a read (or poll, with `min` = its threshold) would return.
    pub fn input_available(&self, min: usize) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            self.ready.len() >= min.max(1)
        }
    }

    /// `VMIN` for a read of `count` bytes (at least 1 when it applies).
    pub fn vmin(&self) -> usize {
        self.cc(VMIN) as usize
    }
    pub fn vtime(&self) -> u8 {
        self.cc(VTIME)
    }

    /// Takes input for a read. Canonical: at most one line (`None`: no
    /// complete line yet). Non-canonical: up to `buf.len()` bytes of what
    /// is there.
    pub fn take_input(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.canonical() {
            let n = buf.len().min(self.ready.len());
            for (i, b) in self.ready.drain(..n).enumerate() {
                buf[i] = b;
            }
            return Some(n);
        }
        let first = self.lines.front_mut()?;
        // An EOF alone at the start of a line reads as end of file.
        if first.len == 0 {
            self.lines.pop_front();
            return Some(0);
        }
        let n = buf.len().min(first.len);
        for (i, b) in self.ready.drain(..n).enumerate() {
            buf[i] = b;
        }
        first.len -= n;
        // A line is gone once read to its end (the EOF that ended it with
        // it: it is not stored).
        if first.len == 0 {
            self.lines.pop_front();
        }
        Some(n)
    }

    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.line.clear();
        self.lnext = false;
    }

    pub fn flush_output(&mut self) {
        self.output.clear();
    }

    fn echo_raw(&mut self, c: u8) {
        if self.output.len() < OUTPUT_CAP {
            self.output_char(c);
        }
    }

    /// Echoes `c`; control characters as `^X` under `ECHOCTL` (not
    /// output-processed, as Linux puts them straight out).
    fn echo_char(&mut self, c: u8) {
        if self.output.len() >= OUTPUT_CAP {
            return;
        }
        if self.l(ECHOCTL) && iscntrl(c) && c != b'\t' {
            self.output.push_back(b'^');
            self.output.push_back(c ^ 0o100);
            self.column += 2;
        } else {
            self.output_char(c);
        }
    }

    /// Output processing of one character (`do_output_char`).
    fn output_char(&mut self, mut c: u8) {
        if !self.o(OPOST) {
            self.output.push_back(c);
            return;
        }
        match c {
            b'\n' => {
                if self.o(ONLRET) {
                    self.column = 0;
                }
                if self.o(ONLCR) {
                    self.column = 0;
                    self.output.push_back(b'\r');
                }
            }
            b'\r' => {
                if self.o(ONOCR) && self.column == 0 {
                    return;
                }
                if self.o(OCRNL) {
                    c = b'\n';
                    if self.o(ONLRET) {
                        self.column = 0;
                    }
                } else {
                    self.column = 0;
                }
            }
            b'\t' => self.column += 8 - (self.column & 7),
            8 => self.column = self.column.saturating_sub(1),
            _ => {
                if !iscntrl(c) {
                    if self.o(OLCUC) {
                        c = c.to_ascii_uppercase();
                    }
                    if !(self.i(IUTF8) && c & 0xc0 == 0x80) {
                        self.column += 1;
                    }
                }
            }
        }
        self.output.push_back(c);
    }

    /// Room for a slave write; `None` while output is stopped.
    fn output_room(&self) -> usize {
        OUTPUT_CAP.saturating_sub(self.output.len())
    }

    /// A slave write: processes as much of `data` as fits, returns the
    /// number of bytes taken (0: no room, or output stopped).
    pub fn write_output(&mut self, data: &[u8]) -> usize {
        if self.stopped || self.tco_stopped {
            return 0;
        }
        let mut n = 0;
        for &c in data {
            // A newline may become two bytes.
            if self.output_room() < 2 {
                break;
            }
            self.output_char(c);
            n += 1;
        }
        n
    }

    /// Room left in the input buffer.
    fn input_room(&self) -> usize {
        (INPUT_CAP - 1).saturating_sub(self.ready.len() + self.line.len())
    }

    /// Master write: runs `data` through input processing. Returns the
    /// number of bytes taken (the rest waits for room) and the signals to
    /// send to the foreground process group.
    pub fn receive(&mut self, data: &[u8], signals: &mut Vec<i32>) -> usize {
        let mut n = 0;
        self.echo_mark = self.output.len();
        for &c in data {
            if self.input_room() == 0 {
                // A full canonical line still accepts its end (and
                // specials); ordinary characters are dropped.
                if !(self.canonical() && self.lines.is_empty()) {
                    break;
                }
            }
            self.receive_char(c, signals);
            n += 1;
        }
        n
    }

    fn put(&mut self, c: u8) {
        if self.input_room() == 0 {
            return;
        }
        if self.canonical() {
            self.line.push(c);
        } else {
            self.ready.push_back(c);
        }
    }

    fn end_line(&mut self, c: Option<u8>) {
        let mut line = std::mem::take(&mut self.line);
        if let Some(c) = c {
            line.push(c);
        }
        self.lines.push_back(Line { len: line.len() });
        self.ready.extend(line);
    }

    fn receive_char(&mut self, mut c: u8, signals: &mut Vec<i32>) {
        if self.i(ISTRIP) {
            c &= 0x7f;
        }
        if self.i(IUCLC) && self.l(IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        if self.lnext {
            self.lnext = false;
            if self.l(ECHO) {
                self.echo_char(c);
            }
            self.put(c);
            return;
        }
        if self.i(IXON) {
            if c == self.cc(VSTART) {
                self.stopped = false;
                return;
            }
            if c == self.cc(VSTOP) {
                self.stopped = true;
                return;
            }
        }
        if self.l(ISIG) {
            let sig = if c == self.cc(VINTR) {
                Some(SIGINT)
            } else if c == self.cc(VQUIT) {
                Some(SIGQUIT)
            } else if c == self.cc(VSUSP) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                signals.push(sig);
                if !self.l(NOFLSH) {
                    self.flush_input();
                    self.output.truncate(self.echo_mark);
                }
                if self.i(IXON) {
                    self.stopped = false;
                }
                if self.l(ECHO) {
                    self.echo_char(c);
                }
                return;
            }
        }
        if self.stopped && !self.tco_stopped && self.i(IXON) && self.i(IXANY) {
            self.stopped = false;
        }
        if c == b'\r' {
            if self.i(IGNCR) {
                return;
            }
            if self.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.i(INLCR) {
            c = b'\r';
        }
        if self.canonical() {
            let iexten = self.l(IEXTEN);
            if c == self.cc(VERASE) || c == self.cc(VKILL) || (iexten && c == self.cc(VWERASE)) {
                self.erase(c);
                return;
            }
            if iexten && c == self.cc(VLNEXT) {
                self.lnext = true;
                if self.l(ECHO) && self.l(ECHOCTL) {
                    self.echo_raw(b'^');
                    self.echo_raw(8);
                }
                return;
            }
            if c == b'\n' {
                if self.l(ECHO) || self.l(ECHONL) {
                    self.echo_raw(b'\n');
                }
                self.end_line(Some(c));
                return;
            }
            if c == self.cc(VEOF) {
                self.end_line(None);
                return;
            }
            if c == self.cc(VEOL) || (iexten && c == self.cc(VEOL2)) {
                if self.l(ECHO) {
                    self.echo_char(c);
                }
                self.end_line(Some(c));
                return;
            }
        }
        if self.l(ECHO) {
            if c == b'\n' {
                self.echo_raw(b'\n');
            } else {
                self.echo_char(c);
            }
        }
        self.put(c);
    }

    /// `VERASE`, `VWERASE` and `VKILL` in canonical mode (`eraser`).
    fn erase(&mut self, c: u8) {
        #[derive(PartialEq)]
        enum Kill {
            Erase,
            Werase,
            Line,
        }
        if self.line.is_empty() {
            return;
        }
        let kind = if c == self.cc(VERASE) {
            Kill::Erase
        } else if c == self.cc(VWERASE) {
            Kill::Werase
        } else {
            if !self.l(ECHO) {
                self.line.clear();
                return;
            }
            if !self.l(ECHOK) || !self.l(ECHOKE) || !self.l(ECHOE) {
                self.line.clear();
                self.echo_char(c);
                if self.l(ECHOK) {
                    self.echo_raw(b'\n');
                }
                return;
            }
            Kill::Line
        };
        let utf8 = self.i(IUTF8);
        let mut seen_alnums = 0;
        while let Some(&last) = self.line.last() {
            // A multibyte character goes as a whole.
            let mut start = self.line.len() - 1;
            while utf8 && start > 0 && self.line[start] & 0xc0 == 0x80 {
                start -= 1;
            }
            let ch = self.line[start];
            if utf8 && ch & 0xc0 == 0x80 {
                break;
            }
            if kind == Kill::Werase {
                if ch.is_ascii_alphanumeric() || ch == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            self.line.truncate(start);
            if self.l(ECHO) {
                if kind == Kill::Erase && !self.l(ECHOE) {
                    self.echo_char(self.cc(VERASE));
                } else {
                    let ctl = iscntrl(last) && last != b'\t';
                    let times = if ctl && self.l(ECHOCTL) {
                        2
                    } else if ctl {
                        0
                    } else {
                        1
                    };
                    for _ in 0..times {
                        for b in [8u8, b' ', 8] {
                            self.echo_raw(b);
                        }
                    }
                }
            }
            if kind == Kill::Erase {
                break;
            }
        }
    }
}

impl Default for Ldisc {
    fn default() -> Self {
        Ldisc::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(l: &mut Ldisc, s: &[u8]) -> Vec<i32> {
        let mut sigs = Vec::new();
        assert_eq!(l.receive(s, &mut sigs), s.len());
        sigs
    }

    fn read(l: &mut Ldisc) -> Option<Vec<u8>> {
        let mut b = [0u8; 256];
        l.take_input(&mut b).map(|n| b[..n].to_vec())
    }

    fn out(l: &mut Ldisc) -> Vec<u8> {
        l.output.drain(..).collect()
    }

    #[test]
    fn canonical_editing_and_echo() {
        let mut l = Ldisc::new();
        feed(&mut l, b"ab\x7fc\r");
        assert_eq!(out(&mut l), b"ab\x08 \x08c\r\n");
        assert_eq!(read(&mut l), Some(b"ac\n".to_vec()));
        feed(&mut l, b"xyz\x15q\x04");
        assert_eq!(read(&mut l), Some(b"q".to_vec()));
        feed(&mut l, b"\x04");
        assert_eq!(read(&mut l), Some(vec![]));
        assert_eq!(read(&mut l), None);
        // A line, then end of file, in one write.
        feed(&mut l, b"abc\r\x04");
        assert_eq!(read(&mut l), Some(b"abc\n".to_vec()));
        assert_eq!(read(&mut l), Some(vec![]));
        assert_eq!(read(&mut l), None);
    }

    #[test]
    fn signals_flush_and_echo_ctl() {
        let mut l = Ldisc::new();
        let sigs = feed(&mut l, b"abc\x03");
        assert_eq!(sigs, vec![SIGINT]);
        assert_eq!(out(&mut l), b"^C");
        assert_eq!(l.readable(), 0);
        assert_eq!(feed(&mut l, b"\x1a\x1c"), vec![SIGTSTP, SIGQUIT]);
    }

    #[test]
    fn raw_mode_and_output_processing() {
        let mut l = Ldisc::new();
        let mut t = l.termios;
        t.lflag &= !(ICANON | ECHO);
        l.set_termios(t);
        feed(&mut l, b"x\ry");
        assert_eq!(read(&mut l), Some(b"x\ny".to_vec()));
        assert_eq!(l.write_output(b"a\nb"), 3);
        assert_eq!(out(&mut l), b"a\r\nb");
    }
}
