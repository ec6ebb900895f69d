<?php
// The release of this tree; the cron gate compares it with the web's answer.
define('APP_VERSION', '4.99.5');
