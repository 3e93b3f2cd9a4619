// Package forecast forecasts a team's daily published figures (mean
// sentiment, the belonging index) one to two weeks ahead, with prediction
// intervals, and raises an early warning when a whole interval crosses a
// threshold. Like package anomaly it is pure: no I/O, no clock, no
// globals, deterministic (the same input gives the same forecast bit for
// bit). It consumes the released daily series of pipeline/publish, never
// exact aggregates.
//
// # The model
//
// Additive Holt-Winters with a damped trend, in its state-space form
// ETS(A,Ad,A) (Hyndman, Koehler, Ord and Snyder, "Forecasting with
// Exponential Smoothing", Springer 2008; Gardner and McKenzie 1985 for
// the damping), with a weekly season (Config.Season 7):
//
//	forecast  yhat_t = l_{t-1} + phi b_{t-1} + s_{t-m}
//	error     e_t    = y_t - yhat_t
//	level     l_t    = l_{t-1} + phi b_{t-1} + alpha e_t
//	trend     b_t    = phi b_{t-1} + beta e_t
//	season    s_t    = s_{t-m} + gamma e_t
//
// Why this one: team figures have a weekly rhythm, levels that move
// slowly and sometimes step (a reorganisation, a new lead), and a trend
// that should not be extrapolated for two weeks at full slope: the damped
// trend fades (phi <= 0.98). Additive, because the figures are bounded
// indices and means that can be near or below zero, not volumes.
//
// Fitting: the initial states from the first four weeks (position means
// and a pooled within-position slope), then alpha, beta, gamma and phi
// that minimise the sum of squared one-step errors, by Nelder-Mead from
// two starting points, over a reparameterisation that keeps them in the
// usual admissible region (0 < beta < alpha < 1, 0 < gamma < 1 - alpha,
// PhiMin <= phi <= PhiMax). No library: the Go forecasting libraries found
// (docs/forecast.md) either lack prediction intervals and missing values
// or bring a large dependency tree; gonum/optimize would add a module
// (golang.org/x/tools, through stat/distmv) for a four-parameter search, so
// the simplex search is a short function of its own (neldermead.go).
//
// # Missing days
//
// A day that was not published (fewer than k senders, a holiday) is NaN
// (Dense builds that from sparse points). The filter carries the state
// through it without correction, as a state-space model treats a missing
// observation: its error happened but was not seen. A weekday published
// fewer than Config.MinDayCount (4) times (the weekends of a small team)
// is not forecast: Day.OK is false, its values NaN, and it never warns; a
// seasonal term made of one or two noisy values would be that noise. A
// weekday first published after the first four weeks takes its seasonal
// term from that first value.
//
// # Prediction intervals
//
// Analytic, from the model (Hyndman et al. 2008, table 6.1, class 1):
// the h-step error is the sum of the one-step errors since the last
// observed day, weighted by c_j = alpha + beta (phi + ... + phi^j) +
// gamma [m divides j], with normal quantiles at Config.Level (default
// 0.8). Two refinements: each one-step error has the variance of its own
// weekday (Model.DaySigma: the weekday's mean squared error shrunk
// towards the pooled one with weight Config.DayShrink), because a weekend
// day of a dozen messages is far noisier than a Tuesday; the seasonal
// term's own estimation error, sigma^2/DayCount of the day's weekday, is
// added; and the pooled variance is corrected for the degrees of freedom
// of the fit. Why
// analytic and not the empirical quantiles of in-sample h-step errors: a
// 180-day history gives about 150 errors per horizon, too few for stable
// 10th and 90th percentiles per horizon and weekday, and in-sample errors
// are optimistic; the analytic form is smooth in h and exact when the
// model holds (TestCoverageOnItsOwnProcess). Parameter uncertainty is not
// in the interval; the backtest measures what that costs (docs/forecast.md:
// 80% intervals cover 0.82 of generated team days).
//
// # Early warning
//
// Warn fires on the first forecast day whose whole interval is past the
// threshold: for a lower-is-worse metric (Below), the upper bound under
// it. It returns the day, by how much, how many days of the horizon are
// past, and an explanation a people-analytics partner can read. The model
// would call such a day at least 90% likely to be under the threshold;
// the backtest measured less (see Warn), so the explanation does not say
// so.
package forecast
