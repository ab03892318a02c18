package model

import (
	"strconv"
	"strings"
)

// Semver is a parsed semantic version (semver.org 2.0.0). Pre holds the
// pre-release part; build metadata is ignored, as precedence requires.
type Semver struct {
	Major, Minor, Patch uint64
	Pre                 string
}

// ParseSemver parses "1.2.3", "v1.2.3", "1.2.3-rc.1+build". It does not
// allocate: Pre is a substring of s.
func ParseSemver(s string) (Semver, bool) {
	var v Semver
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	core := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		core, v.Pre = s[:i], s[i+1:]
		if v.Pre == "" {
			return v, false
		}
	}
	var ok bool
	var rest string
	if v.Major, rest, ok = semverNumber(core); !ok || len(rest) == 0 || rest[0] != '.' {
		return v, false
	}
	if v.Minor, rest, ok = semverNumber(rest[1:]); !ok || len(rest) == 0 || rest[0] != '.' {
		return v, false
	}
	if v.Patch, rest, ok = semverNumber(rest[1:]); !ok || rest != "" {
		return v, false
	}
	if v.Pre != "" && (strings.Contains(v.Pre, "..") || v.Pre[0] == '.' || v.Pre[len(v.Pre)-1] == '.') {
		return v, false // an empty pre-release identifier
	}
	return v, true
}

func semverNumber(s string) (uint64, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	return n, s[i:], err == nil
}

// Compare returns -1, 0 or 1 by semver precedence.
func (a Semver) Compare(b Semver) int {
	switch {
	case a.Major != b.Major:
		return cmpU(a.Major, b.Major)
	case a.Minor != b.Minor:
		return cmpU(a.Minor, b.Minor)
	case a.Patch != b.Patch:
		return cmpU(a.Patch, b.Patch)
	}
	switch {
	case a.Pre == b.Pre:
		return 0
	case a.Pre == "":
		return 1
	case b.Pre == "":
		return -1
	}
	x, y := a.Pre, b.Pre
	for {
		var xi, yi string
		xi, x, _ = strings.Cut(x, ".")
		yi, y, _ = strings.Cut(y, ".")
		if c := comparePreID(xi, yi); c != 0 {
			return c
		}
		switch {
		case x == "" && y == "":
			return 0
		case x == "":
			return -1
		case y == "":
			return 1
		}
	}
}

func comparePreID(a, b string) int {
	an, aNum := numericID(a)
	bn, bNum := numericID(b)
	switch {
	case aNum && bNum:
		return cmpU(an, bn)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(a, b)
}

func numericID(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseNumber(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// ParseNumber parses a condition operand of a numeric operator.
func ParseNumber(s string) (float64, error) { return parseNumber(s) }
