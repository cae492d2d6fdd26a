//! Erlang C: how many agents a queue needs for a share of its callers to be answered within a
//! threshold — the sizing rule call centers use ("80 % within 20 s"). Callers arrive at random
//! (Poisson) and each occupies an agent for the average handling time (talk plus wrap-up).

/// Offered traffic in Erlangs: arrivals per second × handling time in seconds.
pub fn traffic(arrivals_per_s: f64, handle_s: f64) -> f64 {
    arrivals_per_s * handle_s
}

/// The probability that a caller waits at all with `agents` agents and `traffic` Erlangs
/// (Erlang's C formula); 1 when the agents cannot keep up.
pub fn probability_of_waiting(agents: u32, traffic: f64) -> f64 {
    let n = f64::from(agents);
    if traffic <= 0.0 {
        return 0.0;
    }
    if n <= traffic {
        return 1.0;
    }
    // Erlang B by its recursion (no factorials, no overflow), then C from B.
    let blocking = (1..=agents).fold(1.0, |b, k| traffic * b / (f64::from(k) + traffic * b));
    n * blocking / (n - traffic * (1.0 - blocking))
}

/// The share of callers answered within `threshold_s`.
pub fn service_level(agents: u32, traffic: f64, handle_s: f64, threshold_s: f64) -> f64 {
    let n = f64::from(agents);
    if traffic <= 0.0 {
        return 1.0;
    }
    if n <= traffic || handle_s <= 0.0 {
        return 0.0;
    }
    let waits = probability_of_waiting(agents, traffic);
    1.0 - waits * (-(n - traffic) * threshold_s / handle_s).exp()
}

/// The fewest agents that answer at least `target` of the callers within `threshold_s`.
pub fn agents_for(arrivals_per_s: f64, handle_s: f64, threshold_s: f64, target: f64) -> u32 {
    let load = traffic(arrivals_per_s, handle_s);
    (1..=100_000)
        .find(|&n| service_level(n, load, handle_s, threshold_s) >= target)
        .unwrap_or(100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook case: 100 calls in 30 minutes, 3 minutes each (10 Erlangs), 20 s threshold.
    #[test]
    fn matches_the_textbook_table() {
        let (arrivals, handle) = (100.0 / 1800.0, 180.0);
        let load = traffic(arrivals, handle);
        assert!((load - 10.0).abs() < 1e-9);
        let table = [
            // (agents, P(wait), service level within 20 s)
            (11, 0.6821, 0.3896),
            (12, 0.4494, 0.6402),
            (13, 0.2853, 0.7956),
            (14, 0.1741, 0.8884),
            (15, 0.1020, 0.9415),
        ];
        for (agents, waits, within) in table {
            let p = probability_of_waiting(agents, load);
            let sl = service_level(agents, load, handle, 20.0);
            assert!((p - waits).abs() < 0.001, "{agents}: P(wait) {p}");
            assert!((sl - within).abs() < 0.001, "{agents}: service level {sl}");
        }
        assert_eq!(agents_for(arrivals, handle, 20.0, 0.80), 14);
        assert_eq!(agents_for(arrivals, handle, 20.0, 0.75), 13);
    }

    #[test]
    fn too_few_agents_never_keep_up_and_no_traffic_needs_one() {
        assert_eq!(probability_of_waiting(10, 10.0), 1.0);
        assert_eq!(service_level(3, 10.0, 60.0, 20.0), 0.0);
        assert_eq!(probability_of_waiting(1, 0.0), 0.0);
        assert_eq!(agents_for(0.0, 60.0, 20.0, 0.8), 1);
    }

    #[test]
    fn more_traffic_needs_more_agents_and_a_stricter_target_too() {
        let mut last = 0;
        for per_minute in [3.0, 6.0, 12.0, 24.0, 48.0] {
            let agents = agents_for(per_minute / 60.0, 60.0, 20.0, 0.8);
            assert!(agents > last, "{per_minute}/min: {agents}");
            last = agents;
        }
        assert!(agents_for(0.2, 60.0, 20.0, 0.95) > agents_for(0.2, 60.0, 20.0, 0.8));
    }
}
