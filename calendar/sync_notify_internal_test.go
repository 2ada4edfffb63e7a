package calendar

import "testing"

func TestNoticeRecord(t *testing.T) {
	tests := []struct {
		name        string
		st          SyncState
		pulled      int
		wantPending bool
		wantNotice  Notice
	}{
		{"never sent", SyncState{Sequence: 0}, 0, true, Notice{}},
		{"sent", SyncState{Sequence: 2, Notified: Notice{NotifyRequest, 2}}, 2, false, Notice{NotifyRequest, 2}},
		{"their change moves the record along", SyncState{Sequence: 2, Notified: Notice{NotifyRequest, 2}}, 5, false,
			Notice{NotifyRequest, 5}},
		{"ours still pending stays pending", SyncState{Sequence: 3, Notified: Notice{NotifyRequest, 2}}, 5, true,
			Notice{NotifyRequest, 2}},
		{"an older read changes nothing", SyncState{Sequence: 3, Notified: Notice{NotifyRequest, 3}}, 1, false,
			Notice{NotifyRequest, 3}},
		{"after a cancel a write is pending", SyncState{Sequence: 4, Notified: Notice{NotifyCancel, 4}}, 4, true,
			Notice{NotifyCancel, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			st.pulledSequence(tt.pulled)
			if st.requestPending() != tt.wantPending || st.Notified != tt.wantNotice {
				t.Errorf("pending %v notice %+v, want %v %+v", st.requestPending(), st.Notified, tt.wantPending, tt.wantNotice)
			}
		})
	}
}
