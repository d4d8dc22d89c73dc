package wordpress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// ErrStopPaging, returned by an EachPage callback, ends the walk early
// without an error.
var ErrStopPaging = errors.New("wordpress: stop paging")

// ClampPerPage bounds perPage to WordPress's 1..100; WordPress answers 400
// rest_invalid_param outside it rather than clamping itself.
func ClampPerPage(perPage int) int {
	return min(max(perPage, 1), MaxPerPage)
}

// GetPage fetches one page (from 1) of a collection such as "wp/v2/posts"
// into out. The Response's Total and TotalPages say how many there are.
func (c *Client) GetPage(ctx context.Context, path string, query url.Values, page, perPage int, out any) (*Response, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	q.Set("page", strconv.Itoa(max(page, 1)))
	q.Set("per_page", strconv.Itoa(ClampPerPage(perPage)))
	return c.Get(ctx, path, q, out)
}

// EachPage walks a collection page by page from page 1, calling fn with
// each page's items as raw JSON. It stops after X-WP-TotalPages pages (read
// afresh from every answer, as items may come and go meanwhile), at the
// first empty page, at a short page when the header is missing, or when fn
// returns ErrStopPaging; and it gives up with CodeTooManyPages after
// Options.MaxPages pages, so a site that always claims more cannot loop us.
func (c *Client) EachPage(ctx context.Context, path string, query url.Values, perPage int,
	fn func(page int, resp *Response, raw []json.RawMessage) error) error {
	perPage = ClampPerPage(perPage)
	for page := 1; ; page++ {
		if page > c.opts.MaxPages {
			return &Error{Code: CodeTooManyPages,
				Message: fmt.Sprintf("/wp-json/%s still had more after %d pages; stopped reading.", path, c.opts.MaxPages)}
		}
		var raw []json.RawMessage
		resp, err := c.GetPage(ctx, path, query, page, perPage, &raw)
		if err != nil {
			// Past the end WordPress answers 400 rest_post_invalid_page_number;
			// without X-WP-TotalPages that is how we learn we are done.
			if e, ok := AsError(err); ok && page > 1 && e.WPCode == "rest_post_invalid_page_number" {
				return nil
			}
			return fmt.Errorf("reading page %d of %s: %w", page, path, err)
		}
		if len(raw) == 0 {
			return nil
		}
		if err := fn(page, resp, raw); err != nil {
			if errors.Is(err, ErrStopPaging) {
				return nil
			}
			return err
		}
		if resp.TotalPages >= 0 && page >= resp.TotalPages {
			return nil
		}
		if resp.TotalPages < 0 && len(raw) < perPage {
			return nil
		}
	}
}
