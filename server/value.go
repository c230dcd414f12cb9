package server

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// toValue converts Go data into the wire's JSON-like value. Nil stays nil
// so that frames without data carry none. Types that structpb does not know
// (structs, typed slices and maps) go through encoding/json, as a Socket.IO
// user would expect of any serialisable value.
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
		return nil, fmt.Errorf("data is not serialisable: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return structpb.NewValue(generic)
}
