// Command mirror-bench is the helper of hack/bench-mirror.sh:
//
//	mirror-bench image -ref 127.0.0.1:5000/bench/app:v1 -layers 8 -mib 512 -dir /tmp/x
//	    makes an image of random layers (gzip without compression, so that the blobs are
//	    as large as the data and cost no CPU to make) and pushes it over plain HTTP;
//	mirror-bench count -target 127.0.0.1:5000 -out FILE
//	    forwards TCP from a free loopback port (printed on stdout) to target and, on
//	    SIGINT or SIGTERM, writes "<bytes to target> <bytes from target>" into FILE;
//	mirror-bench freeport
//	    prints a free loopback port.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mirror-bench image|count|freeport [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "image":
		err = image(os.Args[2:])
	case "count":
		err = count(os.Args[2:])
	case "freeport":
		err = freePort()
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror-bench:", err)
		os.Exit(1)
	}
}

// image makes and pushes the benchmark image.
func image(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	ref := fs.String("ref", "", "where to push, over plain HTTP")
	layers := fs.Int("layers", 8, "number of layers")
	mib := fs.Int64("mib", 512, "size of all layers together, MiB")
	dir := fs.String("dir", "", "directory for the layer files")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" || *dir == "" || *layers < 1 {
		return errors.New("image: -ref and -dir are required, -layers must be positive")
	}
	r, err := name.ParseReference(*ref, name.Insecure)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewChaCha8(seedBytes(*seed)))
	per := *mib << 20 / int64(*layers)
	var ls []v1.Layer
	for i := range *layers {
		path := filepath.Join(*dir, fmt.Sprintf("layer-%d.tar.gz", i))
		if err := writeLayer(path, fmt.Sprintf("data-%d", i), per, rng); err != nil {
			return err
		}
		l, err := tarball.LayerFromFile(path)
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remote.WithJobs(4))
}

// seedBytes expands seed into a ChaCha8 seed.
func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	return b
}

// writeLayer writes a gzip (without compression) tar holding one file of size random
// bytes.
func writeLayer(path, file string, size int64, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.NoCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		for i := int64(0); i < n; i += 8 {
			v := rng.Uint64()
			for j := int64(0); j < 8 && i+j < n; j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := tw.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// count forwards TCP connections to a target and counts the bytes each way.
func count(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	target := fs.String("target", "", "host:port to forward to")
	out := fs.String("out", "", "file to write the counts into when stopped")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" || *out == "" {
		return errors.New("count: -target and -out are required")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	var up, down atomic.Int64
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go forward(c, *target, &up, &down)
		}
	}()
	<-stop
	ln.Close()
	return os.WriteFile(*out, fmt.Appendf(nil, "%d %d\n", up.Load(), down.Load()), 0o644)
}

// forward copies between c and a new connection to target, counting bytes.
func forward(c net.Conn, target string, up, down *atomic.Int64) {
	defer c.Close()
	t, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer t.Close()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn, n *atomic.Int64) {
		defer wg.Done()
		_, _ = io.Copy(countingWriter{dst, n}, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	wg.Add(2)
	go pipe(t, c, up)
	go pipe(c, t, down)
	wg.Wait()
}

// countingWriter adds what it writes to n as it goes.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}

// freePort prints a loopback TCP port that was free a moment ago.
func freePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}
