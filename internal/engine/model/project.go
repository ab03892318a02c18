package model

import (
	"regexp"
	"time"
	"unicode/utf8"
)

// DefaultProject is the project that every store starts with and that the
// provider uses when none is configured.
const DefaultProject = "default"

var projectNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// MaxDescriptionLength bounds free-text descriptions, in characters.
const MaxDescriptionLength = 1024

// Project is a namespace for objects. Every object lives in exactly one
// project; URLs and import IDs carry it, so team-scoped tokens can arrive
// without changing either.
type Project struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProjectSpec is the part of a project that its owner writes.
type ProjectSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Validate checks a project's spec.
func (s ProjectSpec) Validate() error {
	var p Problems
	ValidateName(&p, "/name", s.Name, "project name")
	ValidateDescription(&p, "/description", s.Description)
	return p.Err()
}

// ValidateName checks a name used in URLs and import IDs: lower-case letters,
// digits and hyphens, starting with a letter or digit, at most 63 characters.
func ValidateName(p *Problems, pointer, name, what string) {
	switch {
	case name == "":
		p.Add(pointer, "the "+what+" is required")
	case !projectNameRE.MatchString(name):
		p.Add(pointer, "the "+what+" "+quote(name)+" is not valid: use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit (for example \"checkout-team\")")
	}
}

// ValidateDescription checks a free-text description.
func ValidateDescription(p *Problems, pointer, description string) {
	if n := utf8.RuneCountInString(description); n > MaxDescriptionLength {
		p.Add(pointer, "the description is "+itoa(n)+" characters long; shorten it to at most "+itoa(MaxDescriptionLength))
	}
	if !utf8.ValidString(description) {
		p.Add(pointer, "the description is not valid UTF-8; re-encode it as UTF-8 text")
	}
}
