// Package model holds the engine's domain types and their validation rules.
//
// The rules here are the single source of truth: the API applies them to
// every request, and the Terraform provider applies the same functions at plan
// time, so that a value refused by one is refused by the other with the same
// words. Field paths in errors are JSON Pointers over the snake_case names the
// Terraform schema also uses (for example /rule/0/condition/1/operator).
//
// This package imports nothing from the rest of the engine.
package model
