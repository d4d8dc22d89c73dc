package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestItemSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "abc"}}, 2 + 3},
		{"utf8 bytes", map[string]types.AttributeValue{"n": &types.AttributeValueMemberS{Value: "é"}}, 1 + 2},
		{"number", map[string]types.AttributeValue{"Version": &types.AttributeValueMemberN{Value: "12345"}}, 7 + 4},
		{"number zeros trimmed", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-1000"}}, 1 + 2},
		{"zero", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "0"}}, 1 + 1},
		{"binary", map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: make([]byte, 10)}}, 1 + 10},
		{"bool", map[string]types.AttributeValue{"ok": &types.AttributeValueMemberBOOL{Value: true}}, 2 + 1},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "ab"}, &types.AttributeValueMemberNULL{Value: true},
		}}}, 1 + 3 + (1 + 2) + (1 + 1)},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"key": &types.AttributeValueMemberS{Value: "v"},
		}}}, 1 + 3 + 1 + 3 + 1},
		{"string set", map[string]types.AttributeValue{"ss": &types.AttributeValueMemberSS{Value: []string{"a", "bc"}}}, 2 + 3},
	}
	for _, c := range cases {
		if got := ItemSize(c.item); got != c.want {
			t.Errorf("%s: ItemSize = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCheckSizeAtTheLimit(t *testing.T) {
	t.Parallel()
	name := "Body"
	at := map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: strings.Repeat("x", MaxItemSize-len(name))}}
	if err := checkSize("content", at); err != nil {
		t.Fatalf("item of exactly %d bytes refused: %v", MaxItemSize, err)
	}
	over := map[string]types.AttributeValue{name: &types.AttributeValueMemberS{Value: strings.Repeat("x", MaxItemSize-len(name)+1)}}
	err := checkSize("content", over)
	var tl *ItemTooLargeError
	if !errors.As(err, &tl) || tl.Size != MaxItemSize+1 {
		t.Fatalf("item of %d bytes: err = %v", MaxItemSize+1, err)
	}
}

func TestPackTextRoundTrip(t *testing.T) {
	t.Parallel()
	small := []byte(`{"a":1}`)
	out, compressed, err := packText(small)
	if err != nil || compressed || !bytes.Equal(out, small) {
		t.Fatalf("small text: %q %v %v", out, compressed, err)
	}
	big := []byte(strings.Repeat(`<p>Hello, WordPress.</p>`, 2000))
	out, compressed, err = packText(big)
	if err != nil || !compressed || len(out) >= len(big)/10 {
		t.Fatalf("big text: compressed=%v len=%d err=%v", compressed, len(out), err)
	}
	back, err := unpackText(out)
	if err != nil || !bytes.Equal(back, big) {
		t.Fatalf("round trip failed: %v", err)
	}
	if _, err := unpackText([]byte("not gzip")); err == nil {
		t.Fatal("garbage decompressed without error")
	}
}
