package agenda

// Message types of the agenda's live updates, in the room's WebSocket
// envelope (meet/signal registers "agenda.*" types) and on the agenda
// page's own WebSocket. The meet layer registers them with
//
//	codec.Register(agenda.MsgOp, func() any { return new(agenda.WireOp) })
//
// and so on for each type, and answers an "agenda.op" with its Result.
const (
	MsgOp       = "agenda.op"       // C→S WireOp; call (*WireOp).Op, then Service.Apply
	MsgResult   = "agenda.result"   // S→C Result, to the sender only (envelope id = the op message's id)
	MsgEvent    = "agenda.event"    // S→C Event, to each participant Event.For allows
	MsgSnapshot = "agenda.snapshot" // S→C Agenda, from Service.List, on join and on request
	MsgSync     = "agenda.sync"     // C→S Sync: send the events after a seq (or a snapshot)
	MsgTyping   = "agenda.typing"   // both ways Typing: "Aiko is typing", never stored
)

// Sync asks for what a client missed since the last seq it saw.
type Sync struct {
	Occurrence string `json:"occurrence"`
	AfterSeq   int64  `json:"after_seq"`
}

// Typing says that someone is editing an item's text; the server fills in
// Role and forwards it to the other participant only.
type Typing struct {
	Item string `json:"item"`
	Role Role   `json:"role,omitempty"`
}
