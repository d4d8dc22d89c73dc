package testutil

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestMustCreateTableBuildsTheTemplateTable(t *testing.T) {
	c := MustClients(t)
	name := MustCreateTable(t, c.DynamoDB)
	out, err := c.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.Table.GlobalSecondaryIndexes); got < 2 {
		t.Fatalf("table %s has %d GSIs, want the template's (at least 2)", name, got)
	}
	if *out.Table.KeySchema[0].AttributeName != "PK" {
		t.Fatalf("hash key = %s, want PK", *out.Table.KeySchema[0].AttributeName)
	}
}
