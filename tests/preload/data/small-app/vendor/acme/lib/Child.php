<?php

namespace Acme;

/**
 * A docblock mentioning class Fake extends Nothing {} must not confuse anyone.
 */
class Child extends Base
{
    use Helpers;

    private string $label = "class NotReal { ?> }";

    public function name(): string
    {
        return <<<TXT
            child {$this->label}
            TXT;
    }

    public function jsonSerialize(): mixed
    {
        return ['kind' => self::KIND, 'name' => $this->name()];
    }
}
