//! The page states as people are told about them: the words and letters the grid's page
//! headers draw (`ui::hex_grid`), what each means and which kernel interface says it. The help
//! overlay's legend, `mmapscope man` and the guide's table of page states all come from this
//! one table; `tests/it/docs/` checks that every word and letter the grid can draw is in it,
//! and that the guide's table (docs/guide.md) is this one.

/// One page state (or a family of them: a word and its negation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateDoc {
    /// The words on screen with their letters, in Markdown (`resident` (`R`) / ...). A number
    /// the screen fills in is written `N`.
    pub words: &'static str,
    /// The letters alone, as the help overlay lists them (`R / -r`).
    pub letters: &'static str,
    /// The help overlay's line (short, with its source); `None`: told in the manual only.
    pub brief: Option<&'static str>,
    /// What it means (Markdown).
    pub meaning: &'static str,
    /// Which kernel interface (or which arithmetic) says it (Markdown).
    pub source: &'static str,
}

const fn state(
    words: &'static str,
    letters: &'static str,
    brief: Option<&'static str>,
    meaning: &'static str,
    source: &'static str,
) -> StateDoc {
    StateDoc {
        words,
        letters,
        brief,
        meaning,
        source,
    }
}

/// Every page state the grid shows, in the order of the page header.
pub const STATES: &[StateDoc] = &[
    state(
        "`resident` (`R`) / `not resident` (`-r`); of a file you may not write, `mapped by us` / \
         `not mapped by us`",
        "R / -r",
        Some("resident or not: in the page cache (mincore)"),
        "the page is in the page cache (for a file) or in memory; of a file you may not write, \
         the kernel says only which pages we map",
        "`mincore(2)`",
    ),
    state(
        "`present` (`P`) / `not present` (`-p`)",
        "P / -p",
        Some("present or not: in our page tables (pagemap)"),
        "the page is mapped in our page tables",
        "`/proc/self/pagemap` bit 63",
    ),
    state(
        "`resident n/a` (`r?`), `present n/a` (`p?`)",
        "r? p?",
        Some("the source could not answer (e says why)"),
        "the source could not answer; `e` says why",
        "`mincore(2)`, pagemap",
    ),
    state(
        "`dirty` (`D`) / `clean` (`-d`); over our private copy, `file's page: dirty` / \
         `file's page: clean`",
        "D / -d",
        Some("dirty or clean (kpageflags as root, else cachestat)"),
        "the file's page-cache page differs from the disk (over our private copy, the file's \
         page is meant: our copy is never written back)",
        "`/proc/kpageflags` (root), else `cachestat(2)`",
    ),
    state(
        "`tmpfs: always dirty` (`tmpfs`)",
        "tmpfs",
        None,
        "tmpfs pages live only in memory and always count dirty",
        "`fstatfs`",
    ),
    state(
        "`cow (private copy)` (`C`)",
        "C",
        Some("cow: our private copy-on-write copy (pagemap)"),
        "a MAP_PRIVATE page we hold our own copy of (present, not a file page)",
        "pagemap bit 61",
    ),
    state(
        "`writeback` (`W`), `swapped` (`S`), `soft-dirty` (`s`)",
        "W S s",
        Some("writeback, swapped, soft-dirty (as the kernel says)"),
        "as the kernel says",
        "kpageflags / cachestat, pagemap bits 62 and 55",
    ),
    state(
        "`folio of N pages` (`fN`)",
        "fN",
        Some("the page's folio holds N pages (kpageflags, root)"),
        "the kernel's unit of page-cache memory: dirty and LRU state are per folio",
        "kpageflags COMPOUND_HEAD/TAIL (root)",
    ),
    state(
        "`huge page (PMD)` (`H`)",
        "H",
        Some("part of a PMD-mapped huge page (PAGEMAP_SCAN)"),
        "part of a PMD-mapped huge page: 512 pages behind one page-table entry",
        "PAGEMAP_SCAN `PAGE_IS_HUGE` (Linux >= 6.7)",
    ),
    state(
        "`mapped N times` (`mN`)",
        "mN",
        Some("N page tables map the page (kpagecount, root)"),
        "N page tables map this physical page (ours, the child's, another process's)",
        "`/proc/kpagecount` (root)",
    ),
    state(
        "`shared with child` (`K`) / `not shared with child` (`-k`)",
        "K / -k",
        Some("shared with the forked child or not (pagemap)"),
        "after `F` (fork): the child's page table maps this very page too, or one of us has its \
         own copy",
        "both pagemaps: equal PFNs as root; else both file pages, or both anonymous and neither \
         exclusively mapped (bit 56)",
    ),
    state(
        "`N B data + N B padding` (`N B pad`)",
        "N B pad",
        Some("after EOF in the last page: zeros, never saved"),
        "the last page: bytes after end of file read as zero and never reach the file",
        "`fstat` + page size",
    ),
    state(
        "`beyond EOF · SIGBUS if touched · never read` (`beyond EOF`; bytes `~~`)",
        "~~ beyond EOF",
        Some("no file data: would SIGBUS; never read"),
        "no file data: touching the page would raise SIGBUS, so it is never read",
        "`fstat` + page size",
    ),
    state(
        "`no read access: not read` (`no access`)",
        "no access",
        None,
        "the mapping's protection has no `r`: its bytes are not read",
        "the mapping's protection (maps)",
    ),
    state(
        "since the mark (`b`): `+present` (`+P`), `+resident` (`+R`), `+dirty` (`+D`), `+cow` \
         (`+C`), `+exclusive` (`+E`), `+written` (`+W`) / `-present` (`-P`), `-resident \
         (evicted)` (`-R`), `-dirty` (`-D`), `-cow` (`-C`), `-exclusive` (`-E`); `N B changed \
         since mark` (`ΔN`, the bytes highlighted); `bytes beyond the mark's bound: state only` \
         (`Δ?`)",
        "+P -R ΔN",
        Some("since the mark (b): became (+) or stopped being (-); bytes changed (Δ)"),
        "what changed since the mark: a state the page gained or lost (`-resident`: evicted), \
         a store into it (`+written`: exact, in our own mapping), and how many of the bytes on \
         screen differ from the mark's copy; the mark keeps the bytes of 16 MiB of pages in \
         memory, and a page beyond that compares by state only",
        "the mark's runs (`Prober::scan`) and bytes against this refresh's; written: \
         userfaultfd async write-protect + PAGEMAP_SCAN `PAGE_IS_WRITTEN`",
    ),
    state(
        "`not probed` (`?`)",
        "?",
        None,
        "not probed yet: the next refresh fills it in",
        "none yet",
    ),
    state(
        "`??` bytes",
        "??",
        Some("could not be copied (protection, truncation)"),
        "could not be copied (PROT_NONE, or the page was truncated away)",
        "`process_vm_readv` (EFAULT)",
    ),
    state(
        "`..` bytes",
        "..",
        Some("not read, so that looking changes nothing (not in memory)"),
        "not read, so that looking changes nothing: not in memory (ours; of a file you may not \
         write, not mapped by us: the kernel does not say which of its pages are cached), not \
         present (another process's)",
        "cachestat, mincore, pagemap",
    ),
    state(
        "minimap: `~` `C` `D` `P` `R`, `·`, `?`, blank",
        "minimap",
        Some("~ C D P R per cell, · cold, ? unknown, blank: not probed yet"),
        "one cell per page or per bucket of pages, the first of these that holds: wholly \
         beyond EOF, a copy-on-write page, a dirty page, a present page, a resident page; `·` \
         none resident (cold), `?` unknown, blank: not probed yet",
        "the same sources, per bucket",
    ),
];

/// The help overlay's legend: (letters, brief) of the states that have a brief.
pub fn help_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    STATES
        .iter()
        .filter_map(|s| s.brief.map(|brief| (s.letters, brief)))
}
