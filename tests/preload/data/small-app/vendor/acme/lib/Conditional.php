<?php

namespace Acme;

if (\PHP_VERSION_ID >= 80000) {
    class Conditional
    {
    }
} else {
    class Conditional extends \stdClass
    {
    }
}
