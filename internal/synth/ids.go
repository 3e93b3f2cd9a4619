package synth

import (
	"encoding/hex"
	"time"
)

// Identifiers are derived from counters through mix64, a bijection on
// uint64 (the splitmix64 finaliser): distinct counters give distinct ids, so
// uniqueness is guaranteed rather than probable, while the ids still look
// random and depend on the seed.

// mix64 is the splitmix64 finaliser; it is a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keys are per-seed secrets for the id families, so ids of different seeds
// differ and families never collide by construction.
type keys struct {
	person, thread, event uint64
	eventHi               uint16
}

func newKeys(seed int64) keys {
	s := uint64(seed)
	return keys{
		person:  mix64(s ^ 0x70657273_6f6e0000),
		thread:  mix64(s ^ 0x74687265_61640000),
		event:   mix64(s ^ 0x6576656e_74000000),
		eventHi: uint16(mix64(s^0x68690000) >> 48),
	}
}

func hex16(v uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// personID returns "p_" + 16 hex characters for person number n.
func (k keys) personID(n int) string { return "p_" + hex16(mix64(uint64(n)+k.person)) }

// threadID returns "th_" + 16 hex characters for thread number n.
func (k keys) threadID(n uint64) string { return "th_" + hex16(mix64(n+k.thread)) }

// eventID returns a ULID-shaped id (26 characters of Crockford base32: 48
// bits of Unix milliseconds, then 80 bits) for event number n at t. The 80
// bits are 16 bits of the seed and a bijection of n, so ids are unique within
// a run and sort roughly by time like real ULIDs.
func (k keys) eventID(n uint64, t time.Time) string {
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	hi := ms<<16 | uint64(k.eventHi)
	lo := mix64(n + k.event)
	return ulidString(hi, lo)
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulidString encodes the 128 bits hi:lo as 26 base32 characters, most
// significant first (the first character carries 3 bits, as in ULID).
func ulidString(hi, lo uint64) string {
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
