package httpapi

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// NewLambdaHandler returns the Lambda handler for API Gateway HTTP API
// (payload format 2.0) events.
func NewLambdaHandler(d Deps) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 501}, nil
	}
}
