package chromium

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestStartHasFakeMedia(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>t</title>"))
	}))
	defer srv.Close()
	ctx := Start(t, Options{Lang: "ja"})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.language`))
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`navigator.mediaDevices.getUserMedia({audio: true, video: true}).then(s => s.getTracks().map(t => t.kind).sort())`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 2 || kinds[0] != "audio" || kinds[1] != "video" {
		t.Fatalf("fake media tracks %v", kinds)
	}
	if lang != "ja" {
		t.Errorf("navigator.language %q, want ja", lang)
	}
}
