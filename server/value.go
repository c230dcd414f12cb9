package server

import (
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/roomcast/roomcast/internal/wirevalue"
)

// toValue converts Go data into the wire's JSON-like value.
func toValue(v any) (*structpb.Value, error) { return wirevalue.From(v) }
