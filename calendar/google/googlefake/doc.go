// Package googlefake is an in-memory fake of the Google Calendar API v3
// events methods, for tests of code that syncs with Google Calendar. It
// was written from Google's API reference (the Events resource and its
// methods, "Synchronize resources efficiently", "Handle API errors"), not
// from any client of ours, so that tests against it catch our mistakes
// instead of repeating them. It owns only its in-memory calendars; it must
// never be used outside tests and never talks to Google.
//
//	fake := googlefake.New(googlefake.Options{Calendars: []string{"aiko@example.com"}})
//	srv := httptest.NewServer(fake)
//	svc, _ := calendar.NewService(ctx,
//		option.WithEndpoint(srv.URL+"/calendar/v3/"), option.WithHTTPClient(clientWithBearer))
//
// # Faithful to the documentation
//
//   - Methods events.insert, get, patch, update (PUT), delete, list and
//     instances under /calendar/v3/calendars/{calendarId}/events, calendar
//     ids URL-decoded ("user@example.com"), "primary" mapped by
//     Options.Primary. Every request needs "Authorization: Bearer …"
//     (any token), else 401 authError.
//   - Errors have Google's body {"error":{"code","message","errors":
//     [{"domain","reason","message",…}],"status"}} with the reasons of the
//     error guide: 400 invalid/required/parseError/timeRangeEmpty,
//     401 authError, 403 and 429 rateLimitExceeded/userRateLimitExceeded
//     (domain usageLimits), 404 notFound, 409 duplicate, 410 deleted and
//     fullSyncRequired, 412 conditionNotMet, 500/503 backendError.
//   - Client-chosen ids: base32hex (a-v, 0-9), 5 to 1024 characters,
//     unique per calendar — deleted events keep theirs, so reinserting one
//     is 409 duplicate. Server ids are 26 base32hex characters.
//   - Delete sets status "cancelled" (and bumps sequence); get always
//     returns cancelled events; deleting again is 410 deleted; list hides
//     them unless showDeleted, updatedMin or a syncToken; an organizer can
//     undelete by setting the status back.
//   - Recurring events: RRULE, RDATE and EXDATE lines in recurrence,
//     start.timeZone required, expansion in that zone (wall clock kept
//     across DST) by github.com/teambition/rrule-go. Instance ids are
//     {id}_{YYYYMMDDTHHMMSSZ} (UTC original start) or {id}_{YYYYMMDD} for
//     all-day events, with recurringEventId and originalStartTime. Patch,
//     update or delete on an instance id stores an exception; a cancelled
//     exception is listed with only kind, etag, id, status,
//     recurringEventId and originalStartTime. singleEvents=false lists
//     masters and exceptions (cancelled exceptions even without
//     showDeleted); singleEvents=true lists instances, never masters;
//     orderBy=startTime only with singleEvents=true.
//   - Sync: a list's last page carries nextSyncToken, every other page
//     nextPageToken; a list with syncToken returns what changed since,
//     deletions always included (deleted non-instance events carry only
//     their identity unless showDeleted=true); iCalUID, orderBy,
//     privateExtendedProperty, q, sharedExtendedProperty, timeMin, timeMax
//     or updatedMin with syncToken, or showDeleted=false, is 400; an
//     expired token (ExpireSyncTokens) is 410 fullSyncRequired. maxResults
//     defaults to 250 and is capped at 2500.
//   - List filters: timeMin bounds the end and timeMax the start, both
//     exclusive (instances: timeMin inclusive); updatedMin returns
//     deletions too; q searches summary, description, location, attendees
//     and organizer; iCalUID and extended-property filters.
//   - Every write changes etag and updated; If-Match with another etag is
//     412 conditionNotMet (update, patch, delete); If-None-Match with the
//     current one is 304. sequence follows iCalendar: it grows when start,
//     end, recurrence or status change, not for summary, description or
//     attendees, and a client cannot lower it (400).
//   - conferenceDataVersion=0 (the default) ignores conferenceData in the
//     body, as documented; sendUpdates must be all, externalOnly or none
//     and is recorded (Notifications), since no mail is ever sent.
//
// # Where the documentation is silent (best knowledge, not verified)
//
// Messages of most 400 errors; events.instances on a non-recurring event
// answers 400; a malformed sync token answers 410 like an expired one (as
// users report Google does); a new exception starts at its master's
// sequence; deleting a series also cancels its live exceptions; etags are
// quoted microsecond timestamps; the default list order is by id.
//
// # Left out on purpose
//
// Every other resource and method (calendarList, calendars, acl, colors,
// freebusy, settings, channels, events.import/move/quickAdd/watch: 404);
// OAuth scopes and access roles; invitations reaching attendees' own
// calendars (simulate an answer with SetAttendeeResponse); the timeZone,
// maxAttendees, fields, eventTypes and showHiddenInvitations parameters
// (ignored: times come back in the event's own zone); EXRULE, several
// RRULEs and rules more frequent than daily (400); endless series expand
// only up to Options.ExpansionHorizon; changes to a master do not flow
// into its existing exceptions, nor do its new times move or drop them;
// conferenceData.createRequest; purging of old deleted events and 410
// updatedMinTooLongAgo; real quotas (inject them with FailNext).
package googlefake
