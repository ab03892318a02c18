package alb

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/smithy-go"
)

// Errors that AWS returns while a change is still propagating or while the
// account is rate limited. Only these are retried by the router itself (the
// client's retryer handles throttling per request first); every other error
// goes straight back to the caller.
var transientCodes = []string{
	"Throttling",
	"ThrottlingException",
	"RequestLimitExceeded",
	"PriorRequestNotComplete",
}

// codeRuleNotFound is transient only right after the router created the
// rule (ELBv2 is eventually consistent, so the new ARN may not resolve yet);
// elsewhere it means the rule is gone.
const codeRuleNotFound = "RuleNotFound"

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isTransient(err error, extra ...string) bool {
	c := errorCode(err)
	return c != "" && (slices.Contains(transientCodes, c) || slices.Contains(extra, c))
}

// backoff yields gentle, growing pauses: 100ms, 200ms, … up to 1s.
type backoff struct{ next time.Duration }

func (b *backoff) wait(ctx context.Context) error {
	if b.next == 0 {
		b.next = 100 * time.Millisecond
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryTransient calls fn until it succeeds, fails with an error that is not
// transient (the named codes plus extra), or timeout passes; it then returns
// fn's last error.
func retryTransient(ctx context.Context, timeout time.Duration, fn func(context.Context) error, extra ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var b backoff
	for {
		err := fn(ctx)
		if err == nil || !isTransient(err, extra...) {
			return err
		}
		if b.wait(ctx) != nil {
			return err
		}
	}
}
