// Package publish is the one publication layer: every team-level figure
// commpulse shows anyone (ClickHouse team tables and the views dashboards
// read, comms.alerts, Prometheus anomaly series, the demo and CLI
// summaries) is released by a Publisher, and everything downstream of it
// (detectors, alerts, reports) only ever sees released figures, so it is
// post-processing and costs no further privacy.
//
// A release applies three rules, in this order:
//
//  1. k: a team-window with fewer than Policy.K distinct senders (never
//     fewer than five) releases nothing, not even a row of zeros. Receivers
//     do not count: a person who only received messages contributed no
//     data of their own to the window.
//  2. Contribution bounding: each person's weight in a day's figures is at
//     most a cap (Policy.CapVolume for volumes, Policy.CapSentiment for
//     sentiment, Policy.CapThemes for each theme count); a person who sent
//     more counts each message at Cap/n, which keeps their own mean. The
//     cap is the sensitivity: no one person can move a published sum by
//     more than it.
//  3. Noise: discrete Laplace noise calibrated to the cap and to a stated
//     ε per figure (Budget), from an exact integer sampler fed by a keyed
//     HMAC-SHA256 stream (noise.go). Ratios (means, shares) are computed
//     from the noisy parts.
//
// Together they make every published figure ε-differentially private with
// respect to one person's messages of one day; Policy.PerPersonDay adds the
// budgets up. The noise is what defeats differencing (an hour against its
// day, a team against the organisation's totals, consecutive windows, the
// k-1 colleagues of a team at exactly k): the difference of two noisy
// figures is noisier still. The guarantee, its parameters, what it costs
// in accuracy and its limits are in docs/privacy.md; the attacks it is
// tested against are in internal/attack.
//
// The package is pure: no I/O, no clock. Its only randomness is the keyed
// stream (crypto/rand when no key is configured).
package publish
