//! The jump list (vim's Ctrl-o / Ctrl-i, a browser's back and forward): every goto, every
//! change of the VMA shown (exploring, Backspace, a followed pointer) records the place left,
//! as an absolute address and the name of its VMA, so going back works across VMAs and
//! processes' layouts alike. A jump that needs the session (another VMA) is pending until the
//! session says where it arrived; one that found nothing (a gap) records nothing.

/// A place the cursor was: its absolute address, and the VMA's name when it was there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub addr: u64,
    pub vma: String,
}

/// Which way a jump goes through the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Travel {
    /// A new jump: the place left goes on the back list, the forward list is dropped.
    Jump,
    /// Ctrl-o: the place left goes on the forward list.
    Back,
    /// Ctrl-i (or its other key): the place left goes back on the back list.
    Forward,
}

/// Places at most kept each way (vim keeps 100).
pub const JUMPS_KEEP: usize = 100;

/// The places left behind and ahead, and a jump the session is carrying out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jumps {
    pub back: Vec<Place>,
    pub forward: Vec<Place>,
    /// The place left and the way of a jump to another VMA, until the session arrives.
    pub pending: Option<(Place, Travel)>,
}

impl Jumps {
    /// Records `left` as a jump went `travel` from it (nothing when it is where the list's
    /// last place already is: a jump to where one stands is no jump).
    pub fn record(&mut self, left: Place, travel: Travel) {
        let list = match travel {
            Travel::Jump => {
                self.forward.clear();
                &mut self.back
            }
            Travel::Forward => &mut self.back,
            Travel::Back => &mut self.forward,
        };
        if list.last().is_some_and(|p| p.addr == left.addr) {
            return;
        }
        list.push(left);
        if list.len() > JUMPS_KEEP {
            list.remove(0);
        }
    }

    /// The place to go to `travel` (Back or Forward), taken off its list.
    pub fn take(&mut self, travel: Travel) -> Option<Place> {
        match travel {
            Travel::Back => self.back.pop(),
            Travel::Forward => self.forward.pop(),
            Travel::Jump => None,
        }
    }

    /// A jump that did not arrive (a gap; a VMA gone): a place taken off a list for it is
    /// dropped (it names nothing now), the place left stays where it was.
    pub fn cancel(&mut self) {
        self.pending = None;
    }

    /// The pending jump arrived: its place left is recorded.
    pub fn arrived(&mut self) {
        if let Some((left, travel)) = self.pending.take() {
            self.record(left, travel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: u64) -> Place {
        Place {
            addr,
            vma: String::new(),
        }
    }

    #[test]
    fn back_and_forward_walk_the_places_left() {
        let mut j = Jumps::default();
        j.record(at(1), Travel::Jump);
        j.record(at(2), Travel::Jump);
        // Standing at 3: back goes to 2, and 3 waits ahead.
        let to = j.take(Travel::Back).unwrap();
        assert_eq!(to.addr, 2);
        j.record(at(3), Travel::Back);
        assert_eq!(j.forward, vec![at(3)]);
        let to = j.take(Travel::Forward).unwrap();
        assert_eq!(to.addr, 3);
        j.record(at(2), Travel::Forward);
        assert_eq!(j.back, vec![at(1), at(2)]);
        // A new jump drops what was ahead.
        j.forward.push(at(9));
        j.record(at(3), Travel::Jump);
        assert!(j.forward.is_empty());
        j.record(at(3), Travel::Jump);
        assert_eq!(j.back.len(), 3, "the same place twice is one");
        for a in 0..300 {
            j.record(at(1000 + a), Travel::Jump);
        }
        assert_eq!(j.back.len(), JUMPS_KEEP);
        assert_eq!(j.back.last().unwrap().addr, 1299);
    }
}
