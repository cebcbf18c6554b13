//! The lesson pane's state: the lesson played, what each line did, and how the pane's body is
//! wrapped, split and scrolled on this terminal.

use super::Model;
use crate::text::sanitize;

/// What a lesson line did, for the narration pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonResult {
    pub text: String,
    pub ok: bool,
    /// It failed, and the `expect error` after it said it should: a refusal being taught.
    pub expected_error: bool,
    /// An `expect` on a field only root can read, skipped without root.
    pub skipped: bool,
    /// Why it failed, or what it returned.
    pub detail: String,
}

impl LessonResult {
    /// The mark the pane puts before it: `✓`, `✓ refused, as it should be:` or `✗`.
    pub fn mark(&self) -> &'static str {
        match (self.ok, self.expected_error) {
            (true, true) => "✓ refused, as it should be:",
            (true, false) => "✓",
            (false, _) => "✗",
        }
    }

    /// Marks each failure that the `expect error` right after it claims as expected.
    pub fn claim_expected_errors(results: &mut [LessonResult]) {
        for i in 1..results.len() {
            if results[i].text.trim() == "expect error" && results[i].ok && !results[i - 1].ok {
                results[i - 1].ok = true;
                results[i - 1].expected_error = true;
            }
        }
    }
}

/// The lesson being played: where we are and what the last step said and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonPane {
    pub name: String,
    pub title: String,
    /// Steps played so far (0: not started).
    pub step: usize,
    pub total: usize,
    pub say: String,
    pub results: Vec<LessonResult>,
    /// The step's `# show:` offset (the grid keeps it in view).
    pub show: Option<u64>,
    /// The step's `# fields:` (the smaps panel lists them first).
    pub fields: Vec<crate::sys::proc::maps::SmapsField>,
    /// Lines the pane's narration and results are scrolled down (J / K).
    pub scroll: u16,
}

impl LessonPane {
    /// The pane before the first step of the lesson `name`, titled `title`, of `total` steps.
    pub fn start(name: &str, title: &str, total: usize) -> Self {
        Self {
            name: name.to_string(),
            title: title.to_string(),
            step: 0,
            total,
            say: format!("{title}. Press → or Space for the first step."),
            results: Vec::new(),
            show: None,
            fields: Vec::new(),
            scroll: 0,
        }
    }
}

/// Lines of results the lesson pane makes room for beside its narration (more scroll).
pub const LESSON_RESULTS_WANTED: usize = 3;

/// A line of the lesson pane's body: what it belongs to, and its text.
pub type PaneLine = (PaneText, String);

/// What a line of the lesson pane's body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneText {
    /// The step's narration.
    Say,
    /// The result `index`, from its char `from` on; its detail (drawn dim) starts at char
    /// `detail` of the whole result's text.
    Result {
        index: usize,
        from: usize,
        detail: usize,
    },
}

/// A result as the pane writes it, `✓ expect ...  is 4096`, and the char where its detail
/// starts (its length when it has none).
pub fn result_text(r: &LessonResult) -> (String, usize) {
    let head = format!("{} {}", r.mark(), sanitize(&r.text));
    let detail_at = head.chars().count();
    if r.detail.is_empty() {
        (head, detail_at)
    } else {
        (format!("{head}  {}", sanitize(&r.detail)), detail_at)
    }
}

impl Model {
    /// The lesson pane's body (narration, then what each line did), wrapped to the pane's
    /// width: each line with what it belongs to and its text (escaped).
    pub fn lesson_body(&self) -> Vec<(PaneText, String)> {
        let Some(pane) = &self.lesson else {
            return Vec::new();
        };
        let width = usize::from(self.screen.size.0.saturating_sub(2));
        let wrap = crate::layout::wrap;
        let mut out: Vec<(PaneText, String)> = wrap(&sanitize(&pane.say), width)
            .into_iter()
            .map(|(_, l)| (PaneText::Say, l))
            .collect();
        for (index, r) in pane.results.iter().enumerate() {
            let (text, detail) = result_text(r);
            for (from, l) in wrap(&text, width) {
                out.push((
                    PaneText::Result {
                        index,
                        from,
                        detail,
                    },
                    l,
                ));
            }
        }
        out
    }

    /// The body lines the lesson pane asks room for: the whole narration and up to
    /// `LESSON_RESULTS_WANTED` lines of results (the rest scroll), so the grid keeps its rows.
    pub fn lesson_wants(&self) -> usize {
        let Some(pane) = &self.lesson else {
            return 0;
        };
        let width = usize::from(self.screen.size.0.saturating_sub(2));
        let count = crate::layout::wrap_count;
        let mut results = 0;
        for r in &pane.results {
            if results >= LESSON_RESULTS_WANTED {
                break;
            }
            results += count(&result_text(r).0, width);
        }
        count(&sanitize(&pane.say), width) + results.min(LESSON_RESULTS_WANTED)
    }

    /// The lines of the lesson pane's body on screen, and the first and last (1-based) of
    /// the scrolled part with its length when not all of it shows. The narration stays put
    /// and the results scroll under it; a narration too long for the pane scrolls with them.
    pub fn lesson_visible(&self) -> (Vec<PaneLine>, Option<(usize, usize, usize)>) {
        let (body, fixed, room) = self.lesson_split();
        let scrolled = body.len() - fixed;
        let scroll = self
            .lesson
            .as_ref()
            .map_or(0, |p| usize::from(p.scroll))
            .min(scrolled.saturating_sub(room));
        let shown = room.min(scrolled - scroll);
        let mut out: Vec<PaneLine> = body[..fixed].to_vec();
        out.extend_from_slice(&body[fixed + scroll..fixed + scroll + shown]);
        let note = (scrolled > room).then_some((scroll + 1, scroll + shown, scrolled));
        (out, note)
    }

    /// How far the lesson pane scrolls (J): the scrolled part less the lines it gets.
    pub fn lesson_scroll_max(&self) -> usize {
        let (body, fixed, room) = self.lesson_split();
        (body.len() - fixed).saturating_sub(room)
    }

    /// The pane's body, how many of its first lines stay put (the narration, when it fits with
    /// a line to spare), and the rows left for the part that scrolls.
    fn lesson_split(&self) -> (Vec<PaneLine>, usize, usize) {
        let body = self.lesson_body();
        let rows = self.lesson_body_rows();
        let say = body.iter().filter(|(p, _)| *p == PaneText::Say).count();
        let fixed = if say < rows { say } else { 0 };
        (body, fixed, rows - fixed)
    }

    /// The lines of the lesson pane the body gets (between its borders, above the log line).
    pub fn lesson_body_rows(&self) -> usize {
        usize::from(self.layout().log.height.saturating_sub(3))
    }
}

#[cfg(test)]
mod tests {
    use super::LessonResult;

    fn r(text: &str, ok: bool) -> LessonResult {
        LessonResult {
            text: text.into(),
            ok,
            expected_error: false,
            skipped: false,
            detail: String::new(),
        }
    }

    #[test]
    fn an_expect_error_claims_the_failure_before_it_only() {
        let mut results = vec![
            r("write 0 41", false),
            r("expect error", true),
            r("read 0 1", false),
            r("expect page 0 cow == true", true),
        ];
        LessonResult::claim_expected_errors(&mut results);
        assert!(results[0].ok && results[0].expected_error);
        assert!(!results[2].ok && !results[2].expected_error);
    }
}
