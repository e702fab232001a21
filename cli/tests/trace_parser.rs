//! The access-trace parser of `satchel retention-sim`: any bytes give events
//! or an error naming a line, never a panic or an unbounded loop; valid
//! traces round-trip.

use proptest::prelude::*;
use satchel::retention::{parse_trace, periods, MAX_TRACE_DAYS};

fn valid_line() -> impl Strategy<Value = String> {
    (
        any::<i64>(),
        "rep-[0-9]{4}",
        prop_oneof![
            Just("open"),
            Just("search"),
            Just("edit"),
            Just("visit"),
            Just("sync")
        ],
        "[A-Za-z0-9]{1,18}",
    )
        .prop_map(|(t, rep, op, id)| {
            let t = t % (MAX_TRACE_DAYS * 86_400 / 2);
            if op == "sync" {
                format!(r#"{{"t":{t},"rep":"{rep}","op":"sync"}}"#)
            } else {
                format!(r#"{{"t":{t},"rep":"{rep}","op":"{op}","id":"{id}"}}"#)
            }
        })
}

proptest! {
    #[test]
    fn valid_traces_parse_and_cut_into_periods(lines in prop::collection::vec(valid_line(), 0..60)) {
        let text = lines.join("\n");
        let events = parse_trace(&text).unwrap();
        prop_assert_eq!(events.len(), lines.len());
        prop_assert!(events.windows(2).all(|w| w[0].t <= w[1].t));
        for (start, end, _) in periods(&events) {
            prop_assert!(start <= end && end <= events.len());
        }
    }

    #[test]
    fn mutated_traces_are_refused_by_line_or_parsed(
        lines in prop::collection::vec(valid_line(), 1..20),
        cut in any::<prop::sample::Index>(),
        junk in "[\\x00-\\x7f{}\":,\\[\\]]{0,12}",
    ) {
        let mut text = lines.join("\n");
        let at = cut.index(text.len() + 1);
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(at, &junk);
        match parse_trace(&text) {
            Ok(events) => {
                let _ = periods(&events);
            }
            Err(e) => prop_assert!(e.starts_with("line ") || e.contains("spans"), "{}", e),
        }
    }

    #[test]
    fn hostile_times_are_bounded(a in any::<i64>(), b in any::<i64>()) {
        let text = format!(
            "{{\"t\":{a},\"rep\":\"r\",\"op\":\"open\",\"id\":\"x\"}}\n{{\"t\":{b},\"rep\":\"r\",\"op\":\"open\",\"id\":\"y\"}}"
        );
        if let Ok(events) = parse_trace(&text) {
            prop_assert!(periods(&events).len() as i64 <= MAX_TRACE_DAYS + 3);
        }
    }
}
