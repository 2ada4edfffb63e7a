package agenda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/oneonone/oneonone/internal/errs"
)

// OpKind is what an operation does.
type OpKind string

const (
	OpAdd    OpKind = "add"    // a new item (Op.Add)
	OpEdit   OpKind = "edit"   // one field of an item (Op.Field, Op.Value)
	OpMove   OpKind = "move"   // place an item after another (Op.Value: its id, "" = first)
	OpCheck  OpKind = "check"  // done or not (Op.Value: "true" / "false")
	OpDelete OpKind = "delete" // a tombstone; for an action item, dropping it
)

// Editable fields of an edit operation.
const (
	FieldText   = "text"
	FieldTag    = "tag"
	FieldOwner  = "owner"
	FieldDue    = "due"
	FieldParent = "parent"
)

// Op is one change a client asks for. ID is the client's id for the
// operation: an operation whose ID was already applied to the occurrence is
// not applied again, its first result is returned (a client that was
// offline replays its queue safely).
type Op struct {
	ID   string
	Kind OpKind
	// Item is the item changed. For add it may be chosen by the client (so
	// that queued edits can refer to an item added offline); empty lets
	// the server choose.
	Item  string
	Field string // edit only
	Value string // edit: the new value; move: the item to follow; check: "true"/"false"
	// BaseVersion is the item version the client's change is based on. An
	// edit needs it; for check and delete it is optional (0 = whatever the
	// item is now); moves never conflict, the server's order wins.
	BaseVersion int64
	Add         *NewItem // add only
}

// NewItem is the content of an added item.
type NewItem struct {
	Kind   Kind
	Text   string
	Tag    Tag    // topics; default "other"
	Parent string // notes: the topic they hang under
	Owner  string // action items: default the author
	Due    string // action items: YYYY-MM-DD
}

// Validate checks an operation's shape (what can be checked without the
// stored agenda). Errors are *errs.Invalid naming the wire field.
func (op Op) Validate() error {
	if err := validID("id", op.ID); err != nil {
		return err
	}
	if op.BaseVersion < 0 {
		return errs.Invalidf("base_version", "must not be negative")
	}
	if op.Kind != OpAdd && op.Add != nil {
		return errs.Invalidf("add", "is only for kind add")
	}
	if op.Kind != OpEdit && op.Field != "" {
		return errs.Invalidf("field", "is only for kind edit")
	}
	switch op.Kind {
	case OpAdd:
		if op.Item != "" {
			if err := validID("item", op.Item); err != nil {
				return err
			}
		}
		if op.Add == nil {
			return errs.Invalidf("add", "is required for kind add")
		}
		if op.Value != "" || op.BaseVersion != 0 {
			return errs.Invalidf("value", "is not used by kind add")
		}
		return op.Add.validate()
	case OpEdit, OpMove, OpCheck, OpDelete:
	default:
		return errs.Invalidf("kind", "%q is not one of add, edit, move, check, delete", truncate(string(op.Kind)))
	}
	if err := validID("item", op.Item); err != nil {
		return err
	}
	switch op.Kind {
	case OpEdit:
		if op.BaseVersion == 0 {
			return errs.Invalidf("base_version", "is required for an edit: the version of the item the edit is based on")
		}
		return validField(op.Field, op.Value)
	case OpMove:
		if op.Value != "" {
			return validID("value", op.Value)
		}
	case OpCheck:
		if op.Value != "true" && op.Value != "false" {
			return errs.Invalidf("value", "must be \"true\" or \"false\" for kind check")
		}
	case OpDelete:
		if op.Value != "" {
			return errs.Invalidf("value", "is not used by kind delete")
		}
	}
	return nil
}

// validField checks the value of an edit of field, independent of the item.
func validField(field, value string) error {
	switch field {
	case FieldText:
		// The limit depends on the item's kind; the larger one here, the
		// item's own in the engine.
		return validText("value", value, MaxLongText, true)
	case FieldTag:
		return validTag("value", Tag(value))
	case FieldOwner:
		if value == "" {
			return errs.Invalidf("value", "the owner is required")
		}
		return validText("value", value, 254, true)
	case FieldDue:
		return validDue("value", value)
	case FieldParent:
		if value != "" {
			return validID("value", value)
		}
		return nil
	case "":
		return errs.Invalidf("field", "is required for kind edit")
	}
	return errs.Invalidf("field", "%q is not one of text, tag, owner, due, parent", truncate(field))
}

func (n *NewItem) validate() error {
	if !n.Kind.valid() {
		return errs.Invalidf("add.kind", "%q is not one of topic, note, private_note, action", truncate(string(n.Kind)))
	}
	if err := validText("add.text", n.Text, textLimit(n.Kind), true); err != nil {
		return err
	}
	if n.Tag != "" {
		if n.Kind != KindTopic {
			return errs.Invalidf("add.tag", "only talking points (topic) have a tag")
		}
		if err := validTag("add.tag", n.Tag); err != nil {
			return err
		}
	}
	if n.Parent != "" {
		if n.Kind != KindNote && n.Kind != KindPrivateNote {
			return errs.Invalidf("add.parent", "only notes hang under a topic")
		}
		if err := validID("add.parent", n.Parent); err != nil {
			return err
		}
	}
	if n.Kind != KindAction && (n.Owner != "" || n.Due != "") {
		field := "add.owner"
		if n.Owner == "" {
			field = "add.due"
		}
		return errs.Invalidf(field, "only action items have an owner and a due date")
	}
	if err := validText("add.owner", n.Owner, 254, false); err != nil {
		return err
	}
	return validDue("add.due", n.Due)
}

// MaxOpBytes is the largest encoded operation DecodeOp accepts: a note at
// its limit with every character escaped fits, and it stays under the
// room's 64 KiB message limit.
const MaxOpBytes = 62 << 10

// WireOp is an operation as JSON, the data of an "agenda.op" message and
// the body of the REST calls. Register it with the room's codec and call
// Op, or decode raw bytes with DecodeOp.
type WireOp struct {
	ID          string   `json:"id"`
	Kind        OpKind   `json:"kind"`
	Item        string   `json:"item,omitempty"`
	Field       string   `json:"field,omitempty"`
	Value       string   `json:"value,omitempty"`
	BaseVersion int64    `json:"base_version,omitempty"`
	Add         *WireNew `json:"add,omitempty"`
}

// WireNew is NewItem as JSON.
type WireNew struct {
	Kind   Kind   `json:"kind"`
	Text   string `json:"text"`
	Tag    Tag    `json:"tag,omitempty"`
	Parent string `json:"parent,omitempty"`
	Owner  string `json:"owner,omitempty"`
	Due    string `json:"due,omitempty"`
}

// Op converts and validates a decoded WireOp.
func (w *WireOp) Op() (Op, error) {
	op := Op{ID: w.ID, Kind: w.Kind, Item: w.Item, Field: w.Field, Value: w.Value, BaseVersion: w.BaseVersion}
	if w.Add != nil {
		op.Add = &NewItem{Kind: w.Add.Kind, Text: w.Add.Text, Tag: w.Add.Tag, Parent: w.Add.Parent,
			Owner: w.Add.Owner, Due: w.Add.Due}
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// Wire is the JSON form of op (for clients and tests).
func (op Op) Wire() WireOp {
	w := WireOp{ID: op.ID, Kind: op.Kind, Item: op.Item, Field: op.Field, Value: op.Value, BaseVersion: op.BaseVersion}
	if op.Add != nil {
		w.Add = &WireNew{Kind: op.Add.Kind, Text: op.Add.Text, Tag: op.Add.Tag, Parent: op.Add.Parent,
			Owner: op.Add.Owner, Due: op.Add.Due}
	}
	return w
}

// DecodeOp parses one operation strictly: at most MaxOpBytes, one JSON
// object, no unknown fields, known kinds and fields, valid values. Errors
// are *errs.Invalid naming the field ("body" for malformed JSON).
func DecodeOp(b []byte) (Op, error) {
	if len(b) > MaxOpBytes {
		return Op{}, errs.Invalidf("body", "operation of %d bytes exceeds %d", len(b), MaxOpBytes)
	}
	var w WireOp
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Op{}, errs.Invalidf("body", "%s", jsonMessage(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Op{}, errs.Invalidf("body", "data after the JSON object")
	}
	return w.Op()
}

// jsonMessage turns a decoding error into a message that does not echo
// user text at length.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: want a %s", te.Field, te.Type)
	}
	return truncate(err.Error())
}
