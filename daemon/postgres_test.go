package daemon

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRunsOnPostgreSQL is the user story "with store.dsn: postgres://… the
// same daemon runs on PostgreSQL": a series created through the API is
// still there after a restart, and no SQLite file was made.
func TestRunsOnPostgreSQL(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := filepath.Join(t.TempDir(), "data")
	onPostgres := func(c *config.Config) { c.Store.DSN = dsn }

	d := startWith(t, dir, onPostgres)
	if code := get(t, d.url+"/readyz"); code != http.StatusOK {
		t.Fatalf("GET /readyz = %d, want 200", code)
	}
	token, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"manager":{"email":"aiko@example.com"},"report":{"email":"ren@example.com"},"start":"2026-12-01T10:00","timezone":"Asia/Tokyo"}`
	req, _ := http.NewRequest("POST", d.url+"/api/v1/series", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/series = %d, want 201", resp.StatusCode)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d = startWith(t, dir, onPostgres)
	req, _ = http.NewRequest("GET", d.url+"/api/v1/series", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(list), `"ren@example.com"`) {
		t.Errorf("after restart the series is gone: %s", list)
	}
	if _, err := os.Stat(filepath.Join(dir, "oneonone.db")); err == nil {
		t.Error("a SQLite database was created although store.dsn names PostgreSQL")
	}
}
