package store

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxItemSize is DynamoDB's item size limit (400 KB, attribute names
// included). The store checks every item it writes against it itself,
// because emulators accept larger items.
const MaxItemSize = 400 * 1024

// CompressThreshold is the size above which large text attributes (content
// bodies, integration config) are stored gzip-compressed in a binary
// attribute: writes are billed per started KB.
const CompressThreshold = 4 * 1024

// maxDecompressed bounds what a stored compressed attribute may expand to.
const maxDecompressed = 16 << 20

// ItemSize computes an item's size as DynamoDB bills and limits it:
// attribute names plus values (strings and binaries by length, numbers by
// significant digits, 3 bytes of overhead plus 1 per element for lists and
// maps, 1 byte for booleans and nulls). It errs on the large side.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + attrSize(v)
	}
	return n
}

func attrSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + attrSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += 1 + len(name) + attrSize(e)
		}
		return n
	default:
		return 0
	}
}

// numberSize: 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.Trim(s, "0")
	d := len(s)
	if d == 0 {
		return 1
	}
	return (d+1)/2 + 1
}

// checkSize returns an *ItemTooLargeError when item is over MaxItemSize.
func checkSize(entity string, item map[string]types.AttributeValue) error {
	if n := ItemSize(item); n > MaxItemSize {
		return &ItemTooLargeError{Entity: entity, Size: n, Limit: MaxItemSize}
	}
	return nil
}

// packText returns data as-is when it is at most CompressThreshold bytes,
// else gzip-compressed with compressed=true.
func packText(data []byte) (out []byte, compressed bool, err error) {
	if len(data) <= CompressThreshold {
		return data, false, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, false, fmt.Errorf("gzip writer: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return nil, false, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, false, fmt.Errorf("gzip close: %w", err)
	}
	return buf.Bytes(), true, nil
}

// unpackText reverses packText for a compressed attribute.
func unpackText(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("gunzip: over %d bytes", maxDecompressed)
	}
	return out, nil
}
