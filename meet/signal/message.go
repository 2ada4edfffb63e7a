// Package signal owns the room's WebSocket protocol: the versioned JSON
// envelope, the data of each message type, strict decoding with typed
// errors, and a connection wrapper (read limit, keepalive, write timeout,
// bounded send queue). The same connection carries WebRTC signaling and,
// later, the agenda's live updates ("agenda.*" types registered by the
// agenda package). It knows nothing of rooms, media or who may join.
package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Version is the protocol version every envelope carries.
const Version = 1

// MaxMessageSize is the largest message accepted by default. An SDP offer
// with four media sections is about 6 KiB; agenda updates are smaller.
const MaxMessageSize = 64 << 10

// Type names a message.
type Type string

// Message types. Direction: C→S client to server, S→C server to client.
const (
	TypeJoin       Type = "join"        // C→S first message: ready for the offer
	TypeJoined     Type = "joined"      // S→C your slot, the peer if present, ICE servers
	TypeOffer      Type = "offer"       // S→C the server always offers
	TypeAnswer     Type = "answer"      // C→S
	TypeCandidate  Type = "candidate"   // both ways, trickle ICE
	TypeICERestart Type = "ice-restart" // C→S ask for an offer with new ICE credentials
	TypePeerJoined Type = "peer-joined" // S→C
	TypePeerLeft   Type = "peer-left"   // S→C
	TypeError      Type = "error"       // S→C a message was refused
	TypeBye        Type = "bye"         // both ways: leaving / room closing
	TypeMediaState Type = "media-state" // C→S own camera and microphone; S→C the peer's
)

// AgendaPrefix starts the types the agenda package may register.
const AgendaPrefix = "agenda."

// Message is one decoded or to-be-encoded envelope. After Decode, Data is
// a pointer to the registered struct of Type (*SessionDescription for an
// offer…). ID correlates a reply (an error) with the message it refers to.
type Message struct {
	Type Type
	ID   string
	Data any
}

// Join is sent by the client once its handlers are in place.
type Join struct{}

// Joined tells a client its slot and how to reach the media server.
type Joined struct {
	Role       string      `json:"role"`
	Peer       string      `json:"peer,omitempty"` // the other role, when present
	ICEServers []ICEServer `json:"ice_servers"`
}

// ICEServer is handed to browsers as an RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// SessionDescription is the data of an offer or an answer.
type SessionDescription struct {
	SDP string `json:"sdp"`
}

// Candidate is an RTCIceCandidateInit. An empty Candidate marks the end of
// candidates.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// ICERestart asks the server for a new offer with fresh ICE credentials.
type ICERestart struct{}

// Peer names the other participant in peer-joined and peer-left.
type Peer struct {
	Role string `json:"role"`
}

// MediaState says whether a participant's camera and microphone are on,
// so the other side can show "camera off" instead of a frozen frame. A
// client sends its own after "joined" and on every change; the server
// relays it to the other participant only, with Role set to the sender's
// (a client's Role is ignored), and sends a joiner the peer's last state
// right after "joined". Camera and Microphone are required: a client that
// left one out would otherwise turn it "off" by omission.
type MediaState struct {
	Role       string `json:"role,omitempty"` // S→C: whose state
	Camera     bool   `json:"camera"`         // video is being sent
	Microphone bool   `json:"microphone"`     // sound is being sent (not muted)
}

// UnmarshalJSON decodes strictly, like every message's data, and refuses
// a missing or null camera or microphone.
func (s *MediaState) UnmarshalJSON(b []byte) error {
	var w struct {
		Role       string `json:"role"`
		Camera     *bool  `json:"camera"`
		Microphone *bool  `json:"microphone"`
	}
	if err := strictUnmarshal(b, &w); err != nil {
		return err
	}
	if w.Camera == nil || w.Microphone == nil {
		return errors.New("camera and microphone are required")
	}
	*s = MediaState{Role: w.Role, Camera: *w.Camera, Microphone: *w.Microphone}
	return nil
}

// Bye ends a session; Reason is for logs and the UI ("replaced",
// "room closed", "leaving").
type Bye struct {
	Reason string `json:"reason,omitempty"`
}

// Error codes of ProtocolError.
const (
	CodeTooLarge    = "too_large"
	CodeBadJSON     = "bad_json"
	CodeBadVersion  = "bad_version"
	CodeUnknownType = "unknown_type"
	CodeBadData     = "bad_data"
	CodeBadState    = "bad_state" // valid message at the wrong time
	CodeBadSDP      = "bad_sdp"
)

// ProtocolError refuses one message; it is also the data of an "error"
// message, so the sender learns what was wrong. The connection stays open.
type ProtocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"-"` // of the refused message, echoed in the envelope
}

func (e *ProtocolError) Error() string { return "signal: " + e.Code + ": " + e.Message }

// ErrorMessage builds the "error" message that answers a refused message.
func ErrorMessage(err *ProtocolError) Message {
	return Message{Type: TypeError, ID: err.ID, Data: err}
}

// validator is implemented by data that has rules beyond its JSON shape.
type validator interface{ validate() error }

func (s *SessionDescription) validate() error {
	if strings.TrimSpace(s.SDP) == "" {
		return errors.New("sdp is empty")
	}
	return nil
}

func (p *Peer) validate() error {
	if p.Role != "manager" && p.Role != "report" {
		return fmt.Errorf("role %q is not manager or report", p.Role)
	}
	return nil
}

func (s *MediaState) validate() error {
	if s.Role != "" && s.Role != "manager" && s.Role != "report" {
		return fmt.Errorf("role %q is not manager or report", truncate(s.Role))
	}
	return nil
}

// Codec decodes and encodes envelopes. It knows the core types; the agenda
// package adds its own with Register before connections start. Decode is
// safe for concurrent use once registration is done.
type Codec struct {
	types map[Type]func() any
}

// NewCodec returns a Codec that knows the signaling types.
func NewCodec() *Codec {
	return &Codec{types: map[Type]func() any{
		TypeJoin:       func() any { return new(Join) },
		TypeJoined:     func() any { return new(Joined) },
		TypeOffer:      func() any { return new(SessionDescription) },
		TypeAnswer:     func() any { return new(SessionDescription) },
		TypeCandidate:  func() any { return new(Candidate) },
		TypeICERestart: func() any { return new(ICERestart) },
		TypePeerJoined: func() any { return new(Peer) },
		TypePeerLeft:   func() any { return new(Peer) },
		TypeError:      func() any { return new(ProtocolError) },
		TypeBye:        func() any { return new(Bye) },
		TypeMediaState: func() any { return new(MediaState) },
	}}
}

// Register adds an "agenda.*" type whose data decodes into what newData
// returns (a pointer to a struct). Call it before decoding starts.
func (c *Codec) Register(t Type, newData func() any) error {
	if !strings.HasPrefix(string(t), AgendaPrefix) || len(t) == len(AgendaPrefix) {
		return fmt.Errorf("signal: register %q: only %s* types may be added", t, AgendaPrefix)
	}
	if _, dup := c.types[t]; dup {
		return fmt.Errorf("signal: register %q: already registered", t)
	}
	c.types[t] = newData
	return nil
}

type envelope struct {
	V    int             `json:"v"`
	Type Type            `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

const maxIDLen = 64

// Decode parses one message strictly: unknown fields, a wrong version,
// unknown types, trailing data and oversized input are refused with a
// *ProtocolError naming the problem.
func (c *Codec) Decode(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return Message{}, &ProtocolError{Code: CodeTooLarge, Message: fmt.Sprintf("message of %d bytes exceeds %d", len(b), MaxMessageSize)}
	}
	var env envelope
	if err := strictUnmarshal(b, &env); err != nil {
		return Message{}, &ProtocolError{Code: CodeBadJSON, Message: err.Error()}
	}
	if len(env.ID) > maxIDLen {
		return Message{}, &ProtocolError{Code: CodeBadData, Message: fmt.Sprintf("id longer than %d", maxIDLen)}
	}
	if env.V != Version {
		return Message{}, &ProtocolError{Code: CodeBadVersion, ID: env.ID, Message: fmt.Sprintf("version %d, want %d", env.V, Version)}
	}
	newData, ok := c.types[env.Type]
	if !ok {
		return Message{}, &ProtocolError{Code: CodeUnknownType, ID: env.ID, Message: fmt.Sprintf("unknown type %q", truncate(string(env.Type)))}
	}
	data := newData()
	raw := env.Data
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}") // types without data may omit it; the rest fail below
	}
	if err := strictUnmarshal(raw, data); err != nil {
		return Message{}, &ProtocolError{Code: CodeBadData, ID: env.ID, Message: fmt.Sprintf("%s: %v", env.Type, err)}
	}
	if v, ok := data.(validator); ok {
		if err := v.validate(); err != nil {
			return Message{}, &ProtocolError{Code: CodeBadData, ID: env.ID, Message: fmt.Sprintf("%s: %v", env.Type, err)}
		}
	}
	return Message{Type: env.Type, ID: env.ID, Data: data}, nil
}

// Encode renders m as an envelope of the current version.
func Encode(m Message) ([]byte, error) {
	env := envelope{V: Version, Type: m.Type, ID: m.ID}
	if m.Data != nil {
		b, err := json.Marshal(m.Data)
		if err != nil {
			return nil, fmt.Errorf("signal: encode %s: %w", m.Type, err)
		}
		env.Data = b
	}
	return json.Marshal(env)
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
