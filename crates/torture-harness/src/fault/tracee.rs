//! Reading a stopped tracee: its memory, the paths and iovecs its syscall
//! arguments point at, and the files its operands name.
//!
//! Everything here reads through `/proc/TID` and `process_vm_readv`, never
//! `PTRACE_PEEKDATA`, so a read costs one syscall whatever its length, and a
//! page that is not mapped shortens the result instead of failing it.

use std::io;
use std::path::PathBuf;

use nix::unistd::Pid;

use super::syscalls::{self as sc, Operand, RawRegs};

/// The file an operand names, as an absolute path (`fd N` when unknown).
pub fn resolve(tid: i32, regs: &RawRegs, op: Operand) -> PathBuf {
    let fd_link = |fd: i64| -> PathBuf {
        let link = if fd == libc::AT_FDCWD as i64 {
            format!("/proc/{tid}/cwd")
        } else {
            format!("/proc/{tid}/fd/{fd}")
        };
        match std::fs::read_link(link) {
            Ok(p) => {
                let s = p.to_string_lossy();
                PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s).to_string())
            }
            Err(_) => PathBuf::from(format!("fd {fd}")),
        }
    };
    match op {
        Operand::Fd(i) => fd_link(sc::arg(regs, i) as i32 as i64),
        Operand::Path(i) => {
            let path = read_path(tid, sc::arg(regs, i));
            if path.is_absolute() {
                path
            } else {
                fd_link(libc::AT_FDCWD as i64).join(path)
            }
        }
        Operand::At(d, i) => {
            let path = read_path(tid, sc::arg(regs, i));
            if path.is_absolute() {
                path
            } else {
                fd_link(sc::arg(regs, d) as i32 as i64).join(path)
            }
        }
    }
}

/// Reads `len` bytes of the tracee's memory at `addr`; fewer if a page is
/// not mapped.
pub fn read_memory(tid: i32, addr: u64, len: usize) -> Vec<u8> {
    use nix::sys::uio::{RemoteIoVec, process_vm_readv};
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let local = &mut [io::IoSliceMut::new(&mut buf)];
    let n = process_vm_readv(Pid::from_raw(tid), local, &remote).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Reads a NUL-terminated path from the tracee, a page at a time so that an
/// unmapped page after the string does not fail the read.
pub fn read_path(tid: i32, addr: u64) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < libc::PATH_MAX as usize {
        let chunk = (PAGE - at % PAGE) as usize;
        let bytes = read_memory(tid, at, chunk);
        if bytes.is_empty() {
            break;
        }
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            out.extend_from_slice(&bytes[..end]);
            break;
        }
        out.extend_from_slice(&bytes);
        at += bytes.len() as u64;
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The iovecs of a vectored write: (base, len) pairs, at most 1024.
pub fn iovecs(tid: i32, regs: &RawRegs, iov: usize, cnt: usize) -> Vec<(u64, u64)> {
    let n = (sc::arg(regs, cnt) as usize).min(1024);
    let bytes = read_memory(tid, sc::arg(regs, iov), n * 16);
    bytes
        .chunks_exact(16)
        .map(|c| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            (word(&c[..8]), word(&c[8..]))
        })
        .collect()
}
