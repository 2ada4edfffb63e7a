package browsertest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oneonone/oneonone/internal/chromium"
)

// TestRoomSidebarIsTheAgenda: in the video room, the sidebar is the live
// agenda over the room's own connection: a talking point Ren adds there
// appears in Aiko's sidebar, and Aiko checking it off shows on Ren's side.
func TestRoomSidebarIsTheAgenda(t *testing.T) {
	chromium.Require(t)
	base, token := startDaemon(t)
	aikoPage, renPage := agendaLinks(t, base, token)
	// The same personal links open the room instead of the agenda page.
	room := func(agendaPage string) string {
		path, q, _ := strings.Cut(agendaPage, "?")
		series := strings.Split(strings.TrimPrefix(path, base+"/home/series/"), "/")[0]
		return base + "/r/" + series + "?" + q
	}
	var aiko, ren *browser
	var wg sync.WaitGroup
	wg.Add(2)
	open := func(name, url string, out **browser) {
		defer wg.Done()
		b := &browser{t: t, name: name, ctx: chromium.Start(t, chromium.Options{Lang: "en"})}
		b.do(chromedp.Navigate(url))
		b.waitJS(`(() => { const b = document.querySelector('[data-action="join"]'); return b && !b.disabled; })()`)
		eval[bool](b, `(document.querySelector('[data-action="join"]').click(), true)`)
		b.waitJS(`!!document.querySelector('[data-role="agenda-live"]')?.agendaView?.loaded`)
		*out = b
	}
	go open("aiko", room(aikoPage), &aiko)
	go open("ren", room(renPage), &ren)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	sidebarTexts := func(b *browser) string {
		return eval[string](b, `[...document.querySelectorAll('[data-role="agenda-live"] [data-role="item"]')]
			.map((li) => li.dataset.kind + '|' + li.querySelector('[data-role="text"]').textContent + '|' + li.dataset.done).join('\n')`)
	}
	eval[bool](ren, `(() => {
		const f = document.querySelector('[data-role="agenda-live"] [data-role="add-form"]');
		f.querySelector('[data-role="new-kind"]').value = 'topic';
		f.querySelector('[data-role="new-kind"]').dispatchEvent(new Event('change'));
		f.querySelector('[data-role="new-tag"]').value = 'career';
		f.querySelector('[data-role="new-text"]').value = 'Where I want to be in two years';
		f.querySelector('[data-action="add"]').click();
		return true;
	})()`)
	aiko.waitJS(`[...document.querySelectorAll('[data-role="agenda-live"] [data-role="text"]')].some((e) => e.textContent === 'Where I want to be in two years')`)

	eval[bool](aiko, `(() => {
		const li = [...document.querySelectorAll('[data-role="agenda-live"] [data-role="item"]')]
			.find((li) => li.querySelector('[data-role="text"]').textContent === 'Where I want to be in two years');
		li.querySelector('[data-action="check"]').click();
		return true;
	})()`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, r := sidebarTexts(aiko), sidebarTexts(ren)
		if a == r && strings.Contains(a, "topic|Where I want to be in two years|true") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidebars did not converge on the checked point:\naiko:\n%s\nren:\n%s", a, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("room sidebars converged: %q", sidebarTexts(aiko))
}
