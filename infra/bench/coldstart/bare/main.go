// Command bare is the cold-start baseline for make bench-coldstart: an
// aws-lambda-go binary that does only what every function must do at INIT —
// load the AWS configuration and build the same SDK clients (through
// shared/awsclients, so it follows any change there) — and then serves a
// trivial handler. The difference between a function's INIT and this one's is
// the cost of the service's own start-up code.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/igny8/integrations/shared/awsclients"
)

func main() {
	clients, err := awsclients.New(context.Background(), awsclients.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = clients
	lambda.Start(func(context.Context) (string, error) { return "ok", nil })
}
