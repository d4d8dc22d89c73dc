<?php
/*
 * Seeds the loopback site with a small, deterministic, realistic data set:
 * 3 categories, 3 tags, 12 published posts (some categorised/tagged),
 * 2 drafts and 3 pages, all with fixed titles, slugs and dates. It first
 * deletes WordPress's install defaults (Hello world!, Sample Page, the
 * draft Privacy Policy) so counts are exact: /wp/v2/posts has X-WP-Total 12.
 * Idempotent: items are looked up by slug and only created when missing.
 * start.sh runs it once, right after the first install (WP_SEED=0 skips);
 * by hand: php infra/wordpress/seed.php (IGNY8_WP_STATE selects the site).
 */
require __DIR__ . '/cli-bootstrap.php';

wp_set_current_user(1); // the admin: authored content, unfiltered HTML

// Install defaults. Deleted only while the marker option is absent, so a
// "hello-world" a test creates later survives a re-run.
if (!get_option('igny8_seeded')) {
    foreach ([['hello-world', 'post'], ['sample-page', 'page'], ['privacy-policy', 'page']] as [$slug, $type]) {
        $p = get_page_by_path($slug, OBJECT, $type);
        if ($p) {
            wp_delete_post($p->ID, true); // also deletes its comments
        }
    }
    update_option('wp_page_for_privacy_policy', 0);
}

function igny8_term(string $name, string $slug, string $taxonomy): int
{
    $t = get_term_by('slug', $slug, $taxonomy);
    if ($t) {
        return $t->term_id;
    }
    $r = wp_insert_term($name, $taxonomy, ['slug' => $slug, 'description' => "$name (seed)"]);
    if (is_wp_error($r)) {
        fwrite(STDERR, "seed.php: $slug: " . $r->get_error_message() . "\n");
        exit(1);
    }
    return $r['term_id'];
}

function igny8_post(array $post): void
{
    $existing = get_posts(['name' => $post['post_name'], 'post_type' => $post['post_type'],
        'post_status' => 'any', 'numberposts' => 1, 'fields' => 'ids']);
    if ($existing) {
        return;
    }
    $id = wp_insert_post(wp_slash($post), true);
    if (is_wp_error($id)) {
        fwrite(STDERR, "seed.php: {$post['post_name']}: " . $id->get_error_message() . "\n");
        exit(1);
    }
}

function igny8_body(string $title): string
{
    return "<!-- wp:paragraph -->\n<p>$title. Seeded content for the igny8 loopback site.</p>\n<!-- /wp:paragraph -->\n\n"
        . "<!-- wp:heading -->\n<h2>Details</h2>\n<!-- /wp:heading -->\n\n"
        . "<!-- wp:paragraph -->\n<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n<!-- /wp:paragraph -->";
}

$cats = [];
foreach (['news' => 'News', 'guides' => 'Guides', 'reviews' => 'Reviews'] as $slug => $name) {
    $cats[] = igny8_term($name, $slug, 'category');
}
$tags = ['go' => 'Go', 'wordpress' => 'WordPress', 'serverless' => 'Serverless'];
foreach ($tags as $slug => $name) {
    igny8_term($name, $slug, 'post_tag');
}
$tag_slugs = array_keys($tags);

// 12 published posts, one day apart; every 4th stays in Uncategorized,
// every 3rd has no tags, the rest get one or two tags.
for ($i = 1; $i <= 12; $i++) {
    $n = sprintf('%02d', $i);
    $date = gmdate('Y-m-d H:i:s', gmmktime(9, 0, 0, 1, $i, 2024));
    $post = [
        'post_type' => 'post', 'post_status' => 'publish', 'post_author' => 1,
        'post_title' => "Seed post $n", 'post_name' => "seed-post-$n",
        'post_content' => igny8_body("Seed post $n"), 'post_excerpt' => "Excerpt of seed post $n.",
        'post_date' => $date, 'post_date_gmt' => $date,
    ];
    if ($i % 4 !== 0) {
        $post['post_category'] = [$cats[$i % 3]];
    }
    if ($i % 3 !== 0) {
        $post['tags_input'] = array_slice($tag_slugs, $i % 3 - 1, 1 + $i % 2);
    }
    igny8_post($post);
}

for ($i = 1; $i <= 2; $i++) {
    igny8_post(['post_type' => 'post', 'post_status' => 'draft', 'post_author' => 1,
        'post_title' => "Seed draft $i", 'post_name' => "seed-draft-$i",
        'post_content' => igny8_body("Seed draft $i")]);
}

$order = 0;
foreach (['about' => 'About', 'services' => 'Services', 'contact' => 'Contact'] as $slug => $title) {
    igny8_post(['post_type' => 'page', 'post_status' => 'publish', 'post_author' => 1,
        'post_title' => $title, 'post_name' => $slug, 'post_content' => igny8_body($title),
        'menu_order' => ++$order, 'post_date' => '2024-01-01 08:00:00', 'post_date_gmt' => '2024-01-01 08:00:00']);
}

update_option('igny8_seeded', 1);
fwrite(STDERR, "seed.php: seed content present (3 categories, 3 tags, 12 posts, 2 drafts, 3 pages)\n");
