package samtemplate

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// TableProperties is the part of AWS::DynamoDB::Table the service relies on.
type TableProperties struct {
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []KeyElement `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string       `yaml:"IndexName"`
		KeySchema  []KeyElement `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
}

// KeyElement is one element of a key schema.
type KeyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// Table returns the CreateTableInput for the table resource id, named name,
// and the TTL attribute ("" when TTL is off). Billing is on-demand, as in the
// template.
func (t *Template) Table(id, name string) (*dynamodb.CreateTableInput, string, error) {
	var p TableProperties
	if err := t.Decode(id, &p); err != nil {
		return nil, "", err
	}
	if len(p.KeySchema) == 0 {
		return nil, "", fmt.Errorf("table %s has no KeySchema", id)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(p.KeySchema),
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range p.GlobalSecondaryIndexes {
		proj := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(g.Projection.ProjectionType)}
		if len(g.Projection.NonKeyAttributes) > 0 {
			proj.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: proj,
		})
	}
	ttl := ""
	if p.TimeToLiveSpecification.Enabled {
		ttl = p.TimeToLiveSpecification.AttributeName
	}
	return in, ttl, nil
}

func keySchema(ks []KeyElement) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}

// QueueProperties is the part of AWS::SQS::Queue the local stack honours.
type QueueProperties struct {
	VisibilityTimeout      string `yaml:"VisibilityTimeout"`
	MessageRetentionPeriod string `yaml:"MessageRetentionPeriod"`
	RedrivePolicy          struct {
		DeadLetterTargetArn yaml.Node `yaml:"deadLetterTargetArn"`
		MaxReceiveCount     string    `yaml:"maxReceiveCount"`
	} `yaml:"RedrivePolicy"`
}

// Queue describes a queue as the local stack creates it.
type Queue struct {
	LogicalID string
	// Attributes are SQS CreateQueue attributes with literal values.
	Attributes map[string]string
	// DeadLetterQueue is the logical ID of the redrive target, if any.
	DeadLetterQueue string
	MaxReceiveCount int
}

// Queue reads the queue resource id. The dead-letter target must be written
// as !GetAtt <LogicalId>.Arn (the form the template uses).
func (t *Template) Queue(id string) (Queue, error) {
	var p QueueProperties
	if err := t.Decode(id, &p); err != nil {
		return Queue{}, err
	}
	q := Queue{LogicalID: id, Attributes: map[string]string{}}
	if p.VisibilityTimeout != "" {
		q.Attributes["VisibilityTimeout"] = p.VisibilityTimeout
	}
	if p.MessageRetentionPeriod != "" {
		q.Attributes["MessageRetentionPeriod"] = p.MessageRetentionPeriod
	}
	if p.RedrivePolicy.MaxReceiveCount != "" {
		n, err := strconv.Atoi(p.RedrivePolicy.MaxReceiveCount)
		if err != nil {
			return Queue{}, fmt.Errorf("queue %s: maxReceiveCount %q: %w", id, p.RedrivePolicy.MaxReceiveCount, err)
		}
		q.MaxReceiveCount = n
		target, err := getAttTarget(&p.RedrivePolicy.DeadLetterTargetArn)
		if err != nil {
			return Queue{}, fmt.Errorf("queue %s: deadLetterTargetArn: %w", id, err)
		}
		q.DeadLetterQueue = target
	}
	return q, nil
}

// getAttTarget returns the logical ID in `!GetAtt X.Arn`, `!GetAtt [X, Arn]`
// or `{"Fn::GetAtt": [X, Arn]}`.
func getAttTarget(n *yaml.Node) (string, error) {
	switch {
	case n.Tag == "!GetAtt" && n.Kind == yaml.ScalarNode:
		for i := 0; i < len(n.Value); i++ {
			if n.Value[i] == '.' {
				return n.Value[:i], nil
			}
		}
		return n.Value, nil
	case n.Tag == "!GetAtt" && n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		return n.Content[0].Value, nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::GetAtt":
		v := n.Content[1]
		if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
			return v.Content[0].Value, nil
		}
	}
	return "", fmt.Errorf("expected !GetAtt <LogicalId>.Arn, got %q", n.Value)
}
