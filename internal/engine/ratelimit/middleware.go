package ratelimit

import (
	"context"
	"fmt"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// MiddlewareID identifies the limiter in an SDK middleware stack.
const MiddlewareID = "ProgressiveRateLimit"

// retryID is the ID of the SDK's retry middleware ("Retry").
var retryID = (&retry.Attempt{}).ID()

// Middleware returns an SDK stack option that makes every attempt of every
// call wait for l: append it to aws.Config.APIOptions before building
// clients from that config. The service comes from the SDK's service ID
// (awsmiddleware.GetServiceID) and the priority from the call's context
// (WithPriority).
//
// The limiter goes into the Finalize step right after the retry middleware,
// so that it runs inside the retry loop and every attempt, retries included,
// takes a token (AWS counts each one). On a stack without the retry
// middleware it goes first in Finalize. Adding it to a stack that already
// has it does nothing, so the option may sit both in the config and in a
// client's options.
//
// A call whose context ends while it waits fails with a
// *smithy.CanceledError that wraps the context's error (errors.Is(err,
// context.Canceled) holds); the SDK does not retry it.
func Middleware(l *Limiter) func(*middleware.Stack) error {
	m := middleware.FinalizeMiddlewareFunc(MiddlewareID, func(
		ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler,
	) (middleware.FinalizeOutput, middleware.Metadata, error) {
		service := awsmiddleware.GetServiceID(ctx)
		if err := l.Wait(ctx, service); err != nil {
			// Marked as cancelled, as the SDK marks its own cancelled
			// requests, so that no retryer retries it.
			return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithy.CanceledError{
				Err: fmt.Errorf("wait for the %s rate limit: %w", ServiceKey(service), err),
			}
		}
		return next.HandleFinalize(ctx, in)
	})
	return func(stack *middleware.Stack) error {
		if _, ok := stack.Finalize.Get(MiddlewareID); ok {
			return nil
		}
		if _, ok := stack.Finalize.Get(retryID); ok {
			return stack.Finalize.Insert(m, retryID, middleware.After)
		}
		return stack.Finalize.Add(m, middleware.Before)
	}
}
