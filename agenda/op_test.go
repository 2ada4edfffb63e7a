package agenda_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/signal"
)

func TestDecodeOp(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // "" = valid
	}{
		{"add", `{"id":"op1","kind":"add","item":"i_1","add":{"kind":"topic","text":"Help with the rollout","tag":"consultation"}}`, ""},
		{"add action", `{"id":"op1","kind":"add","add":{"kind":"action","text":"x","owner":"ren@example.com","due":"2026-12-08"}}`, ""},
		{"edit", `{"id":"op2","kind":"edit","item":"i_1","field":"text","value":"new","base_version":3}`, ""},
		{"move to top", `{"id":"op3","kind":"move","item":"i_1"}`, ""},
		{"check", `{"id":"op4","kind":"check","item":"i_1","value":"true","base_version":2}`, ""},
		{"delete", `{"id":"op5","kind":"delete","item":"i_1"}`, ""},
		{"unknown field", `{"id":"op1","kind":"delete","item":"i_1","force":true}`, "body"},
		{"unknown add field", `{"id":"op1","kind":"add","add":{"kind":"topic","text":"x","html":"<b>"}}`, "body"},
		{"trailing data", `{"id":"op1","kind":"delete","item":"i_1"} {}`, "body"},
		{"not an object", `["delete"]`, "body"},
		{"wrong type", `{"id":"op1","kind":"edit","item":"i_1","field":"text","value":"x","base_version":"3"}`, "body"},
		{"empty", ``, "body"},
		{"unknown kind", `{"id":"op1","kind":"merge","item":"i_1"}`, "kind"},
		{"unknown edit field", `{"id":"op1","kind":"edit","item":"i_1","field":"author","value":"x","base_version":1}`, "field"},
		{"edit without base", `{"id":"op1","kind":"edit","item":"i_1","field":"text","value":"x"}`, "base_version"},
		{"no id", `{"kind":"delete","item":"i_1"}`, "id"},
		{"long id", `{"id":"` + strings.Repeat("x", 65) + `","kind":"delete","item":"i_1"}`, "id"},
		{"add on a delete", `{"id":"op1","kind":"delete","item":"i_1","add":{"kind":"topic","text":"x"}}`, "add"},
		{"check maybe", `{"id":"op1","kind":"check","item":"i_1","value":"maybe"}`, "value"},
		{"control char", `{"id":"op1","kind":"add","add":{"kind":"topic","text":"a\u0007b"}}`, "add.text"},
		{"too large", `{"id":"op1","kind":"add","add":{"kind":"note","text":"` + strings.Repeat("x", agenda.MaxOpBytes) + `"}}`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := agenda.DecodeOp([]byte(tt.in))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("DecodeOp: %v", err)
				}
				// What decodes encodes back to the same op.
				b, _ := json.Marshal(op.Wire())
				again, err := agenda.DecodeOp(b)
				if err != nil || again.ID != op.ID || again.Kind != op.Kind || again.Value != op.Value {
					t.Errorf("round trip: %+v, %v", again, err)
				}
				return
			}
			inv, ok := errs.AsInvalid(err)
			if !ok || inv.Field != tt.field {
				t.Errorf("DecodeOp = %v, want *errs.Invalid on %q", err, tt.field)
			}
		})
	}
	// A note at its limit, every character escaped, still fits.
	text := strings.Repeat(`\u3042`, agenda.MaxLongText)
	if _, err := agenda.DecodeOp([]byte(`{"id":"op1","kind":"add","add":{"kind":"note","text":"` + text + `"}}`)); err != nil {
		t.Errorf("a full, fully escaped note: %v", err)
	}
}

// The agenda's messages travel in the room's envelope.
func TestSignalEnvelope(t *testing.T) {
	codec := signal.NewCodec()
	for typ, newData := range map[string]func() any{
		agenda.MsgOp:       func() any { return new(agenda.WireOp) },
		agenda.MsgResult:   func() any { return new(agenda.Result) },
		agenda.MsgEvent:    func() any { return new(agenda.Event) },
		agenda.MsgSnapshot: func() any { return new(agenda.Agenda) },
		agenda.MsgSync:     func() any { return new(agenda.Sync) },
		agenda.MsgTyping:   func() any { return new(agenda.Typing) },
	} {
		if err := codec.Register(signal.Type(typ), newData); err != nil {
			t.Fatal(err)
		}
	}
	in := agenda.Op{ID: "op1", Kind: agenda.OpEdit, Item: "i_1", Field: "text", Value: "<b>x</b>", BaseVersion: 2}.Wire()
	b, err := signal.Encode(signal.Message{Type: agenda.MsgOp, ID: "m1", Data: in})
	if err != nil {
		t.Fatal(err)
	}
	m, err := codec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	op, err := m.Data.(*agenda.WireOp).Op()
	if err != nil || op.Value != "<b>x</b>" || op.BaseVersion != 2 {
		t.Errorf("op through the envelope = %+v, %v", op, err)
	}
	// Results and events decode strictly too: what the server sends is
	// what a Go client (the load generator) reads.
	f := newFixture(t)
	res := f.apply(t, ren, occ0, agenda.Op{ID: "op1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "x"}})
	ev := f.bc.to(ren.Email)[0]
	for typ, data := range map[string]any{agenda.MsgResult: res, agenda.MsgEvent: ev, agenda.MsgSnapshot: f.list(t, ren, occ0)} {
		b, err := signal.Encode(signal.Message{Type: signal.Type(typ), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := codec.Decode(b); err != nil {
			t.Errorf("%s does not decode: %v", typ, err)
		}
		if strings.Contains(string(b), ren.Email) || strings.Contains(string(b), "author_email") {
			t.Errorf("%s carries the author's e-mail: %s", typ, b)
		}
	}
}

func FuzzDecodeOp(f *testing.F) {
	for _, seed := range []string{
		`{"id":"op1","kind":"add","item":"i_1","add":{"kind":"topic","text":"Help","tag":"career"}}`,
		`{"id":"op1","kind":"add","add":{"kind":"action","text":"x","owner":"ren@example.com","due":"2026-12-08"}}`,
		`{"id":"op1","kind":"add","add":{"kind":"note","text":"a\nb","parent":"i_1"}}`,
		`{"id":"op2","kind":"edit","item":"i_1","field":"text","value":"new","base_version":3}`,
		`{"id":"op3","kind":"move","item":"i_1","value":"i_2"}`,
		`{"id":"op4","kind":"check","item":"i_1","value":"false"}`,
		`{"id":"op5","kind":"delete","item":"i_1","base_version":9}`,
		`{"id":"op5","kind":"delete","item":"i_1","base_version":-1}`,
		`{"id":"\u0000","kind":"add","add":{"kind":"topic","text":"\ud800"}}`,
		`{}`, `null`, `{"id":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := agenda.DecodeOp(b)
		if err != nil {
			if _, ok := errs.AsInvalid(err); !ok {
				t.Fatalf("error %v is not *errs.Invalid", err)
			}
			return
		}
		// Whatever is accepted is valid and survives a round trip.
		if err := op.Validate(); err != nil {
			t.Fatalf("accepted an invalid op: %v", err)
		}
		enc, err := json.Marshal(op.Wire())
		if err != nil {
			t.Fatal(err)
		}
		again, err := agenda.DecodeOp(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if again.ID != op.ID || again.Kind != op.Kind || again.Item != op.Item || again.Field != op.Field ||
			again.Value != op.Value || again.BaseVersion != op.BaseVersion || (again.Add == nil) != (op.Add == nil) ||
			(op.Add != nil && *again.Add != *op.Add) {
			t.Fatalf("round trip changed %+v into %+v", op, again)
		}
	})
}
