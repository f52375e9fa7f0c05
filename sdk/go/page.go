package puguh

import (
	"context"
	"errors"
	"iter"
)

// Page is one page of a list. Every List returns one, also for lists the
// server does not paginate yet (then NextCursor is ""), so code written today
// keeps working when they are.
type Page[T any] struct {
	Items []T
	// NextCursor is the server's next_cursor: "" on the last page. Opaque;
	// pass it back as PageParams.Cursor, or call NextPage.
	NextCursor string
	// Response is the answer this page came in.
	Response *ResponseInfo

	fetch func(ctx context.Context, cursor string) (*Page[T], error)
}

// ErrRepeatedCursor stops a walk over pages whose server sent a cursor it had
// sent before (it never does), instead of looping.
var ErrRepeatedCursor = errors.New("puguh: the server repeated a pagination cursor")

// HasNextPage reports whether there is a page after this one.
func (p *Page[T]) HasNextPage() bool { return p.NextCursor != "" }

// NextPage fetches the next page; nil, nil after the last one.
func (p *Page[T]) NextPage(ctx context.Context) (*Page[T], error) {
	if p.NextCursor == "" || p.fetch == nil {
		return nil, nil
	}
	return p.fetch(ctx, p.NextCursor)
}

// Pages walks every page from this one on, fetching as it goes. An error
// ends the walk (it is yielded with a nil page).
func (p *Page[T]) Pages(ctx context.Context) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		seen := map[string]bool{}
		page := p
		for page != nil {
			if !yield(page, nil) {
				return
			}
			if page.NextCursor != "" {
				if seen[page.NextCursor] {
					yield(nil, ErrRepeatedCursor)
					return
				}
				seen[page.NextCursor] = true
			}
			next, err := page.NextPage(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			page = next
		}
	}
}

// All walks every item from this page to the last one, fetching pages as it
// goes. An error ends the walk (it is yielded with a zero item).
func (p *Page[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for page, err := range p.Pages(ctx) {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}

// autoPaging walks every item of a list from its first page; the first page
// is fetched when the walk starts.
func autoPaging[T any](ctx context.Context, first func(ctx context.Context) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page, err := first(ctx)
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		for item, err := range page.All(ctx) {
			if !yield(item, err) {
				return
			}
		}
	}
}
