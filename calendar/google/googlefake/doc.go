// Package googlefake is a fake of the Google Calendar API v3 events
// methods, for tests. It owns nothing but its in-memory calendars and must
// never be used outside tests.
package googlefake
