//! The file-system syscalls a fault can be put at, and where their
//! arguments live: the one architecture-specific table.
//!
//! Porting to another architecture means another [`TABLE`] and another
//! register mapping (`RawRegs`, `arg`, `set_ret`...), nothing else: the tracer and the explorer only speak of
//! [`Syscall`], [`Class`] and argument indexes.

use crate::vocab::Fault;

/// What a syscall does to the file system, for deciding which faults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// open, openat, openat2, creat.
    Open,
    /// write, pwrite64, writev, pwritev, pwritev2.
    Write,
    /// fsync, fdatasync, sync_file_range.
    Fsync,
    /// rename, renameat, renameat2.
    Rename,
    /// link, linkat.
    Link,
    /// unlink, unlinkat.
    Unlink,
    /// mkdir, mkdirat.
    Mkdir,
    /// truncate, ftruncate.
    Truncate,
    /// fallocate.
    Fallocate,
    /// close.
    Close,
    /// flock, and fcntl's lock commands.
    Lock,
}

/// Where a file named by a syscall comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// A path in argument `.0`, relative to the working directory.
    Path(usize),
    /// A path in argument `.1`, relative to the directory descriptor in
    /// argument `.0` (`AT_FDCWD` for the working directory).
    At(usize, usize),
    /// A descriptor in argument `.0`.
    Fd(usize),
}

/// How a write-like syscall gives its byte count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A plain count in this argument (write, pwrite64).
    Bytes(usize),
    /// An iovec array (argument `.0`) and its length (argument `.1`).
    Iovec(usize, usize),
}

/// One syscall of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall {
    /// Its number on this architecture.
    pub nr: u64,
    /// Its name.
    pub name: &'static str,
    /// What it does.
    pub class: Class,
    /// The files it names: one, or two for rename and link (from, to).
    pub operands: &'static [Operand],
    /// The argument holding open flags (open-like calls).
    pub flags: Option<usize>,
    /// The byte count of a write-like call.
    pub count: Option<Count>,
}

impl Syscall {
    /// Whether `fault` can be put at this syscall. `count` is the byte count
    /// of a write-like call, `creates` whether an open may create a file.
    pub fn admits(&self, fault: Fault, count: Option<u64>, creates: bool) -> bool {
        use Class::*;
        match fault {
            Fault::Kill | Fault::Eio => true,
            Fault::Enospc | Fault::Edquot => match self.class {
                Open => creates,
                Write | Fsync | Rename | Link | Mkdir | Truncate | Fallocate => true,
                Unlink | Close | Lock => false,
            },
            Fault::Eintr => matches!(
                self.class,
                Open | Write | Fsync | Truncate | Fallocate | Lock
            ),
            Fault::ShortWrite => self.class == Write && count.is_some_and(|c| c >= 2),
            // A crash state of the whole workload, not a fault at a syscall.
            Fault::Power => false,
        }
    }
}

/// fcntl commands that take or release a record lock: only these make an
/// `fcntl` a fault point.
pub const FCNTL_LOCK_COMMANDS: [u64; 4] = [
    libc::F_SETLK as u64,
    libc::F_SETLKW as u64,
    libc::F_OFD_SETLK as u64,
    libc::F_OFD_SETLKW as u64,
];

/// The name of `fcntl`, whose lock commands are fault points.
pub const FCNTL: &str = "fcntl";

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::Class::*;
    use super::Count::*;
    use super::Operand::*;
    use super::Syscall;

    const fn sys(
        nr: u64,
        name: &'static str,
        class: super::Class,
        operands: &'static [super::Operand],
    ) -> Syscall {
        Syscall {
            nr,
            name,
            class,
            operands,
            flags: None,
            count: None,
        }
    }

    const fn open(
        nr: u64,
        name: &'static str,
        operands: &'static [super::Operand],
        flags: usize,
    ) -> Syscall {
        Syscall {
            flags: Some(flags),
            ..sys(nr, name, Open, operands)
        }
    }

    const fn write(nr: u64, name: &'static str, count: super::Count) -> Syscall {
        Syscall {
            count: Some(count),
            ..sys(nr, name, Write, &[Fd(0)])
        }
    }

    /// The x86_64 file-system syscalls (`arch/x86/entry/syscalls/syscall_64.tbl`).
    pub const TABLE: &[Syscall] = &[
        write(1, "write", Bytes(2)),
        open(2, "open", &[Path(0)], 1),
        sys(3, "close", Close, &[Fd(0)]),
        write(18, "pwrite64", Bytes(2)),
        write(20, "writev", Iovec(1, 2)),
        sys(72, super::FCNTL, Lock, &[Fd(0)]),
        sys(73, "flock", Lock, &[Fd(0)]),
        sys(74, "fsync", Fsync, &[Fd(0)]),
        sys(75, "fdatasync", Fsync, &[Fd(0)]),
        sys(76, "truncate", Truncate, &[Path(0)]),
        sys(77, "ftruncate", Truncate, &[Fd(0)]),
        sys(82, "rename", Rename, &[Path(0), Path(1)]),
        sys(83, "mkdir", Mkdir, &[Path(0)]),
        // creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
        sys(85, "creat", Open, &[Path(0)]),
        sys(86, "link", Link, &[Path(0), Path(1)]),
        sys(87, "unlink", Unlink, &[Path(0)]),
        open(257, "openat", &[At(0, 1)], 2),
        sys(258, "mkdirat", Mkdir, &[At(0, 1)]),
        sys(263, "unlinkat", Unlink, &[At(0, 1)]),
        sys(264, "renameat", Rename, &[At(0, 1), At(2, 3)]),
        sys(265, "linkat", Link, &[At(0, 1), At(2, 3)]),
        sys(277, "sync_file_range", Fsync, &[Fd(0)]),
        sys(285, "fallocate", Fallocate, &[Fd(0)]),
        write(296, "pwritev", Iovec(1, 2)),
        sys(316, "renameat2", Rename, &[At(0, 1), At(2, 3)]),
        write(328, "pwritev2", Iovec(1, 2)),
        // openat2's flags sit in a struct open_how; treated as maybe creating.
        sys(437, "openat2", Open, &[At(0, 1)]),
    ];

    /// The number of `write`, used to turn a vectored write into a plain one.
    pub const WRITE: u64 = number::WRITE;
    /// The number of `pwrite64`.
    pub const PWRITE64: u64 = number::PWRITE64;
    /// The numbers of the positioned vectored writes.
    pub const PWRITEV: [u64; 2] = [number::PWRITEV, number::PWRITEV2];

    /// The syscalls that stop the tracee only while the power recorder
    /// runs, and are never fault points: they change the run directory in
    /// ways the recorder models, flags or warns about, but an explored run
    /// or a `--kill-at syscall` run keeps today's filter and fault points.
    /// (`sync_file_range` is already in [`TABLE`].)
    pub const WATCH: &[u64] = &[
        number::MMAP,
        number::SENDFILE,
        number::RMDIR,
        number::SYMLINK,
        number::MKNOD,
        number::SYNC,
        number::IO_SETUP,
        number::MKNODAT,
        number::SYMLINKAT,
        number::SPLICE,
        number::SYNCFS,
        number::COPY_FILE_RANGE,
        number::IO_URING_SETUP,
    ];

    /// The x86_64 numbers of the syscalls the power recorder tells apart.
    pub mod number {
        #![allow(missing_docs)]
        pub const WRITE: u64 = 1;
        pub const OPEN: u64 = 2;
        pub const MMAP: u64 = 9;
        pub const PWRITE64: u64 = 18;
        pub const WRITEV: u64 = 20;
        pub const SENDFILE: u64 = 40;
        pub const FSYNC: u64 = 74;
        pub const FDATASYNC: u64 = 75;
        pub const TRUNCATE: u64 = 76;
        pub const FTRUNCATE: u64 = 77;
        pub const RENAME: u64 = 82;
        pub const MKDIR: u64 = 83;
        pub const RMDIR: u64 = 84;
        pub const CREAT: u64 = 85;
        pub const LINK: u64 = 86;
        pub const UNLINK: u64 = 87;
        pub const SYMLINK: u64 = 88;
        pub const MKNOD: u64 = 133;
        pub const SYNC: u64 = 162;
        pub const IO_SETUP: u64 = 206;
        pub const OPENAT: u64 = 257;
        pub const MKDIRAT: u64 = 258;
        pub const MKNODAT: u64 = 259;
        pub const UNLINKAT: u64 = 263;
        pub const RENAMEAT: u64 = 264;
        pub const LINKAT: u64 = 265;
        pub const SYMLINKAT: u64 = 266;
        pub const SPLICE: u64 = 275;
        pub const SYNC_FILE_RANGE: u64 = 277;
        pub const FALLOCATE: u64 = 285;
        pub const PWRITEV: u64 = 296;
        pub const SYNCFS: u64 = 306;
        pub const RENAMEAT2: u64 = 316;
        pub const COPY_FILE_RANGE: u64 = 326;
        pub const PWRITEV2: u64 = 328;
        pub const IO_URING_SETUP: u64 = 425;
        pub const OPENAT2: u64 = 437;
    }

    /// The seccomp audit architecture of x86_64.
    pub const AUDIT_ARCH: u32 = 0xC000_003E;

    /// The registers of a stopped tracee.
    pub type RawRegs = libc::user_regs_struct;

    /// The syscall number of a stopped tracee.
    pub fn nr(r: &RawRegs) -> u64 {
        r.orig_rax
    }
    /// Sets the syscall number (`u64::MAX`, that is -1, skips the call).
    pub fn set_nr(r: &mut RawRegs, nr: u64) {
        r.orig_rax = nr;
    }
    /// Argument `i` (0-based) of the syscall.
    pub fn arg(r: &RawRegs, i: usize) -> u64 {
        match i {
            0 => r.rdi,
            1 => r.rsi,
            2 => r.rdx,
            3 => r.r10,
            4 => r.r8,
            _ => r.r9,
        }
    }
    /// Sets argument `i` of the syscall.
    pub fn set_arg(r: &mut RawRegs, i: usize, v: u64) {
        match i {
            0 => r.rdi = v,
            1 => r.rsi = v,
            2 => r.rdx = v,
            3 => r.r10 = v,
            4 => r.r8 = v,
            _ => r.r9 = v,
        }
    }
    /// The return value register.
    pub fn ret(r: &RawRegs) -> i64 {
        r.rax as i64
    }
    /// Sets the return value.
    pub fn set_ret(r: &mut RawRegs, v: i64) {
        r.rax = v as u64;
    }
}

#[cfg(not(target_arch = "x86_64"))]
compile_error!(
    "torture's syscall table covers x86_64 only: add this architecture's table to crates/torture-harness/src/fault/syscalls.rs"
);

pub use arch::{
    AUDIT_ARCH, PWRITE64, PWRITEV, RawRegs, TABLE, WATCH, WRITE, arg, nr, number, ret, set_arg,
    set_nr, set_ret,
};

/// The table entry of syscall number `nr`.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    TABLE.iter().find(|s| s.nr == nr)
}

/// Whether open flags may create a file.
pub fn creates(flags: u64) -> bool {
    flags & (libc::O_CREAT as u64) != 0
        || flags & (libc::O_TMPFILE as u64) == libc::O_TMPFILE as u64
}

/// A short rendering of open flags: access mode and the flags that matter
/// for crash consistency.
pub fn describe_open_flags(flags: u64) -> String {
    let mut parts = vec![match flags & (libc::O_ACCMODE as u64) {
        f if f == libc::O_WRONLY as u64 => "O_WRONLY",
        f if f == libc::O_RDWR as u64 => "O_RDWR",
        _ => "O_RDONLY",
    }];
    let named = [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
    ];
    for (bit, name) in named {
        if flags & bit as u64 != 0 {
            parts.push(name);
        }
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_numbers_are_unique_and_match_libc() {
        let mut nrs: Vec<u64> = TABLE.iter().map(|s| s.nr).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), TABLE.len());
        let check = [
            ("write", libc::SYS_write),
            ("openat", libc::SYS_openat),
            ("fsync", libc::SYS_fsync),
            ("renameat2", libc::SYS_renameat2),
            ("flock", libc::SYS_flock),
            ("fcntl", libc::SYS_fcntl),
            ("close", libc::SYS_close),
            ("pwritev2", libc::SYS_pwritev2),
            ("openat2", libc::SYS_openat2),
        ];
        for (name, nr) in check {
            assert_eq!(lookup(nr as u64).map(|s| s.name), Some(name));
        }
    }

    #[test]
    fn watched_numbers_match_libc_and_are_never_fault_points() {
        use number as n;
        let pairs = [
            (n::WRITE, libc::SYS_write),
            (n::OPEN, libc::SYS_open),
            (n::MMAP, libc::SYS_mmap),
            (n::PWRITE64, libc::SYS_pwrite64),
            (n::WRITEV, libc::SYS_writev),
            (n::SENDFILE, libc::SYS_sendfile),
            (n::FSYNC, libc::SYS_fsync),
            (n::FDATASYNC, libc::SYS_fdatasync),
            (n::TRUNCATE, libc::SYS_truncate),
            (n::FTRUNCATE, libc::SYS_ftruncate),
            (n::RENAME, libc::SYS_rename),
            (n::MKDIR, libc::SYS_mkdir),
            (n::RMDIR, libc::SYS_rmdir),
            (n::CREAT, libc::SYS_creat),
            (n::LINK, libc::SYS_link),
            (n::UNLINK, libc::SYS_unlink),
            (n::SYMLINK, libc::SYS_symlink),
            (n::MKNOD, libc::SYS_mknod),
            (n::SYNC, libc::SYS_sync),
            (n::IO_SETUP, libc::SYS_io_setup),
            (n::OPENAT, libc::SYS_openat),
            (n::MKDIRAT, libc::SYS_mkdirat),
            (n::MKNODAT, libc::SYS_mknodat),
            (n::UNLINKAT, libc::SYS_unlinkat),
            (n::RENAMEAT, libc::SYS_renameat),
            (n::LINKAT, libc::SYS_linkat),
            (n::SYMLINKAT, libc::SYS_symlinkat),
            (n::SPLICE, libc::SYS_splice),
            (n::SYNC_FILE_RANGE, libc::SYS_sync_file_range),
            (n::FALLOCATE, libc::SYS_fallocate),
            (n::PWRITEV, libc::SYS_pwritev),
            (n::SYNCFS, libc::SYS_syncfs),
            (n::RENAMEAT2, libc::SYS_renameat2),
            (n::COPY_FILE_RANGE, libc::SYS_copy_file_range),
            (n::PWRITEV2, libc::SYS_pwritev2),
            (n::IO_URING_SETUP, libc::SYS_io_uring_setup),
            (n::OPENAT2, libc::SYS_openat2),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(ours, theirs as u64);
        }
        let mut watched = WATCH.to_vec();
        watched.sort();
        watched.dedup();
        assert_eq!(watched.len(), WATCH.len());
        assert!(WATCH.iter().all(|&nr| lookup(nr).is_none()), "{WATCH:?}");
    }

    #[test]
    fn faults_apply_where_they_can_happen() {
        let write = lookup(libc::SYS_write as u64).unwrap();
        let close = lookup(libc::SYS_close as u64).unwrap();
        let open = lookup(libc::SYS_openat as u64).unwrap();
        assert!(write.admits(Fault::ShortWrite, Some(100), false));
        assert!(!write.admits(Fault::ShortWrite, Some(1), false));
        assert!(!close.admits(Fault::ShortWrite, None, false));
        assert!(close.admits(Fault::Kill, None, false) && close.admits(Fault::Eio, None, false));
        assert!(!close.admits(Fault::Eintr, None, false));
        assert!(open.admits(Fault::Enospc, None, true));
        assert!(!open.admits(Fault::Enospc, None, false));
        assert_eq!(
            describe_open_flags((libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL) as u64),
            "O_WRONLY|O_CREAT|O_EXCL"
        );
    }
}
