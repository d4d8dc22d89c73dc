// Command api is the API Lambda function: API Gateway HTTP API events
// for /api/v1/... . It only wires configuration
// and clients; the handler lives in the shared library (see shared/app).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/igny8/integrations/shared/app"
)

func main() {
	lambda.Start(app.MustFromEnvironment(context.Background()).APIHandler())
}
