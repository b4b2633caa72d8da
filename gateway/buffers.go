package gateway

import (
	"net/http/httputil"
	"sync"
)

// The copy buffers of the reverse proxies.

// copyBufferSize is the size of ReverseProxy's own buffers.
const copyBufferSize = 32 << 10

// bufferPool lends ReverseProxy its 32 KiB copy buffers, which it would
// otherwise allocate (and the GC clear and collect) on every request. The
// pool holds array pointers, which a returned slice converts back to
// without an allocation (a *[]byte would cost one per Put).
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return bp.p.Get().(*[copyBufferSize]byte)[:] }

// Put implements httputil.BufferPool.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		bp.p.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}

var _ httputil.BufferPool = (*bufferPool)(nil)
