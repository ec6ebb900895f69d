<?php
// Framework core: excluded from the preload list (--exclude=system/).
function shop_env_file(string $name): string
{
    $file = getenv($name . '_FILE');
    if ($file !== false) {
        return rtrim((string) file_get_contents($file), "\n");
    }
    return (string) getenv($name);
}

// The connection initkit-migrate itself uses (INITKIT_DB_*), so the app's
// migrator needs no second copy of the settings.
function shop_db(): mysqli
{
    $password = rtrim((string) file_get_contents((string) getenv('INITKIT_DB_PASSWORD_FILE')), "\n");
    mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
    return new mysqli((string) getenv('INITKIT_DB_HOST'), (string) getenv('INITKIT_DB_USER'),
        $password, (string) getenv('INITKIT_DB_NAME'), (int) (getenv('INITKIT_DB_PORT') ?: 3306));
}
