package groups

import "crypto/rand"

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomID returns n random characters of upper-case letters and digits.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// newGroupID returns an auto-generated group ID, @TGS# + 10 random
// characters (36^10 ≈ 3.6e15 values; the store refuses a taken one and the
// Service draws again).
func newGroupID() string { return "@TGS#" + randomID(10) }
