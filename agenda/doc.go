// Package agenda owns a 1on1's shared agenda: per occurrence, the talking
// points both people prepare, shared notes, private notes (their author
// only), and action items that carry over to later occurrences until done
// or dropped. It holds the operation engine that orders the two people's
// concurrent edits (add, edit, move, check, delete) with per-field versions,
// rejects a stale edit of the same field with the current value instead of
// losing it, replays a client's queued operations idempotently, commits
// every accepted operation before reporting it, and keeps each occurrence's
// history. Templates are data (templates/*.json, English and Japanese).
//
// It defines the storage it needs (Store, Tx), implemented by package store,
// and a Broadcaster hook the room and agenda pages implement. It does no
// HTTP or WebSocket work, and it must never log, count or return a private
// note to anyone but its author, nor log any item text.
package agenda
