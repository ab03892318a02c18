package model

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// TokenKind says what a token may do.
type TokenKind string

// Token kinds, from most to least powerful.
const (
	// TokenAdmin may do everything, including managing tokens.
	TokenAdmin TokenKind = "admin"
	// TokenWrite may use the management API; Terraform uses one.
	TokenWrite TokenKind = "write"
	// TokenSDK may only evaluate flags.
	TokenSDK TokenKind = "sdk"
	// TokenShadow may only read the config of the dark launches it names
	// and post their stats: `progressive shadow` uses one. It is outside
	// the admin ⊇ write ⊇ sdk order.
	TokenShadow TokenKind = "shadow"
)

// TokenKinds lists every kind, for validation messages and schemas.
var TokenKinds = []TokenKind{TokenAdmin, TokenWrite, TokenSDK, TokenShadow}

// TokenPrefix starts every token, so secret scanners can recognise one.
const TokenPrefix = "prog_"

// MinTokenLength is the shortest token accepted, including a bootstrap token
// supplied by the operator.
const MinTokenLength = 32

// Token is a bearer credential. Only its SHA-256 hash is stored; the secret is
// shown once, when the token is created.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Kind      TokenKind  `json:"kind"`
	Hash      string     `json:"-"`
	Hint      string     `json:"hint"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Project is the project an sdk token evaluates flags in ("" means default).
	Project string `json:"project,omitempty"`
	// AllOn makes every evaluation with this sdk token return each toggle's
	// on_variant, for acceptance tests that exercise new code paths.
	AllOn bool `json:"all_on,omitempty"`
	// DarkLaunches are the dark launches (in Project) a shadow token serves.
	DarkLaunches []string `json:"dark_launches,omitempty"`
}

// ServesDarkLaunch reports whether a shadow token may read and report for
// the dark launch project/name.
func (t Token) ServesDarkLaunch(project, name string) bool {
	if t.Kind != TokenShadow {
		return true
	}
	if t.EvaluationProject() != project {
		return false
	}
	for _, n := range t.DarkLaunches {
		if n == name {
			return true
		}
	}
	return false
}

// EvaluationProject is the project the token evaluates flags in.
func (t Token) EvaluationProject() string {
	if t.Project == "" {
		return DefaultProject
	}
	return t.Project
}

// TokenSpec is what a caller supplies to create a token.
type TokenSpec struct {
	Name string    `json:"name"`
	Kind TokenKind `json:"kind"`
	// Project applies to sdk and shadow tokens, AllOn to sdk tokens,
	// DarkLaunches to shadow tokens (at least one).
	Project      string   `json:"project,omitempty"`
	AllOn        bool     `json:"all_on,omitempty"`
	DarkLaunches []string `json:"dark_launches,omitempty"`
}

// Validate checks a token request.
func (s TokenSpec) Validate() error {
	var p Problems
	ValidateName(&p, "/name", s.Name, "token name")
	if !s.Kind.Valid() {
		p.Add("/kind", "the token kind "+quote(string(s.Kind))+" is not valid: use admin, write, sdk or shadow")
	}
	if s.Project != "" {
		ValidateName(&p, "/project", s.Project, "project name")
	}
	if s.Kind != TokenSDK && s.AllOn {
		p.Add("/all_on", "all_on applies to sdk tokens only; create the token with kind sdk")
	}
	if (s.Kind == TokenAdmin || s.Kind == TokenWrite) && s.Project != "" {
		p.Add("/project", "project applies to sdk and shadow tokens only; admin and write tokens reach every project")
	}
	switch {
	case s.Kind == TokenShadow && len(s.DarkLaunches) == 0:
		p.Add("/dark_launches", "a shadow token serves the dark launches it names: give at least one (progressive token create --kind shadow --dark-launch NAME)")
	case s.Kind != TokenShadow && len(s.DarkLaunches) > 0:
		p.Add("/dark_launches", "dark_launches applies to shadow tokens only; create the token with kind shadow")
	}
	for i, n := range s.DarkLaunches {
		if !envNameRE.MatchString(n) {
			p.Add(Pointer("dark_launches", i), quote(n)+" is not a dark launch name")
		}
	}
	return p.Err()
}

// Valid reports whether k is a known kind.
func (k TokenKind) Valid() bool {
	return k == TokenAdmin || k == TokenWrite || k == TokenSDK || k == TokenShadow
}

// NewTokenSecret returns a fresh token: the prefix and 256 random bits.
func NewTokenSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewTokenID returns a public identifier for a token record.
func NewTokenID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "tok_" + hex.EncodeToString(b)
}

// HashToken returns the stored form of a secret.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenHint returns the part of a secret that is safe to show in listings.
func TokenHint(secret string) string {
	rest := strings.TrimPrefix(secret, TokenPrefix)
	if len(rest) > 4 {
		rest = rest[:4]
	}
	return TokenPrefix + rest + "…"
}

// ValidateTokenSecret checks a secret supplied by an operator (the bootstrap
// token) rather than generated here.
func ValidateTokenSecret(secret string) error {
	var p Problems
	if len(secret) < MinTokenLength {
		p.Add("/token", "the token is "+itoa(len(secret))+" characters long; use at least "+itoa(MinTokenLength)+" random characters (for example the output of `openssl rand -base64 32`)")
	}
	for _, r := range secret {
		if r <= ' ' || r > '~' {
			p.Add("/token", "the token may contain only printable ASCII characters without spaces")
			break
		}
	}
	return p.Err()
}
