package nab

import "commpulse/anomaly"

// Detect runs one fresh anomaly.Detector per series and returns the scores
// in the form Score expects.
func Detect(corpus []Series, cfg anomaly.Config) ([]Scored, error) {
	out := make([]Scored, len(corpus))
	for i, s := range corpus {
		d, err := anomaly.New(cfg)
		if err != nil {
			return nil, err
		}
		sc := make([]float64, len(s.Values))
		for j := range s.Values {
			sc[j] = d.Observe(s.Times[j], s.Values[j]).Score
		}
		out[i] = Scored{Name: s.Name, Scores: sc, Windows: s.Windows}
	}
	return out, nil
}

// Evaluate detects with cfg and scores the corpus under every profile.
func Evaluate(corpus []Series, cfg anomaly.Config) ([]Result, error) {
	scored, err := Detect(corpus, cfg)
	if err != nil {
		return nil, err
	}
	res := make([]Result, 0, len(Profiles))
	for _, p := range Profiles {
		r, err := Score(scored, p)
		if err != nil {
			return nil, err
		}
		res = append(res, r)
	}
	return res, nil
}
