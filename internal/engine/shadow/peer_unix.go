//go:build unix

package shadow

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the upstream has closed an idle connection
// (or reset it) since it was pooled, by peeking at the socket without
// blocking: one system call, which spares a request that may not be sent
// twice (a POST) the 502 of a connection that turns out dead, when live
// closes idle connections sooner than the pool would (Node's servers do
// after 5 s).
func peerClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) || errors.Is(rerr, syscall.EINTR):
			// Nothing to read: open.
		case rerr != nil:
			closed = true // reset
		case n == 0:
			closed = true // the upstream's FIN
		default:
			// Bytes nobody asked for on an idle connection: garbage on
			// plain HTTP and, over TLS, most likely the close_notify
			// alert that comes before the FIN (a session ticket comes
			// with the first answer and is read with it).
			closed = true
		}
		return true
	})
	return closed || err != nil
}
