<?php
spl_autoload_register(function (string $class): void {
    $map = require __DIR__ . '/composer/autoload_classmap.php';
    if (isset($map[$class])) {
        require $map[$class];
    }
});
