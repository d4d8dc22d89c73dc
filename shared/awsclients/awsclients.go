// Package awsclients is the one place that builds AWS SDK clients. Lambda
// functions call New with no endpoint and get the SDK's defaults; the local
// stack and tests pass the embedded emulator's URL, so every other line of the
// service issues the same aws-sdk-go-v2 calls in both places.
package awsclients

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Options tune client construction. The zero value is right for Lambda.
type Options struct {
	// Endpoint, when set, is used as BaseEndpoint for every client (the
	// embedded emulator locally). Static dummy credentials and us-east-1
	// are used with it, so no AWS account is consulted.
	Endpoint string
	// DynamoDBEndpoint overrides Endpoint for DynamoDB only (the store's
	// differential test suite points it at moto or dynalite).
	DynamoDBEndpoint string
	// HTTPClient replaces the SDK's HTTP client (tests that count calls).
	HTTPClient aws.HTTPClient
}

// Clients holds the SDK clients the service uses.
type Clients struct {
	Config         aws.Config
	DynamoDB       *dynamodb.Client
	SQS            *sqs.Client
	SecretsManager *secretsmanager.Client
}

// New loads the AWS configuration once and builds the clients from it.
func New(ctx context.Context, opts Options) (Clients, error) {
	var loadOpts []func(*awsconfig.LoadOptions) error
	if opts.Endpoint != "" || opts.DynamoDBEndpoint != "" {
		loadOpts = append(loadOpts,
			awsconfig.WithRegion("us-east-1"),
			awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return Clients{}, fmt.Errorf("load AWS config: %w", err)
	}
	if opts.HTTPClient != nil {
		// Set after loading: LoadDefaultConfig refuses a custom client when
		// AWS_CA_BUNDLE is set, and a wrapping client has no CA to add.
		cfg.HTTPClient = opts.HTTPClient
	}
	endpoint := func(e string) *string {
		if e == "" {
			return nil
		}
		return aws.String(e)
	}
	ddbEndpoint := opts.DynamoDBEndpoint
	if ddbEndpoint == "" {
		ddbEndpoint = opts.Endpoint
	}
	return Clients{
		Config: cfg,
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = endpoint(ddbEndpoint)
			// Emulators do not compute DynamoDB's CRC32 response checksum;
			// without this the SDK warns on every response.
			o.DisableValidateResponseChecksum = ddbEndpoint != ""
		}),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.BaseEndpoint = endpoint(opts.Endpoint)
		}),
		SecretsManager: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.BaseEndpoint = endpoint(opts.Endpoint)
		}),
	}, nil
}
