package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"commpulse/internal/chlocal"
)

// ClusterName is the name of the test cluster in the servers'
// remote_servers configuration (what Distributed tables and
// store.Cluster.Name refer to).
const ClusterName = "commpulse_test"

// ClusterShards is the number of shards of the test cluster.
const ClusterShards = 2

var (
	clusterOnce sync.Once
	clusterSrvs []*chlocal.Server
	clusterDir  string // holds the config file; Main removes it
	errCluster  error
)

// Cluster returns the test binary's shared two-shard cluster, starting it on
// first use: one embedded server per shard, each started with a config file
// whose remote_servers section lists both shards (one replica each) by their
// shielded native addresses, the stable ones. There is no Keeper, so no
// replication and no ON CLUSTER DDL: a test reaches each shard itself. Main
// closes the servers. Two servers take about 1-2 s to start and ~210 MB
// of memory each.
func Cluster(t testing.TB) []*chlocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse engines; skipped with -short")
	}
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The remote_servers section must name the shields' ports before
		// the engines start, so the ports are picked here; one taken in
		// between makes Start fail, and the cluster is tried on fresh ones.
		for attempt := 1; attempt <= 3; attempt++ {
			clusterSrvs, errCluster = startCluster(ctx, ClusterShards)
			if errCluster == nil || !strings.Contains(errCluster.Error(), "address already in use") {
				return
			}
		}
	})
	if errCluster != nil {
		t.Fatalf("chtest: start ClickHouse cluster: %v", errCluster)
	}
	return clusterSrvs
}

func startCluster(ctx context.Context, shards int) ([]*chlocal.Server, error) {
	ports, err := freePorts(2 * shards)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "chtest-cluster-")
	if err != nil {
		return nil, err
	}
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
	clusterDir = dir
	config := filepath.Join(dir, "cluster.xml")
	if err := os.WriteFile(config, ClusterConfig(ClusterName, ports[:shards]), 0o644); err != nil {
		return nil, err
	}
	var srvs []*chlocal.Server
	for i := range shards {
		srv, err := chlocal.Start(ctx, chlocal.Config{Progress: os.Stderr, AutoRestart: true, ConfigFile: config,
			TCPPort: ports[i], HTTPPort: ports[shards+i]})
		if err != nil {
			closeAll(srvs)
			return nil, fmt.Errorf("shard %d: %w", i+1, err)
		}
		srvs = append(srvs, srv)
	}
	return srvs, nil
}

// ClusterConfig is a ClickHouse configuration file declaring cluster name
// with one shard per port, each a single replica on 127.0.0.1.
func ClusterConfig(name string, ports []int) []byte {
	shards := make([][]string, len(ports))
	for i, p := range ports {
		shards[i] = []string{fmt.Sprintf("127.0.0.1:%d", p)}
	}
	return clusterConfig(name, shards, ClusterOptions{})
}

// clusterConfig declares cluster name with the given shards, each a list of
// replica addresses (host:port), configured by o (secret, the servers' user
// for each other, a users file). A shard of more than one replica gets
// internal_replication, as on a replicated cluster: a Distributed insert
// writes to one replica.
func clusterConfig(name string, shards [][]string, o ClusterOptions) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<clickhouse>\n  <remote_servers>\n    <%s>\n", name)
	if o.Secret != "" {
		fmt.Fprintf(&b, "      <secret>%s</secret>\n", o.Secret)
	}
	var user string
	if o.User != "" {
		user = fmt.Sprintf("<user>%s</user><password>%s</password>", o.User, o.Password)
	}
	for _, reps := range shards {
		b.WriteString("      <shard>")
		if len(reps) > 1 {
			b.WriteString("<internal_replication>true</internal_replication>")
		}
		for _, a := range reps {
			host, port, _ := net.SplitHostPort(a)
			fmt.Fprintf(&b, "<replica><host>%s</host><port>%s</port>%s</replica>", host, port, user)
		}
		b.WriteString("</shard>\n")
	}
	fmt.Fprintf(&b, "    </%s>\n  </remote_servers>\n", name)
	if o.UsersXML != "" {
		fmt.Fprintf(&b, "  <user_directories><users_xml><path>%s</path></users_xml></user_directories>\n", o.UsersXML)
	}
	b.WriteString("</clickhouse>\n")
	return []byte(b.String())
}

// ClusterOptions configure a cluster of a test's own (StartCluster).
type ClusterOptions struct {
	// Name is the cluster's name in remote_servers; default ClusterName.
	Name string
	// Servers is the number of servers of each shard: its replicas, each
	// with tables of its own (there is no replication here). Default one
	// server for each of ClusterShards shards.
	Servers []int
	// Extra lists, by shard index, more replica addresses for
	// remote_servers after the shard's servers: addresses the test
	// provides (a proxy to a server posing as one more replica, an
	// address nobody listens on).
	Extra map[int][]string
	// Secret, if set, is the cluster's interserver secret
	// (remote_servers/<cluster>/secret): a shard then runs a query sent by
	// another shard as the user who sent it, with that user's grants,
	// instead of as the replica's configured user (default).
	Secret string
	// User and Password, if User is set, are the user the servers connect
	// to each other as (each replica's <user>, <password>), instead of
	// default.
	User, Password string
	// UsersXML, if set, is a users file (store.AccessModel.UsersXML) every
	// server reads its users from.
	UsersXML string
}

// StartCluster starts a cluster of t's own, configured by o, for tests
// that need the servers otherwise than the shared Cluster (users, a
// secret, several replicas of a shard), and returns its servers by shard.
// They are closed, and their configuration and data removed, when t ends.
// Each server costs ~1 s to start and ~210 MB. Ports are picked before the
// servers start; one taken in between makes the start be tried again on
// fresh ports (three times).
func StartCluster(t testing.TB, o ClusterOptions) [][]*chlocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse engines; skipped with -short")
	}
	if o.Name == "" {
		o.Name = ClusterName
	}
	if len(o.Servers) == 0 {
		o.Servers = make([]int, ClusterShards)
		for i := range o.Servers {
			o.Servers[i] = 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		shards [][]*chlocal.Server
		err    error
	)
	for attempt := 1; attempt <= 3; attempt++ {
		shards, err = startClusterIn(ctx, t.TempDir(), o)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("chtest: start ClickHouse cluster %s: %v", o.Name, err)
	}
	t.Cleanup(func() {
		for _, srvs := range shards {
			closeAll(srvs)
		}
	})
	return shards
}

// startClusterIn starts the servers of o with their config file and data
// in dir.
func startClusterIn(ctx context.Context, dir string, o ClusterOptions) ([][]*chlocal.Server, error) {
	total := 0
	for _, n := range o.Servers {
		total += n
	}
	ports, err := freePorts(2 * total)
	if err != nil {
		return nil, err
	}
	layout := make([][]string, len(o.Servers))
	next := 0
	for i, n := range o.Servers {
		for range n {
			layout[i] = append(layout[i], fmt.Sprintf("127.0.0.1:%d", ports[next]))
			next++
		}
		layout[i] = append(layout[i], o.Extra[i]...)
	}
	config := filepath.Join(dir, "cluster.xml")
	if err := os.WriteFile(config, clusterConfig(o.Name, layout, o), 0o600); err != nil {
		return nil, err
	}
	out := make([][]*chlocal.Server, len(o.Servers))
	next = 0
	for i, n := range o.Servers {
		for j := range n {
			srv, err := chlocal.Start(ctx, chlocal.Config{Progress: os.Stderr, AutoRestart: true, ConfigFile: config,
				DataDir: filepath.Join(dir, fmt.Sprintf("shard%d-replica%d", i+1, j+1)), TCPPort: ports[next], HTTPPort: ports[total+next]})
			if err != nil {
				for _, srvs := range out {
					closeAll(srvs)
				}
				return nil, fmt.Errorf("shard %d replica %d: %w", i+1, j+1, err)
			}
			next++
			out[i] = append(out[i], srv)
		}
	}
	return out, nil
}

// closeCluster closes the shared cluster's servers and removes its config.
func closeCluster() {
	closeAll(clusterSrvs)
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
}

func closeAll(srvs []*chlocal.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range srvs {
		if err := s.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "chtest: %v\n", err)
		}
	}
}

// ClusterDatabase returns a database name unique to this test, for a
// database that the test creates on the shards (store.Migrate does), and
// drops it from every shard in t.Cleanup.
func ClusterDatabase(t testing.TB, srvs []*chlocal.Server) string {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = "c_" + name + "_" + hex.EncodeToString(r[:])
	t.Cleanup(func() {
		for i, srv := range srvs {
			if err := exec(srv, "DROP DATABASE IF EXISTS `"+name+"` SYNC"); err != nil {
				t.Logf("chtest: drop database %s on shard %d: %v", name, i+1, err)
			}
		}
	})
	return name
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chtest: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
