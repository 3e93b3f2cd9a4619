package privacy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Pseudonymizer re-keys person ids before storage: the stored id is
// "h_" + the first 16 bytes of HMAC-SHA256(key, id), hex. The producer's
// pseudonyms then never reach ClickHouse, so a leaked table cannot be joined
// back to the producer's mapping without the key; rotating the key breaks
// history continuity by design. A nil Pseudonymizer keeps ids unchanged.
type Pseudonymizer struct{ key []byte }

// MinKeyBytes is the shortest accepted key.
const MinKeyBytes = 32

// NewPseudonymizer returns nil for an empty key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("pseudonymisation key: %d bytes, need at least %d", len(key), MinKeyBytes)
	}
	return &Pseudonymizer{key: append([]byte(nil), key...)}, nil
}

// NewRandomPseudonymizer returns a Pseudonymizer under a fresh random key
// of MinKeyBytes that exists only in this process. Its ids are one-way and
// stable for the life of the process, and cannot be linked to ids of any
// other process or of an earlier run: use it where a keyed hash is needed
// and no key was configured (the DLQ's record keys), never for stored ids
// that must survive a restart.
func NewRandomPseudonymizer() (*Pseudonymizer, error) {
	key := make([]byte, MinKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random pseudonymisation key: %w", err)
	}
	return &Pseudonymizer{key: key}, nil
}

// ID maps one person id. Safe for concurrent use.
func (p *Pseudonymizer) ID(id string) string {
	if p == nil {
		return id
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(id))
	var buf [sha256.Size]byte
	sum := m.Sum(buf[:0])
	return "h_" + hex.EncodeToString(sum[:16])
}

// IDs maps ids into a new slice.
func (p *Pseudonymizer) IDs(ids []string) []string {
	if p == nil {
		return ids
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p.ID(id)
	}
	return out
}
