// Package review is the human review of anomalies: a state machine (this
// file, pure), the suppression of repeats after a dismissal (suppress.go,
// pure), a service that applies transitions to the stored reviews
// (service.go) and the HTTP API over it (http.go). The SQL is package
// store's (store/review.go, migration 0011); docs/analyze.md#review is the
// user's description.
//
// # States and transitions
//
// Every stored anomaly has a review state; one without a review is new.
//
//	from          to            note
//	new           acknowledged  someone is looking at it
//	acknowledged  confirmed     the anomaly is real and worth the alert
//	acknowledged  dismissed     with a reason: false_positive, expected, duplicate, other
//	confirmed     acknowledged  reopened: the judgement is withdrawn
//	dismissed     acknowledged  reopened: the dismissal (and its suppression) is lifted
//
// Every other pair is refused (ErrBadTransition), the same state again
// included: judging needs an acknowledgement first, so the report's
// acknowledged count is the work in progress, and changing a judgement
// goes through a reopening. A reason goes with dismissed and with nothing
// else (ErrBadReason).
//
// # Reviewers
//
// A review records who made it as a pseudonym, never a name: the API
// stores TokenReviewer(token), "tok_" and 12 hex digits of the token's
// SHA-256 (one token per reviewer makes it a per-reviewer pseudonym, one
// shared token a label of the API), and the CLI stores "cli". Reviews
// hold no free text: the reason is one of a fixed list.
package review

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"commpulse/pipeline/store"
)

// State is a review state (store.ReviewState: its values are stored).
type State = store.ReviewState

// Reason is a dismissal reason (store.DismissReason).
type Reason = store.DismissReason

// The states.
const (
	New          = store.ReviewNew
	Acknowledged = store.ReviewAcknowledged
	Confirmed    = store.ReviewConfirmed
	Dismissed    = store.ReviewDismissed
)

// The dismissal reasons.
const (
	NoReason      = store.ReasonNone
	FalsePositive = store.ReasonFalsePositive
	Expected      = store.ReasonExpected
	Duplicate     = store.ReasonDuplicate
	Other         = store.ReasonOther
)

// States lists every state, in lifecycle order.
var States = []State{New, Acknowledged, Confirmed, Dismissed}

// Reasons lists the dismissal reasons.
var Reasons = []Reason{FalsePositive, Expected, Duplicate, Other}

// transitions is the table of the package doc: the states each state may
// move to.
var transitions = map[State][]State{
	New:          {Acknowledged},
	Acknowledged: {Confirmed, Dismissed},
	Confirmed:    {Acknowledged},
	Dismissed:    {Acknowledged},
}

// Errors callers branch on.
var (
	// ErrBadTransition: the state machine does not allow the move.
	ErrBadTransition = errors.New("review transition not allowed")
	// ErrBadReason: a dismissal without a known reason, or a reason on
	// another state.
	ErrBadReason = errors.New("bad dismissal reason")
	// ErrBadState: not a state, or new (which cannot be set).
	ErrBadState = errors.New("bad review state")
)

// TransitionError is a refused transition; it matches ErrBadTransition.
type TransitionError struct{ From, To State }

func (e *TransitionError) Error() string {
	return fmt.Sprintf("review %s -> %s: %v (from %s: %v)", e.From, e.To, ErrBadTransition, e.From, Next(e.From))
}

// Unwrap makes errors.Is(err, ErrBadTransition) hold.
func (e *TransitionError) Unwrap() error { return ErrBadTransition }

// Next returns the states from may move to.
func Next(from State) []State { return slices.Clone(transitions[from]) }

// Allowed reports whether from may move to to.
func Allowed(from, to State) bool { return slices.Contains(transitions[from], to) }

// Check validates the move from -> to with reason: the state and reason
// must be known and go together (ErrBadState, ErrBadReason), and the move
// allowed (a *TransitionError).
func Check(from, to State, reason Reason) error {
	if err := checkTarget(to, reason); err != nil {
		return err
	}
	if !Allowed(from, to) {
		return &TransitionError{From: from, To: to}
	}
	return nil
}

// checkTarget is the part of Check that does not depend on the current
// state: to is a state that can be set, with the reason it needs.
func checkTarget(to State, reason Reason) error {
	if !slices.Contains(States, to) || to == New {
		return fmt.Errorf("review state %q: %w (set one of acknowledged, confirmed, dismissed)", to, ErrBadState)
	}
	switch {
	case to == Dismissed && !slices.Contains(Reasons, reason):
		return fmt.Errorf("dismissal reason %q: %w (want one of %v)", reason, ErrBadReason, Reasons)
	case to != Dismissed && reason != NoReason:
		return fmt.Errorf("reason %q on %s: %w (only a dismissal has a reason)", reason, to, ErrBadReason)
	}
	return nil
}

// ParseState parses a state name (new included, for filters).
func ParseState(s string) (State, error) {
	if st := State(s); slices.Contains(States, st) {
		return st, nil
	}
	return "", fmt.Errorf("review state %q: %w (want one of %v)", s, ErrBadState, States)
}

// ParseReason parses a reason name; "" is NoReason.
func ParseReason(s string) (Reason, error) {
	if r := Reason(s); r == NoReason || slices.Contains(Reasons, r) {
		return r, nil
	}
	return "", fmt.Errorf("dismissal reason %q: %w (want one of %v)", s, ErrBadReason, Reasons)
}

// CLIReviewer is the reviewer label of reviews set with `commpulse review
// set`: whoever holds ClickHouse credentials of the reviewer role.
const CLIReviewer = "cli"

// TokenReviewer is the pseudonym of the API token a review was made with:
// "tok_" and the first 12 hex digits of the token's SHA-256. Tokens are
// long random secrets, so the pseudonym tells nothing of the token; which
// person holds which token is known only to whoever handed them out.
func TokenReviewer(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "tok_" + hex.EncodeToString(sum[:6])
}

// reviewerRE is what the table's constraint accepts (migration 0011).
var reviewerRE = regexp.MustCompile(`^(cli|tok_[0-9a-f]{12})$`)

// ValidReviewer reports whether s is a reviewer the table accepts.
func ValidReviewer(s string) bool { return reviewerRE.MatchString(s) }
