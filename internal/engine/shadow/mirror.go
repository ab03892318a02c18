package shadow

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// response is one upstream's answer as the comparison sees it.
type response struct {
	status    int
	header    http.Header
	body      []byte
	truncated bool // the body was longer than MaxCompareBytes
}

// result is the outcome of sending one copy.
type result struct {
	resp    *response
	err     error
	elapsed time.Duration // to the end of the body, or to the error
	timeout bool
}

// mirror sends j to dark (and to noise when comparing against one), records
// the outcome and compares the responses.
func (p *Proxy) mirror(j *job) {
	c := j.cfg
	if cur := p.cfg.Load(); cur != nil && cur.threshold == 0 {
		return // paused (or set to 0 %) since: stop at once, queue included
	}
	ctx := p.workCtx // each exchange has a deadline of DarkTimeout
	header := p.copyHeader(j)
	keep := j.live != nil // keep bodies only to compare them

	var noise result
	var wg sync.WaitGroup
	if keep && c.noise != nil {
		wg.Go(func() { noise = p.send(ctx, j, c.noise, header, keep) })
	}
	dark := p.send(ctx, j, c.dark, header, keep)
	wg.Wait()
	if p.workCtx.Err() != nil {
		return // cut short by Close: not a fact about dark
	}
	p.stats.recordDark(dark, false)
	if !keep || dark.resp == nil {
		return
	}
	var noiseResp *response
	if c.noise != nil {
		if noise.resp == nil {
			// Without the noise instance's answer nothing can be
			// discounted; comparing anyway would count noise as diffs.
			p.stats.noiseErrors.Add(1)
			return
		}
		noiseResp = noise.resp
	}
	fields, noisy := compareResponses(c, j.live, dark.resp, noiseResp)
	p.stats.recordComparison(j, fields, noisy)
}

// copyHeader is the header of a copy: the request's, minus hop-by-hop
// headers, with the client's address appended to X-Forwarded-For as on the
// live request, then minus strip_headers. Dark and noise share it,
// read-only.
func (p *Proxy) copyHeader(j *job) http.Header {
	h := j.header
	for name := range connectionHeaders(h) {
		delete(h, name)
	}
	for name := range h {
		if hopByHop(name) {
			delete(h, name)
		}
	}
	h.Del("Content-Length")
	appendForwardedFor(h, h["X-Forwarded-For"], j.remoteAddr)
	for name := range j.cfg.strip {
		h.Del(name)
	}
	return h
}

// send sends the copy to target over a pooled connection and reads the
// whole response, keeping up to MaxCompareBytes of its body when keep is
// set.
func (p *Proxy) send(ctx context.Context, j *job, target *url.URL, header http.Header, keep bool) result {
	out := &outRequest{
		method: j.method,
		target: requestTarget(target, j.uri),
		header: header,
		xff:    strings.Join(header["X-Forwarded-For"], ", "),
		body:   j.body,
	}
	switch j.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		out.keepContentLength = true // "Content-Length: 0", as net/http sends
	}
	var limit int64
	if keep {
		limit = p.opts.MaxCompareBytes
	}
	return p.copyUps.get(target).roundTrip(ctx, out, p.opts.DarkTimeout, limit)
}

// isTimeout reports whether err comes from the copy's deadline or a
// transport timeout.
func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// joinURLPath joins the request path under the upstream's base path, as
// net/http/httputil does for its reverse proxies.
func joinURLPath(a, b *url.URL) (path, rawpath string) {
	if a.RawPath == "" && b.RawPath == "" {
		return singleJoiningSlash(a.Path, b.Path), ""
	}
	apath, bpath := a.EscapedPath(), b.EscapedPath()
	aslash, bslash := strings.HasSuffix(apath, "/"), strings.HasPrefix(bpath, "/")
	switch {
	case aslash && bslash:
		return a.Path + b.Path[1:], apath + bpath[1:]
	case !aslash && !bslash:
		return a.Path + "/" + b.Path, apath + "/" + bpath
	}
	return a.Path + b.Path, apath + bpath
}

func singleJoiningSlash(a, b string) string {
	aslash, bslash := strings.HasSuffix(a, "/"), strings.HasPrefix(b, "/")
	switch {
	case aslash && bslash:
		return a + b[1:]
	case !aslash && !bslash:
		return a + "/" + b
	}
	return a + b
}
