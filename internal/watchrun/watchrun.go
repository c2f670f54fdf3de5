// Package watchrun is build-watcher's run: load the cluster configuration, serve metrics
// and health, take the leader lease when asked, and run the watcher while leading.
package watchrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/thoth-station/build-watcher/internal/kube"
	"github.com/thoth-station/build-watcher/internal/usage"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// The watcher's default client rate limits: a burst of finished builds costs two writes
// each, and 1,000 builds should start within seconds.
const (
	WatcherQPS   = 500
	WatcherBurst = 1000
)

// LeaseName is the default name of the leader-election Lease.
const LeaseName = "build-watcher"

// Options is one build-watcher process.
type Options struct {
	Watcher watcher.Config
	// Kubeconfig is a path; empty: $KUBECONFIG, ~/.kube/config, else the pod's service account (kube.Load).
	Kubeconfig string
	// REST, when set, is used instead of loading a configuration (tests).
	REST  *rest.Config
	QPS   float32
	Burst int
	// MetricsAddress serves /metrics, /healthz and /readyz; empty: not served.
	MetricsAddress string
	// LeaderElect runs the watcher only while holding the Lease LeaseName in the state
	// namespace, so that two replicas never act at once; LeaseDuration is how long a dead
	// leader blocks the others. build-watcher turns it on unless told otherwise.
	LeaderElect   bool
	LeaseName     string
	LeaseDuration time.Duration
	// Identity names this replica in the Lease (default: host name + random suffix).
	Identity string
}

// Run runs until ctx ends (nil), or an error stops the watcher, or leadership is lost.
func Run(ctx context.Context, o Options) error {
	log := o.Watcher.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		o.Watcher.Logger = log
	}
	if err := o.Watcher.ValidateFlags(); err != nil {
		return err
	}
	// The targets file is input like a flag: checked before anything connects or starts.
	if o.Watcher.TargetsFile != "" && len(o.Watcher.Targets) == 0 {
		specs, err := watcher.LoadTargets(o.Watcher.TargetsFile)
		if err != nil {
			return usage.Wrap(err)
		}
		o.Watcher.Targets = specs
	}
	cfg := o.REST
	if cfg == nil {
		loaded, err := kube.Load(o.Kubeconfig)
		if err != nil {
			return usage.Wrap(err)
		}
		cfg = loaded.REST
		if o.Watcher.StateNamespace == "" {
			o.Watcher.StateNamespace = loaded.Namespace
		}
		if o.Watcher.RunNamespace == "" {
			o.Watcher.RunNamespace = o.Watcher.StateNamespace
		}
	}
	cfg = rest.CopyConfig(cfg)
	if o.QPS > 0 {
		cfg.QPS = o.QPS
	}
	if o.Burst > 0 {
		cfg.Burst = o.Burst
	}
	cfg.UserAgent = rest.DefaultKubernetesUserAgent() + " build-watcher"
	clients, err := watcher.NewClients(cfg)
	if err != nil {
		return err
	}
	metrics := watcher.NewMetrics()
	w, err := watcher.New(&o.Watcher, clients, metrics)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var elector *leaderelection.LeaderElector
	// leading tracks the watcher run while leading: client-go's elector returns without
	// waiting for it, and Run must not return before it has stopped.
	var leading struct {
		sync.Mutex
		over bool
		runs sync.WaitGroup
	}
	if o.LeaderElect {
		if elector, err = newElector(o, clients.Kube, log, func(lctx context.Context) {
			leading.Lock()
			if leading.over {
				leading.Unlock()
				return
			}
			leading.runs.Add(1)
			leading.Unlock()
			defer leading.runs.Done()
			if err := w.Run(lctx); err != nil {
				cancel(err)
			}
		}, func() { cancel(errors.New("lost the leader lease: stopping so that a restart rejoins the election")) }); err != nil {
			return err
		}
	}
	if o.MetricsAddress != "" {
		srv, err := serve(o.MetricsAddress, metrics, w, elector, log)
		if err != nil {
			return err
		}
		defer func() {
			sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = srv.Shutdown(sctx)
		}()
	}
	if elector != nil {
		elector.Run(ctx) // returns when ctx ends or leadership is lost
		leading.Lock()
		leading.over = true
		leading.Unlock()
		leading.runs.Wait()
	} else if err := w.Run(ctx); err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("build-watcher stopped")
	return nil
}

func newElector(o Options, kube kubernetes.Interface, log *slog.Logger, lead func(context.Context), lost func()) (*leaderelection.LeaderElector, error) {
	id := o.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + string(uuid.NewUUID())
	}
	name := o.LeaseName
	if name == "" {
		name = LeaseName
	}
	d := o.LeaseDuration
	if d <= 0 {
		d = 15 * time.Second
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.Watcher.StateNamespace, name, nil,
		kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return nil, fmt.Errorf("making the leader-election lock: %w", err)
	}
	return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: name, ReleaseOnCancel: true,
		LeaseDuration: d, RenewDeadline: d * 2 / 3, RetryPeriod: d / 7,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("leading: watching builds", "identity", id, "lease", o.Watcher.StateNamespace+"/"+name)
				lead(ctx)
			},
			OnStoppedLeading: lost,
			OnNewLeader: func(leader string) {
				if leader != id {
					log.Info("standing by: another replica leads", "leader", leader)
				}
			},
		},
	})
}

// serve starts the metrics and health endpoints.
func serve(addr string, m *watcher.Metrics, w *watcher.Watcher, elector *leaderelection.LeaderElector, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, r *http.Request) {
		if elector != nil {
			if err := elector.Check(20 * time.Second); err != nil {
				http.Error(rw, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		_, _ = rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, r *http.Request) {
		// A standby replica is ready: it is waiting for the lease, as it should.
		if w.Ready() || (elector != nil && !elector.IsLeader()) {
			_, _ = rw.Write([]byte("ok\n"))
			return
		}
		http.Error(rw, "caches not synced yet", http.StatusServiceUnavailable)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the metrics server stopped", "error", err)
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", "address", ln.Addr().String())
	return srv, nil
}
