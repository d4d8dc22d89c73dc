package store

// This file is the single-table key scheme. It is the only place in the
// service that builds a PK, SK or GSI key string; docs/data-model.md
// describes the same scheme in prose and lists the access patterns that use
// each key. Change both together.
//
// Conventions:
//   - Every key component that comes from data (account, IDs, site IDs,
//     slugs, content types, statuses) passes through esc, which escapes '%'
//     and '#'. The separator '#' therefore never appears inside a component,
//     so keys are injective: no account or site ID can be crafted to collide
//     with, or prefix-match, another tenant's keys.
//   - Keys that describe tenant data start with A#<account>. The only keys
//     that don't are the webhook lookup of an integration by ID (GSI1, the
//     integration ID is a random UUIDv7), the global AI settings and model
//     registry, and the due-work indexes the scheduled functions read.
//   - Hot listing keys (anything a 10,000-post sync writes once per item)
//     carry a shard suffix #<n>, n = fnv32a(item ID) mod ListShards, so one
//     sync spreads its writes over ListShards partition key values. Readers
//     query every shard and merge by sort key.
//   - Time components in sort keys are fixed-width UTC ("2006-01-02T15:04:05.000000000Z"
//     or zero-padded Unix seconds) so lexical order is time order.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Key and index attribute names, and the index names, as in template.yaml.
const (
	AttrPK     = "PK"
	AttrSK     = "SK"
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	AttrGSI2PK = "GSI2PK"
	AttrGSI2SK = "GSI2SK"
	AttrGSI3PK = "GSI3PK"
	AttrGSI3SK = "GSI3SK"
	// AttrTTL is the table's TTL attribute (Unix seconds, N).
	AttrTTL = "ExpiresAt"

	IndexGSI1 = "GSI1"
	IndexGSI2 = "GSI2"
	IndexGSI3 = "GSI3"
)

// ListShards is the number of shards of every hot per-site or
// per-integration listing key (content listings, the approved queue, sync
// events, taxonomy and image listings). Eight shards take about 8,000 writes
// a second, several times what a full sync can produce. Changing it re-keys
// the sharded items, so it is a constant, not a setting.
const ListShards = 8

// DueShards is the number of shards of the two global due-work indexes
// (sites to publish, integrations due a scheduled sync).
const DueShards = 4

// Key is a base-table primary key.
type Key struct{ PK, SK string }

// IndexKey is the partition and sort key of an item in one GSI.
type IndexKey struct {
	Index  string
	PK, SK string
}

// Separators and fixed sort-key values.
const (
	sep           = "#"
	skIntegration = "INT#"
	skSite        = "SITE#"
	skRun         = "RUN#"
	skModel       = "M#"
)

// esc makes a data value safe as one key component: '%' → "%25", '#' → "%23".
func esc(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

// k joins pre-escaped parts with the separator.
func k(parts ...string) string { return strings.Join(parts, sep) }

// shardOf maps an ID to a shard in [0, n).
func shardOf(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// hashed returns the hex SHA-256 of s, used where a component may be long
// (URLs) or attacker-chosen (webhook IDs) and only equality matters.
func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// timeSK renders t as a fixed-width, lexically ordered UTC timestamp.
func timeSK(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// unixSK renders t as zero-padded Unix seconds (11 digits, good past 5000 AD).
func unixSK(t time.Time) string { return fmt.Sprintf("%011d", t.Unix()) }

func acct(accountID string) string { return k("A", esc(accountID)) }

func siteP(accountID, siteID string) string { return k(acct(accountID), "S", esc(siteID)) }

func intP(accountID, integrationID string) string {
	return k(acct(accountID), "I", esc(integrationID))
}

// ---------------------------------------------------------------- integrations

// IntegrationKey is an integration's item: in the account partition, so
// listing an account's integrations is one Query.
func IntegrationKey(accountID, id string) Key {
	return Key{PK: acct(accountID), SK: skIntegration + esc(id)}
}

// IntegrationListPrefix is the SK prefix of every integration in the account partition.
func IntegrationListPrefix() string { return skIntegration }

// IntegrationByIDIndex is GSI1 on the integration item: the webhook receiver
// finds an integration from its ID alone.
func IntegrationByIDIndex(id string) IndexKey {
	return IndexKey{Index: IndexGSI1, PK: k("INT", esc(id)), SK: "INT"}
}

// IntegrationIDKey is the integration's ID lookup item, outside any
// account partition (the ID is a random UUIDv7): it names the account, so
// the webhook receiver finds an integration from its ID with two strongly
// consistent GetItems — no GSI lag right after the integration is created,
// when the plugin's first deliveries arrive. Integrations created before
// the item existed are found through IntegrationByIDIndex.
func IntegrationIDKey(id string) Key { return Key{PK: k("INTID", esc(id)), SK: "INTID"} }

// IntegrationBySiteIndex is GSI2 on the integration item: an account's
// integrations ordered by site, platform, ID (filter by site, or by site and
// platform, with begins_with).
func IntegrationBySiteIndex(accountID, siteID, platform, id string) IndexKey {
	return IndexKey{
		Index: IndexGSI2,
		PK:    k(acct(accountID), "INTS"),
		SK:    k("S", esc(siteID), "P", esc(platform), "I", esc(id)),
	}
}

// IntegrationSitePrefix is the GSI2 SK prefix selecting one site (and
// platform, when given).
func IntegrationSitePrefix(siteID, platform string) string {
	if platform == "" {
		return k("S", esc(siteID), "P") + sep
	}
	return k("S", esc(siteID), "P", esc(platform), "I") + sep
}

// IntegrationByPlatformIndex is GSI3 on the integration item: an account's
// integrations of one platform, ordered by ID.
func IntegrationByPlatformIndex(accountID, platform, id string) IndexKey {
	return IndexKey{Index: IndexGSI3, PK: k(acct(accountID), "INTP", esc(platform)), SK: k("I", esc(id))}
}

// IntegrationSitePlatformGuardKey is the uniqueness guard item for one
// integration per (account, site, platform).
func IntegrationSitePlatformGuardKey(accountID, siteID, platform string) Key {
	return Key{PK: acct(accountID), SK: k("UQ", "INTSITE", esc(siteID), esc(platform))}
}

// IntegrationURLGuardKey is the uniqueness guard item for one integration per
// (account, normalised site URL). The URL is hashed: sort keys are limited to
// 1 KB and only equality matters.
func IntegrationURLGuardKey(accountID, normalisedURL string) Key {
	return Key{PK: acct(accountID), SK: k("UQ", "INTURL", hashed(normalisedURL))}
}

// ---------------------------------------------------------------------- sites

// SiteKey is a site's item (credentials secret reference, time zone, site
// structure summary), in the account partition: listing sites is one Query.
func SiteKey(accountID, siteID string) Key {
	return Key{PK: acct(accountID), SK: skSite + esc(siteID)}
}

// SiteListPrefix is the SK prefix of every site item in the account partition.
func SiteListPrefix() string { return skSite }

// ------------------------------------------------------------------ sync runs

// SyncStateKey is the per-integration sync state item: the active run ID
// (a conditional put on it is the "one run at a time" lock), the last run,
// the incremental cursor and the scheduled-sync interval.
func SyncStateKey(accountID, integrationID string) Key {
	return Key{PK: intP(accountID, integrationID), SK: "SYNC"}
}

// SyncDueIndex is GSI1 on the sync state item, present only while a
// scheduled sync is configured and no run is active: the publisher queries
// each shard for SK ≤ now instead of scanning integrations.
func SyncDueIndex(accountID, integrationID string, due time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    k("DUE", "SYNC", strconv.Itoa(shardOf(integrationID, DueShards))),
		SK:    k(unixSK(due), esc(accountID), esc(integrationID)),
	}
}

// SyncDuePartitions lists the GSI1 partitions of the scheduled-sync index.
func SyncDuePartitions() []string {
	out := make([]string, DueShards)
	for i := range out {
		out[i] = k("DUE", "SYNC", strconv.Itoa(i))
	}
	return out
}

// SyncRunKey is one sync run, its phase and its atomic progress counters.
// Run IDs are UUIDv7, so the newest run sorts last.
func SyncRunKey(accountID, integrationID, runID string) Key {
	return Key{PK: intP(accountID, integrationID), SK: skRun + esc(runID)}
}

// SyncRunListPrefix is the SK prefix of an integration's runs.
func SyncRunListPrefix() string { return skRun }

// ---------------------------------------------------------------- sync events

// SyncEventKey is one sync event: sharded per integration (a full sync writes
// one event per failed or pushed item), newest first by created time. Events
// carry ExpiresAt (retention TTL).
func SyncEventKey(accountID, integrationID, eventID string, created time.Time) Key {
	return Key{
		PK: listShard(k(intP(accountID, integrationID), "EVT"), eventID),
		SK: k(timeSK(created), esc(eventID)),
	}
}

// SyncEventByStatusIndex is GSI1 on a sync event: one integration's events
// with one status, newest first.
func SyncEventByStatusIndex(accountID, integrationID, status, eventID string, created time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    listShard(k(intP(accountID, integrationID), "EVTS", esc(status)), eventID),
		SK:    k(timeSK(created), esc(eventID)),
	}
}

// SyncEventByTypeIndex is GSI2 on a sync event: one integration's events of
// one event_type, newest first (status and type together: this index plus a
// filter on status).
func SyncEventByTypeIndex(accountID, integrationID, eventType, eventID string, created time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI2,
		PK:    listShard(k(intP(accountID, integrationID), "EVTT", esc(eventType)), eventID),
		SK:    k(timeSK(created), esc(eventID)),
	}
}

// SyncEventPartitions lists the base-table partitions of an integration's
// events (one per shard).
func SyncEventPartitions(accountID, integrationID string) []string {
	return shardPartitions(k(intP(accountID, integrationID), "EVT"))
}

// SyncEventStatusPartitions lists the GSI1 partitions of one status.
func SyncEventStatusPartitions(accountID, integrationID, status string) []string {
	return shardPartitions(k(intP(accountID, integrationID), "EVTS", esc(status)))
}

// SyncEventTypePartitions lists the GSI2 partitions of one event type.
func SyncEventTypePartitions(accountID, integrationID, eventType string) []string {
	return shardPartitions(k(intP(accountID, integrationID), "EVTT", esc(eventType)))
}

// SyncEventTimeBound is a sort key bound for "events since t" queries.
func SyncEventTimeBound(t time.Time) string { return timeSK(t) }

// listShard is the partition of id's listing shard under base; its
// shardPartitions(base) lists all of them, so writers and readers derive
// the same base.
func listShard(base, id string) string {
	return k(base, strconv.Itoa(shardOf(id, ListShards)))
}

func shardPartitions(base string) []string {
	out := make([]string, ListShards)
	for i := range out {
		out[i] = k(base, strconv.Itoa(i))
	}
	return out
}

// -------------------------------------------------------------------- content

// ContentKey is a content item's metadata (small: everything but the body),
// in its own partition so a full sync spreads its writes.
func ContentKey(accountID, contentID string) Key {
	return Key{PK: k(acct(accountID), "C", esc(contentID)), SK: "META"}
}

// ContentBodyKey is the content body item beside the metadata (raw HTML,
// gzip-compressed above CompressThreshold). Listings never read it; status
// changes never rewrite it.
func ContentBodyKey(accountID, contentID string) Key {
	return Key{PK: k(acct(accountID), "C", esc(contentID)), SK: "BODY"}
}

// ContentBySiteIndex is GSI1 on content metadata: a site's content, newest
// update first, sharded.
func ContentBySiteIndex(accountID, siteID, contentID string, updated time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    listShard(k(siteP(accountID, siteID), "C"), contentID),
		SK:    k(timeSK(updated), esc(contentID)),
	}
}

// ContentBySiteStatusIndex is GSI2 on content metadata: a site's content in
// one status, newest update first, sharded (status and content type
// together: this index plus a filter on content type).
func ContentBySiteStatusIndex(accountID, siteID, status, contentID string, updated time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI2,
		PK:    listShard(k(siteP(accountID, siteID), "CS", esc(status)), contentID),
		SK:    k(timeSK(updated), esc(contentID)),
	}
}

// ContentBySiteTypeIndex is GSI3 on content metadata: a site's content of one
// content type, newest update first, sharded.
func ContentBySiteTypeIndex(accountID, siteID, contentType, contentID string, updated time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI3,
		PK:    listShard(k(siteP(accountID, siteID), "CT", esc(contentType)), contentID),
		SK:    k(timeSK(updated), esc(contentID)),
	}
}

// ContentSitePartitions lists the GSI1 partitions of a site's content.
func ContentSitePartitions(accountID, siteID string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "C"))
}

// ContentStatusPartitions lists the GSI2 partitions of one status.
func ContentStatusPartitions(accountID, siteID, status string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "CS", esc(status)))
}

// ContentTypePartitions lists the GSI3 partitions of one content type.
func ContentTypePartitions(accountID, siteID, contentType string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "CT", esc(contentType)))
}

// ContentWordPressKey is the lookup item (integration, WordPress post ID) →
// content ID. A conditional put of it in the transaction that creates the
// content guarantees one content item per WordPress post; a pull page
// resolves its 100 posts with one BatchGetItem of these keys.
func ContentWordPressKey(accountID, integrationID string, wordpressID int64) Key {
	return Key{PK: k(intP(accountID, integrationID), "WPPOST", strconv.FormatInt(wordpressID, 10)), SK: "WPPOST"}
}

// ApprovedQueueKey is a site's approved-content queue entry, ordered by
// approved_at within its shard. The publisher reads the oldest entry of each
// shard (strongly consistent Query, Limit 1) and claims the oldest overall by
// deleting its entry conditionally in the same transaction that increments
// the publish counters.
func ApprovedQueueKey(accountID, siteID, contentID string, approvedAt time.Time) Key {
	return Key{
		PK: listShard(k(siteP(accountID, siteID), "APQ"), contentID),
		SK: k(timeSK(approvedAt), esc(contentID)),
	}
}

// ApprovedQueuePartitions lists a site's approved-queue partitions.
func ApprovedQueuePartitions(accountID, siteID string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "APQ"))
}

// ----------------------------------------------------------------- taxonomies

// TaxonomyKey is one taxonomy term of a site (category, tag, custom), in its
// own partition.
func TaxonomyKey(accountID, siteID, taxonomyID string) Key {
	return Key{PK: k(siteP(accountID, siteID), "TAX", esc(taxonomyID)), SK: "TAX"}
}

// TaxonomyBySiteIndex is GSI1 on a term: a site's terms ordered by type then
// slug, sharded (filter by type with begins_with).
func TaxonomyBySiteIndex(accountID, siteID, taxonomyType, slug, taxonomyID string) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    listShard(k(siteP(accountID, siteID), "TAXS"), taxonomyID),
		SK:    k(esc(taxonomyType), esc(slug), esc(taxonomyID)),
	}
}

// TaxonomySitePartitions lists the GSI1 partitions of a site's terms.
func TaxonomySitePartitions(accountID, siteID string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "TAXS"))
}

// TaxonomyTypePrefix is the GSI1 SK prefix selecting one taxonomy type.
func TaxonomyTypePrefix(taxonomyType string) string { return esc(taxonomyType) + sep }

// TaxonomyWordPressKey is the lookup item (site, taxonomy type, WordPress
// term ID) → taxonomy ID, fetched in batches while mapping a pulled page.
func TaxonomyWordPressKey(accountID, siteID, taxonomyType string, wordpressID int64) Key {
	return Key{PK: k(siteP(accountID, siteID), "WPTERM", esc(taxonomyType), strconv.FormatInt(wordpressID, 10)), SK: "WPTERM"}
}

// --------------------------------------------------------------------- images

// ImageKey is one image of a site.
func ImageKey(accountID, siteID, imageID string) Key {
	return Key{PK: k(siteP(accountID, siteID), "IMG", esc(imageID)), SK: "IMG"}
}

// ImageBySiteIndex is GSI1 on an image: a site's images, newest first, sharded.
func ImageBySiteIndex(accountID, siteID, imageID string, created time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    listShard(k(siteP(accountID, siteID), "IMGS"), imageID),
		SK:    k(timeSK(created), esc(imageID)),
	}
}

// ImageSitePartitions lists the GSI1 partitions of a site's images.
func ImageSitePartitions(accountID, siteID string) []string {
	return shardPartitions(k(siteP(accountID, siteID), "IMGS"))
}

// ImageWordPressKey is the lookup item (site, WordPress media ID) → image ID.
func ImageWordPressKey(accountID, siteID string, mediaID int64) Key {
	return Key{PK: k(siteP(accountID, siteID), "WPMEDIA", strconv.FormatInt(mediaID, 10)), SK: "WPMEDIA"}
}

// ImageSourceKey is the lookup item (site, source URL) → image ID, so one
// remote image is downloaded and uploaded once.
func ImageSourceKey(accountID, siteID, sourceURL string) Key {
	return Key{PK: k(siteP(accountID, siteID), "IMGSRC", hashed(sourceURL)), SK: "IMGSRC"}
}

// ---------------------------------------------------------------- publishing

// PublishSettingsKey is a site's publishing settings, with the count of
// approved items waiting (kept by ADD in the approve and claim transactions).
func PublishSettingsKey(accountID, siteID string) Key {
	return Key{PK: siteP(accountID, siteID), SK: "PUBSET"}
}

// PublishDueIndex is GSI1 on publishing settings, present only while
// auto-publish is on and approved content waits; its SK is the next time the
// site's window may allow a publication. The publisher queries each shard for
// SK ≤ now: its work grows with due sites, not with stored content.
func PublishDueIndex(accountID, siteID string, next time.Time) IndexKey {
	return IndexKey{
		Index: IndexGSI1,
		PK:    k("DUE", "PUB", strconv.Itoa(shardOf(accountID+"/"+siteID, DueShards))),
		SK:    k(unixSK(next), esc(accountID), esc(siteID)),
	}
}

// PublishDuePartitions lists the GSI1 partitions of the publish index.
func PublishDuePartitions() []string {
	out := make([]string, DueShards)
	for i := range out {
		out[i] = k("DUE", "PUB", strconv.Itoa(i))
	}
	return out
}

// DueBound is the GSI1 SK upper bound for "due at or before t" queries on
// both due indexes (every real key sorts below it).
func DueBound(t time.Time) string { return unixSK(t) + "$" }

// PublishCounter periods.
const (
	PeriodDay   = "D"
	PeriodWeek  = "W"
	PeriodMonth = "M"
)

// PublishCounterKey is a site's publication counter for one period of the
// site's local calendar: day "2006-01-02", ISO week "2006-W01", month
// "2006-01". Counters carry ExpiresAt (a while after the period ends).
func PublishCounterKey(accountID, siteID string, localTime time.Time, period string) Key {
	var id string
	switch period {
	case PeriodDay:
		id = localTime.Format("2006-01-02")
	case PeriodWeek:
		y, w := localTime.ISOWeek()
		id = fmt.Sprintf("%04d-W%02d", y, w)
	case PeriodMonth:
		id = localTime.Format("2006-01")
	default:
		panic("store: unknown publish counter period " + period)
	}
	return Key{PK: siteP(accountID, siteID), SK: k("PUBCNT", period, id)}
}

// ------------------------------------------------------------------- webhooks

// WebhookDeliveryKey is the de-duplication item for one webhook-id, put with
// attribute_not_exists and ExpiresAt. The ID is hashed: it comes from a
// request header.
func WebhookDeliveryKey(accountID, integrationID, webhookID string) Key {
	return Key{PK: k(intP(accountID, integrationID), "WHD", hashed(webhookID)), SK: "WHD"}
}

// WebhookRateKey is a per-integration, per-second delivery counter for the
// webhook rate limit (ADD with a condition), with ExpiresAt.
func WebhookRateKey(accountID, integrationID string, second time.Time) Key {
	return Key{PK: k(intP(accountID, integrationID), "WHRL", unixSK(second)), SK: "WHRL"}
}

// --------------------------------------------------------------- AI, registry

// AISettingsKey is the global AI settings item (defaults, and per provider
// whether a key is set, its last four characters and when it changed; the
// keys themselves live in Secrets Manager).
func AISettingsKey() Key { return Key{PK: k("G", "AI"), SK: "SETTINGS"} }

// ModelKey is one model registry entry; the registry is one small partition
// read whole into each function's cache.
func ModelKey(modelID string) Key { return Key{PK: ModelPartition(), SK: skModel + esc(modelID)} }

// ModelPartition is the registry's partition key value: one Query of it
// reads every entry and the seed marker together.
func ModelPartition() string { return k("G", "MODELS") }

// ModelSeedKey is the registry's seed marker: the version of the repository's
// data file last loaded into the table. It sorts outside the M# prefix, so no
// model ID can collide with it.
func ModelSeedKey() Key { return Key{PK: ModelPartition(), SK: "SEED"} }

// ------------------------------------------------------------ site leases

// SiteLeaseKey is one of an integration's request slots: a job holds a
// slot while it calls the site, so at most SITE_CONCURRENCY jobs call one
// site at once however many workers run. Slots carry ExpiresAt, so a
// worker that dies frees its slot when the lease runs out.
func SiteLeaseKey(accountID, integrationID string, slot int) Key {
	return Key{PK: intP(accountID, integrationID), SK: fmt.Sprintf("%s%02d", siteLeasePrefix, slot)}
}

// siteLeasePrefix starts every site lease slot's sort key.
const siteLeasePrefix = "LEASE#"
