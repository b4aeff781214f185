//! The local terminal while a debug shell runs: raw mode (every key,
//! Ctrl-C included, goes to the shell in the container; the container's
//! terminal does the echo and the line editing) and the window's size.
//! Through the C library's termios, which `libc` (already a dependency)
//! exposes: no crate is needed for two calls.

use std::io::IsTerminal;

/// Rows and columns of the terminal on stdout (else stdin), if either is one.
pub fn size() -> Option<(u16, u16)> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        for fd in [std::io::stdout().as_raw_fd(), std::io::stdin().as_raw_fd()] {
            let mut size = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ writes one winsize into the valid pointer.
            let status = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
            if status == 0 && size.ws_row > 0 && size.ws_col > 0 {
                return Some((size.ws_row, size.ws_col));
            }
        }
        None
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Whether a shell can be driven from here: stdin is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Raw mode on stdin until dropped, which puts the settings back.
pub struct RawMode {
    #[cfg(unix)]
    saved: libc::termios,
}

impl RawMode {
    pub fn enter() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let fd = std::io::stdin().as_raw_fd();
            // SAFETY: termios is plain data; tcgetattr fills it in.
            let mut saved: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: fd is open and `saved` a valid termios.
            if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut raw = saved;
            // SAFETY: `raw` is a valid termios.
            unsafe { libc::cfmakeraw(&mut raw) };
            // SAFETY: fd is open and `raw` a valid termios.
            if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Self { saved })
        }
        #[cfg(not(unix))]
        {
            Err(std::io::Error::other(
                "a debug shell needs a Unix terminal on this side",
            ))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let fd = std::io::stdin().as_raw_fd();
            // SAFETY: fd is open and `saved` the termios read from it.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &self.saved) };
        }
    }
}
