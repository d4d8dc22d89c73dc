<?php
/*
 * Ensures the loopback site has N bulk posts ("Bulk post 0001"…), spread
 * over the seed's categories and tags, for the sync tests and benchmarks:
 * php infra/wordpress/bulk.php 250. Idempotent: counts the bulk posts that
 * exist (by slug prefix) and creates only the missing ones, in one PHP
 * process (about 5 s for 250; over REST it would be about 30 s).
 */
require __DIR__ . '/cli-bootstrap.php';

$want = (int)($argv[1] ?? 0);
if ($want < 0 || $want > 20000) {
    fwrite(STDERR, "usage: php bulk.php N (0..20000)\n");
    exit(2);
}
wp_set_current_user(1);
wp_defer_term_counting(true);
wp_suspend_cache_invalidation(true);

global $wpdb;
$have = (int)$wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->posts} WHERE post_type = 'post' AND post_name LIKE 'bulk-post-%'");
$cats = get_terms(['taxonomy' => 'category', 'hide_empty' => false, 'fields' => 'ids', 'slug' => ['news', 'guides', 'reviews']]);
$tags = ['go', 'wordpress', 'serverless'];
for ($i = $have + 1; $i <= $want; $i++) {
    $n = sprintf('%04d', $i);
    $date = gmdate('Y-m-d H:i:s', gmmktime(12, 0, 0, 2, 1, 2024) + $i * 60);
    $id = wp_insert_post(wp_slash([
        'post_type' => 'post', 'post_status' => 'publish', 'post_author' => 1,
        'post_title' => "Bulk post $n", 'post_name' => "bulk-post-$n",
        'post_content' => "<p>Bulk post $n for sync tests.</p>", 'post_excerpt' => "Bulk excerpt $n.",
        'post_date' => $date, 'post_date_gmt' => $date,
        'post_category' => $cats ? [$cats[$i % count($cats)]] : [],
        'tags_input' => [$tags[$i % 3]],
    ]), true);
    if (is_wp_error($id)) {
        fwrite(STDERR, "bulk.php: $n: " . $id->get_error_message() . "\n");
        exit(1);
    }
}
wp_defer_term_counting(false);
fwrite(STDERR, sprintf("bulk.php: %d bulk posts present (%d created)\n", max($have, $want), max(0, $want - $have)));
