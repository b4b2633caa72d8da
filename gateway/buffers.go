package gateway

import (
	"net/http/httputil"
	"sync"
)

// The copy buffers of the reverse proxies.

// bufferPool lends ReverseProxy its 32 KiB copy buffers, which it would
// otherwise allocate (and the GC clear and collect) on every request.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return *(bp.p.Get().(*[]byte)) }

// Put implements httputil.BufferPool.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) == 32<<10 {
		bp.p.Put(&b)
	}
}

var _ httputil.BufferPool = (*bufferPool)(nil)
