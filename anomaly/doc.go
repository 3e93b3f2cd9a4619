// Package anomaly scores streaming series point by point: one Detector per
// series, fed (time, value) in arrival order, returns for every point a
// score in [0, 1] and an Explanation (expected value, alarm band, direction,
// which detector fired). The package is pure: no I/O, no clocks, no
// globals, and deterministic, so a restarted analyzer rebuilds a detector by
// replaying the stored history (Replay) and continues bit-for-bit where the
// old one stopped. All parameters live in Config; DefaultConfig is the one
// parameter set used for every series, SeasonalConfig adds the hour-of-week
// baseline for hourly team series.
//
// # How a point is scored
//
//  1. Baseline. The point's residual u against a baseline: none for raw
//     series, the median of the same seasonal bucket (same hour of week,
//     last SeasonDepth weeks) in seasonal mode, measured in units of that
//     bucket's own spread (busy office hours are noisier than nights).
//  2. Detectors, each giving a surprise s = -log10(p):
//     level:   robust z = (u - median)/(IQR/1.349) over the last Window
//     points, two-sided normal tail;
//     entropy: G-test (2 n KL) of the last Recent points' histogram against
//     the reference window, over Bins equiprobable bins, chi-square tail;
//     cusum:   two-sided CUSUM of clipped robust z-scores, tail exp(-2kh);
//     jump:    robust z of the step from the previous point (off by
//     default, see below);
//     context: novelty of the point's short sequence: residuals quantised
//     to ContextLevels levels over their running range, n-grams of up
//     to ContextOrder+1 symbols counted; the shortest unseen n-gram ending
//     at the point was expected E = (prefix count) x (symbol frequency)
//     times, and its absence has surprise E/ln 10 (see contextModel).
//  3. Calibration. Each surprise of level, entropy, cusum and jump is
//     divided by the largest surprise the same detector produced over the
//     last Calibrate points (floored at CalibrateFloor). Raw p-values
//     assume a model the data never follows; "larger than anything this
//     detector said before" is comparable across detectors and across
//     series, which is what one corpus-wide (or fleet-wide) threshold
//     needs. The horizon is 30000 points, in practice the whole history:
//     alarms get rarer as a series ages, which is what an operator wants
//     from a long-running stream (2000 points: 59.6 instead of 60.6). The
//     sliding maximum grows on demand, so the long horizon costs a few
//     dozen entries, not 30000.
//  4. Combination: the maximum over the calibrated detectors plus
//     ContextWeight times the context surprise, mapped to s/(s+ScoreScale),
//     which never saturates (a threshold sweep still sees an order). The
//     context surprise is added, not maxed: it is an "out of sequence"
//     vote that lifts points that are also out of level and reorders
//     events corpus-wide; maxed in, it scored 57.3 instead of 60.6.
//  5. Suppression. After an alarm (score >= AlarmScore) scores are damped
//     by SuppressFactor for Suppress points, or SuppressFraction of the
//     points seen so far if fewer, so one incident raises one alarm while
//     two incidents close together in a young series are both reported.
//
// # Numbers (NAB v1.1 corpus, 58 series, 365,558 rows, package nab)
//
// Normalised NAB scores, standard / reward_low_FP / reward_low_FN, one
// parameter set for all series, measured with
// `go run ./cmd/commpulse nab --data ../shared/eval/nab [--detectors ...]`
// (variants of other fields via the NABCFG dev hook in nab/corpus_test.go):
//
//	detectors                          standard  low_FP  low_FN
//	level                                  38.9    34.2    43.1
//	entropy                                27.7    22.5    31.1
//	cusum                                  30.3    25.5    32.9
//	context                                24.2    16.2    32.3
//	level+context                          45.1    39.2    49.1
//	level+entropy+cusum                    54.9    45.9    60.7
//	level+entropy+cusum+context (default)  60.6    51.2    67.4
//	default+jump                           60.2    49.8    66.3
//	default, no calibration                25.3    10.9    46.4
//	default, Calibrate 2000                59.6    47.4    67.6
//	default, no suppression                53.0    42.5    58.8
//	default, context maxed not added       57.3    47.9    63.8
//	context as fraction of unseen n-grams  63.3    53.7    70.3  (rejected)
//
// (Single-detector rows score each detector's calibrated surprise alone;
// the context detector alone is uncalibrated and weak: it is a vote, not
// a detector of magnitudes.)
//
// The rejected row is the CAD-OSE-like score "fraction of the point's
// n-grams never seen" (weight 6). It is 2.7 points better on NAB but raises
// 2.8 alarms per 10,000 points of white noise against 0.35 for the
// default, because in noise rare symbol combinations keep producing unseen
// n-grams; the expected-count score discounts exactly those
// (TestWhiteNoiseAlarmRate holds the default under 1). The detectors are
// also run on team series that are not NAB, so generalisation wins.
//
// For reference (README of the eval data): Numenta HTM 70.5, CAD OSE 69.9,
// Relative Entropy 54.6, Windowed Gaussian 39.6, random 11.0; ARTime 74.9.
// The default is about ten points short of the 70 target. Perturbations
// of the context detector (ContextLevels 3/5, ContextOrder 3/6,
// ContextWeight 0.5/2) land within 57.0-60.6, the older parameters as
// before: the result is not a knife-edge tuning. Remaining losses
// (default, standard profile): 22 missed windows and 306 false-positive
// rows; the misses are mostly shape changes longer than ContextOrder
// (art_daily_flatmiddle, art_daily_nojump), where a subsequence-discord
// detector over a downsampled window is the likely next step.
//
// The seasonal mode is not measured by NAB (its series are not hourly team
// series); TestSeasonalTeamSeries checks it on a synthetic office-hours
// series: a planted weekday drop is flagged, weekends and 9 a.m. ramps are
// not.
package anomaly
