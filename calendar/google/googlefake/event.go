package googlefake

import (
	"encoding/json"
)

// Event is the Events resource of the Calendar API v3, with the fields
// this fake understands. Fields it does not interpret but keeps (reminders,
// conference data, source, attachments) are stored as raw JSON so that
// they round-trip unchanged.
type Event struct {
	Kind                    string              `json:"kind"`
	Etag                    string              `json:"etag"`
	ID                      string              `json:"id"`
	Status                  string              `json:"status,omitempty"`
	HTMLLink                string              `json:"htmlLink,omitempty"`
	Created                 string              `json:"created,omitempty"`
	Updated                 string              `json:"updated,omitempty"`
	Summary                 string              `json:"summary,omitempty"`
	Description             string              `json:"description,omitempty"`
	Location                string              `json:"location,omitempty"`
	ColorID                 string              `json:"colorId,omitempty"`
	Creator                 *Person             `json:"creator,omitempty"`
	Organizer               *Person             `json:"organizer,omitempty"`
	Start                   *DateTime           `json:"start,omitempty"`
	End                     *DateTime           `json:"end,omitempty"`
	EndTimeUnspecified      bool                `json:"endTimeUnspecified,omitempty"`
	Recurrence              []string            `json:"recurrence,omitempty"`
	RecurringEventID        string              `json:"recurringEventId,omitempty"`
	OriginalStartTime       *DateTime           `json:"originalStartTime,omitempty"`
	Transparency            string              `json:"transparency,omitempty"`
	Visibility              string              `json:"visibility,omitempty"`
	ICalUID                 string              `json:"iCalUID,omitempty"`
	Sequence                int64               `json:"sequence"`
	Attendees               []Attendee          `json:"attendees,omitempty"`
	AttendeesOmitted        bool                `json:"attendeesOmitted,omitempty"`
	ExtendedProperties      *ExtendedProperties `json:"extendedProperties,omitempty"`
	HangoutLink             string              `json:"hangoutLink,omitempty"`
	ConferenceData          json.RawMessage     `json:"conferenceData,omitempty"`
	AnyoneCanAddSelf        bool                `json:"anyoneCanAddSelf,omitempty"`
	GuestsCanInviteOthers   *bool               `json:"guestsCanInviteOthers,omitempty"`
	GuestsCanModify         bool                `json:"guestsCanModify,omitempty"`
	GuestsCanSeeOtherGuests *bool               `json:"guestsCanSeeOtherGuests,omitempty"`
	PrivateCopy             bool                `json:"privateCopy,omitempty"`
	Locked                  bool                `json:"locked,omitempty"`
	Reminders               json.RawMessage     `json:"reminders,omitempty"`
	Source                  json.RawMessage     `json:"source,omitempty"`
	Attachments             json.RawMessage     `json:"attachments,omitempty"`
	EventType               string              `json:"eventType,omitempty"`
}

// DateTime is the EventDateTime type: either Date (all-day, yyyy-mm-dd) or
// DateTime (RFC 3339), with an optional IANA TimeZone.
type DateTime struct {
	Date     string `json:"date,omitempty"`
	DateTime string `json:"dateTime,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// Person is the creator or organizer of an event.
type Person struct {
	ID          string `json:"id,omitempty"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Self        bool   `json:"self,omitempty"`
}

// Attendee is one entry of an event's attendees.
type Attendee struct {
	ID               string `json:"id,omitempty"`
	Email            string `json:"email,omitempty"`
	DisplayName      string `json:"displayName,omitempty"`
	Organizer        bool   `json:"organizer,omitempty"`
	Self             bool   `json:"self,omitempty"`
	Resource         bool   `json:"resource,omitempty"`
	Optional         bool   `json:"optional,omitempty"`
	ResponseStatus   string `json:"responseStatus,omitempty"`
	Comment          string `json:"comment,omitempty"`
	AdditionalGuests int64  `json:"additionalGuests,omitempty"`
}

// ExtendedProperties are the private and shared key/value pairs of an event.
type ExtendedProperties struct {
	Private map[string]string `json:"private,omitempty"`
	Shared  map[string]string `json:"shared,omitempty"`
}

// cancelledView is how a cancelled exception of a recurring event, or a
// deleted event in an incremental sync without showDeleted, is listed:
// Google only guarantees id, recurringEventId and originalStartTime (and
// the status that says why the rest is missing).
type cancelledView struct {
	Kind              string    `json:"kind"`
	Etag              string    `json:"etag"`
	ID                string    `json:"id"`
	Status            string    `json:"status"`
	RecurringEventID  string    `json:"recurringEventId,omitempty"`
	OriginalStartTime *DateTime `json:"originalStartTime,omitempty"`
}

func (e *Event) cancelledView() cancelledView {
	v := cancelledView{Kind: e.Kind, Etag: e.Etag, ID: e.ID, Status: statusCancelled,
		RecurringEventID: e.RecurringEventID}
	if e.OriginalStartTime != nil {
		ost := *e.OriginalStartTime
		v.OriginalStartTime = &ost
	}
	return v
}

// clone returns a deep copy, so that callers never share maps or slices
// with the stored state.
func (e *Event) clone() Event {
	b, err := json.Marshal(e)
	if err != nil {
		panic("googlefake: marshal event: " + err.Error())
	}
	var c Event
	if err := json.Unmarshal(b, &c); err != nil {
		panic("googlefake: unmarshal event: " + err.Error())
	}
	return c
}

const (
	statusConfirmed = "confirmed"
	statusCancelled = "cancelled"
	kindEvent       = "calendar#event"
	kindEvents      = "calendar#events"
)
