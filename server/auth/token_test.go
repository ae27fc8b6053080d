package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("0123456789abcdef-test-secret")
	testNow    = time.Unix(1764028800, 0)
)

// handMade builds a token the way RFC 7519 §3 describes, independently of
// Sign: base64url(header) "." base64url(payload) "." base64url(HMAC).
func handMade(secret []byte, header, payload string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(h.Sum(nil))
}

const hs256 = `{"alg":"HS256","typ":"JWT"}`

func TestVerify(t *testing.T) {
	valid := handMade(testSecret, hs256, `{"sub":"alice","iat":1764028800,"exp":1764032400}`)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","iat":1764028800,"exp":1764032400}`)) +
		"." + parts[2]
	tests := []struct {
		name    string
		token   string
		now     time.Time
		want    error
		reason  string // substring of the error message
		subject string
	}{
		{name: "valid", token: valid, now: testNow, subject: "alice"},
		{name: "one second before exp", token: valid, now: time.Unix(1764032399, 0), subject: "alice"},
		{name: "expired at exp", token: valid, now: time.Unix(1764032400, 0), want: ErrExpired, subject: "alice"},
		{name: "expired later", token: valid, now: time.Unix(1864032400, 0), want: ErrExpired, subject: "alice"},
		{name: "tampered payload", token: tampered, now: testNow, want: ErrInvalid, reason: "bad signature"},
		{name: "tampered signature", token: parts[0] + "." + parts[1] + "." + flip(parts[2]), now: testNow, want: ErrInvalid, reason: "bad signature"},
		{name: "wrong secret", token: handMade([]byte("another-secret-of-16"), hs256, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "bad signature"},
		{name: "expired with wrong secret is invalid", token: handMade([]byte("another-secret-of-16"), hs256, `{"sub":"alice","exp":1}`), now: testNow, want: ErrInvalid, reason: "bad signature"},
		{name: "alg none", token: unsigned(`{"alg":"none","typ":"JWT"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "alg none signed", token: handMade(testSecret, `{"alg":"none"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "alg HS512", token: handMade(testSecret, `{"alg":"HS512","typ":"JWT"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "alg lower case", token: handMade(testSecret, `{"alg":"hs256"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "alg missing", token: handMade(testSecret, `{"typ":"JWT"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "alg key in other case", token: handMade(testSecret, `{"ALG":"HS256"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "alg"},
		{name: "typ absent", token: handMade(testSecret, `{"alg":"HS256"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, subject: "alice"},
		{name: "typ lower case", token: handMade(testSecret, `{"alg":"HS256","typ":"jwt"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, subject: "alice"},
		{name: "typ other", token: handMade(testSecret, `{"alg":"HS256","typ":"JWE"}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "typ"},
		{name: "typ not a string", token: handMade(testSecret, `{"alg":"HS256","typ":1}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "typ"},
		{name: "crit header", token: handMade(testSecret, `{"alg":"HS256","crit":["b64"],"b64":false}`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "crit"},
		{name: "header not JSON", token: handMade(testSecret, `alg=HS256`, `{"sub":"alice","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "header"},
		{name: "missing exp", token: handMade(testSecret, hs256, `{"sub":"alice","iat":1764028800}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "null exp", token: handMade(testSecret, hs256, `{"sub":"alice","exp":null}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "exp as string", token: handMade(testSecret, hs256, `{"sub":"alice","exp":"1764032400"}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "exp as bool", token: handMade(testSecret, hs256, `{"sub":"alice","exp":true}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "exp huge", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1e300}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "exp fractional", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764028800.5}`), now: testNow, subject: "alice"},
		{name: "exp in other case only", token: handMade(testSecret, hs256, `{"sub":"alice","EXP":1764032400}`), now: testNow, want: ErrInvalid, reason: "exp"},
		{name: "iat optional", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764032400}`), now: testNow, subject: "alice"},
		{name: "iat as string", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764032400,"iat":"x"}`), now: testNow, want: ErrInvalid, reason: "iat"},
		{name: "nbf in the future", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764032400,"nbf":1764030000}`), now: testNow, want: ErrInvalid, reason: "nbf"},
		{name: "nbf within leeway", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764032400,"nbf":1764028830}`), now: testNow, subject: "alice"},
		{name: "missing sub", token: handMade(testSecret, hs256, `{"exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "sub"},
		{name: "empty sub", token: handMade(testSecret, hs256, `{"sub":"","exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "sub"},
		{name: "sub not a string", token: handMade(testSecret, hs256, `{"sub":42,"exp":1764032400}`), now: testNow, want: ErrInvalid, reason: "sub"},
		{name: "payload not JSON", token: handMade(testSecret, hs256, `sub=alice`), now: testNow, want: ErrInvalid, reason: "payload"},
		{name: "payload JSON array", token: handMade(testSecret, hs256, `["alice"]`), now: testNow, want: ErrInvalid, reason: "payload"},
		{name: "payload null", token: handMade(testSecret, hs256, `null`), now: testNow, want: ErrInvalid, reason: "payload"},
		{name: "garbage", token: "not a token", now: testNow, want: ErrInvalid},
		{name: "empty", token: "", now: testNow, want: ErrInvalid, reason: "3"},
		{name: "two parts", token: parts[0] + "." + parts[1], now: testNow, want: ErrInvalid, reason: "3"},
		{name: "four parts", token: valid + ".x", now: testNow, want: ErrInvalid, reason: "3"},
		{name: "bad base64 header", token: "e." + parts[1] + "." + parts[2], now: testNow, want: ErrInvalid, reason: "base64"},
		{name: "padded base64", token: valid + "=", now: testNow, want: ErrInvalid},
		{name: "newline inside", token: parts[0] + "\n." + parts[1] + "." + parts[2], now: testNow, want: ErrInvalid, reason: "character"},
		{name: "too long", token: handMade(testSecret, hs256, `{"sub":"alice","exp":1764032400,"pad":"`+strings.Repeat("x", 4000)+`"}`), now: testNow, want: ErrInvalid, reason: "4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Verify(testSecret, tt.token, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.want)
			}
			if tt.reason != "" && !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Verify() error = %q, want it to mention %q", err, tt.reason)
			}
			if c.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", c.Subject, tt.subject)
			}
		})
	}
}

func unsigned(header, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "."
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestSignVerify(t *testing.T) {
	tok, err := Sign(testSecret, "alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(testSecret, tok, testNow)
	if err != nil {
		t.Fatalf("Verify(Sign()) = %v", err)
	}
	want := Claims{Subject: "alice", Expires: testNow.Add(time.Hour), IssuedAt: testNow}
	if !c.Expires.Equal(want.Expires) || !c.IssuedAt.Equal(want.IssuedAt) || c.Subject != want.Subject {
		t.Errorf("claims = %+v, want %+v", c, want)
	}
	if _, err := Verify(testSecret, tok, testNow.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify at exp = %v, want ErrExpired", err)
	}
	if _, err := Verify([]byte(DevSecret), tok, testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify with another secret = %v, want ErrInvalid", err)
	}
}

func TestSignHeaderIsStandard(t *testing.T) {
	tok, err := Sign(testSecret, "alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// What every JWT library emits for {"alg":"HS256","typ":"JWT"}.
	if h, _, _ := strings.Cut(tok, "."); h != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" {
		t.Errorf("header = %q", h)
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		user   string
		ttl    time.Duration
	}{
		{"empty secret", nil, "alice", time.Hour},
		{"empty user", testSecret, "", time.Hour},
		{"zero ttl", testSecret, "alice", 0},
		{"negative ttl", testSecret, "alice", -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := Sign(tt.secret, tt.user, tt.ttl, testNow); err == nil {
				t.Errorf("Sign() = %q, want an error", tok)
			}
		})
	}
}

// TestVerifyHandMade checks tokens another backend might produce: keys in
// another order, whitespace, extra registered and private claims.
func TestVerifyHandMade(t *testing.T) {
	tok := handMade(testSecret, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
		"{\"iss\":\"backend\",\r\n \"exp\":1764032400,\r\n \"sub\":\"bob\", \"aud\":[\"chatd\"], \"http://example.com/is_root\":true}")
	c, err := Verify(testSecret, tok, testNow)
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if c.Subject != "bob" || c.Expires.Unix() != 1764032400 || !c.IssuedAt.IsZero() {
		t.Errorf("claims = %+v", c)
	}
}

// TestVerifyRFC7515Example checks the HS256 example of RFC 7515 Appendix
// A.1 (the same token as RFC 7519 §3.1). It has no "sub", so it must get
// past the signature check and fail on the missing subject.
func TestVerifyRFC7515Example(t *testing.T) {
	key, err := base64.RawURLEncoding.DecodeString(
		"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
	if err != nil {
		t.Fatal(err)
	}
	tok := "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	_, err = Verify(key, tok, time.Unix(1300819000, 0))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "sub") {
		t.Errorf("Verify(RFC example) = %v, want ErrInvalid about sub", err)
	}
	_, err = Verify(key[1:], tok, time.Unix(1300819000, 0))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "signature") {
		t.Errorf("Verify(RFC example, wrong key) = %v, want bad signature", err)
	}
}

func FuzzVerify(f *testing.F) {
	tok, _ := Sign(testSecret, "alice", time.Hour, testNow)
	f.Add(tok)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Verify(testSecret, s, testNow)
		if err == nil && c.Subject == "" {
			t.Errorf("accepted %q without a subject", s)
		}
	})
}
