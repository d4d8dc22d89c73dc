// Command syncworker is the sync worker Lambda function, fed batches of
// sync jobs by the SQS event source. It only wires configuration
// and clients; the handler lives in the shared library (see shared/app).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/igny8/integrations/shared/app"
)

func main() {
	lambda.Start(app.MustFromEnvironment(context.Background()).SyncWorkerHandler())
}
