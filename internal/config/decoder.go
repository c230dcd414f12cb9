package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// decoder walks the node tree of one configuration file. Walking nodes
// rather than unmarshalling into structs is what gives every mistake its
// line and key path, and what makes unknown keys errors. It records every
// mistake and carries on, so that one load reports them all.
type decoder struct {
	file string // as the operator named it, for messages
	dir  string // relative paths in the file resolve against it
	env  func(string) (string, bool)
	errs []*Error
}

// fail records a mistake at the node n (the file as a whole when nil).
func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// join extends a key path: join("namespaces[1]", "auth") is
// "namespaces[1].auth". A key that is not a plain word (an unknown key can
// be anything) is quoted, so that a message stays on one line.
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// field decodes the value of one key; path is the key's full path.
type field func(value *yaml.Node, path string)

// mapping decodes the mapping n, calling each key's field in file order.
// A key that is not in fields, or that appears twice, is a mistake: a typo
// must never be silently ignored. It returns the key nodes present, for
// checks that involve several keys, or nil if n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) map[string]*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of %s, got %s", keyList(fields), describe(n))
		return nil
	}
	present := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain word, got %s", describe(k))
			continue
		}
		decode, known := fields[k.Value]
		switch {
		case !known:
			d.fail(k, join(path, k.Value), "unknown key%s", suggest(k.Value, fields))
		case present[k.Value] != nil:
			d.fail(k, join(path, k.Value), "repeated key (first at line %d)", present[k.Value].Line)
		default:
			present[k.Value] = k
			decode(v, join(path, k.Value))
		}
	}
	return present
}

// suggest names the key the operator probably meant, or lists them all.
func suggest(key string, fields map[string]field) string {
	best, bestDist := "", 3 // more than two edits away is not a typo
	for name := range fields {
		if dist := editDistance(key, name); dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; want one of " + keyList(fields)
}

func keyList(fields map[string]field) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance, for typo suggestions.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "no value"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// scalar returns the text of a non-empty scalar value.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// str decodes a non-empty string. Numbers and booleans are taken as
// written (issuer: 2024 is "2024").
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	s, ok := d.scalar(n, path, "a string")
	if ok && s == "" {
		d.fail(resolve(n), path, "must not be empty")
		return "", false
	}
	return s, ok
}

// count decodes a non-negative whole number.
func (d *decoder) count(n *yaml.Node, path string) (int, bool) {
	s, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	var v int64
	if n = resolve(n); n.Tag != "!!int" || n.Decode(&v) != nil || v > math.MaxInt32 {
		d.fail(n, path, "want a whole number up to %d, got %q", math.MaxInt32, s)
		return 0, false
	}
	if v < 0 {
		d.fail(n, path, "must not be negative, got %d", v)
		return 0, false
	}
	return int(v), true
}

// number decodes a non-negative, finite number.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return 0, false
	}
	var v float64
	if n = resolve(n); n.Tag != "!!int" && n.Tag != "!!float" || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.fail(n, path, "want a number, got %q", s)
		return 0, false
	}
	if v < 0 {
		d.fail(n, path, "must not be negative, got %s", s)
		return 0, false
	}
	return v, true
}

// boolean decodes true or false; YAML 1.1's yes/no/on/off are refused,
// since "no" meaning false surprises more people than it helps.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	var v bool
	if n = resolve(n); n.Tag != "!!bool" || n.Decode(&v) != nil {
		d.fail(n, path, "want true or false, got %q", s)
		return false, false
	}
	return v, true
}

// duration decodes a non-negative Go duration such as 30s or 1m30s. A bare
// number is refused: seconds or milliseconds would be a guess.
func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := d.scalar(n, path, "a duration such as 10s")
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(resolve(n), path, "want a duration such as 10s or 1m30s, got %q", s)
		return 0, false
	}
	if v < 0 {
		d.fail(resolve(n), path, "must not be negative, got %s", s)
		return 0, false
	}
	return v, true
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, path string, choices ...string) (string, bool) {
	s, ok := d.scalar(n, path, strings.Join(choices, " or "))
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	d.fail(resolve(n), path, "want %s, got %q", strings.Join(choices, " or "), s)
	return "", false
}

// list decodes a sequence, calling item for each element with its path.
func (d *decoder) list(n *yaml.Node, path string, item func(n *yaml.Node, path string)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	for i, e := range n.Content {
		item(e, index(path, i))
	}
}

// strs decodes a list of non-empty strings, each checked by check (which
// may be nil) and reported at its own line.
func (d *decoder) strs(n *yaml.Node, path string, check func(string) error) []string {
	var out []string
	d.list(n, path, func(e *yaml.Node, path string) {
		s, ok := d.str(e, path)
		if !ok {
			return
		}
		if check != nil {
			if err := check(s); err != nil {
				d.fail(resolve(e), path, "%v", err)
				return
			}
		}
		out = append(out, s)
	})
	return out
}

// readFile reads a file named by the configuration, resolving a relative
// path against the configuration file's directory so that the file works
// from any working directory.
func (d *decoder) readFile(n *yaml.Node, path string) ([]byte, bool) {
	name, ok := d.str(n, path)
	if !ok {
		return nil, false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(d.dir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		d.fail(resolve(n), path, "cannot read %s: %v", name, unwrapPath(err))
		return nil, false
	}
	return b, true
}

// unwrapPath drops the path from an *os.PathError, which the message
// already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// envVar reads an environment variable named by the configuration; it
// must be set and not empty.
func (d *decoder) envVar(n *yaml.Node, path string) (string, bool) {
	name, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	v, set := d.env(name)
	switch {
	case !set:
		d.fail(resolve(n), path, "environment variable %s is not set", name)
		return "", false
	case v == "":
		d.fail(resolve(n), path, "environment variable %s is empty", name)
		return "", false
	}
	return v, true
}

// alternatives reports when more than one of keys is present: they are
// different ways to give the same thing. It returns the one present, or
// "" when there is none.
func (d *decoder) alternatives(present map[string]*yaml.Node, path string, keys ...string) string {
	var given []*yaml.Node
	for _, k := range keys {
		if present[k] != nil {
			given = append(given, present[k])
		}
	}
	if len(given) == 0 {
		return ""
	}
	sort.Slice(given, func(i, j int) bool { return given[i].Line < given[j].Line })
	for _, n := range given[1:] {
		d.fail(n, join(path, n.Value), "%s and %s are alternatives: set one", given[0].Value, n.Value)
	}
	return given[0].Value
}
