package nlp

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jonreiter/govader"
)

// evalDir is the shared evaluation data, relative to this package
// (../shared/eval from the project root). See ../../shared/eval/README.md.
const evalDir = "../../shared/eval/sentiment"

type ratedText struct {
	text   string
	rating float64 // tweets: human mean -4..+4; se_github: class -1/0/+1
}

// requireEval opens an evaluation file. Missing data skips the test only
// when COMMPULSE_REQUIRE_EVAL is unset (developer machines); CI sets it,
// so a missing file fails loudly there.
func requireEval(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(evalDir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && os.Getenv("COMMPULSE_REQUIRE_EVAL") == "" {
			t.Skipf("evaluation data %s not found (set COMMPULSE_REQUIRE_EVAL=1 to make this fatal): %v", name, err)
		}
		t.Fatalf("evaluation data required: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func loadTweets(t testing.TB) []ratedText {
	f := requireEval(t, "vader_tweets_groundtruth.tsv")
	var out []ratedText
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			continue
		}
		r, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			t.Fatalf("tweets: bad rating %q: %v", parts[1], err)
		}
		out = append(out, ratedText{text: parts[2], rating: r})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("tweets: %v", err)
	}
	if len(out) < 4000 {
		t.Fatalf("tweets: read %d rows, want about 4200", len(out))
	}
	return out
}

func loadGithub(t testing.TB) []ratedText {
	f := requireEval(t, "se_github.csv")
	r := csv.NewReader(f)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	var out []ratedText
	header := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("se_github: %v", err)
		}
		if header {
			header = false
			continue
		}
		if len(rec) < 4 {
			t.Fatalf("se_github: short record %d fields", len(rec))
		}
		c, err := strconv.Atoi(strings.TrimSpace(rec[len(rec)-1]))
		if err != nil {
			t.Fatalf("se_github: bad class %q", rec[len(rec)-1])
		}
		text := strings.TrimSuffix(strings.Join(rec[2:len(rec)-1], ","), `"`)
		out = append(out, ratedText{text: text, rating: float64(c)})
	}
	if len(out) < 7000 {
		t.Fatalf("se_github: read %d rows, want 7122", len(out))
	}
	return out
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
		sxy += x[i] * y[i]
	}
	cov := sxy - sx*sy/n
	return cov / math.Sqrt((sxx-sx*sx/n)*(syy-sy*sy/n))
}

// macroF1 over the classes -1, 0, +1.
func macroF1(pred, gold []int) float64 {
	var f1 float64
	for _, c := range []int{-1, 0, 1} {
		var tp, fp, fn float64
		for i := range pred {
			switch {
			case pred[i] == c && gold[i] == c:
				tp++
			case pred[i] == c:
				fp++
			case gold[i] == c:
				fn++
			}
		}
		if tp > 0 {
			p, r := tp/(tp+fp), tp/(tp+fn)
			f1 += 2 * p * r / (p + r)
		}
	}
	return f1 / 3
}

func class(compound float64) int {
	switch {
	case compound >= 0.05:
		return 1
	case compound <= -0.05:
		return -1
	}
	return 0
}

type evalResult struct {
	tweetsR, githubF1 float64
	unscoredTweets    int
	unscoredGithub    int
}

// evaluate scores both sets with one scoring function. Messages the
// scorer declines to rate (not English, no signal) count as compound 0:
// the human ratings cover every text, so declining must not raise r.
func evaluate(t testing.TB, score func(string) (float64, bool)) evalResult {
	var res evalResult
	tw := loadTweets(t)
	x, y := make([]float64, len(tw)), make([]float64, len(tw))
	for i, r := range tw {
		c, ok := score(r.text)
		if !ok {
			res.unscoredTweets++
		}
		x[i], y[i] = c, r.rating
	}
	res.tweetsR = pearson(x, y)
	gh := loadGithub(t)
	pred, gold := make([]int, len(gh)), make([]int, len(gh))
	for i, r := range gh {
		c, ok := score(r.text)
		if !ok {
			res.unscoredGithub++
		}
		pred[i], gold[i] = class(c), int(r.rating)
	}
	res.githubF1 = macroF1(pred, gold)
	return res
}

// TestEvaluation reports Pearson r against the human ratings of the VADER
// tweets and 3-class macro-F1 on se_github, for commpulse and for govader
// (a faithful Go port of VADER) in the same run, and holds the targets.
//
//	go test ./nlp -run TestEvaluation -v
func TestEvaluation(t *testing.T) {
	a := New()
	cp := evaluate(t, func(s string) (float64, bool) {
		sc := a.Score(s)
		return sc.Compound, sc.Status == Scored
	})
	gv := govader.NewSentimentIntensityAnalyzer()
	ref := evaluate(t, func(s string) (float64, bool) {
		return gv.PolarityScores(s).Compound, true
	})
	t.Logf("tweets  Pearson r:  commpulse %.5f  govader %.5f  (commpulse left %d of 4200 unscored)", cp.tweetsR, ref.tweetsR, cp.unscoredTweets)
	t.Logf("github  macro-F1:   commpulse %.5f  govader %.5f  (commpulse left %d of 7122 unscored)", cp.githubF1, ref.githubF1, cp.unscoredGithub)

	// The targets are r >= 0.90 and macro-F1 >= 0.70; both are
	// held here, with the F1 reached (0.762) as a regression guard. The r
	// target is met by a hair (0.90005, see doc.go): a change that costs
	// any correlation fails this test and has to justify itself.
	tests := []struct {
		name      string
		got, want float64
	}{
		{"tweets r >= target", cp.tweetsR, 0.90},
		{"github macro-F1 regression guard", cp.githubF1, 0.761},
		{"github macro-F1 >= target", cp.githubF1, 0.70},
		{"tweets r >= govader", cp.tweetsR, ref.tweetsR},
		{"github macro-F1 >= govader", cp.githubF1, ref.githubF1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got < tc.want {
				t.Errorf("got %.3f, want >= %.3f", tc.got, tc.want)
			}
		})
	}
}

// auc is the ROC area of scores x against binary labels y (ties count
// half): the probability that a random positive scores above a random
// negative.
func auc(x, y []float64) float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	ranks := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			ranks[idx[k]] = float64(i+j+1) / 2
		}
		i = j
	}
	var np, nn, rs float64
	for i := range y {
		if y[i] == 1 {
			np++
			rs += ranks[i]
		} else {
			nn++
		}
	}
	return (rs - np*(np+1)/2) / (np * nn)
}

// TestHoldout reports on data no rule of this package was read from: the
// 1,000 Amazon review sentences of the UCI Sentiment Labelled Sentences
// set (binary labels), fetched by scripts/fetch-holdout.sh. It runs when
// COMMPULSE_HOLDOUT_AMAZON names the file (CI sets it) and holds ROC AUC
// at the level of version 1.4 and at least govader's.
//
//	COMMPULSE_HOLDOUT_AMAZON=$(bash scripts/fetch-holdout.sh) go test ./nlp -run TestHoldout -v
func TestHoldout(t *testing.T) {
	path := os.Getenv("COMMPULSE_HOLDOUT_AMAZON")
	if path == "" {
		t.Skip("COMMPULSE_HOLDOUT_AMAZON not set (see scripts/fetch-holdout.sh)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	var y []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text, label, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		switch strings.TrimSpace(label) {
		case "1":
			y = append(y, 1)
		case "0":
			y = append(y, 0)
		default:
			t.Fatalf("holdout: bad label %q", label)
		}
		texts = append(texts, text)
	}
	if err := sc.Err(); err != nil || len(texts) != 1000 {
		t.Fatalf("holdout: read %d sentences (%v), want 1000", len(texts), err)
	}
	a := New()
	gv := govader.NewSentimentIntensityAnalyzer()
	cp, ref := make([]float64, len(texts)), make([]float64, len(texts))
	unscored := 0
	for i, s := range texts {
		r := a.Score(s)
		if r.Status != Scored {
			unscored++
		}
		cp[i], ref[i] = r.Compound, gv.PolarityScores(s).Compound
	}
	cpAUC, refAUC := auc(cp, y), auc(ref, y)
	t.Logf("amazon  ROC AUC %.4f  Pearson r %.4f  (govader %.4f, %.4f; commpulse left %d of %d unscored)",
		cpAUC, pearson(cp, y), refAUC, pearson(ref, y), unscored, len(texts))
	if cpAUC < 0.932 {
		t.Errorf("ROC AUC %.4f, want >= 0.932 (version 1.4)", cpAUC)
	}
	if cpAUC < refAUC {
		t.Errorf("ROC AUC %.4f below govader's %.4f", cpAUC, refAUC)
	}
}
