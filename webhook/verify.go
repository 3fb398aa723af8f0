package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// secrets holds a hook's secrets as bytes, in configuration order.
type secrets [][]byte

// anyHMAC reports whether want is the HMAC of the concatenated parts under
// one of the secrets. Every secret is tried, whatever matched, so the time
// taken does not tell which one did.
func (s secrets) anyHMAC(newHash func() hash.Hash, want []byte, parts ...[]byte) bool {
	match := 0
	for _, key := range s {
		m := hmac.New(newHash, key)
		for _, p := range parts {
			m.Write(p)
		}
		if hmac.Equal(m.Sum(nil), want) {
			match = 1
		}
	}
	return match == 1
}

// anyEqual reports whether got equals one of the secrets, in constant
// time. Comparing SHA-256 sums makes the time independent of the lengths.
func (s secrets) anyEqual(got string) bool {
	sum := sha256.Sum256([]byte(got))
	match := 0
	for _, key := range s {
		k := sha256.Sum256(key)
		match |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	return match == 1
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

func unverified(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnverified, fmt.Sprintf(format, args...))
}

// millis parses a decimal Unix time in milliseconds.
func millis(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 || ms > 1<<50 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// inWindow checks that the signed time ts is within window of now, either
// way: older is a replay, newer a clock that cannot be trusted.
func inWindow(ts, now time.Time, window time.Duration) error {
	d := now.Sub(ts)
	if d < 0 {
		d = -d
	}
	if d >= window {
		return unverified("signed timestamp %s is %s from now, outside the %s window", ts.UTC().Format(time.RFC3339), d.Round(time.Second), window)
	}
	return nil
}
