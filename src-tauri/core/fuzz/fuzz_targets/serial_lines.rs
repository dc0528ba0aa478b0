//! The serial scanner's line framer: arbitrary byte chunks arriving at arbitrary times, and quiet
//! spells (`expire`), with each terminator setting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paydesk_core::config::Terminator;
use paydesk_core::scan::serial::{Dropped, Framed, LineFramer, MAX_LINE};
use std::time::{Duration, Instant};

/// Input: `[terminator][stale_after_ms: u16 LE]` then records `[op][len][len bytes]`. `op`'s low
/// bit: 0 pushes the bytes, 1 only lets time pass (`expire`); its other seven bits `n` advance
/// the clock by `n * n` ms first (0 to 16 s).
struct Step<'a> {
    after_ms: u64,
    bytes: Option<&'a [u8]>,
}

fn steps(mut data: &[u8]) -> impl Iterator<Item = Step<'_>> {
    std::iter::from_fn(move || {
        let (&op, rest) = data.split_first()?;
        let (&len, rest) = rest.split_first().unwrap_or((&0, rest));
        let (bytes, rest) = rest.split_at(usize::from(len).min(rest.len()));
        data = rest;
        let n = u64::from(op >> 1);
        Some(Step { after_ms: n * n, bytes: (op & 1 == 0).then_some(bytes) })
    })
}

fuzz_target!(|data: &[u8]| {
    let [t, s0, s1, records @ ..] = data else { return };
    let terminator = match t % 3 {
        0 => Terminator::Cr,
        1 => Terminator::Lf,
        _ => Terminator::Crlf,
    };
    let end = *terminator.bytes().last().unwrap();
    let stale_after = Duration::from_millis(u64::from(u16::from_le_bytes([*s0, *s1])));
    let mut framer = LineFramer::new(terminator, stale_after);
    let mut now = Instant::now();
    let mut ends_seen = 0usize;
    let mut codes = 0usize;
    let mut last_byte: Option<Instant> = None;
    for Step { after_ms, bytes } in steps(records) {
        now += Duration::from_millis(after_ms);
        let quiet = last_byte.map(|t| now.duration_since(t));
        let framed = match bytes {
            Some(bytes) => {
                ends_seen += bytes.iter().filter(|&&b| b == end).count();
                if !bytes.is_empty() {
                    last_byte = Some(now);
                }
                framer.push(bytes, now)
            }
            None => framer.expire(now).into_iter().collect(),
        };
        for f in framed {
            match f {
                Framed::Code(code) => {
                    codes += 1;
                    assert!(!code.is_empty() && code.len() <= MAX_LINE, "{} bytes", code.len());
                    assert!(!code.contains(['\r', '\n']), "{code:?} holds a terminator");
                    assert!(code.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{code:?}");
                    assert_eq!(code.trim(), code);
                }
                Framed::Dropped(Dropped::Stale { len }) => {
                    // Only a line that went quiet for `stale_after` is dropped as stale.
                    assert!(len <= MAX_LINE + 1);
                    assert!(quiet.is_some_and(|q| q >= stale_after), "stale after {quiet:?}");
                }
                Framed::Dropped(Dropped::NotAscii { len }) => assert!(len > 0 && len <= MAX_LINE),
                Framed::Dropped(Dropped::TooLong) => {}
            }
        }
        // Every code was ended by a terminator byte.
        assert!(codes <= ends_seen, "{codes} codes from {ends_seen} terminators");
    }
    // Whatever came before, a terminator resynchronises the framer: the next code reads whole.
    let code = "28012345678901234";
    let wire = [terminator.bytes(), code.as_bytes(), terminator.bytes()].concat();
    let last = framer.push(&wire, now).pop();
    assert_eq!(last, Some(Framed::Code(code.into())), "after the steps above");
});
