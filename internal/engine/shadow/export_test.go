package shadow

import "crypto/x509"

// TrustUpstreamRoots makes https upstreams verified with pool (an
// httptest TLS server's) until the returned function restores the
// system's roots. Tests that use it do not run in parallel.
func TrustUpstreamRoots(pool *x509.CertPool) (restore func()) {
	prev := upstreamRootCAs
	upstreamRootCAs = pool
	return func() { upstreamRootCAs = prev }
}
