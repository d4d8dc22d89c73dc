// Package awsclients is the one place that builds AWS SDK clients. Lambda
// functions call New with no endpoint and get clients for the function's
// region and execution-role credentials; the local stack and tests pass the
// embedded emulator's URL, so every other line of the service issues the same
// aws-sdk-go-v2 calls in both places.
//
// The configuration is built from the environment Lambda provides
// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
// rather than with config.LoadDefaultConfig: the shared-config, SSO, STS and
// credential-process providers it links add about 2 MB to every binary and
// are never used inside Lambda. Shared config files and profiles are
// therefore not read.
package awsclients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Clients holds the SDK clients the service uses.
type Clients struct {
	Config         aws.Config
	DynamoDB       *dynamodb.Client
	SQS            *sqs.Client
	SecretsManager *secretsmanager.Client
}

// New builds the clients. It makes no network call.
func New(_ context.Context, opts Options) (Clients, error) {
	cfg, err := baseConfig(opts)
	if err != nil {
		return Clients{}, err
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
			if opts.Endpoint != "" && o.HTTPClient != nil {
				o.HTTPClient = oneAtATime{o.HTTPClient}
			}
		}),
	}, nil
}

// emulatorSecretsMu lets one Secrets Manager call at a time reach the
// emulator. kumo v0.33.1 updates a secret's last-accessed date without a
// lock, so two concurrent GetSecretValue calls for one secret are a data
// race inside the emulator, which the race detector reports in our tests.
// Secret reads are rare (the secrets package caches them), so queuing them
// costs nothing; against AWS (no endpoint) calls are never serialised.
var emulatorSecretsMu sync.Mutex

// oneAtATime is an HTTP client that sends one request at a time.
type oneAtATime struct{ next aws.HTTPClient }

func (c oneAtATime) Do(r *http.Request) (*http.Response, error) {
	emulatorSecretsMu.Lock()
	defer emulatorSecretsMu.Unlock()
	return c.next.Do(r)
}

func baseConfig(opts Options) (aws.Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := aws.Config{HTTPClient: opts.HTTPClient}
	if opts.Endpoint != "" || opts.DynamoDBEndpoint != "" {
		if cfg.HTTPClient == nil {
			// One local process stands in for many Lambda instances, so it
			// keeps many connections to the emulator open: the SDK's
			// default of 10 idle connections per host would dial and close
			// one per request under load.
			cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
				t.MaxIdleConns, t.MaxIdleConnsPerHost = 2048, 2048
			})
		}
		cfg.Region = "us-east-1"
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		return cfg, nil
	}
	cfg.Region = getenv("AWS_REGION")
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_DEFAULT_REGION")
	}
	key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var errs []error
	if cfg.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if key == "" || secret == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)"))
	}
	if len(errs) > 0 {
		return aws.Config{}, fmt.Errorf("AWS environment: %w", errors.Join(errs...))
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, getenv("AWS_SESSION_TOKEN")))
	return cfg, nil
}
