// Command webhook is the webhook receiver Lambda function, served by a
// function URL that WordPress calls. It only wires configuration
// and clients; the handler lives in the shared library (see shared/app).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/igny8/integrations/shared/app"
)

func main() {
	lambda.Start(app.MustFromEnvironment(context.Background()).WebhookHandler())
}
