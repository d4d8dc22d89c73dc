package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"
)

// maxSyncPayload is Lambda's limit for a synchronous invocation's request
// and response payloads.
const maxSyncPayload = 6 << 20

// ErrFunctionTimeout is the error of an invocation that outlived its
// function's Timeout, as Lambda reports "Task timed out".
var ErrFunctionTimeout = errors.New("task timed out")

// Invocation describes one completed function invocation; Options.Observe
// receives one per invocation.
type Invocation struct {
	// Function is the template logical ID (ApiFunction, SyncWorkerFunction…).
	Function  string
	RequestID string
	// Event is the event as the handler received it (after the JSON round
	// trip Lambda performs): events.APIGatewayV2HTTPRequest,
	// events.LambdaFunctionURLRequest, events.SQSEvent or
	// events.EventBridgeEvent.
	Event any
	// Response is the handler's response (nil for the publisher).
	Response any
	// Err is the function error: a returned error, a panic or a timeout.
	Err      error
	Start    time.Time
	Duration time.Duration
	// DeletedMessageIDs lists, for SQS invocations, the messages the poller
	// deleted afterwards; the others return after their visibility timeout.
	DeletedMessageIDs []string
}

// functionInfo is what an invocation needs to know about its function.
type functionInfo struct {
	LogicalID string
	Name      string
	ARN       string
	Timeout   time.Duration
}

// invoker runs handlers as the Lambda runtime would and tracks in-flight
// invocations so shutdown can wait for them.
type invoker struct {
	logger   *slog.Logger
	observe  func(Invocation)
	inflight sync.WaitGroup
}

// invoke calls h with ev the way Lambda does (requestID "" means a new one): the event and the response go
// through JSON (so only what serialises reaches the handler), the context
// carries a LambdaContext with a new request ID and the function ARN and a
// deadline of the function's Timeout, and a panic or a timeout becomes a
// function error. The returned Invocation is not yet observed; callers that
// add to it call finish.
func invoke[Req, Resp any](ctx context.Context, iv *invoker, fn functionInfo, requestID string, h func(context.Context, Req) (Resp, error), ev Req) (Resp, Invocation) {
	iv.inflight.Add(1)
	defer iv.inflight.Done()
	var zero Resp
	if requestID == "" {
		requestID = uuid.NewString()
	}
	inv := Invocation{Function: fn.LogicalID, RequestID: requestID, Start: time.Now()}
	payload, err := json.Marshal(ev)
	if err != nil {
		inv.Err = fmt.Errorf("encode event: %w", err)
		return zero, inv
	}
	var in Req
	if err := json.Unmarshal(payload, &in); err != nil {
		inv.Err = fmt.Errorf("decode event: %w", err)
		return zero, inv
	}
	inv.Event = in

	// The invocation outlives the caller's cancellation (a client that
	// disconnects does not stop a Lambda invocation); only the function's
	// Timeout bounds it.
	ictx := lambdacontext.NewContext(context.WithoutCancel(ctx), &lambdacontext.LambdaContext{
		AwsRequestID:       inv.RequestID,
		InvokedFunctionArn: fn.ARN,
	})
	ictx, cancel := context.WithTimeout(ictx, fn.Timeout)
	defer cancel()

	type result struct {
		resp Resp
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				iv.logger.ErrorContext(ictx, "function panicked", slog.String("function", fn.LogicalID),
					slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				done <- result{err: fmt.Errorf("runtime error: function panicked: %v", p)}
			}
		}()
		resp, err := h(ictx, in)
		done <- result{resp, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ictx.Done():
		res = result{err: fmt.Errorf("%w after %s", ErrFunctionTimeout, fn.Timeout)}
	}
	inv.Duration = time.Since(inv.Start)
	if res.err != nil {
		inv.Err = res.err
		iv.logger.Warn("function error", slog.String("function", fn.LogicalID), slog.String("request_id", inv.RequestID), slog.Any("error", res.err))
		return zero, inv
	}
	out, err := json.Marshal(res.resp)
	if err != nil {
		inv.Err = fmt.Errorf("encode response: %w", err)
		return zero, inv
	}
	if len(out) > maxSyncPayload {
		inv.Err = fmt.Errorf("response payload of %d bytes exceeds Lambda's %d byte limit", len(out), maxSyncPayload)
		return zero, inv
	}
	var resp Resp
	if err := json.Unmarshal(out, &resp); err != nil {
		inv.Err = fmt.Errorf("decode response: %w", err)
		return zero, inv
	}
	inv.Response = resp
	return resp, inv
}

// finish logs the invocation's report line and hands it to the observer.
func (iv *invoker) finish(inv Invocation) {
	iv.logger.Debug("invocation", slog.String("function", inv.Function), slog.String("request_id", inv.RequestID),
		slog.Float64("duration_ms", float64(inv.Duration.Microseconds())/1000), slog.Bool("error", inv.Err != nil))
	if iv.observe != nil {
		iv.observe(inv)
	}
}
