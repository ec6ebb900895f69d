<?php
// The app's migrator (Phinx-like): `migrate` applies what is missing,
// `seed:run -s NAME` runs a seeder. Each run appends to seed_log/migrations,
// so a test can count how often each ran.
require __DIR__ . '/../system/Kernel.php';

$db = shop_db();
$cmd = $argv[1] ?? '';
if ($cmd === 'migrate') {
    $db->query('CREATE TABLE IF NOT EXISTS migrations (version VARCHAR(32) PRIMARY KEY, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)');
    $db->query('CREATE TABLE IF NOT EXISTS migration_runs (id INT AUTO_INCREMENT PRIMARY KEY)');
    $db->query('INSERT INTO migration_runs () VALUES ()');
    $migrations = [
        '20240101000000' => 'CREATE TABLE registry (name VARCHAR(191) PRIMARY KEY, value TEXT)',
        '20240102000000' => 'CREATE TABLE products (sku VARCHAR(32) PRIMARY KEY, cents INT NOT NULL)',
        '20240103000000' => 'CREATE TABLE seed_log (id INT AUTO_INCREMENT PRIMARY KEY, seeder VARCHAR(64) NOT NULL)',
    ];
    foreach ($migrations as $version => $sql) {
        $done = $db->query("SELECT 1 FROM migrations WHERE version = '$version'")->num_rows;
        if (!$done) {
            $db->query($sql);
            $db->query("INSERT INTO migrations (version) VALUES ('$version')");
            echo "migrated $version\n";
        }
    }
    exit(0);
}
if ($cmd === 'seed:run' && ($argv[2] ?? '') === '-s' && isset($argv[3])) {
    $db->begin_transaction();
    $db->query("INSERT INTO products (sku, cents) VALUES ('TSHIRT', 1999), ('MUG', 899)");
    $stmt = $db->prepare('INSERT INTO seed_log (seeder) VALUES (?)');
    $stmt->bind_param('s', $argv[3]);
    $stmt->execute();
    $db->commit();
    echo "seeded {$argv[3]}\n";
    exit(0);
}
fwrite(STDERR, "usage: migrator.php migrate | seed:run -s SEEDER\n");
exit(2);
