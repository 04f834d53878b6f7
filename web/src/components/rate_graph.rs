//! A connection's traffic at a glance: bytes per second in and out over the last minute, as a
//! small inline SVG that moves on every second even when nothing arrives.

use std::rc::Rc;

use gloo::timers::callback::Interval;
use protocol::{Flow, Micros};
use yew::prelude::*;

use crate::bytes_view::size::format_size;
use crate::state::{Conv, Entry};

/// Seconds shown.
pub const SPAN: usize = 60;
const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 24.0;

/// Bytes received and sent in each of the last [`SPAN`] whole seconds before `now`, oldest first.
/// `entries` come newest first (records arrive in time order), so reading stops at the first
/// record older than the span: the cost is the last minute's records, not the whole log.
pub fn rates<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    now: Micros,
) -> ([u64; SPAN], [u64; SPAN]) {
    let (mut rx, mut tx) = ([0; SPAN], [0; SPAN]);
    for entry in entries {
        let Entry::Record(r) = entry else { continue };
        let age = (now - r.head.at).div_euclid(1_000_000);
        if age >= SPAN as i64 {
            break;
        }
        if age < 0 {
            continue; // clock skew: from the future
        }
        let slot = SPAN - 1 - age as usize;
        match r.head.flow {
            Flow::Rx => rx[slot] += r.data.len() as u64,
            Flow::Tx => tx[slot] += r.data.len() as u64,
        }
    }
    (rx, tx)
}

/// SVG polyline points for `values`, scaled to `max`.
fn points(values: &[u64; SPAN], max: u64) -> String {
    let step = WIDTH / (SPAN - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = HEIGHT - 1.0 - (*v as f64 / max.max(1) as f64) * (HEIGHT - 2.0);
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Properties, PartialEq)]
pub struct RateGraphProps {
    pub conv: Rc<Conv>,
}

#[component]
pub fn RateGraph(props: &RateGraphProps) -> Html {
    // Redraw every second, so that the graph moves on while the line is quiet.
    let tick = use_state(|| 0u32);
    {
        let tick = tick.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(1000, move || tick.set(tick.wrapping_add(1)));
            move || drop(interval)
        });
    }
    let now = (js_sys::Date::now() * 1000.0) as Micros;
    let (rx, tx) = rates(props.conv.log.iter_rev(), now);
    let max = rx.iter().chain(tx.iter()).copied().max().unwrap_or(0);
    let (last_rx, last_tx) = (rx[SPAN - 2], tx[SPAN - 2]);
    let (rx_way, tx_way) = ways(&props.conv.info);
    let summary = format!(
        "Last second: {}/s {rx_way}, {}/s {tx_way}; busiest second of the last minute: {}",
        format_size(last_rx),
        format_size(last_tx),
        format_size(max)
    );
    html! {
        <svg class="rate-graph" role="img" aria-label={summary.clone()} width={WIDTH.to_string()}
             height={HEIGHT.to_string()} viewBox={format!("0 0 {WIDTH} {HEIGHT}")}>
            <title>{ summary }</title>
            <polyline class="rate-rx" fill="none" points={points(&rx, max)} />
            <polyline class="rate-tx" fill="none" points={points(&tx, max)} />
        </svg>
    }
}

/// What the two lines are: received and sent, or, in a proxied conversation, the two ways.
fn ways(info: &protocol::ConnInfo) -> (&'static str, &'static str) {
    match info.proxy {
        Some(_) => (
            protocol::Way::ClientToServer.label(),
            protocol::Way::ServerToClient.label(),
        ),
        None => ("in", "out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Rec;

    fn rec(at: Micros, flow: Flow, len: usize) -> Entry {
        Entry::Record(Rec::new(0, flow, at, vec![0; len].into()))
    }

    #[test]
    fn bytes_land_in_their_second() {
        let now = 100_000_000;
        // Newest first, as the log gives them.
        let entries = [
            rec(now + 1_000, Flow::Rx, 99),   // clock skew: in the future, ignored
            rec(now - 400_000, Flow::Rx, 5),  // this second
            rec(now - 500_000, Flow::Rx, 10), // this second too
            rec(now - 1_500_000, Flow::Tx, 7), // a second ago
            rec(now - 61_000_000, Flow::Rx, 99), // too old: reading stops here
            rec(now - 500_000, Flow::Rx, 1000), // never reached
        ];
        let (rx, tx) = rates(entries.iter(), now);
        assert_eq!(rx[SPAN - 1], 15);
        assert_eq!(tx[SPAN - 2], 7);
        assert_eq!(rx.iter().sum::<u64>(), 15);
        assert_eq!(points(&rx, 15).split(' ').count(), SPAN);
    }

    #[test]
    fn a_proxied_conversations_lines_are_its_two_ways() {
        let mut info = protocol::ConnInfo::new(
            1,
            protocol::Origin::Accepted,
            "127.0.0.1:51234".into(),
            protocol::ConnState::Open,
            0,
        );
        assert_eq!(ways(&info), ("in", "out"));
        info.proxy = Some(Box::new(protocol::ProxyInfo::to("127.0.0.1:502")));
        assert_eq!(ways(&info), ("client→server", "server→client"));
    }
}
