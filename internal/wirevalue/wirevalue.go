// Package wirevalue converts Go data to the wire's JSON-like values
// (google.protobuf.Value), the same way for the server and the Go client.
package wirevalue

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// From converts Go data into a wire value. Nil stays nil so that frames
// without data carry none. Types structpb does not know (structs, typed
// slices and maps) go through encoding/json, as a Socket.IO user would
// expect of any serialisable value.
func From(v any) (*structpb.Value, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case *structpb.Value:
		return v, nil
	case *structpb.Struct:
		return structpb.NewStructValue(v), nil
	case *structpb.ListValue:
		return structpb.NewListValue(v), nil
	}
	if value, err := structpb.NewValue(v); err == nil {
		return value, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("data is not JSON-like: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return structpb.NewValue(generic)
}

// SplitPayload puts []byte in an event's binary field and anything else in
// its data.
func SplitPayload(data any) (*structpb.Value, []byte, error) {
	if b, ok := data.([]byte); ok {
		return nil, b, nil
	}
	value, err := From(data)
	return value, nil, err
}
