//! What the session's trackers read since the mark, into the model: the pages written (our own
//! mapping) and what happened to another process's accessed bits (`--track-access`). A
//! restart of the written set, and a refusal to clear the accessed bits, go to the log once.

use crate::model::{Access, Model, Written};

/// The written set read now (or why there is none); `None`: the mark was dropped.
pub(super) fn written(model: &mut Model, written: Option<Written>) {
    let Some(written) = written else {
        model.time.written = None;
        return;
    };
    let said_before = model
        .time
        .written
        .as_ref()
        .and_then(|w| w.restarted.as_ref());
    if let Some(why) = &written.restarted
        && said_before != Some(why)
    {
        model.log(why.clone());
    }
    model.time.written = Some(written);
}

/// The accessed bits at the mark: cleared, or why not.
pub(super) fn access(model: &mut Model, access: Access) {
    match &access.cleared {
        Ok(()) => model.log(format!(
            "--track-access: accessed bits cleared; Referenced per VMA counts what the process \
             touches from now on; {}",
            access.per_page
        )),
        Err(why) => model.log(format!("--track-access: {why}")),
    }
    model.time.access = Some(access);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_is_logged_once() {
        let mut model = crate::update::testing::model(64, (80, 24));
        let restarted = Written {
            exact: true,
            restarted: Some("the written set restarted".into()),
            ..Written::default()
        };
        written(&mut model, Some(restarted.clone()));
        written(&mut model, Some(restarted));
        let said = model
            .log
            .lines
            .iter()
            .filter(|l| l.text.contains("restarted"))
            .count();
        assert_eq!(said, 1);
    }
}
