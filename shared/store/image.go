package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Image field limits.
const (
	MaxImageAltChars  = 2000
	MaxImageMIMEBytes = 255
)

// Image is one image of a site: a WordPress media item (pulled, or uploaded
// by a push) and, for uploads, the remote URL it came from.
type Image struct {
	AccountID string
	SiteID    string
	ID        string
	// ImageURL is the image's URL in WordPress (source_url of the media).
	ImageURL string
	// SourceURL is the remote URL an upload came from; a site uploads one
	// remote image once (ImageBySourceURL).
	SourceURL        string
	Alt              string
	WordPressMediaID int64
	MimeType         string
	Width, Height    int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// Version is the optimistic-locking version: 1 after create, +1 on
	// every update.
	Version int64
}

// ImageStore is what the API and the sync functions need from the store for
// images.
type ImageStore interface {
	UpsertImagesFromWordPress(ctx context.Context, accountID, siteID string, imgs []Image) (map[int64]string, error)
	GetImage(ctx context.Context, accountID, siteID, id string) (Image, error)
	CreateImage(ctx context.Context, img Image) (Image, error)
	ImageBySourceURL(ctx context.Context, accountID, siteID, sourceURL string) (Image, error)
	SetImageWordPressMediaID(ctx context.Context, accountID, siteID, id string, mediaID int64, url string) (Image, error)
	ListImages(ctx context.Context, accountID, siteID string, p PageRequest) (Page[Image], error)
}

var _ ImageStore = (*Store)(nil)

const (
	entityImage       = "image"
	entityImageLookup = "image_wp"
	entityImageSource = "image_src"
)

// imageItem is the stored shape of an Image.
type imageItem struct {
	PK, SK           string
	GSI1PK, GSI1SK   string
	Entity           string
	AccountID        string
	SiteID           string
	ID               string
	ImageURL         string `dynamodbav:",omitempty"`
	SourceURL        string `dynamodbav:",omitempty"`
	Alt              string `dynamodbav:",omitempty"`
	WordPressMediaID int64  `dynamodbav:",omitempty"`
	MimeType         string `dynamodbav:",omitempty"`
	Width            int    `dynamodbav:",omitempty"`
	Height           int    `dynamodbav:",omitempty"`
	CreatedAt        string
	UpdatedAt        string
	Version          int64
}

// imageLookupItem maps (site, WordPress media ID) or (site, source URL
// hash) to an image ID.
type imageLookupItem struct {
	PK, SK  string
	Entity  string
	ImageID string
}

func validateImage(img Image) error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"account id", img.AccountID, true},
		{"site id", img.SiteID, true},
		{"id", img.ID, false},
	} {
		if err := contentCheckComponent("image", f.name, f.v, f.required); err != nil {
			return err
		}
	}
	switch {
	case img.ImageURL == "" && img.SourceURL == "":
		return fmt.Errorf("image needs an image url or a source url: %w", ErrInvalid)
	case len(img.ImageURL) > MaxURLBytes || len(img.SourceURL) > MaxURLBytes:
		return fmt.Errorf("image url is over %d bytes: %w", MaxURLBytes, ErrInvalid)
	case utf8.RuneCountInString(img.Alt) > MaxImageAltChars:
		return fmt.Errorf("image alt text is over %d characters: %w", MaxImageAltChars, ErrInvalid)
	case len(img.MimeType) > MaxImageMIMEBytes:
		return fmt.Errorf("image mime type is over %d bytes: %w", MaxImageMIMEBytes, ErrInvalid)
	case img.WordPressMediaID < 0 || img.Width < 0 || img.Height < 0:
		return fmt.Errorf("image media id and dimensions must not be negative: %w", ErrInvalid)
	}
	return nil
}

func marshalImage(img Image) (map[string]types.AttributeValue, error) {
	key := ImageKey(img.AccountID, img.SiteID, img.ID)
	bySite := ImageBySiteIndex(img.AccountID, img.SiteID, img.ID, img.CreatedAt)
	return contentMarshalAV(entityImage, imageItem{
		PK: key.PK, SK: key.SK,
		GSI1PK: bySite.PK, GSI1SK: bySite.SK,
		Entity:           entityImage,
		AccountID:        img.AccountID,
		SiteID:           img.SiteID,
		ID:               img.ID,
		ImageURL:         img.ImageURL,
		SourceURL:        img.SourceURL,
		Alt:              img.Alt,
		WordPressMediaID: img.WordPressMediaID,
		MimeType:         img.MimeType,
		Width:            img.Width,
		Height:           img.Height,
		CreatedAt:        contentFormatTime(img.CreatedAt),
		UpdatedAt:        contentFormatTime(img.UpdatedAt),
		Version:          img.Version,
	})
}

func unmarshalImage(item map[string]types.AttributeValue) (Image, error) {
	var it imageItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Image{}, fmt.Errorf("unmarshal image: %w", err)
	}
	img := Image{
		AccountID:        it.AccountID,
		SiteID:           it.SiteID,
		ID:               it.ID,
		ImageURL:         it.ImageURL,
		SourceURL:        it.SourceURL,
		Alt:              it.Alt,
		WordPressMediaID: it.WordPressMediaID,
		MimeType:         it.MimeType,
		Width:            it.Width,
		Height:           it.Height,
		Version:          it.Version,
	}
	var err error
	if img.CreatedAt, err = contentParseTime(entityImage, it.ID, "created_at", it.CreatedAt); err != nil {
		return Image{}, err
	}
	if img.UpdatedAt, err = contentParseTime(entityImage, it.ID, "updated_at", it.UpdatedAt); err != nil {
		return Image{}, err
	}
	return img, nil
}

func imageLookupAV(entity string, key Key, imageID string) (map[string]types.AttributeValue, error) {
	return contentMarshalAV(entity, imageLookupItem{PK: key.PK, SK: key.SK, Entity: entity, ImageID: imageID})
}

func imageMediaTaken(img Image) error {
	return &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("WordPress media %d already belongs to another image", img.WordPressMediaID)}
}

// imageCreateOps puts an image (attribute_not_exists) with its media lookup
// (when WordPressMediaID is set) and its source lookup (when withSource and
// SourceURL is set), each attribute_not_exists; sourceTaken and mediaTaken
// are the errors of the lookups' conditions.
func (s *Store) imageCreateOps(img Image, withSource bool, sourceTaken, mediaTaken error) ([]txOp, error) {
	item, err := marshalImage(img)
	if err != nil {
		return nil, err
	}
	put, err := s.txPut(entityImage, item, notExists(), &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("image %s already exists", img.ID)})
	if err != nil {
		return nil, err
	}
	ops := []txOp{put}
	if withSource && img.SourceURL != "" {
		lookup, err := imageLookupAV(entityImageSource, ImageSourceKey(img.AccountID, img.SiteID, img.SourceURL), img.ID)
		if err != nil {
			return nil, err
		}
		op, err := s.txPut(entityImageSource, lookup, notExists(), sourceTaken)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if img.WordPressMediaID != 0 {
		lookup, err := imageLookupAV(entityImageLookup, ImageWordPressKey(img.AccountID, img.SiteID, img.WordPressMediaID), img.ID)
		if err != nil {
			return nil, err
		}
		op, err := s.txPut(entityImageLookup, lookup, notExists(), mediaTaken)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// CreateImage stores a new image. ID is generated when empty; CreatedAt,
// UpdatedAt and Version (1) are set here. With a SourceURL it also puts the
// source lookup, and with a WordPressMediaID the media lookup, in one
// transaction (one conditional PutItem when there is neither). When the
// site already has an image from SourceURL, CreateImage writes nothing and
// returns that image (compare IDs to tell); a media ID that belongs to
// another image is a *ConflictError (ConflictExists).
func (s *Store) CreateImage(ctx context.Context, img Image) (Image, error) {
	if err := validateImage(img); err != nil {
		return Image{}, fmt.Errorf("create image: %w", err)
	}
	if img.ID == "" {
		img.ID = s.newID()
	}
	now := s.clock()
	img.CreatedAt, img.UpdatedAt, img.Version = now, now, 1
	sourceTaken := &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("the site already has an image from %s", img.SourceURL)}
	ops, err := s.imageCreateOps(img, true, sourceTaken, imageMediaTaken(img))
	if err != nil {
		return Image{}, fmt.Errorf("create image: %w", err)
	}
	if len(ops) == 1 {
		if err := s.conditionalPut(ctx, entityImage, ops[0].item.Put.Item, *notExists()); err != nil {
			if isConditionFailed(err) {
				return Image{}, fmt.Errorf("create image: %w", ops[0].onConditionFailed)
			}
			return Image{}, fmt.Errorf("create image %s: %w", img.ID, err)
		}
		return img, nil
	}
	err = s.transact(ctx, "create image", ops)
	if errors.Is(err, sourceTaken) {
		existing, gerr := s.ImageBySourceURL(ctx, img.AccountID, img.SiteID, img.SourceURL)
		if gerr != nil {
			return Image{}, fmt.Errorf("create image: existing image from %s: %w", img.SourceURL, gerr)
		}
		return existing, nil
	}
	if err != nil {
		return Image{}, err
	}
	return img, nil
}

// GetImage returns one image of the account's site (strongly consistent
// GetItem); another account's or site's image is ErrNotFound.
func (s *Store) GetImage(ctx context.Context, accountID, siteID, id string) (Image, error) {
	if accountID == "" || siteID == "" || id == "" {
		return Image{}, fmt.Errorf("get image %q: %w", id, ErrNotFound)
	}
	item, err := s.getItem(ctx, ImageKey(accountID, siteID, id))
	if err != nil {
		return Image{}, fmt.Errorf("get image %s: %w", id, err)
	}
	if item == nil {
		return Image{}, fmt.Errorf("get image %s: %w", id, ErrNotFound)
	}
	return unmarshalImage(item)
}

// ImageBySourceURL returns the site's image uploaded from sourceURL: two
// GetItems (the source lookup, then the image). None is ErrNotFound.
func (s *Store) ImageBySourceURL(ctx context.Context, accountID, siteID, sourceURL string) (Image, error) {
	if accountID == "" || siteID == "" || sourceURL == "" {
		return Image{}, fmt.Errorf("image by source url: %w", ErrNotFound)
	}
	item, err := s.getItem(ctx, ImageSourceKey(accountID, siteID, sourceURL))
	if err != nil {
		return Image{}, fmt.Errorf("image by source url: %w", err)
	}
	if item == nil {
		return Image{}, fmt.Errorf("image by source url: %w", ErrNotFound)
	}
	var it imageLookupItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Image{}, fmt.Errorf("unmarshal image source lookup: %w", err)
	}
	return s.GetImage(ctx, accountID, siteID, it.ImageID)
}

// SetImageWordPressMediaID records the WordPress media ID (0 unlinks) and,
// when url is not empty, the WordPress URL of an image after an upload: one
// GetItem, then one conditional PutItem when the media ID is unchanged, else
// one transaction that also moves the media lookup (a media ID that belongs
// to another image is a *ConflictError). Retried on a concurrent change;
// nothing is written when nothing changes.
func (s *Store) SetImageWordPressMediaID(ctx context.Context, accountID, siteID, id string, mediaID int64, url string) (Image, error) {
	if mediaID < 0 || len(url) > MaxURLBytes {
		return Image{}, fmt.Errorf("set image media id: negative id or url too long: %w", ErrInvalid)
	}
	for attempt := 0; ; attempt++ {
		out, err := s.setImageMediaOnce(ctx, accountID, siteID, id, mediaID, url)
		if attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue
		}
		return out, err
	}
}

func (s *Store) setImageMediaOnce(ctx context.Context, accountID, siteID, id string, mediaID int64, url string) (Image, error) {
	cur, err := s.GetImage(ctx, accountID, siteID, id)
	if err != nil {
		return Image{}, fmt.Errorf("set image media id: %w", err)
	}
	if cur.WordPressMediaID == mediaID && (url == "" || url == cur.ImageURL) {
		return cur, nil
	}
	next := cur
	next.WordPressMediaID = mediaID
	if url != "" {
		next.ImageURL = url
	}
	next.UpdatedAt = s.clock()
	next.Version = cur.Version + 1
	item, err := marshalImage(next)
	if err != nil {
		return Image{}, fmt.Errorf("set image media id: %w", err)
	}
	stale := fmt.Errorf("set image %s media id: version %d changed concurrently: %w", id, cur.Version, ErrPreconditionFailed)
	if cur.WordPressMediaID == mediaID {
		if err := s.conditionalPut(ctx, entityImage, item, *versionIs(cur.Version)); err != nil {
			if isConditionFailed(err) {
				return Image{}, stale
			}
			return Image{}, fmt.Errorf("set image %s media id: %w", id, err)
		}
		return next, nil
	}
	put, err := s.txPut(entityImage, item, versionIs(cur.Version), stale)
	if err != nil {
		return Image{}, fmt.Errorf("set image media id: %w", err)
	}
	ops := []txOp{put}
	if cur.WordPressMediaID != 0 {
		op, err := s.txDelete(entityImageLookup, ImageWordPressKey(accountID, siteID, cur.WordPressMediaID), contentOwnedOrMissing("ImageID", id),
			&ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("the lookup of WordPress media %d belongs to another image", cur.WordPressMediaID)})
		if err != nil {
			return Image{}, fmt.Errorf("set image media id: %w", err)
		}
		ops = append(ops, op)
	}
	if mediaID != 0 {
		lookup, err := imageLookupAV(entityImageLookup, ImageWordPressKey(accountID, siteID, mediaID), id)
		if err != nil {
			return Image{}, fmt.Errorf("set image media id: %w", err)
		}
		op, err := s.txPut(entityImageLookup, lookup, contentOwnedOrMissing("ImageID", id), imageMediaTaken(next))
		if err != nil {
			return Image{}, fmt.Errorf("set image media id: %w", err)
		}
		ops = append(ops, op)
	}
	if err := s.transact(ctx, "set image media id", ops); err != nil {
		return Image{}, err
	}
	return next, nil
}

// ListImages returns one page of a site's images, newest first, merged
// across the ListShards partitions of GSI1: one Query per shard per page.
func (s *Store) ListImages(ctx context.Context, accountID, siteID string, p PageRequest) (Page[Image], error) {
	if accountID == "" || siteID == "" {
		return Page[Image]{}, fmt.Errorf("list images: account and site are required: %w", ErrInvalid)
	}
	q := mergedQuery{entity: "images", index: IndexGSI1, pks: ImageSitePartitions(accountID, siteID)}
	items, next, err := s.queryMerged(ctx, q, p)
	if err != nil {
		return Page[Image]{}, fmt.Errorf("list images: %w", err)
	}
	page := Page[Image]{Items: make([]Image, 0, len(items)), NextCursor: next}
	for _, item := range items {
		img, err := unmarshalImage(item)
		if err != nil {
			return Page[Image]{}, fmt.Errorf("list images: %w", err)
		}
		page.Items = append(page.Items, img)
	}
	return page, nil
}

// imageMediaIDs reads the media lookups of mediaIDs (BatchGetItem).
func (s *Store) imageMediaIDs(ctx context.Context, accountID, siteID string, mediaIDs []int64) (map[int64]string, error) {
	return lookupIDs(ctx, s, "image lookups", mediaIDs, func(m int64) Key { return ImageWordPressKey(accountID, siteID, m) }, "ImageID")
}

// imageGetMany reads images by ID (BatchGetItem).
func (s *Store) imageGetMany(ctx context.Context, accountID, siteID string, ids []string) (map[string]Image, error) {
	keys := make([]Key, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, ImageKey(accountID, siteID, id))
	}
	items, err := s.contentBatchGet(ctx, "images", keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Image, len(items))
	for _, item := range items {
		img, err := unmarshalImage(item)
		if err != nil {
			return nil, err
		}
		out[img.ID] = img
	}
	return out, nil
}

// imageSamePulled reports whether cur already has pulled's WordPress fields.
func imageSamePulled(cur, pulled Image) bool {
	return cur.ImageURL == pulled.ImageURL && cur.Alt == pulled.Alt && cur.MimeType == pulled.MimeType &&
		cur.Width == pulled.Width && cur.Height == pulled.Height
}

// UpsertImagesFromWordPress stores pulled media (each with
// WordPressMediaID; ID is assigned here) and returns media ID → image ID for
// all of them. It reads the media lookups with one BatchGetItem (per 100),
// the existing images with another; creates new images with their lookups
// in as few transactions as possible (one per image after a lost race, which
// then adopts the winner); updates images whose URL, alt text, MIME type or
// size changed with one conditional PutItem each; and writes nothing for
// unchanged ones. SourceURL is used only for new images (it takes the
// source lookup unless another image of the site, or an earlier one in
// imgs, has it).
func (s *Store) UpsertImagesFromWordPress(ctx context.Context, accountID, siteID string, imgs []Image) (map[int64]string, error) {
	if accountID == "" || siteID == "" {
		return nil, fmt.Errorf("upsert images: account and site are required: %w", ErrInvalid)
	}
	var in []Image
	at := make(map[int64]int, len(imgs))
	for _, img := range imgs {
		img.AccountID, img.SiteID, img.ID = accountID, siteID, ""
		if img.WordPressMediaID == 0 {
			return nil, fmt.Errorf("upsert images: an image has no wordpress media id: %w", ErrInvalid)
		}
		if err := validateImage(img); err != nil {
			return nil, fmt.Errorf("upsert images: %w", err)
		}
		if i, ok := at[img.WordPressMediaID]; ok {
			in[i] = img
			continue
		}
		at[img.WordPressMediaID] = len(in)
		in = append(in, img)
	}
	out := make(map[int64]string, len(in))
	if len(in) == 0 {
		return out, nil
	}
	mediaIDs := make([]int64, len(in))
	for i, img := range in {
		mediaIDs[i] = img.WordPressMediaID
	}
	known, err := s.imageMediaIDs(ctx, accountID, siteID, mediaIDs)
	if err != nil {
		return nil, fmt.Errorf("upsert images: %w", err)
	}
	var existingIDs []string
	for _, id := range known {
		existingIDs = append(existingIDs, id)
	}
	current, err := s.imageGetMany(ctx, accountID, siteID, existingIDs)
	if err != nil {
		return nil, fmt.Errorf("upsert images: %w", err)
	}

	type pair struct{ cur, pulled Image }
	var compare []pair
	var fresh []int
	var groups [][]txOp
	var lost, srcTaken []error
	sources := map[string]bool{}
	now := s.clock()
	for i, img := range in {
		if id, ok := known[img.WordPressMediaID]; ok {
			cur, ok := current[id]
			if !ok {
				return nil, fmt.Errorf("upsert images: the lookup of WordPress media %d names missing image %s", img.WordPressMediaID, id)
			}
			compare = append(compare, pair{cur: cur, pulled: img})
			continue
		}
		img.ID = s.newID()
		img.CreatedAt, img.UpdatedAt, img.Version = now, now, 1
		withSource := img.SourceURL != "" && !sources[img.SourceURL]
		sources[img.SourceURL] = true
		l := imageMediaTaken(img)
		st := &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("the site already has an image from %s", img.SourceURL)}
		ops, err := s.imageCreateOps(img, withSource, st, l)
		if err != nil {
			return nil, fmt.Errorf("upsert images: %w", err)
		}
		in[i] = img
		fresh = append(fresh, i)
		groups = append(groups, ops)
		lost = append(lost, l)
		srcTaken = append(srcTaken, st)
	}
	errs := s.contentTransactGroups(ctx, "upsert images", groups)
	for g, i := range fresh {
		img := in[i]
		switch {
		case errs[g] == nil:
			out[img.WordPressMediaID] = img.ID
		case errors.Is(errs[g], lost[g]):
			// Another writer created this media's image first: adopt it.
			won, err := s.imageMediaIDs(ctx, accountID, siteID, []int64{img.WordPressMediaID})
			if err != nil {
				return nil, fmt.Errorf("upsert images: %w", err)
			}
			cur, err := s.GetImage(ctx, accountID, siteID, won[img.WordPressMediaID])
			if err != nil {
				return nil, fmt.Errorf("upsert images: winner for WordPress media %d: %w", img.WordPressMediaID, err)
			}
			compare = append(compare, pair{cur: cur, pulled: img})
		case errors.Is(errs[g], srcTaken[g]):
			// The source URL is another image's: store this media without it.
			img.SourceURL = ""
			ops, err := s.imageCreateOps(img, false, nil, lost[g])
			if err != nil {
				return nil, fmt.Errorf("upsert images: %w", err)
			}
			if err := s.transact(ctx, "upsert images", ops); err != nil {
				return nil, err
			}
			out[img.WordPressMediaID] = img.ID
		default:
			return nil, errs[g]
		}
	}
	for _, p := range compare {
		id, err := s.imageApplyPulled(ctx, p.cur, p.pulled)
		if err != nil {
			return nil, fmt.Errorf("upsert images: %w", err)
		}
		out[p.pulled.WordPressMediaID] = id
	}
	return out, nil
}

// imageApplyPulled writes pulled's WordPress fields onto cur when they
// differ (one conditional PutItem; re-read and retried on a concurrent
// change) and returns the image ID.
func (s *Store) imageApplyPulled(ctx context.Context, cur, pulled Image) (string, error) {
	for attempt := 0; ; attempt++ {
		if imageSamePulled(cur, pulled) {
			return cur.ID, nil
		}
		next := cur
		next.ImageURL, next.Alt, next.MimeType, next.Width, next.Height = pulled.ImageURL, pulled.Alt, pulled.MimeType, pulled.Width, pulled.Height
		next.UpdatedAt = s.clock()
		next.Version = cur.Version + 1
		item, err := marshalImage(next)
		if err != nil {
			return "", err
		}
		err = s.conditionalPut(ctx, entityImage, item, *versionIs(cur.Version))
		if err == nil {
			return cur.ID, nil
		}
		if !isConditionFailed(err) {
			return "", fmt.Errorf("update image %s: %w", cur.ID, err)
		}
		if attempt >= lockRetries {
			return "", fmt.Errorf("update image %s: version %d changed concurrently: %w", cur.ID, cur.Version, ErrPreconditionFailed)
		}
		if cur, err = s.GetImage(ctx, cur.AccountID, cur.SiteID, cur.ID); err != nil {
			return "", err
		}
	}
}
