//! The manual's words for the keys: `mmapscope man` and the README's key table say more than
//! the help overlay's one line has room for.

use super::help_lines;

/// The manual's words for a key (`mmapscope man` and the guide's key table), where the help
/// overlay's line is too short to say it all; keyed by the help line's keys as shown. Keys not
/// listed here are told in the manual with the help's words.
pub const MANUAL: &[(&str, &str)] = &[
    (
        "y / 16y",
        "copy the cursor's virtual address to the terminal's clipboard (OSC 52); with a count \
         typed first, that many bytes from the cursor as hex, as far as they were read",
    ),
    (
        "D",
        "dump: the bytes of the pages in memory to a new file (nothing faulted in; other pages \
         are holes, listed in the log): vma FILE, page N FILE or OFFSET LEN FILE, then \
         overwrite to replace a file, fault to fault the pages in first (our own mapping); \
         never a file the process maps",
    ),
    (
        "C",
        "export a picture (it asks what and the file): svg map FILE, the whole mapping or VMA \
         by page state (at most 64x64 cells); svg space FILE, the address-space view's VMAs; \
         svg diff FILE, what changed since the mark (as diff says it); html FILE, the screen \
         as it is, with its colours; then overwrite to replace a file; never a file the \
         process maps",
    ),
    (
        "g / G, [ / ]",
        "start / end of the mapping; previous / next page (its header on top)",
    ),
    (
        ":",
        "go to an offset (0x1f00, 7936, 4k) or a page (p 3), in the coordinates of the row \
         labels (v switches both); a number that is no row label here, or @ and a number \
         (@0x7f..), is an address anywhere in the process: its VMA opens with the cursor there \
         (Backspace and Ctrl-o come back), and an address in a gap says what is below and \
         above it",
    ),
    (
        ": state",
        "go to the next page in a state: dirty, cow, resident, present, exclusive (pagemap bit \
         56: mapped by this process only) or beyond (end of file); !state for the next page not \
         in it (: !resident finds cold pages)",
    ),
    (
        "/",
        "find bytes: hex (/ 7f 45 4c 46) or text (/\"needle\"), in resident pages only; /! faults \
         pages in; Esc stops a search",
    ),
    (
        "n / N",
        "the last search (: state or / bytes) again, forward / backward (in a lesson n is the \
         next step)",
    ),
    (
        "i / Enter",
        "edit mode: hex digits write bytes at the cursor, Tab switches to the text column, Esc \
         leaves; edits are of bytes, so a typed view (T) shows bytes first. In a typed view, on \
         a u64 that points into a VMA of the process (the inspector names it: → [heap]+0x1230), \
         go to that address instead (as : does); in the code view, follow the jump or call (or \
         go to the RIP-relative memory it names); in the strings view, show the string in the \
         bytes view",
    ),
    (
        "T / E / I",
        "T cycles the view: bytes, u16, u32, u64, i64 (hex, except i64), f32, f64, text (od -c \
         escapes), strings (printable runs of 4 or more in the page under the cursor; arrows \
         move between them) and code (x86_64 disassembly from the cursor; ↓ moves by an \
         instruction, ↑ back a byte); the cursor moves by the element; script: view WORD. E \
         reads values in the other byte order. I shows the inspector (the value at the cursor \
         in every type) in the bytes view too; the other views always show it",
    ),
    (
        "u / Ctrl-r",
        "undo / redo an edit (an undo is itself a write, and says so)",
    ),
    (
        "s",
        "msync(MS_SYNC) of the whole mapping: time taken and pages cleaned",
    ),
    (
        "S",
        "msync menu: MS_SYNC / MS_ASYNC / MS_INVALIDATE, this page or all (Tab)",
    ),
    (
        "a",
        "advice menu: madvise willneed, dontneed, cold, pageout, sequential, random, normal, \
         hugepage, nohugepage, collapse; fadvise dontneed, willneed",
    ),
    (
        "t",
        "touch the page under the cursor (read one byte): the faults it cost, fault-around, \
         readahead",
    ),
    (
        "x",
        "run the code at the cursor in a forked child (needs PROT_EXEC): a prompt asks for its \
         two arguments (1000 234; Enter alone: 0 0); its return value or the signal that killed \
         it; the screen stays live meanwhile, and after 2 s the child is killed with everything \
         it forked",
    ),
    (
        "X",
        "snippet menu: write ret42 or add (returns A + B) at the cursor, machine code for this \
         machine (then p rx and x)",
    ),
    (
        "F",
        "fork a child that keeps every mapping and waits for orders (the header says fork: \
         child pid N); each page then says whether it is shared with the child; F again opens \
         the child's menu: it writes hex bytes at the cursor, reads 16 bytes there, or exits \
         (and is reaped)",
    ),
    (
        "L",
        "lock menu: mlock / munlock, this page or all (Tab); Locked moves in smaps; a refusal \
         names RLIMIT_MEMLOCK, what is locked already and CAP_IPC_LOCK; more than a quarter of \
         MemAvailable asks first (y/N)",
    ),
    (
        "R",
        "mremap prompt: a new size (64k: grow or shrink, moving when it must), or move ADDR; \
         the new address and what came along are logged, and the screen follows; growing a \
         locked mapping by more than a quarter of MemAvailable asks first (y/N)",
    ),
    (
        "M",
        "malloc menu: malloc a size (prompt) or 100 B, 200 KiB, 1 MiB, 64 MiB, or free the \
         newest block: where it landed (heap or a new mapping, from /proc/self/maps before and \
         after) and what can be said of glibc's mmap threshold",
    ),
    (
        "A",
        "address-space view: every VMA of the process as a bar (log size, resident part solid, \
         kinds in colours and words, gaps sized) with its Rss, Pss, USS, shared, swap and huge \
         pages, and the totals by kind and by backing; arrows select, Enter explores the VMA, \
         o / O sort by the next column / the other way, / filters by name or kind, or selects \
         the VMA of an address (0x7f..)",
    ),
    (
        "Backspace",
        "back to the mapping mmapscope made from a VMA explored (A, or Enter in the maps panel)",
    ),
    (
        "Ctrl-o / Ctrl-n",
        "jump list, as vim's: Ctrl-o goes back to the place the last goto, search or change of \
         VMA left (explore, Backspace, an address elsewhere), Ctrl-n forward again; Ctrl-i too \
         where the terminal tells it from Tab (mmapscope asks for the kitty keyboard protocol; \
         elsewhere Ctrl-i is Tab)",
    ),
    (
        "Enter (maps)",
        "in the maps panel (Tab): explore the VMA on its top line (the heap, the stack, a \
         library, the vdso)",
    ),
    (
        "m",
        "switch MAP_SHARED <-> MAP_PRIVATE (remap; asks first when private edits would be lost)",
    ),
    (
        "o",
        "with --also: the grid shows (and keys act on) the other mapping of the file",
    ),
    (
        "P",
        "page map: the whole mapping as cells by state, with counts; arrows select, + - zoom, \
         Enter opens the cell's first page, Esc closes",
    ),
    (
        "Tab",
        "focus grid -> side panel -> event log; the focused one scrolls, and the focused log \
         takes half the screen (in a lesson too)",
    ),
    (
        "r",
        "refresh now (it also refreshes every --refresh ms, default 250, and after every key)",
    ),
    (
        "?",
        "help: every key, and what each page state means (arrows scroll it; any other key \
         closes it)",
    ),
];

/// Every key of the help overlay with the manual's words for it: the source of `mmapscope man`
/// and of the guide's key table in docs/guide.md (`tests/it/docs/` compares them).
pub fn manual_lines() -> Vec<(&'static str, &'static str)> {
    help_lines()
        .into_iter()
        .map(|(keys, short)| {
            let long = MANUAL.iter().find(|(k, _)| *k == keys).map(|(_, l)| *l);
            (keys, long.unwrap_or(short))
        })
        .collect()
}
