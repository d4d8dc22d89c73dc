// Package webhook is the webhook receiver's Lambda handler, served by a
// Lambda function URL that WordPress calls. It verifies, de-duplicates,
// rate-limits and enqueues; the webhook issue fills in the checks. At this
// stage it answers the receiver's route with 501 and everything else with
// problem+json errors, so the function URL is wired end to end.
package webhook

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/apperr"
)

// Path is the receiver's route (the seed's path).
const Path = "/api/v1/integration/webhook/wordpress/"

// Deps are the receiver's dependencies.
type Deps struct {
	Logger *slog.Logger
}

// NewHandler returns the Lambda handler for function URL requests.
func NewHandler(d Deps) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		switch {
		case req.RawPath != Path:
			return problem(apperr.New(apperr.RouteNotFound, "No webhook route at %s", req.RawPath), req.RawPath), nil
		case req.RequestContext.HTTP.Method != http.MethodPost:
			return problem(apperr.New(apperr.MethodNotAllowed, "Use POST"), req.RawPath), nil
		}
		return problem(&apperr.Error{Code: "not_implemented", HTTPStatus: http.StatusNotImplemented, Message: "Webhook deliveries are not accepted yet"}, req.RawPath), nil
	}
}

func problem(err error, instance string) events.LambdaFunctionURLResponse {
	p := apperr.ToProblem(err, instance)
	body, _ := p.MarshalJSON()
	return events.LambdaFunctionURLResponse{
		StatusCode: p.Status,
		Headers:    map[string]string{"Content-Type": apperr.ContentType},
		Body:       string(body),
	}
}
