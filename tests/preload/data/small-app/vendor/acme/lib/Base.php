<?php

declare(strict_types=1);

namespace Acme;

abstract class Base implements Contract
{
    public const KIND = 'base';

    abstract public function name(): string;

    public function with(?self $other = null): static
    {
        return $this;
    }

    public function result(): ?Contract
    {
        return null;
    }
}
