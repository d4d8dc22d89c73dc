package siteurl

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want  string
		allowHTTP bool
	}{
		{in: "https://example.com", want: "https://example.com"},
		{in: "  https://Example.COM/  ", want: "https://example.com"},
		{in: "example.com", want: "https://example.com"},
		{in: "HTTPS://www.Example.com:443/", want: "https://www.example.com"},
		{in: "https://example.com:8443/", want: "https://example.com:8443"},
		{in: "https://example.com/blog/", want: "https://example.com/blog"},
		{in: "https://example.com/Blog", want: "https://example.com/Blog"},
		{in: "https://example.com/blog/wp-admin/", want: "https://example.com/blog"},
		{in: "https://example.com/wp-admin/post.php?post=3&action=edit", want: "https://example.com"},
		{in: "https://example.com/wp-json/", want: "https://example.com"},
		{in: "https://example.com/wp-login.php", want: "https://example.com"},
		{in: "https://example.com/?p=12#comments", want: "https://example.com"},
		{in: "https://example.com//blog//", want: "https://example.com/blog"},
		{in: "https://example.com./", want: "https://example.com"},
		{in: "https://bücher.example/", want: "https://xn--bcher-kva.example"},
		{in: "https://93.184.216.34/", want: "https://93.184.216.34"},
		{in: "https://[2001:DB8::1]:8443/", want: "https://[2001:db8::1]:8443"},
		{in: "https://[2001:db8::1]/", want: "https://[2001:db8::1]"},
		{in: "http://127.0.0.1:8089/", want: "http://127.0.0.1:8089", allowHTTP: true},
		{in: "http://example.com:80/", want: "http://example.com", allowHTTP: true},
		{in: "http://localhost:8089", want: "http://localhost:8089", allowHTTP: true},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, Options{AllowHTTP: tt.allowHTTP})
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		in, wantReason string
	}{
		{"", "empty"},
		{"http://example.com", "must use https://"},
		{"ftp://example.com", "must start with https://"},
		{"https://user:pass@example.com", "must not contain a user name or password"},
		{"https://exa mple.com", "spaces"},
		{"https://", "no host name"},
		{"https://intranet/", "not a full host name"},
		{"https://exa_mple.com", "not a valid host name"},
		{"https://example.com/" + strings.Repeat("a", MaxLength), "longer than"},
		{"https://example.com/a/b/c/d/e/f/g/h/i/j", "too deep"},
		{"javascript://example.com/%0Aalert(1)", "must start with https://"},
	}
	for _, tt := range tests {
		_, err := Normalize(tt.in, Options{})
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantReason) {
			t.Errorf("Normalize(%q) error = %v; want one containing %q", tt.in, err, tt.wantReason)
		}
	}
}

func TestNormalizeIsIdempotent(t *testing.T) {
	for _, in := range []string{"Example.com/Blog/", "https://bücher.example", "https://[::1]:8443", "https://example.com/wp-admin"} {
		once, err := Normalize(in, Options{})
		if err != nil {
			t.Fatalf("Normalize(%q): %v", in, err)
		}
		twice, err := Normalize(once, Options{})
		if err != nil || twice != once {
			t.Errorf("Normalize(Normalize(%q)) = %q, %v; want %q", in, twice, err, once)
		}
	}
}

func TestHost(t *testing.T) {
	if got := Host("https://example.com:8443/blog"); got != "example.com:8443" {
		t.Errorf("Host = %q", got)
	}
}
