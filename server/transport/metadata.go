package transport

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// requestMetadata is what a handler sees of a request's headers, as
// grpc-go presents it: lower-case keys, binary ("-bin") values decoded,
// and the transport's own headers left out but for content-type,
// user-agent and :authority.
func requestMetadata(fields []hpack.HeaderField) (metadata.MD, error) {
	md := make(metadata.MD, len(fields))
	for _, f := range fields {
		name := f.Name
		if reservedHeader(name) && name != ":authority" && name != "user-agent" && name != "content-type" {
			continue
		}
		v := f.Value
		if strings.HasSuffix(name, "-bin") {
			b, err := decodeBinary(v)
			if err != nil {
				return nil, fmt.Errorf("malformed binary metadata %q in header %q: %w", v, name, err)
			}
			v = string(b)
		}
		md[name] = append(md[name], v)
	}
	return md, nil
}

func reservedHeader(name string) bool {
	if strings.HasPrefix(name, ":") {
		return true
	}
	switch name {
	case "content-type", "user-agent", "grpc-message-type", "grpc-encoding", "grpc-message",
		"grpc-status", "grpc-timeout", "grpc-status-details-bin", "te":
		return true
	}
	return false
}

// decodeBinary accepts binary metadata padded or not, as gRPC says
// receivers must.
func decodeBinary(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// appendMetadata appends md as header fields; binary values are base64.
// Keys are lower-cased, as HTTP/2 requires; a key or value that cannot
// be a header field is left out rather than break the header block.
func appendMetadata(fields []hpack.HeaderField, md metadata.MD) []hpack.HeaderField {
	for k, vs := range md {
		k = strings.ToLower(k)
		if reservedHeader(k) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			} else if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			fields = append(fields, hpack.HeaderField{Name: k, Value: v})
		}
	}
	return fields
}

// parseTimeout reads grpc-timeout: at most 8 digits and a unit.
func parseTimeout(v string) (time.Duration, error) {
	if len(v) < 2 || len(v) > 9 {
		return 0, fmt.Errorf("malformed grpc-timeout %q", v)
	}
	n, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed grpc-timeout %q", v)
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, fmt.Errorf("malformed grpc-timeout %q: unknown unit", v)
	}
	const maxDuration = time.Duration(1<<63 - 1)
	if n > uint64(maxDuration/unit) {
		return maxDuration, nil
	}
	return time.Duration(n) * unit, nil
}

// appendStatus appends a status as gRPC's trailer fields.
func appendStatus(fields []hpack.HeaderField, st *status.Status) []hpack.HeaderField {
	fields = append(fields, hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(st.Code()))})
	if m := st.Message(); m != "" {
		fields = append(fields, hpack.HeaderField{Name: "grpc-message", Value: encodeMessage(m)})
	}
	if p := st.Proto(); len(p.GetDetails()) > 0 {
		if b, err := proto.Marshal(p); err == nil {
			fields = append(fields, hpack.HeaderField{Name: "grpc-status-details-bin", Value: base64.RawStdEncoding.EncodeToString(b)})
		}
	}
	return fields
}

// encodeMessage percent-encodes grpc-message as the gRPC HTTP/2 protocol
// says: every byte outside printable ASCII, and '%' itself.
func encodeMessage(m string) string {
	clean := true
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < ' ' || c > '~' || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
