package signal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	c := NewCodec()
	tests := []struct {
		name     string
		in       string
		wantCode string // "" = accepted
		want     Message
	}{
		{"join without data", `{"v":1,"type":"join"}`, "", Message{Type: TypeJoin, Data: &Join{}}},
		{"join null data", `{"v":1,"type":"join","data":null}`, "", Message{Type: TypeJoin, Data: &Join{}}},
		{"answer", `{"v":1,"type":"answer","id":"7","data":{"sdp":"v=0"}}`, "", Message{Type: TypeAnswer, ID: "7", Data: &SessionDescription{SDP: "v=0"}}},
		{"end of candidates", `{"v":1,"type":"candidate","data":{"candidate":""}}`, "", Message{Type: TypeCandidate, Data: &Candidate{}}},
		{"bye", `{"v":1,"type":"bye","data":{"reason":"leaving"}}`, "", Message{Type: TypeBye, Data: &Bye{Reason: "leaving"}}},
		{"media state", `{"v":1,"type":"media-state","data":{"camera":false,"microphone":true}}`, "", Message{Type: TypeMediaState, Data: &MediaState{Microphone: true}}},
		{"media state of the peer", `{"v":1,"type":"media-state","data":{"role":"report","camera":true,"microphone":false}}`, "", Message{Type: TypeMediaState, Data: &MediaState{Role: "report", Camera: true}}},
		{"media state without data", `{"v":1,"type":"media-state"}`, CodeBadData, Message{}},
		{"media state without microphone", `{"v":1,"type":"media-state","data":{"camera":true}}`, CodeBadData, Message{}},
		{"media state with null camera", `{"v":1,"type":"media-state","data":{"camera":null,"microphone":true}}`, CodeBadData, Message{}},
		{"media state as strings", `{"v":1,"type":"media-state","data":{"camera":"off","microphone":true}}`, CodeBadData, Message{}},
		{"media state unknown field", `{"v":1,"type":"media-state","data":{"camera":true,"microphone":true,"screen":true}}`, CodeBadData, Message{}},
		{"media state trailing data", `{"v":1,"type":"media-state","data":{"camera":true,"microphone":true}{}}`, CodeBadJSON, Message{}},
		{"media state bad role", `{"v":1,"type":"media-state","data":{"role":"boss","camera":true,"microphone":true}}`, CodeBadData, Message{}},
		{"not json", `hello`, CodeBadJSON, Message{}},
		{"unknown envelope field", `{"v":1,"type":"join","extra":1}`, CodeBadJSON, Message{}},
		{"trailing data", `{"v":1,"type":"join"}{}`, CodeBadJSON, Message{}},
		{"trailing brace", `{"v":1,"type":"join"}}`, CodeBadJSON, Message{}},
		{"no version", `{"type":"join"}`, CodeBadVersion, Message{}},
		{"future version", `{"v":2,"type":"join"}`, CodeBadVersion, Message{}},
		{"unknown type", `{"v":1,"type":"dance"}`, CodeUnknownType, Message{}},
		{"unregistered agenda type", `{"v":1,"type":"agenda.item"}`, CodeUnknownType, Message{}},
		{"unknown data field", `{"v":1,"type":"answer","data":{"sdp":"v=0","type":"answer"}}`, CodeBadData, Message{}},
		{"answer without sdp", `{"v":1,"type":"answer"}`, CodeBadData, Message{}},
		{"data of wrong shape", `{"v":1,"type":"answer","data":"v=0"}`, CodeBadData, Message{}},
		{"bad role", `{"v":1,"type":"peer-joined","data":{"role":"boss"}}`, CodeBadData, Message{}},
		{"long id", `{"v":1,"type":"join","id":"` + strings.Repeat("x", 65) + `"}`, CodeBadData, Message{}},
		{"too large", `{"v":1,"type":"answer","data":{"sdp":"` + strings.Repeat("a", MaxMessageSize) + `"}}`, CodeTooLarge, Message{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %#v, want %#v", got, tt.want)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.wantCode {
				t.Fatalf("got %v, want code %s", err, tt.wantCode)
			}
		})
	}
}

func TestErrorEchoesID(t *testing.T) {
	_, err := NewCodec().Decode([]byte(`{"v":1,"type":"answer","id":"abc"}`))
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.ID != "abc" {
		t.Fatalf("got %v, want the refused message's id", err)
	}
	b, _ := Encode(ErrorMessage(pe))
	if want := `{"v":1,"type":"error","id":"abc","data":{"code":"bad_data","message":"answer: sdp is empty"}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

type agendaItem struct {
	Text string `json:"text"`
}

func TestRegister(t *testing.T) {
	c := NewCodec()
	if err := c.Register("offer2", func() any { return new(agendaItem) }); err == nil {
		t.Fatal("registered a non-agenda type")
	}
	if err := c.Register("agenda.item", func() any { return new(agendaItem) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Register("agenda.item", func() any { return new(agendaItem) }); err == nil {
		t.Fatal("registered a type twice")
	}
	m, err := c.Decode([]byte(`{"v":1,"type":"agenda.item","data":{"text":"career"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := m.Data.(*agendaItem); !ok || it.Text != "career" {
		t.Fatalf("got %#v", m.Data)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	c := NewCodec()
	mid := "0"
	idx := uint16(1)
	for _, m := range []Message{
		{Type: TypeOffer, ID: "1", Data: &SessionDescription{SDP: "v=0\r\n"}},
		{Type: TypeCandidate, Data: &Candidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid, SDPMLineIndex: &idx}},
		{Type: TypeJoined, Data: &Joined{Role: "manager", Peer: "report", ICEServers: []ICEServer{{URLs: []string{"stun:example.com"}}}}},
		{Type: TypeICERestart, Data: &ICERestart{}},
		{Type: TypeMediaState, Data: &MediaState{Role: "manager", Camera: false, Microphone: true}},
		{Type: TypeMediaState, Data: &MediaState{}},
	} {
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got %#v, want %#v", got, m)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"join"}`,
		`{"v":1,"type":"answer","id":"1","data":{"sdp":"v=0"}}`,
		`{"v":1,"type":"candidate","data":{"candidate":"x","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"v":1,"type":"peer-left","data":{"role":"report"}}`,
		`{"v":1,"type":"agenda.item","data":{"text":"t"}}`,
		`{"v":1,"type":"error","data":{"code":"x","message":"y"}}`,
		`{"v":1,"type":"media-state","data":{"camera":false,"microphone":true}}`,
		`{"v":1,"type":"media-state","data":{"role":"manager","camera":true,"microphone":false}}`,
		`{"v":1,"type":"media-state","data":{"camera":true}}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	c := NewCodec()
	if err := c.Register("agenda.item", func() any { return new(agendaItem) }); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := c.Decode(b)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever is accepted re-encodes to something accepted and equal.
		out, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Decode(out)
		if err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed %#v into %#v", m, again)
		}
	})
}
