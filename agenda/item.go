package agenda

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oneonone/oneonone/internal/errs"
)

// Kind is what an agenda item is.
type Kind string

const (
	KindTopic       Kind = "topic"        // a talking point, from either side
	KindNote        Kind = "note"         // a shared note, optionally under a topic
	KindPrivateNote Kind = "private_note" // seen by its author only
	KindAction      Kind = "action"       // an action item, carried over until done or dropped
)

// Kinds lists every kind, in display order.
func Kinds() []Kind { return []Kind{KindTopic, KindNote, KindPrivateNote, KindAction} }

func (k Kind) valid() bool {
	switch k {
	case KindTopic, KindNote, KindPrivateNote, KindAction:
		return true
	}
	return false
}

// Tag is the theme of a talking point, from a fixed set so that it can be
// translated and counted.
type Tag string

const (
	TagConsultation Tag = "consultation"
	TagProgress     Tag = "progress"
	TagCareer       Tag = "career"
	TagWellbeing    Tag = "wellbeing"
	TagFeedback     Tag = "feedback"
	TagOther        Tag = "other"
)

// Tags lists every tag, in display order.
func Tags() []Tag {
	return []Tag{TagConsultation, TagProgress, TagCareer, TagWellbeing, TagFeedback, TagOther}
}

func (t Tag) valid() bool {
	for _, v := range Tags() {
		if t == v {
			return true
		}
	}
	return false
}

// Role is which side of the series a person is on.
type Role string

const (
	RoleManager Role = "manager"
	RoleReport  Role = "report"
)

// Text limits, in characters (runes).
const (
	MaxShortText = 2_000  // topics and action items
	MaxLongText  = 10_000 // shared and private notes
)

// MaxItemsPerOccurrence bounds one occurrence's own items (tombstones
// included), so that one agenda stays a page, not a database.
const MaxItemsPerOccurrence = 500

// maxIDLen bounds item and operation ids, which clients may choose.
const maxIDLen = 64

// FieldVersions records, for each editable field, the item version at which
// it last changed. A stale edit of a field conflicts only when that field
// changed after the version the client saw.
type FieldVersions struct {
	Text     int64
	Tag      int64
	Parent   int64
	Owner    int64
	Due      int64
	Done     int64
	Position int64
}

// Item is one entry of an occurrence's agenda. JSON is what the API and the
// live updates send; the author's e-mail and the bookkeeping fields stay
// on the server.
type Item struct {
	ID         string `json:"id"`
	SeriesID   string `json:"-"`
	Occurrence string `json:"occurrence"` // the occurrence the item belongs to
	Kind       Kind   `json:"kind"`
	Text       string `json:"text"`
	Tag        Tag    `json:"tag,omitempty"`
	Parent     string `json:"parent,omitempty"` // a topic, for notes
	Owner      string `json:"owner,omitempty"`  // action items: who does it (e-mail)
	Due        string `json:"due,omitempty"`    // action items: YYYY-MM-DD
	Done       bool   `json:"done"`
	// FromOccurrence is set on an action item carried into a later
	// occurrence: the occurrence it came from. It is computed for the view
	// (List), never stored.
	FromOccurrence string    `json:"from_occurrence,omitempty"`
	AuthorEmail    string    `json:"-"`
	AuthorRole     Role      `json:"author_role"`
	Position       string    `json:"position"` // fractional rank; order by (Position, ID)
	Version        int64     `json:"version"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
	Deleted        bool      `json:"deleted,omitempty"` // a tombstone, kept for history

	// ClosedIn is the occurrence in which an action item was checked off
	// or dropped ("" while open). An action item is carried into every
	// later occurrence up to and including ClosedIn, so each past
	// occurrence still shows what was open then.
	ClosedIn      string        `json:"-"`
	FieldVersions FieldVersions `json:"-"`
}

// visibleTo reports whether the person with e-mail may see it.
func (it Item) visibleTo(email string) bool {
	return it.Kind != KindPrivateNote || strings.EqualFold(it.AuthorEmail, email)
}

// carriedInto reports whether the action item, of an earlier occurrence, is
// shown in occurrence key.
func (it Item) carriedInto(key string) bool {
	return it.Kind == KindAction && it.Occurrence < key && (it.ClosedIn == "" || it.ClosedIn >= key)
}

// textLimit returns the size limit of an item's text.
func textLimit(k Kind) int {
	if k == KindNote || k == KindPrivateNote {
		return MaxLongText
	}
	return MaxShortText
}

// validText checks user text: valid UTF-8, within limit, no control
// characters other than newline and tab (they break rendering and logs),
// and not blank when required.
func validText(field, s string, limit int, required bool) error {
	if !utf8.ValidString(s) {
		return errs.Invalidf(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return errs.Invalidf(field, "is %d characters long; the limit is %d", n, limit)
	}
	for i, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return errs.Invalidf(field, "contains the control character U+%04X at byte %d; only newline and tab are allowed", r, i)
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return errs.Invalidf(field, "is empty")
	}
	return nil
}

// validID checks an item or operation id chosen by a client.
func validID(field, id string) error {
	if id == "" {
		return errs.Invalidf(field, "is required")
	}
	if len(id) > maxIDLen {
		return errs.Invalidf(field, "is longer than %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.') {
			return errs.Invalidf(field, "may only contain letters, digits, '_', '-', ':' and '.'")
		}
	}
	return nil
}

func validTag(field string, t Tag) error {
	if !t.valid() {
		return errs.Invalidf(field, "%q is not one of %s", truncate(string(t)), tagList())
	}
	return nil
}

func tagList() string {
	var b strings.Builder
	for i, t := range Tags() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

func validDue(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return errs.Invalidf(field, "%q is not a date like 2026-12-08", truncate(s))
	}
	return nil
}

// truncate shortens user input quoted in an error message.
func truncate(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// String helps logs name an item without its text.
func (it Item) String() string {
	return fmt.Sprintf("%s/%s/%s(%s v%d)", it.SeriesID, it.Occurrence, it.ID, it.Kind, it.Version)
}
