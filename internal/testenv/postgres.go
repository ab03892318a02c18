package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	// The "pgx" database/sql driver, to create per-test databases.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresDSNEnv names a server to use instead of starting one.
const PostgresDSNEnv = "PROGRESSIVE_TEST_POSTGRES_DSN"

var (
	pgOnce sync.Once
	pgDSN  string
	pgErr  error
)

// PostgresDSN returns the URL of a new, empty database on a PostgreSQL server:
// the one named by PROGRESSIVE_TEST_POSTGRES_DSN, or a throwaway cluster that
// this process starts once and stops in Main.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
			pgDSN = dsn
			return
		}
		pgDSN, pgErr = startPostgres()
	})
	if pgErr != nil {
		Unavailable(t, "PostgreSQL", pgErr.Error()+"; install Debian's postgresql package (apt-get install postgresql) or set "+PostgresDSNEnv)
	}
	admin, err := sql.Open("pgx", pgDSN)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresDSNEnv, err)
	}
	defer admin.Close()
	name := "progressive_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", pgDSN)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(pgDSN, name)
}

func withDatabase(dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// postgresBin finds Debian's server programs, which are not on PATH.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("pg_ctl not found in /usr/lib/postgresql/*/bin or on PATH")
}

func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func freePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startPostgres makes a throwaway cluster in a temporary directory. initdb
// and pg_ctl refuse to run as root, so as root they run as the unprivileged
// "postgres" user that Debian's package creates.
func startPostgres() (string, error) {
	bin, err := postgresBin()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "progressive-pg-")
	if err != nil {
		return "", err
	}
	var runAs *user.User
	if os.Geteuid() == 0 {
		runAs, err = user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root and there is no unprivileged postgres user to run initdb as: %w", err)
		}
		uid, _ := strconv.Atoi(runAs.Uid)
		gid, _ := strconv.Atoi(runAs.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
	}
	run := func(name string, args ...string) error {
		var cmd *exec.Cmd
		if runAs != nil {
			cmd = exec.CommandContext(context.Background(), "runuser", append([]string{"-u", runAs.Username, "--", filepath.Join(bin, name)}, args...)...)
		} else {
			cmd = exec.CommandContext(context.Background(), filepath.Join(bin, name), args...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return "", err
	}
	atExit(func() {
		_ = run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}
