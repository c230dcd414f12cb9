package transport

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startFallback serves a request through the Fallback http.Handler, as
// net/http's HTTP/2 server would: grpc.Server.ServeHTTP needs a request
// that says HTTP/2, a body, and a ResponseWriter that flushes and sends
// trailers.
func (c *conn) startFallback(st *stream, f *http2.MetaHeadersFrame) error {
	header := make(http.Header, len(f.Fields))
	for _, hf := range f.RegularFields() {
		header.Add(hf.Name, hf.Value)
	}
	path := f.PseudoValue("path")
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return c.abort(st.id, f.StreamEnded(), status.Newf(codes.Internal, "transport: bad :path %q", path))
	}
	ctx, cancel := context.WithCancel(context.WithValue(c.srv.ctx, http.LocalAddrContextKey, c.nc.LocalAddr()))
	st.ctx, st.cancel = ctx, cancel
	st.raw = true
	req := (&http.Request{
		Method:     f.PseudoValue("method"),
		URL:        u,
		RequestURI: path,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       f.PseudoValue("authority"),
		RemoteAddr: c.nc.RemoteAddr().String(),
		Body:       st,
		// Unknown: the body is however many DATA frames come.
		ContentLength: -1,
	}).WithContext(ctx)
	if !c.addStream(st) {
		cancel()
		return c.write(appendRSTStream(nil, st.id, http2.ErrCodeRefusedStream))
	}
	if f.StreamEnded() {
		st.halfClose()
	}
	go c.runFallback(st, req)
	return nil
}

func (c *conn) runFallback(st *stream, req *http.Request) {
	defer c.handlerDone()
	w := &responseWriter{st: st, header: make(http.Header)}
	defer func() {
		if r := recover(); r != nil {
			// As net/http does: a reset, so that the client cannot take a
			// cut-off response for a whole one.
			c.srv.cfg.Logger.Error("panic in the fallback handler", "path", st.method, "panic", r)
			c.resetStream(st.id, http2.ErrCodeInternal, errStreamDone)
			return
		}
		w.finish()
	}()
	c.srv.cfg.Fallback.ServeHTTP(w, req)
}

// responseWriter is an http.ResponseWriter on a stream. Writes go out at
// once (Flush has nothing to do but send the headers); trailers are the
// header's "Trailer"-declared keys and http.TrailerPrefix keys, sent when
// the handler returns.
type responseWriter struct {
	st          *stream
	header      http.Header
	wroteHeader bool
	failed      error
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	// A 1xx is informational: the final status still follows.
	informational := code >= 100 && code < 200
	w.wroteHeader = !informational
	fields := []hpack.HeaderField{{Name: ":status", Value: strconv.Itoa(code)}}
	for k, vs := range w.header {
		if k != "Trailer" && !strings.HasPrefix(k, http.TrailerPrefix) {
			fields = appendField(fields, k, vs)
		}
	}
	st := w.st
	st.c.wmu.Lock()
	defer st.c.wmu.Unlock()
	if st.ended.Load() {
		w.failed = errStreamDone
		return
	}
	st.headersSent = true
	w.failed = st.c.writeLocked(appendHeaders(nil, st.id, fields, false, st.c.peerMaxFrame()))
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.failed != nil {
		return 0, w.failed
	}
	if len(b) == 0 {
		return 0, nil
	}
	if err := w.st.write(nil, b); err != nil {
		w.failed = err
		return 0, err
	}
	return len(b), nil
}

func (w *responseWriter) Flush() { w.WriteHeader(http.StatusOK) }

// finish ends the stream: with the trailers, or, from a handler that
// answered a gRPC request with nothing at all (a grpc.Server that has
// stopped), with UNAVAILABLE; any other request then gets net/http's 200.
func (w *responseWriter) finish() {
	st := w.st
	if !w.wroteHeader && isGRPCContentType(st.contentType) {
		_ = st.WriteStatus(status.New(codes.Unavailable, "the server is not serving"))
		return
	}
	w.WriteHeader(http.StatusOK)
	var fields []hpack.HeaderField
	for _, k := range w.header.Values("Trailer") {
		for _, name := range strings.Split(k, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			fields = appendField(fields, name, w.header[name])
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			fields = appendField(fields, name, vs)
		}
	}
	st.c.wmu.Lock()
	if st.ended.Load() {
		st.c.wmu.Unlock()
		st.c.endStream(st)
		return
	}
	st.ended.Store(true)
	var out []byte
	if len(fields) > 0 {
		out = appendHeaders(nil, st.id, fields, true, st.c.peerMaxFrame())
	} else {
		out = appendFrameHeader(nil, 0, http2.FrameData, http2.FlagDataEndStream, st.id)
	}
	_ = st.c.writeLocked(st.appendEndLocked(out))
	st.c.wmu.Unlock()
	st.c.endStream(st)
}

// appendField appends a header's values as HTTP/2 fields (lower-case
// names).
func appendField(fields []hpack.HeaderField, name string, values []string) []hpack.HeaderField {
	name = strings.ToLower(name)
	for _, v := range values {
		fields = append(fields, hpack.HeaderField{Name: name, Value: v})
	}
	return fields
}
