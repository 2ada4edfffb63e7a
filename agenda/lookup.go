package agenda

import (
	"context"
	"errors"
	"fmt"

	"github.com/oneonone/oneonone/internal/errs"
)

// Role returns the role of the person with email in a series, or
// errs.ErrForbidden when they are not one of its two people.
func (s *Service) Role(ctx context.Context, email, seriesID string) (Role, error) {
	_, actor, err := s.authorize(ctx, Actor{Email: email}, seriesID)
	if err != nil {
		return "", err
	}
	return actor.Role, nil
}

// ItemOccurrence returns the occurrence an item belongs to, for callers
// that name an item without its occurrence (the REST item routes). An
// item the actor may not see (another person's private note) is
// errs.ErrNotFound, like one that does not exist.
func (s *Service) ItemOccurrence(ctx context.Context, actor Actor, seriesID, itemID string) (Item, error) {
	if err := validID("item", itemID); err != nil {
		return Item{}, err
	}
	_, actor, err := s.authorize(ctx, actor, seriesID)
	if err != nil {
		return Item{}, err
	}
	var it Item
	// A transaction that writes nothing: the store offers item reads only
	// inside UpdateAgenda.
	err = s.store.UpdateAgenda(ctx, seriesID, func(tx Tx) error {
		var err error
		it, err = tx.Item(ctx, seriesID, itemID)
		return err
	})
	if err == nil && (it.Deleted || !it.visibleTo(actor.Email)) {
		err = errs.ErrNotFound
	}
	if errors.Is(err, errs.ErrNotFound) {
		return Item{}, fmt.Errorf("agenda: item %s of series %s: %w", itemID, seriesID, errs.ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("agenda: item %s of series %s: %w", itemID, seriesID, err)
	}
	return it.view(it.Occurrence), nil
}
