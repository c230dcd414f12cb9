package client

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// toValue converts Go data into the wire's JSON-like value. Nil stays nil
// so that frames without data carry none. Values structpb does not know
// (structs, typed slices and maps) go through encoding/json, so anything a
// Go user can marshal can be sent.
func toValue(v any) (*structpb.Value, error) {
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
		return nil, fmt.Errorf("roomcast client: data is not JSON-like: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return structpb.NewValue(generic)
}

// splitPayload puts []byte in an event's binary field and anything else in
// its data, as the server does.
func splitPayload(data any) (*structpb.Value, []byte, error) {
	if b, ok := data.([]byte); ok {
		return nil, b, nil
	}
	value, err := toValue(data)
	return value, nil, err
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
