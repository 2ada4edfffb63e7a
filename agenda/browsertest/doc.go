// Package browsertest holds the agenda's real-browser tests: two Chromium
// processes on the agenda page of a real daemon edit one agenda at once,
// one of them offline for a while, and must end identical; it also
// measures edit-to-visible latency between the two. It has no production
// code and must not be imported.
package browsertest
