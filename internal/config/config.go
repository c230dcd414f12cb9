package config

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	redisadapter "github.com/roomcast/roomcast/server/adapter/redis"
)

// Config is a loaded, valid configuration file.
type Config struct {
	// File is the path the configuration was loaded from.
	File string

	GRPCAddr        string
	HTTPAddr        string
	AdminToken      string
	LogFormat       string
	ShutdownTimeout time.Duration
	Adapter         string
	RedisURL        string
	RedisPrefix     string
	ClusterTimeout  time.Duration
	NodeID          string
	Pprof           bool
	Transport       string

	// Namespaces are the namespaces and patterns the file declares, in
	// file order (patterns are tried in that order).
	Namespaces []Namespace

	// set holds the server settings the file sets, by key, so that flags
	// and environment variables override exactly those.
	set map[string]bool
}

// Settings returns the server settings the file sets, keyed by their YAML
// keys (grpc_addr, http_addr, admin_token, log_format, shutdown_timeout,
// adapter, redis_url, redis_prefix, cluster_timeout, node_id, pprof, transport),
// each written as its command-line flag would take it. A setting the file
// leaves out is absent, so that the binary's own default applies.
func (c *Config) Settings() map[string]string {
	all := map[string]string{
		"grpc_addr":        c.GRPCAddr,
		"http_addr":        c.HTTPAddr,
		"admin_token":      c.AdminToken,
		"log_format":       c.LogFormat,
		"shutdown_timeout": c.ShutdownTimeout.String(),
		"adapter":          c.Adapter,
		"redis_url":        c.RedisURL,
		"redis_prefix":     c.RedisPrefix,
		"cluster_timeout":  c.ClusterTimeout.String(),
		"node_id":          c.NodeID,
		"pprof":            strconv.FormatBool(c.Pprof),
		"transport":        c.Transport,
	}
	out := make(map[string]string, len(c.set))
	for key := range c.set {
		out[key] = all[key]
	}
	return out
}

// Load reads and validates the configuration file at path, including the
// files and environment variables it refers to.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: unwrapPath(err).Error()}
	}
	return Parse(path, data)
}

// Parse validates a configuration read from the file named file; files it
// refers to by relative path are looked up beside that file.
func Parse(file string, data []byte) (*Config, error) {
	return parse(file, data, os.LookupEnv)
}

func parse(file string, data []byte, env func(string) (string, bool)) (*Config, error) {
	d := &decoder{file: file, dir: filepath.Dir(file), env: env}
	root, err := document(data)
	if err != nil {
		return nil, d.syntaxError(err)
	}
	cfg := &Config{File: file, set: map[string]bool{}}
	if root != nil {
		d.config(root, cfg)
	}
	if err := joinErrors(d.errs); err != nil {
		return nil, err
	}
	return cfg, nil
}

// errMultipleDocuments refuses a second YAML document, which would
// otherwise be silently ignored.
type errMultipleDocuments struct{ line int }

func (e errMultipleDocuments) Error() string {
	return "yaml: line " + strconv.Itoa(e.line) + ": a second YAML document (---); put everything in one"
}

// document returns the root node of the file's single YAML document, or
// nil when the file is empty or holds only comments.
func document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		return nil, errMultipleDocuments{line: second.Line}
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlLine finds the line in the YAML library's error messages
// ("yaml: line 3: did not find expected key").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError locates a YAML syntax error the way other mistakes are.
func (d *decoder) syntaxError(err error) error {
	e := &Error{File: d.file, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

// config decodes the top level of the file.
func (d *decoder) config(root *yaml.Node, cfg *Config) {
	setting := func(key string, decode func(n *yaml.Node, path string) bool) field {
		return func(n *yaml.Node, path string) {
			if decode(n, path) {
				cfg.set[key] = true
			}
		}
	}
	present := d.mapping(root, "", map[string]field{
		"grpc_addr": setting("grpc_addr", func(n *yaml.Node, path string) (ok bool) {
			cfg.GRPCAddr, ok = d.addr(n, path)
			return ok
		}),
		"http_addr": setting("http_addr", func(n *yaml.Node, path string) (ok bool) {
			cfg.HTTPAddr, ok = d.addr(n, path)
			return ok
		}),
		"admin_token": setting("admin_token", func(n *yaml.Node, path string) (ok bool) {
			cfg.AdminToken, ok = d.str(n, path)
			return ok
		}),
		"admin_token_file": setting("admin_token", func(n *yaml.Node, path string) bool {
			b, ok := d.readFile(n, path)
			if !ok {
				return false
			}
			cfg.AdminToken = string(bytes.TrimSpace(b))
			switch {
			case cfg.AdminToken == "":
				d.fail(resolve(n), path, "the file is empty")
			case strings.IndexFunc(cfg.AdminToken, unicode.IsSpace) >= 0:
				d.fail(resolve(n), path, "the token in the file has a space or line break inside; want one token on one line")
			default:
				return true
			}
			return false
		}),
		"admin_token_env": setting("admin_token", func(n *yaml.Node, path string) (ok bool) {
			cfg.AdminToken, ok = d.envVar(n, path)
			return ok
		}),
		"log_format": setting("log_format", func(n *yaml.Node, path string) (ok bool) {
			cfg.LogFormat, ok = d.oneOf(n, path, "text", "json")
			return ok
		}),
		"shutdown_timeout": setting("shutdown_timeout", func(n *yaml.Node, path string) (ok bool) {
			cfg.ShutdownTimeout, ok = d.duration(n, path)
			return ok
		}),
		"adapter": setting("adapter", func(n *yaml.Node, path string) (ok bool) {
			cfg.Adapter, ok = d.oneOf(n, path, "memory", "redis")
			return ok
		}),
		"redis_url": setting("redis_url", func(n *yaml.Node, path string) (ok bool) {
			cfg.RedisURL, ok = d.redisURL(n, path)
			return ok
		}),
		"redis_prefix": setting("redis_prefix", func(n *yaml.Node, path string) (ok bool) {
			cfg.RedisPrefix, ok = d.str(n, path)
			return ok
		}),
		"cluster_timeout": setting("cluster_timeout", func(n *yaml.Node, path string) (ok bool) {
			cfg.ClusterTimeout, ok = d.duration(n, path)
			return ok
		}),
		"node_id": setting("node_id", func(n *yaml.Node, path string) (ok bool) {
			cfg.NodeID, ok = d.str(n, path)
			return ok
		}),
		"pprof": setting("pprof", func(n *yaml.Node, path string) (ok bool) {
			cfg.Pprof, ok = d.boolean(n, path)
			return ok
		}),
		"transport": setting("transport", func(n *yaml.Node, path string) (ok bool) {
			cfg.Transport, ok = d.oneOf(n, path, "roomcast", "grpc-go")
			return ok
		}),
		"namespaces": func(n *yaml.Node, path string) {
			cfg.Namespaces = d.namespaces(n, path)
		},
	})
	d.alternatives(present, "", "admin_token", "admin_token_file", "admin_token_env")
}

// addr decodes a listen address, host:port, where host may be empty.
func (d *decoder) addr(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		d.fail(resolve(n), path, "want host:port, e.g. :50051, got %q", s)
		return "", false
	}
	return s, true
}

// redisURL decodes the Redis of a cluster as the adapter will read it,
// with the adapter's own parser, so that a URL it would refuse stops
// start-up here, located, rather than when the adapter dials. The message
// leaves the URL out: it may hold a password.
func (d *decoder) redisURL(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if _, err := redisadapter.ParseURL(s); err != nil { // its errors leave the URL out
		d.fail(resolve(n), path, "%s; want redis://[USER:PASSWORD@]HOST:PORT/DB, rediss://... for TLS, unix:///PATH, "+
			"or redis+cluster://HOST:PORT?addr=HOST:PORT... for a Redis Cluster",
			strings.TrimPrefix(err.Error(), "redis: "))
		return "", false
	}
	return s, true
}
