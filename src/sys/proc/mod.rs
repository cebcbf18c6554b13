//! The `/proc` and `/sys` readers: our and other processes' maps and smaps (`maps`), a process's
//! status, /proc/PID/stat ids, threads and accounting (`process`), the memory limits and
//! budgets the lab runs into (`limits`: meminfo, rlimits, transparent huge pages, the hugetlb
//! pool), a process found by its name (`named`), and the sections of the ELF files
//! mapped (`elf`).

pub mod elf;
pub mod limits;
pub mod maps;
pub mod named;
pub mod process;
pub mod rss;
