package config

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// Namespace is one entry of the file's namespaces list: a static namespace
// or a pattern of dynamic ones, and the policy it enforces.
type Namespace struct {
	// Name is a static namespace's name; empty for a pattern.
	Name string
	// Pattern creates namespaces on first use for the names it matches;
	// nil for a static namespace.
	Pattern *regexp.Regexp
	// Line is where the entry starts in the file.
	Line int
	// AuthType is "none", "tokens" or "jwt", for log messages.
	AuthType string
	Policy   *policy.Policy
}

// String names the namespace or pattern, for log messages.
func (n Namespace) String() string {
	if n.Pattern != nil {
		return n.Pattern.String()
	}
	return n.Name
}

// Apply installs the namespace's policy on the hub: on the static
// namespace, or on the pattern, which then applies it to every namespace
// it creates.
func (n Namespace) Apply(hub *server.Server) {
	if n.Pattern != nil {
		n.Policy.ApplyPattern(hub.OfPattern(n.Pattern))
		return
	}
	n.Policy.Apply(hub.Of(n.Name))
}

// maxNameBytes is the hub's limit on namespace names; a longer static name
// could never be connected to.
const maxNameBytes = 256

// namespaces decodes the namespaces list. A name or pattern declared twice
// is a mistake: which of the two policies applies would be a surprise.
func (d *decoder) namespaces(n *yaml.Node, path string) []Namespace {
	var out []Namespace
	declared := map[string]int{} // name or pattern → line
	d.list(n, path, func(e *yaml.Node, path string) {
		if ns, ok := d.namespace(e, path, declared); ok {
			out = append(out, ns)
		}
	})
	return out
}

// namespace decodes one entry and builds its policy; ok is false when the
// entry has mistakes (already recorded).
func (d *decoder) namespace(n *yaml.Node, path string, declared map[string]int) (ns Namespace, ok bool) {
	before := len(d.errs)
	n = resolve(n)
	ns = Namespace{Line: n.Line, AuthType: "none"}
	p := &policy.Policy{}
	var (
		auth   authSpec
		access map[string]*yaml.Node
		rooms  map[string]*yaml.Node
		limits map[string]*yaml.Node
	)
	present := d.mapping(n, path, map[string]field{
		"name": func(v *yaml.Node, path string) { ns.Name = d.namespaceName(v, path) },
		"pattern": func(v *yaml.Node, path string) {
			ns.Pattern = d.pattern(v, path)
			p.Pattern = ns.Pattern
		},
		"auth":   func(v *yaml.Node, path string) { auth = d.auth(v, path) },
		"access": func(v *yaml.Node, path string) { access = d.access(v, path, &p.Access) },
		"rooms":  func(v *yaml.Node, path string) { rooms = d.rooms(v, path, &p.Rooms) },
		"limits": func(v *yaml.Node, path string) { limits = d.limits(v, path, &p.Limits) },
		"events": func(v *yaml.Node, path string) { d.events(v, path, &p.Events) },
	})
	if present == nil {
		return ns, false
	}

	switch d.alternatives(present, path, "name", "pattern") {
	case "":
		d.fail(n, path, "needs name (a static namespace such as /chat) or pattern (a regular expression for dynamic namespaces)")
	case "name":
		d.declareOnce(declared, present["name"], join(path, "name"), "namespace "+ns.Name, ns.Name != "")
	case "pattern":
		d.declareOnce(declared, present["pattern"], join(path, "pattern"), "pattern "+patternText(ns.Pattern), ns.Pattern != nil)
	}
	d.checkAccess(path, ns.Pattern, auth, p.Access, access)
	d.checkRooms(join(path, "rooms"), p.Rooms, rooms)
	d.checkLimits(join(path, "limits"), p.Limits, limits)

	if len(d.errs) != before {
		return ns, false
	}
	// Build the authenticator only from a namespace without mistakes, so
	// that its errors are about the key material, not about the file.
	if auth.typ != "" {
		ns.AuthType = auth.typ
	}
	p.Auth = d.authenticator(auth)
	if len(d.errs) != before {
		return ns, false
	}
	// The policy checks itself too; should it ever refuse something the
	// loader let through, that is a start-up error here rather than a
	// panic when the policy is applied.
	if err := p.Validate(); err != nil {
		d.fail(n, path, "%v", err)
		return ns, false
	}
	ns.Policy = p
	return ns, true
}

func patternText(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}

// declareOnce records a namespace or pattern, and refuses a second
// declaration of it.
func (d *decoder) declareOnce(declared map[string]int, key *yaml.Node, path, what string, valid bool) {
	if !valid {
		return
	}
	if line, dup := declared[what]; dup {
		d.fail(key, path, "%s is already declared at line %d", what, line)
		return
	}
	declared[what] = key.Line
}

// namespaceName decodes a static name, checked as the hub checks the names
// clients connect to, so that every declared namespace can be reached.
func (d *decoder) namespaceName(n *yaml.Node, path string) string {
	name, ok := d.str(n, path)
	if !ok {
		return ""
	}
	var problem string
	switch {
	case !strings.HasPrefix(name, "/"):
		problem = "must start with /"
	case len(name) > maxNameBytes:
		problem = fmt.Sprintf("is longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		problem = "is not valid UTF-8"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		problem = "contains a control character"
	default:
		return name
	}
	d.fail(resolve(n), path, "namespace %q %s", name, problem)
	return ""
}

// pattern decodes a namespace pattern. It must be anchored at both ends:
// unanchored, ^/admin would also match /admin-backdoor, and /admin would
// match /not-admin, which is never what a policy means.
func (d *decoder) pattern(n *yaml.Node, path string) *regexp.Regexp {
	s, ok := d.str(n, path)
	if !ok {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		d.fail(resolve(n), path, "invalid regular expression: %v", unwrapSyntax(err))
		return nil
	}
	parsed, _ := syntax.Parse(s, syntax.Perl) // compiled above, so it parses
	if !anchoredStart(parsed) || !anchoredEnd(parsed) {
		d.fail(resolve(n), path, "pattern %q must be anchored: start with ^ and end with $", s)
		return nil
	}
	if prefix, _ := re.LiteralPrefix(); prefix != "" && !strings.HasPrefix(prefix, "/") {
		d.fail(resolve(n), path, "pattern %q can never match: namespace names start with /", s)
		return nil
	}
	return re
}

// unwrapSyntax keeps the regexp error's own words, without the "error
// parsing regexp:" prefix that the message already implies.
func unwrapSyntax(err error) string {
	if se, ok := err.(*syntax.Error); ok {
		return fmt.Sprintf("%s: %q", se.Code, se.Expr)
	}
	return err.Error()
}

// anchoredStart reports whether every match of re begins at the start of
// the text (^ in every alternative).
func anchoredStart(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredStart(re.Sub[0])
	case syntax.OpCapture:
		return anchoredStart(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredStart(sub) {
				return false
			}
		}
		return true
	}
	return false
}

// anchoredEnd reports whether every match of re ends at the end of the
// text ($ in every alternative).
func anchoredEnd(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEndText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredEnd(re.Sub[len(re.Sub)-1])
	case syntax.OpCapture:
		return anchoredEnd(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredEnd(sub) {
				return false
			}
		}
		return true
	}
	return false
}
