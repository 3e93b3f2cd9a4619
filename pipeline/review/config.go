package review

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"commpulse/internal/defaults"
)

// ServerConfig is where the review API listens and which tokens it
// accepts. Zero fields take the defaults of DefaultServerConfig; Validate
// reads the token file.
type ServerConfig struct {
	// Addr is the listen address of the API. Default 127.0.0.1:8090
	// (loopback: put it behind a TLS proxy, or set the TLS files).
	Addr string
	// TokenFile holds the accepted bearer tokens, one per line (blank
	// lines and lines starting with # are skipped), each at least
	// MinTokenLen characters. Required. The tokens are never logged.
	TokenFile string
	// TLSCertFile and TLSKeyFile, both or neither: serve HTTPS.
	TLSCertFile, TLSKeyFile string

	tokens Tokens
}

// DefaultAddr is the default listen address of the review API.
const DefaultAddr = "127.0.0.1:8090"

// MinTokenLen is the shortest token accepted: 32 characters, e.g. 16
// random bytes in hex (`openssl rand -hex 16`).
const MinTokenLen = 32

// DefaultServerConfig returns the defaults (the one place they live).
func DefaultServerConfig() ServerConfig { return ServerConfig{Addr: DefaultAddr} }

// RegisterFlags registers the API's flags on fs, bound to c's fields with
// c's values as defaults: call it on DefaultServerConfig().
func (c *ServerConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address of the review API")
	fs.StringVar(&c.TokenFile, "review-token-file", c.TokenFile, "file of the bearer tokens the API accepts, one per line (required; at least 32 characters each)")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", c.TLSCertFile, "PEM certificate of the API (with --tls-key-file: serve HTTPS)")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", c.TLSKeyFile, "PEM private key of the API")
}

// Validate fills the defaults, reads the token file and checks the TLS
// pair.
func (c *ServerConfig) Validate() error {
	defaults.Fill(&c.Addr, DefaultServerConfig().Addr)
	if c.TokenFile == "" {
		return errors.New("review-token-file: required (the API serves nobody without a token)")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("tls-cert-file and tls-key-file: give both or neither")
	}
	t, err := LoadTokens(c.TokenFile)
	if err != nil {
		return err
	}
	c.tokens = t
	return nil
}

// Tokens returns the tokens Validate read.
func (c ServerConfig) Tokens() Tokens { return c.tokens }

// Tokens is the set of accepted bearer tokens, kept as SHA-256 sums.
type Tokens struct {
	sums      [][sha256.Size]byte
	reviewers []string
}

// NewTokens returns the set of tokens: at least one, none shorter than
// MinTokenLen, none twice.
func NewTokens(tokens []string) (Tokens, error) {
	var t Tokens
	if len(tokens) == 0 {
		return t, errors.New("review tokens: none")
	}
	seen := map[[sha256.Size]byte]bool{}
	for i, tok := range tokens {
		if len(tok) < MinTokenLen {
			return Tokens{}, fmt.Errorf("review token %d: %d characters, want at least %d", i+1, len(tok), MinTokenLen)
		}
		if strings.ContainsAny(tok, " \t") {
			return Tokens{}, fmt.Errorf("review token %d: contains white space", i+1)
		}
		sum := sha256.Sum256([]byte(tok))
		if seen[sum] {
			return Tokens{}, fmt.Errorf("review token %d: given twice", i+1)
		}
		seen[sum] = true
		t.sums = append(t.sums, sum)
		t.reviewers = append(t.reviewers, TokenReviewer(tok))
	}
	return t, nil
}

// LoadTokens reads a token file (see ServerConfig.TokenFile). Errors name
// the file and a line number, never a token.
func LoadTokens(path string) (Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Tokens{}, fmt.Errorf("review-token-file: %w", err)
	}
	var toks []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		toks = append(toks, line)
	}
	if err := sc.Err(); err != nil {
		return Tokens{}, fmt.Errorf("review-token-file %s: %w", path, err)
	}
	t, err := NewTokens(toks)
	if err != nil {
		return Tokens{}, fmt.Errorf("review-token-file %s: %w", path, err)
	}
	return t, nil
}

// Len is the number of tokens.
func (t Tokens) Len() int { return len(t.sums) }

// Match returns the reviewer pseudonym of token when it is one of the set.
// It compares SHA-256 sums in constant time against every token (no early
// exit), so neither the time nor the position tells how much of a guess
// was right.
func (t Tokens) Match(token string) (reviewer string, ok bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.sums {
		if subtle.ConstantTimeCompare(sum[:], t.sums[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		return "", false
	}
	return t.reviewers[found], true
}
