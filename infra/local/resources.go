package local

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/igny8/integrations/infra/samtemplate"
	"github.com/igny8/integrations/shared/awsclients"
)

// QueueOverride changes a template queue's settings locally (tests shorten
// the visibility timeout to watch redrives in seconds).
type QueueOverride struct {
	VisibilityTimeout time.Duration
	MaxReceiveCount   int
}

// LocalQueue is a queue the stack created.
type LocalQueue struct {
	LogicalID       string
	Name            string
	URL             string
	ARN             string
	DeadLetterQueue string // logical ID
	MaxReceiveCount int
	// VisibilityTimeout is the effective timeout (SQS default 30 s).
	VisibilityTimeout time.Duration
}

// LocalTable is a table the stack created.
type LocalTable struct {
	LogicalID string
	Name      string
	ARN       string
}

// resources holds the local names of the template's resources and answers
// !Ref and !GetAtt for them.
type resources struct {
	prefix  string
	tables  map[string]LocalTable
	queues  map[string]LocalQueue
	secrets map[string]string // logical ID -> ARN
	fns     map[string]functionInfo
	apiIDs  map[string]bool
}

func (r *resources) resolve(id, attr string) (string, error) {
	if t, ok := r.tables[id]; ok {
		switch attr {
		case "":
			return t.Name, nil
		case "Arn":
			return t.ARN, nil
		}
	}
	if q, ok := r.queues[id]; ok {
		switch attr {
		case "", "QueueUrl":
			return q.URL, nil
		case "Arn":
			return q.ARN, nil
		case "QueueName":
			return q.Name, nil
		}
	}
	if arn, ok := r.secrets[id]; ok && (attr == "" || attr == "Id") {
		return arn, nil
	}
	if f, ok := r.fns[id]; ok {
		switch attr {
		case "":
			return f.Name, nil
		case "Arn":
			return f.ARN, nil
		}
	}
	if r.apiIDs[id] && (attr == "" || attr == "ApiId") {
		return localAPIID, nil
	}
	what := id
	if attr != "" {
		what += "." + attr
	}
	return "", fmt.Errorf("%s has no local value: %w", what, samtemplate.ErrUnresolvable)
}

// createTables creates every AWS::DynamoDB::Table of the template (if
// missing) and enables TTL where the template does.
func createTables(ctx context.Context, c awsclients.Clients, tmpl *samtemplate.Template, res *resources) error {
	ids := tmpl.ResourcesOfType(samtemplate.TypeTable)
	sort.Strings(ids)
	for _, id := range ids {
		name := res.prefix + id
		in, ttlAttr, err := tmpl.Table(id, name)
		if err != nil {
			return fmt.Errorf("table %s: %w", id, err)
		}
		desc, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			if _, err := c.DynamoDB.CreateTable(ctx, in); err != nil && !isCode(err, "ResourceInUseException") {
				return fmt.Errorf("create table %s: %w", name, err)
			}
			if err := dynamodb.NewTableExistsWaiter(c.DynamoDB, func(o *dynamodb.TableExistsWaiterOptions) {
				o.MinDelay, o.MaxDelay = 20*time.Millisecond, 500*time.Millisecond
			}).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
				return fmt.Errorf("wait for table %s: %w", name, err)
			}
			desc, err = c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				return fmt.Errorf("describe table %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("describe table %s: %w", name, err)
		}
		if ttlAttr != "" {
			if _, err := c.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttlAttr), Enabled: aws.Bool(true)},
			}); err != nil && !strings.Contains(err.Error(), "already enabled") {
				return fmt.Errorf("enable TTL on %s: %w", name, err)
			}
		}
		arn := aws.ToString(desc.Table.TableArn)
		if arn == "" {
			arn = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", LocalRegion, LocalAccountID, name)
		}
		res.tables[id] = LocalTable{LogicalID: id, Name: name, ARN: arn}
	}
	return nil
}

// createQueues creates every AWS::SQS::Queue, dead-letter targets before the
// queues that redrive to them, applying the template's attributes (and the
// overrides) to queues that already exist.
func createQueues(ctx context.Context, c awsclients.Clients, tmpl *samtemplate.Template, res *resources, overrides map[string]QueueOverride) error {
	ids := tmpl.ResourcesOfType(samtemplate.TypeQueue)
	sort.Strings(ids)
	specs := map[string]samtemplate.Queue{}
	for _, id := range ids {
		q, err := tmpl.Queue(id)
		if err != nil {
			return err
		}
		specs[id] = q
	}
	var visit func(id string, depth int) error
	visit = func(id string, depth int) error {
		if _, done := res.queues[id]; done {
			return nil
		}
		if depth > len(specs) {
			return fmt.Errorf("queue %s: redrive cycle", id)
		}
		q, ok := specs[id]
		if !ok {
			return fmt.Errorf("queue %s redrives to a queue that is not in the template", id)
		}
		attrs := map[string]string{}
		for k, v := range q.Attributes {
			attrs[k] = v
		}
		maxReceive := q.MaxReceiveCount
		if o, ok := overrides[id]; ok {
			if o.VisibilityTimeout > 0 {
				attrs["VisibilityTimeout"] = strconv.Itoa(int(max(time.Second, o.VisibilityTimeout).Seconds()))
			}
			if o.MaxReceiveCount > 0 {
				maxReceive = o.MaxReceiveCount
			}
		}
		if q.DeadLetterQueue != "" {
			if err := visit(q.DeadLetterQueue, depth+1); err != nil {
				return err
			}
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, res.queues[q.DeadLetterQueue].ARN, maxReceive)
		}
		name := res.prefix + id
		url, err := ensureQueue(ctx, c.SQS, name, attrs)
		if err != nil {
			return err
		}
		got, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameVisibilityTimeout}})
		if err != nil {
			return fmt.Errorf("queue %s attributes: %w", name, err)
		}
		vis, _ := strconv.Atoi(got.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
		if vis == 0 {
			vis = 30
		}
		res.queues[id] = LocalQueue{LogicalID: id, Name: name, URL: url,
			ARN: got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], DeadLetterQueue: q.DeadLetterQueue,
			MaxReceiveCount: maxReceive, VisibilityTimeout: time.Duration(vis) * time.Second}
		return nil
	}
	for _, id := range ids {
		if err := visit(id, 0); err != nil {
			return err
		}
	}
	return nil
}

func ensureQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (string, error) {
	got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err == nil {
		url := aws.ToString(got.QueueUrl)
		if len(attrs) > 0 {
			if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
				return "", fmt.Errorf("update queue %s: %w", name, err)
			}
		}
		return url, nil
	}
	// The emulator does not return *types.QueueDoesNotExist: check the code.
	if !isCode(err, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue") {
		return "", fmt.Errorf("look up queue %s: %w", name, err)
	}
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// createSecrets creates the template's secrets that do not exist yet, with
// an empty JSON object as a placeholder value; existing values are kept.
func createSecrets(ctx context.Context, c awsclients.Clients, secrets []samtemplate.Secret, res *resources) error {
	for _, s := range secrets {
		out, err := c.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(s.Name), Description: aws.String(firstNonEmpty(s.Description, "local placeholder")),
			SecretString: aws.String("{}"),
		})
		var exists *smtypes.ResourceExistsException
		switch {
		case err == nil:
			res.secrets[s.LogicalID] = aws.ToString(out.ARN)
		case errors.As(err, &exists) || isCode(err, "ResourceExistsException"):
			d, err := c.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.Name)})
			if err != nil {
				return fmt.Errorf("describe secret %s: %w", s.Name, err)
			}
			res.secrets[s.LogicalID] = aws.ToString(d.ARN)
		default:
			return fmt.Errorf("create secret %s: %w", s.Name, err)
		}
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
