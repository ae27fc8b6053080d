// Package auth signs and verifies chatd's login tokens: JSON Web Tokens
// (RFC 7519) signed with HMAC-SHA256 ("HS256", RFC 7515), the role TIM's
// UserSig plays. The application's backend signs them with the shared secret;
// any JWT library that produces HS256 tokens with a string "sub" and a numeric
// "exp" claim works. Only the standard library is used.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DevSecret is the fixed, documented secret used in dev mode (no
// CHAT_TOKEN_SECRET), so dev tokens survive restarts and work on every dev
// node. It is public: never use it for a server reachable by others.
const DevSecret = "chatd-dev-secret-not-for-production"

// MaxTokenBytes is the longest token Verify accepts.
const MaxTokenBytes = 4096

// nbfLeeway tolerates clock skew between the token's issuer and this node
// when a token carries a "nbf" (not before) claim.
const nbfLeeway = time.Minute

// maxNumericDate bounds "exp", "iat" and "nbf" to year 9999 so that the
// conversion to time.Time cannot overflow.
const maxNumericDate = 253402300799

var (
	// ErrExpired is returned by Verify for a well-formed, correctly signed
	// token whose "exp" has passed.
	ErrExpired = errors.New("token expired")
	// ErrInvalid is returned (wrapped with a reason) by Verify for every
	// other rejected token: malformed, wrong algorithm, bad signature, bad
	// claims.
	ErrInvalid = errors.New("token invalid")
)

// Claims are the claims chatd reads from a token.
type Claims struct {
	Subject  string    // "sub": the userID the token was issued to
	Expires  time.Time // "exp"
	IssuedAt time.Time // "iat"; zero when the token has none
}

// header is the JOSE header Sign writes.
var header = b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

var b64 = base64.RawURLEncoding.Strict()

// Sign returns an HS256 JWT for userID, issued at now and expiring ttl later
// (exp and iat are whole Unix seconds).
func Sign(secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	switch {
	case len(secret) == 0:
		return "", errors.New("failed to sign token: empty secret")
	case userID == "":
		return "", errors.New("failed to sign token: empty userID")
	case ttl <= 0:
		return "", fmt.Errorf("failed to sign token: ttl must be positive, got %v", ttl)
	}
	payload, err := json.Marshal(struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{userID, now.Unix(), now.Add(ttl).Unix()})
	if err != nil {
		return "", fmt.Errorf("failed to sign token: %w", err)
	}
	signed := header + "." + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(mac(secret, signed)), nil
}

// Verify checks token's signature with secret and returns its claims. It
// returns an error wrapping ErrInvalid for anything but a correctly signed
// HS256 JWT with a string "sub" and a numeric "exp", and ErrExpired (with the
// claims) when now is at or after "exp". The signature is checked before any
// claim, so an expired token is reported as expired only when it is genuine.
func Verify(secret []byte, token string, now time.Time) (Claims, error) {
	parts, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	if err := checkHeader(parts[0]); err != nil {
		return Claims{}, err
	}
	if err := checkSignature(secret, parts); err != nil {
		return Claims{}, err
	}
	c, nbf, err := parseClaims(parts[1])
	if err != nil {
		return Claims{}, err
	}
	if !nbf.IsZero() && now.Add(nbfLeeway).Before(nbf) {
		return Claims{}, invalid("not valid before %d (nbf)", nbf.Unix())
	}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// split cuts token into its three base64url parts. Characters outside the
// base64url alphabet are refused up front because the decoder would skip
// CR and LF silently.
func split(token string) ([]string, error) {
	if len(token) > MaxTokenBytes {
		return nil, invalid("longer than %d bytes", MaxTokenBytes)
	}
	for i := 0; i < len(token); i++ {
		if !isTokenByte(token[i]) {
			return nil, invalid("bad character at byte %d", i)
		}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, invalid("want 3 dot-separated parts, got %d", len(parts))
	}
	return parts, nil
}

func isTokenByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// checkHeader accepts only alg HS256, with typ JWT (any case) or no typ, and
// no "crit" extensions (RFC 7515 §4.1.11: unknown critical ones must fail).
func checkHeader(part string) error {
	h, err := decodeObject(part)
	if err != nil {
		return invalid("header: %v", err)
	}
	if alg := string(h["alg"]); alg != `"HS256"` {
		return invalid("alg must be \"HS256\", got %s", orNone(alg))
	}
	if typ, ok := h["typ"]; ok && !strings.EqualFold(string(typ), `"JWT"`) {
		return invalid("typ must be \"JWT\", got %s", typ)
	}
	if _, ok := h["crit"]; ok {
		return invalid("unsupported crit header")
	}
	return nil
}

// decodeObject decodes one base64url JSON object. Keys match exactly (not
// case-insensitively as with struct decoding); for a duplicate key the last
// one wins.
func decodeObject(part string) (map[string]json.RawMessage, error) {
	raw, err := b64.DecodeString(part)
	if err != nil {
		return nil, errors.New("bad base64")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func checkSignature(secret []byte, parts []string) error {
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return invalid("bad base64 in signature")
	}
	if !hmac.Equal(sig, mac(secret, parts[0]+"."+parts[1])) {
		return invalid("bad signature")
	}
	return nil
}

func mac(secret []byte, signed string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(signed))
	return h.Sum(nil)
}

// parseClaims reads sub, exp and the optional iat and nbf.
func parseClaims(part string) (c Claims, nbf time.Time, err error) {
	p, err := decodeObject(part)
	if err != nil {
		return c, nbf, invalid("payload: %v", err)
	}
	if err := json.Unmarshal(p["sub"], &c.Subject); err != nil || c.Subject == "" {
		return Claims{}, nbf, invalid("sub must be a non-empty string")
	}
	if isNull(p["exp"]) {
		return Claims{}, nbf, invalid("exp is required")
	}
	if c.Expires, err = numericDate("exp", p["exp"]); err != nil {
		return Claims{}, nbf, err
	}
	if c.IssuedAt, err = numericDate("iat", p["iat"]); err != nil {
		return Claims{}, nbf, err
	}
	nbf, err = numericDate("nbf", p["nbf"])
	return c, nbf, err
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// numericDate converts an RFC 7519 NumericDate (a JSON number of seconds,
// possibly fractional; not a string); an absent one gives the zero time.
func numericDate(claim string, raw json.RawMessage) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || raw[0] == '"' {
		return time.Time{}, invalid("%s must be a number", claim)
	}
	if math.Abs(f) > maxNumericDate {
		return time.Time{}, invalid("%s out of range", claim)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
