// Package usage marks errors caused by bad input (flags, arguments, configuration) so that
// every binary maps them to the same exit code.
package usage

import (
	"errors"
	"fmt"
)

// ErrBadInput is matched with errors.Is by every error from Errorf and Wrap.
var ErrBadInput = errors.New("bad input")

type badInput struct{ err error }

func (e *badInput) Error() string        { return e.err.Error() }
func (e *badInput) Unwrap() error        { return e.err }
func (e *badInput) Is(target error) bool { return target == ErrBadInput }

// Errorf formats a message like fmt.Errorf (so %w works) and marks it as bad input.
// The message is the cause alone: no "bad input" prefix is added.
func Errorf(format string, a ...any) error {
	return &badInput{err: fmt.Errorf(format, a...)}
}

// Wrap marks err as bad input, keeping its message; nil stays nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &badInput{err: err}
}
