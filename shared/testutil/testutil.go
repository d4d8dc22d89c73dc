// Package testutil holds the helpers tests share: the process-wide embedded
// AWS emulator, SDK clients pointed at it, unique resource names and the
// template's table. Helpers fail the test on error (MustX style) so tests
// read as the behaviour they check.
//
// Set DYNAMODB_ENDPOINT to run the DynamoDB-backed tests against another
// DynamoDB implementation (moto, dynalite, DynamoDB Local); SQS and Secrets
// Manager stay on the embedded emulator.
package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"

	"github.com/igny8/integrations/infra/samtemplate"
	"github.com/igny8/integrations/shared/awsclients"
)

var (
	emulatorOnce sync.Once
	emulator     *kumo.Server
	nameCounter  atomic.Int64
)

// EmulatorURL starts the embedded emulator once per test binary and returns
// its URL. Every kumo server in one process shares one global store, so
// tests isolate themselves with UniqueName rather than separate servers.
func EmulatorURL(t testing.TB) string {
	t.Helper()
	emulatorOnce.Do(func() { emulator = kumo.NewServer() })
	return emulator.URL
}

// DynamoDBEndpoint is the endpoint DynamoDB tests use: DYNAMODB_ENDPOINT when
// set (differential runs against moto or dynalite), else the emulator.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	if e := os.Getenv("DYNAMODB_ENDPOINT"); e != "" {
		return e
	}
	return EmulatorURL(t)
}

// DynamoDBFlavor names the DynamoDB implementation under test, from
// DYNAMODB_FLAVOR ("kumo" by default; "moto", "dynalite", "aws" ...). Tests
// skip features a flavor lacks only through SkipUnless.
func DynamoDBFlavor() string {
	if f := os.Getenv("DYNAMODB_FLAVOR"); f != "" {
		return f
	}
	if os.Getenv("DYNAMODB_ENDPOINT") != "" {
		return "external"
	}
	return "kumo"
}

// SkipUnsupported skips t when the DynamoDB flavor under test is one of
// flavors, saying why. Use it only for features the flavor does not
// implement at all (dynalite: transactions, TTL).
func SkipUnsupported(t testing.TB, why string, flavors ...string) {
	t.Helper()
	f := DynamoDBFlavor()
	for _, x := range flavors {
		if f == x {
			t.Skipf("%s does not implement %s", f, why)
		}
	}
}

// MustClients returns SDK clients pointed at the emulator (and DynamoDB at
// DynamoDBEndpoint).
func MustClients(t testing.TB) awsclients.Clients {
	t.Helper()
	c, err := awsclients.New(context.Background(), awsclients.Options{
		Endpoint:         EmulatorURL(t),
		DynamoDBEndpoint: DynamoDBEndpoint(t),
	})
	if err != nil {
		t.Fatalf("build clients: %v", err)
	}
	return c
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueName returns a resource name unique within this process and across
// concurrent test binaries: prefix, a slug of the test name, a counter and
// the time.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	slug := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(slug) > 40 {
		slug = slug[:40]
	}
	n := nameCounter.Add(1)
	return strings.Trim(fmt.Sprintf("%s-%s-%d-%d", prefix, slug, n, time.Now().UnixNano()%1e9), "-")
}

// MustLoadTemplate parses the repository's template.yaml and returns it with
// the repository root.
func MustLoadTemplate(t testing.TB) (*samtemplate.Template, string) {
	t.Helper()
	path, err := samtemplate.FindRepoFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, filepath.Dir(path)
}

// MustCreateTable creates the template's Table resource under a unique name,
// waits until it is ACTIVE, enables TTL where the implementation supports
// it, and deletes it when the test ends. It returns the table name.
func MustCreateTable(t testing.TB, ddb *dynamodb.Client) string {
	t.Helper()
	tmpl, _ := MustLoadTemplate(t)
	name := UniqueName(t, "igny8")
	if len(name) > 255 {
		name = name[:255]
	}
	in, ttlAttr, err := tmpl.Table("Table", name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ddb.CreateTable(ctx, in); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	// dynalite keeps new tables CREATING for about half a second.
	if err := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 500 * time.Millisecond
	}).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
	if ttlAttr != "" && DynamoDBFlavor() != "dynalite" {
		if _, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
				AttributeName: aws.String(ttlAttr), Enabled: aws.Bool(true),
			},
		}); err != nil {
			t.Fatalf("enable TTL on %s: %v", name, err)
		}
	}
	return name
}

// MustCreateQueue creates a standard SQS queue under a unique name on the
// emulator, deletes it when the test ends, and returns its URL.
func MustCreateQueue(t testing.TB, api *sqs.Client) string {
	t.Helper()
	name := UniqueName(t, "igny8-q")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	out, err := api.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() { _, _ = api.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}) })
	return url
}
