package client

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/roomcast/roomcast/internal/wirevalue"
)

// toValue converts Go data into the wire's JSON-like value.
func toValue(v any) (*structpb.Value, error) {
	value, err := wirevalue.From(v)
	if err != nil {
		return nil, fmt.Errorf("roomcast client: %w", err)
	}
	return value, nil
}

// splitPayload puts []byte in an event's binary field and anything else in
// its data, as the server does.
func splitPayload(data any) (*structpb.Value, []byte, error) {
	value, binary, err := wirevalue.SplitPayload(data)
	if err != nil {
		return nil, nil, fmt.Errorf("roomcast client: %w", err)
	}
	return value, binary, nil
}

// toStruct converts a connect's auth.
func toStruct(m map[string]any) (*structpb.Struct, error) {
	if m == nil {
		return nil, nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		value, jsonErr := toValue(m)
		if jsonErr != nil {
			return nil, fmt.Errorf("roomcast client: auth is not JSON-like: %w", err)
		}
		return value.GetStructValue(), nil
	}
	return s, nil
}

// asInterface returns a value as plain Go data (map[string]any, []any,
// string, float64, bool), nil when absent.
func asInterface(v *structpb.Value) any {
	if v == nil {
		return nil
	}
	return v.AsInterface()
}

// Decode unmarshals a wire value into a Go value as encoding/json would,
// e.g. the answer of EmitWithAck into a struct.
func Decode(v *structpb.Value, into any) error {
	if v == nil {
		return json.Unmarshal([]byte("null"), into)
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}
