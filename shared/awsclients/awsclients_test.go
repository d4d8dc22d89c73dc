package awsclients

import (
	"context"
	"strings"
	"testing"
)

func TestLambdaEnvironment(t *testing.T) {
	env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}
	c, err := New(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Config.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SessionToken != "tok" || c.Config.Region != "eu-west-1" {
		t.Fatalf("config = %s %+v %v", c.Config.Region, creds.AccessKeyID, err)
	}
}

func TestMissingEnvironmentIsNamed(t *testing.T) {
	_, err := New(context.Background(), Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("err = %v, want both missing variables named", err)
	}
}

func TestEndpointUsesLocalCredentials(t *testing.T) {
	c, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:1", Getenv: func(string) string { return "" }})
	if err != nil || c.Config.Region != "us-east-1" {
		t.Fatalf("New with endpoint: %v region %q", err, c.Config.Region)
	}
}
